import type { RancherSourceRecord } from '../../../core/records.ts';
import { MANAGEMENT_SOURCE_ID } from '../../../adapters/kubernetes/management-source.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';
import { KUBECONFIG_OPTIONS, prepareKubeconfig } from '../lib/cluster-access.ts';
import { flag, type Command } from '../lib/command.ts';
import { CliError, UsageError } from '../lib/errors.ts';
import { OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';

export const rancherSetCommand: Command = {
  name: 'rancher set',
  summary: "Register (or replace) how sync reaches Rancher's management (local) cluster.",
  description: [
    'Clusters added with `clusters add <id> --source rancher` are mirrored from it: sync reads v3 tokens,',
    "ext tokens (their Secrets in cattle-tokens), users and user attributes there and derives what Rancher's",
    'ACE would have written into each cluster (docs/rancher.md). Build the kubeconfig from the token of',
    'infra/kubernetes/rancher-reader.yaml. The kubeconfig is kept like a cluster\'s: in Secrets Manager as',
    `tokengate/<stage>/clusters/${MANAGEMENT_SOURCE_ID}, or, against a local table, by its path; never in the table.`,
    'With Rancher\'s token-hashing off (its default) this credential can read every v3 token in plaintext: see SECURITY.md.',
  ].join('\n'),
  args: '',
  options: {
    ...KUBECONFIG_OPTIONS,
    'write-back': { type: 'boolean', description: "write lastUsedAt back to Rancher's tokens (needs the optional write-back RBAC)" },
    ...TABLE_OPTIONS,
  },
  positionals: { min: 0, max: 0 },
  examples: ['tokengate rancher set --kubeconfig rancher-reader.kubeconfig', 'tokengate rancher set --kubeconfig rancher.yaml --context local --write-back'],
  async run(input, io) {
    const location = tableLocation(input, io.env);
    const prepared = await prepareKubeconfig(input, io, MANAGEMENT_SOURCE_ID, location);
    if (!prepared) throw new UsageError('missing option --kubeconfig FILE');
    return withTable(location, async ({ management }) => {
      const access = await prepared.save();
      const record: RancherSourceRecord = { kind: 'rancher-source', access, writeBack: flag(input, 'write-back'), updatedAt: io.now().toISOString() };
      await management.writeRancherSource(record);
      io.stderr(
        `Rancher's management cluster is read with the kubeconfig in ${prepared.describe}` +
          `${record.writeBack ? '; lastUsedAt is written back' : ''}.\nnext: tokengate clusters add <clusterId> --source rancher, then tokengate sync\n`,
      );
      return 0;
    });
  },
};

export const rancherShowCommand: Command = {
  name: 'rancher show',
  summary: 'Show the registered management source (where its kubeconfig is, never the kubeconfig) and what sync last read.',
  args: '',
  options: { ...OUTPUT_OPTION, ...TABLE_OPTIONS },
  positionals: { min: 0, max: 0 },
  async run(input, io) {
    const format = outputFormat(input);
    return withTable(tableLocation(input, io.env), async ({ management }) => {
      const record = await management.readRancherSource();
      if (record === undefined) throw new CliError('no Rancher management source registered (tokengate rancher set --kubeconfig FILE)');
      const state = await management.readManagementState();
      const view = {
        kubeconfig: record.access.kind === 'file' ? `file:${record.access.path}` : `secretsmanager:${record.access.secretId}`,
        ...(record.access.context ? { context: record.access.context } : {}),
        writeBack: record.writeBack,
        updatedAt: record.updatedAt,
        ...(state
          ? {
              state: {
                versions: state.versions,
                tokens: state.snapshot.tokens.length,
                users: state.snapshot.users.length,
                userAttributes: state.snapshot.userAttributes.length,
                clusters: state.snapshot.clusters.map((cluster) => ({ id: cluster.name, ace: cluster.aceEnabled })),
              },
            }
          : {}),
      };
      if (format === 'json') {
        io.stdout(`${JSON.stringify(view, null, 2)}\n`);
        return 0;
      }
      const lines = [
        `kubeconfig:  ${view.kubeconfig}${record.access.context ? ` (context ${record.access.context})` : ''}`,
        `write-back:  ${record.writeBack ? 'on' : 'off'}`,
        `registered:  ${record.updatedAt}`,
        view.state
          ? `last read:   ${view.state.tokens} non-login tokens, ${view.state.users} users, clusters ${view.state.clusters.map((cluster) => `${cluster.id} (ACE ${cluster.ace ? 'on' : 'off'})`).join(', ') || 'none'}`
          : 'last read:   never (tokengate sync)',
      ];
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    });
  },
};
