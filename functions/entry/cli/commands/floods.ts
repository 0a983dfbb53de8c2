import { parseValue, stringOption, type Command } from '../lib/command.ts';
import { CliError } from '../lib/errors.ts';
import { clusterIdArgument, durationSchema, formatDuration, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { formatJson, formatYaml, printObjects, type ObjectView } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';
import { readFloodReports, type ClusterFloodReport, type ReportedOffender } from '../../../services/admin/flood-reports.ts';

/** One line of the table: a sender of one cluster, or the tokens of the senders not named. */
type SenderRow = { clusterId: string; total: number } & Partial<ReportedOffender> & { workload: string; count: number };

/** The table and wide views: one line per named sender; wide adds what finds the pod and why it is refused. */
const SENDER_VIEW: ObjectView<SenderRow> = {
  kind: 'cluster',
  nameOf: (row) => row.clusterId,
  empty: '',
  columns: [
    { title: 'CLUSTER', cell: (row) => row.clusterId },
    { title: 'TOKENS', cell: (row) => String(row.count) },
    { title: 'EXPIRED', cell: (row) => (row.state === undefined ? '-' : row.state === 'no-exp' ? 'no exp' : `${row.expired ?? 0}/${row.count}`) },
    { title: 'KIND', cell: (row) => row.kind ?? '-' },
    { title: 'SENDER', cell: (row) => row.workload },
    { title: 'POD-UID', cell: (row) => row.podUid ?? '-', wide: true },
    { title: 'NODE', cell: (row) => row.node ?? '-', wide: true },
    { title: 'ISSUER', cell: (row) => row.issuer ?? '-', wide: true },
    { title: 'LATEST-EXP', cell: (row) => row.latestExpiresAt ?? '-', wide: true },
    { title: 'LIKELY-CAUSE', cell: (row) => row.likely ?? '-', wide: true },
  ],
};

/** `-o name`: the clusters that had foreign tokens, `cluster/<clusterId>`, for scripts. */
const CLUSTER_NAMES: ObjectView<ClusterFloodReport> = { kind: 'cluster', nameOf: (report) => report.clusterId, empty: '', columns: [] };

function senderRows(reports: ClusterFloodReport[]): SenderRow[] {
  return reports.flatMap((report) => [
    ...report.offenders.map((offender) => ({ ...offender, clusterId: report.clusterId, total: report.total })),
    ...(report.untracked > 0 ? [{ clusterId: report.clusterId, total: report.total, workload: '(senders not named: past the top or the per-window bound)', count: report.untracked }] : []),
  ]);
}

export const floodsCommand: Command = {
  name: 'floods',
  summary: 'Which workloads send the webhook tokens it cannot use (stale ServiceAccount tokens, OIDC, junk), per cluster.',
  description:
    'Reads the flood report the authenticate function stores when each window of\n' +
    'FOREIGN_SUMMARY_INTERVAL_SECONDS ends (one row per cluster, window and container, kept 7 days), adds up\n' +
    'the windows that ended within --since, and names the senders: namespace/serviceaccount (pod …) of a\n' +
    'bound ServiceAccount token, the Secret of a legacy one, the subject and issuer of an OIDC token. EXPIRED\n' +
    "counts the tokens whose exp had passed when they arrived. Only claims are stored, never a token. Counts are\n" +
    "requests that reached the webhook: each apiserver caches a refusal for --authentication-token-webhook-cache-ttl.\n" +
    'See docs/troubleshooting.md for what to do about each sender.',
  args: '[<clusterId>]',
  options: {
    since: { type: 'string', value: 'DURATION', description: 'windows that ended within this long ago (default 1h; e.g. 15m, 6h, 7d)' },
    ...OUTPUT_OPTION,
    ...TABLE_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  examples: ['tokengate floods', 'tokengate floods c-m-abc12xyz --since 6h -o wide', 'tokengate floods --since 1d -o json'],
  async run(input, io) {
    const clusterId = input.positionals[0] === undefined ? undefined : clusterIdArgument(input.positionals[0]);
    const sinceMs = parseValue(durationSchema, stringOption(input, 'since') ?? '1h', '--since');
    const format = outputFormat(input);
    const since = new Date(io.now().getTime() - sinceMs);
    return withTable(tableLocation(input, io.env), async ({ store }) => {
      if (clusterId !== undefined && !(await store.readCluster(clusterId))) {
        throw new CliError(`cluster ${clusterId} is not registered (tokengate clusters list)`);
      }
      const clusterIds = clusterId !== undefined ? [clusterId] : (await store.listClusters()).map((cluster) => cluster.clusterId);
      const reports = await readFloodReports(store, clusterIds, since);
      if (format === 'json') io.stdout(formatJson(reports));
      else if (format === 'yaml') io.stdout(formatYaml(reports));
      else if (reports.length === 0 && format !== 'name') {
        io.stderr(
          `no foreign tokens recorded${clusterId !== undefined ? ` for cluster ${clusterId}` : ''} in the last ${formatDuration(sinceMs)} ` +
            '(a window is stored once it ends: up to FOREIGN_SUMMARY_INTERVAL_SECONDS after its last token)\n',
        );
      } else if (format === 'name') printObjects(io, format, reports, CLUSTER_NAMES);
      else printObjects(io, format, senderRows(reports), SENDER_VIEW);
      return 0;
    });
  },
};
