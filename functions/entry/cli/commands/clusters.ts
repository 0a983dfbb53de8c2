import { credentialEndMs, credentialUsable, issueCredential } from '../../../core/caller-credential.ts';
import { ConflictError } from '../../../core/errors.ts';
import { newCluster, sourceOf, type CallerCredential, type ClusterRecord } from '../../../core/records.ts';
import * as z from 'zod';
import { flag, parseValue, stringOption, type Command } from '../lib/command.ts';
import { CliError, UsageError } from '../lib/errors.ts';
import { clusterIdArgument, durationSchema, formatDuration, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { printObjects } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';
import { forgetKubeconfig, KUBECONFIG_OPTIONS, prepareKubeconfig, syncColumns, syncView } from '../lib/cluster-access.ts';

export const clustersAddCommand: Command = {
  name: 'clusters add',
  summary: "Register a cluster and print its webhook caller credential (stdout only, shown once).",
  description:
    'Only a salted SHA-256 hash of the credential is stored. Put the credential in the kubeconfig that the\n' +
    "cluster's apiservers read (see: tokengate webhook-config).\n" +
    '--source says where its tokens come from (docs/rancher.md, "Supported setups"): downstream (default) reads\n' +
    "Rancher's copies in the cluster's cattle-system with --kubeconfig; rancher derives them from Rancher's\n" +
    'management cluster (tokengate rancher set); the id must then be Rancher\'s cluster id.',
  args: '<clusterId>',
  options: {
    source: { type: 'string', value: 'KIND', description: 'downstream (default) or rancher' },
    'accept-unscoped-tokens': {
      type: 'boolean',
      description: "rancher source: also accept the users' unscoped non-login tokens, as Rancher's proxy does (off: ACE's rule; see docs/rancher.md)",
    },
    ...KUBECONFIG_OPTIONS,
    ...TABLE_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    'tokengate clusters add c-m-abc12xyz --kubeconfig sync-reader.kubeconfig > ~/c-m-abc12xyz.credential',
    'tokengate clusters add c-m-xyz98765 --source rancher > ~/c-m-xyz98765.credential',
  ],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const location = tableLocation(input, io.env);
    const source = parseValue(z.enum(['downstream', 'rancher'], { error: 'expected downstream or rancher' }), stringOption(input, 'source') ?? 'downstream', '--source');
    const acceptUnscoped = flag(input, 'accept-unscoped-tokens');
    if (source === 'rancher' && stringOption(input, 'kubeconfig') !== undefined) throw new UsageError('--source rancher reads Rancher\'s management cluster (tokengate rancher set): no --kubeconfig');
    if (source === 'downstream' && acceptUnscoped) throw new UsageError('--accept-unscoped-tokens needs --source rancher');
    const kubeconfig = await prepareKubeconfig(input, io, clusterId, location);
    return withTable(location, async ({ store }) => {
      if (kubeconfig && (await store.readCluster(clusterId))) throw alreadyRegistered(clusterId);
      const access = await kubeconfig?.save();
      const now = io.now();
      const { credential, record } = await issueCredential(io.randomBytes, now);
      try {
        await store.createCluster({
          ...newCluster(clusterId, record, now, access),
          ...(source === 'rancher' ? { source, ...(acceptUnscoped ? { acceptUnscopedTokens: true } : {}) } : {}),
        });
      } catch (error) {
        if (error instanceof ConflictError) throw alreadyRegistered(clusterId);
        throw error;
      }
      io.stdout(`${credential}\n`);
      io.stderr(
        `registered cluster ${clusterId}; its webhook credential (above) is shown only this once.\n` +
          (source === 'rancher'
            ? `sync derives its tokens from Rancher's management cluster (tokengate rancher show)${acceptUnscoped ? ', unscoped non-login tokens included' : ''}\n`
            : kubeconfig
              ? `sync reads it with the kubeconfig in ${kubeconfig.describe}\n`
              : `sync cannot read it yet: tokengate clusters set-kubeconfig ${clusterId} --kubeconfig FILE\n`) +
          `next: tokengate webhook-config ${clusterId} --url <API base URL> --credential - < <the file holding the credential>\n`,
      );
      return 0;
    });
  },
};

export const clustersListCommand: Command = {
  name: 'clusters list',
  summary: 'List the registered clusters, where sync reads their tokens (downstream or rancher), their credentials (ids and validity, never the secrets) and their last sync.',
  args: '',
  options: { ...OUTPUT_OPTION, ...TABLE_OPTIONS },
  positionals: { min: 0, max: 0 },
  async run(input, io) {
    const format = outputFormat(input);
    return withTable(tableLocation(input, io.env), async ({ store }) => {
      const clusters = await store.listClusters();
      const now = io.now();
      const views = clusters.map((cluster) => ({
        clusterId: cluster.clusterId,
        source: sourceOf(cluster),
        ...(sourceOf(cluster) === 'rancher' ? { acceptUnscopedTokens: cluster.acceptUnscopedTokens ?? false } : {}),
        createdAt: cluster.createdAt,
        credentials: cluster.credentials.map((credential) => ({
          id: credential.id,
          createdAt: credential.createdAt,
          ...(credential.notAfter ? { notAfter: credential.notAfter } : {}),
          valid: credentialUsable(credential, now),
        })),
        ...syncView(cluster),
      }));
      const byId = new Map(clusters.map((cluster) => [cluster.clusterId, cluster]));
      printObjects(io, format, views, {
        kind: 'cluster',
        nameOf: (view) => view.clusterId,
        empty: 'no clusters registered (tokengate clusters add <clusterId>)',
        columns: [
          { title: 'CLUSTER', cell: (view) => view.clusterId },
          // where sync reads the cluster's tokens (docs/rancher.md, "Supported setups"); "+unscoped" marks the policy
          { title: 'SOURCE', cell: (view) => (view.acceptUnscopedTokens ? `${view.source}+unscoped` : view.source) },
          { title: 'CREATED', cell: (view) => view.createdAt },
          {
            title: 'CREDENTIALS',
            cell: (view) =>
              view.credentials
                .filter((credential) => credential.valid)
                .map((credential) => (credential.notAfter ? `${credential.id} (until ${credential.notAfter})` : credential.id))
                .join(', ') || 'none valid',
          },
          ...syncColumns<(typeof views)[number]>((view) => byId.get(view.clusterId) as ClusterRecord),
        ],
      });
      return 0;
    });
  },
};

export const clustersRemoveCommand: Command = {
  name: 'clusters remove',
  summary: "Remove a cluster: its registry entry and every row of its partition (tokens, users, usage).",
  description: 'Its apiservers get 401 from then on. Native tokens of the cluster are deleted too.',
  args: '<clusterId>',
  options: { ...TABLE_OPTIONS },
  positionals: { min: 1, max: 1 },
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const location = tableLocation(input, io.env);
    return withTable(location, async ({ store }) => {
      const registered = await store.readCluster(clusterId);
      const rows = await store.deleteCluster(clusterId);
      if (!registered && rows === 0) throw new CliError(`cluster ${clusterId} is not registered and has no rows`);
      io.stderr(`removed cluster ${clusterId}${registered ? '' : ' (it was not registered)'} and ${rows} row${rows === 1 ? '' : 's'}\n`);
      await forgetKubeconfig(io, location, registered);
      return 0;
    });
  },
};

export const clustersRotateCommand: Command = {
  name: 'clusters rotate-credential',
  summary: "Issue a new webhook credential for a cluster (stdout only, shown once); old ones expire after a grace period.",
  description:
    'The previous credentials stay valid for --grace, so there is no gap while the apiservers\' webhook\n' +
    'config files are updated (a tokenFile is re-read every minute). --grace 0 ends them at once.',
  args: '<clusterId>',
  options: {
    grace: { type: 'string', value: 'DURATION', description: 'how long the previous credentials keep working (default 1h)' },
    ...TABLE_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  examples: ['tokengate clusters rotate-credential c-m-abc12xyz --grace 30m > ~/c-m-abc12xyz.credential'],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const graceMs = parseValue(durationSchema, stringOption(input, 'grace') ?? '1h', '--grace');
    return withTable(tableLocation(input, io.env), async ({ store }) => {
      const cluster = await store.readCluster(clusterId);
      if (!cluster) throw new CliError(`cluster ${clusterId} is not registered (tokengate clusters add ${clusterId})`);
      const now = io.now();
      const { credential, record } = await issueCredential(io.randomBytes, now);
      const graceEnd = new Date(now.getTime() + graceMs).toISOString();
      const previous = cluster.credentials.flatMap((old) => phaseOut(old, now, graceEnd));
      try {
        await store.replaceCredentials(clusterId, [...previous, record], cluster.version);
      } catch (error) {
        if (error instanceof ConflictError) throw new CliError(`cluster ${clusterId} changed while rotating its credential; run the command again`);
        throw error;
      }
      io.stdout(`${credential}\n`);
      io.stderr(
        previous.length === 0
          ? `new credential for cluster ${clusterId} (above, shown only once); there was no valid previous one\n`
          : `new credential for cluster ${clusterId} (above, shown only once); the previous one${previous.length > 1 ? 's' : ''} ` +
              `stay${previous.length > 1 ? '' : 's'} valid for ${formatDuration(graceMs)}, until ${graceEnd}\n`,
      );
      return 0;
    });
  },
};

function alreadyRegistered(clusterId: string): CliError {
  return new CliError(
    `cluster ${clusterId} is already registered; for a new credential run: tokengate clusters rotate-credential ${clusterId}; ` +
      `for its kubeconfig: tokengate clusters set-kubeconfig ${clusterId} --kubeconfig FILE`,
  );
}

/** An old credential during a rotation: dropped if already over, else ending at the grace end (or earlier). */
function phaseOut(old: CallerCredential, now: Date, graceEnd: string): CallerCredential[] {
  // one that no longer counts (over, or with an unreadable end) is dropped, never given a new end
  if (!credentialUsable(old, now)) return [];
  const end = credentialEndMs(old);
  const notAfter = old.notAfter !== undefined && end !== undefined && end < Date.parse(graceEnd) ? old.notAfter : graceEnd;
  return [{ ...old, notAfter }];
}
