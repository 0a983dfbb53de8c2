import type { Command } from './lib/command.ts';

/**
 * The CLI's commands as the overview help lists them, each loaded only when it runs (or its help is
 * asked for): `tokengate --help` loads none of them, `tokengate review` loads the review path and not the
 * local server, the sync or the Kubernetes client. A command's `name` and `summary` live on the command
 * itself; this list repeats them so that the overview needs no command module
 * (test/unit/entry/cli/registry.test.ts checks they agree).
 */
export interface CommandEntry {
  /** Words that select it, e.g. `clusters add`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  load(): Promise<Command>;
}

/** Every command, in the order the help lists them. */
export const COMMAND_ENTRIES: readonly CommandEntry[] = [
  { name: 'serve', summary: 'Serve the authenticate API locally, on an embedded DynamoDB unless --endpoint is given.', load: async () => (await import('./commands/serve.ts')).serveCommand },
  { name: 'table create', summary: 'Create the token table if it does not exist (idempotent) and wait until it is active.', load: async () => (await import('./commands/table.ts')).tableCreateCommand },
  { name: 'clusters add', summary: "Register a cluster and print its webhook caller credential (stdout only, shown once).", load: async () => (await import('./commands/clusters.ts')).clustersAddCommand },
  { name: 'clusters list', summary: 'List the registered clusters, where sync reads their tokens (downstream or rancher), their credentials (ids and validity, never the secrets) and their last sync.', load: async () => (await import('./commands/clusters.ts')).clustersListCommand },
  { name: 'clusters remove', summary: "Remove a cluster: its registry entry and every row of its partition (tokens, users, usage).", load: async () => (await import('./commands/clusters.ts')).clustersRemoveCommand },
  { name: 'clusters rotate-credential', summary: "Issue a new webhook credential for a cluster (stdout only, shown once); old ones expire after a grace period.", load: async () => (await import('./commands/clusters.ts')).clustersRotateCommand },
  { name: 'clusters set-kubeconfig', summary: 'Register (or replace) the kubeconfig sync uses to read a registered cluster.', load: async () => (await import('./commands/sync.ts')).clustersSetKubeconfigCommand },
  { name: 'rancher set', summary: "Register (or replace) how sync reaches Rancher's management (local) cluster.", load: async () => (await import('./commands/rancher.ts')).rancherSetCommand },
  { name: 'rancher show', summary: 'Show the registered management source (where its kubeconfig is, never the kubeconfig) and what sync last read.', load: async () => (await import('./commands/rancher.ts')).rancherShowCommand },
  { name: 'sync', summary: "Mirror the registered clusters' Rancher tokens into the table now (all, or those named).", load: async () => (await import('./commands/sync.ts')).syncCommand },
  { name: 'webhook-config', summary: "Print the kubeconfig for a cluster's --authentication-token-webhook-config-file.", load: async () => (await import('./commands/webhook-config.ts')).webhookConfigCommand },
  { name: 'import', summary: "Import a cluster's Rancher ClusterAuthTokens, ClusterUserAttributes and hash Secrets from kubectl output.", load: async () => (await import('./commands/import.ts')).importCommand },
  { name: 'tokens create', summary: 'Issue a native token for a user of a cluster and print it (name:secret, stdout only, shown once).', load: async () => (await import('./commands/tokens.ts')).tokensCreateCommand },
  { name: 'tokens list', summary: "List a cluster's tokens: origin, user, state, expiry and last use (never secrets or hashes).", load: async () => (await import('./commands/tokens.ts')).tokensListCommand },
  { name: 'tokens revoke', summary: 'Revoke a token at once, native or synced from Rancher (sync keeps the revocation).', load: async () => (await import('./commands/tokens.ts')).tokensRevokeCommand },
  { name: 'tokens unrevoke', summary: "Lift a token's revocation (the token works again if it is otherwise valid).", load: async () => (await import('./commands/tokens.ts')).tokensUnrevokeCommand },
  { name: 'review', summary: 'Review a token against the table as the API would, and say why it is accepted or refused.', load: async () => (await import('./commands/review.ts')).reviewCommand },
  { name: 'floods', summary: 'Which workloads send the webhook tokens it cannot use (stale ServiceAccount tokens, OIDC, junk), per cluster.', load: async () => (await import('./commands/floods.ts')).floodsCommand },
  { name: 'certs create', summary: 'Make a throwaway CA, a server certificate and client certificates for local HTTPS and mutual TLS.', load: async () => (await import('./commands/certs.ts')).certsCreateCommand },
  { name: 'version', summary: 'Print the version of tokengate and of the Node.js running it.', load: async () => (await import('./commands/version.ts')).versionCommand },
  {
    name: 'completion',
    summary: 'Print the shell completion script for bash, zsh or fish.',
    load: async () => (await import('./commands/completion.ts')).completionCommand(loadCommands),
  },
];

/** Every command, loaded (completion scripts and tests need their options). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_ENTRIES.map((entry) => entry.load()));
}
