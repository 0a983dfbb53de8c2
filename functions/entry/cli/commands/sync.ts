import * as z from 'zod';
import { noMetrics, silentLog } from '../../../core/ports/telemetry.ts';
import { clusterSourceOpener } from '../../../adapters/kubernetes/cluster-opener.ts';
import { managementSourceOpener } from '../../../adapters/kubernetes/management-opener.ts';
import { createSyncer, type ClusterSyncResult, type Syncer, type SyncSummary } from '../../../services/sync/sync.ts';
import { runWorkUnits, withWorkerResults } from '../../../services/sync/cluster-worker.ts';
import { InProcessDispatcher } from '../../../adapters/work/in-process-dispatcher.ts';
import { parseConfig } from '../../config.ts';
import { DEFAULT_SYNC_OPTIONS, syncOptions, syncRunConfigSchema } from '../../sync/config.ts';
import { KUBECONFIG_OPTIONS, prepareKubeconfig, readableKubeconfigStores } from '../lib/cluster-access.ts';
import { parseValue, stringOption, type Command } from '../lib/command.ts';
import { CliError, UsageError } from '../lib/errors.ts';
import { clusterIdArgument, durationSchema, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { formatJson, formatYaml, printObjects, type ObjectView } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

const concurrencySchema = z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(1, 'expected 1 to 64').max(64, 'expected 1 to 64');
const secondsSchema = z.coerce.number({ error: 'expected whole seconds' }).int('expected whole seconds').min(0, 'expected whole seconds');

export const syncCommand: Command = {
  name: 'sync',
  summary: "Mirror the registered clusters' Rancher tokens into the table now (all, or those named).",
  description: [
    'Does what the scheduled sync function does: lists each cluster\'s ClusterAuthTokens and',
    'ClusterUserAttributes (and the hash Secrets of new or changed tokens) with the kubeconfig registered',
    'by `clusters add --kubeconfig` or `clusters set-kubeconfig`, writes what changed, deletes what is gone, and writes lastUsedAt back.',
    'A cluster that fails keeps its rows. Exit code 1 when a cluster failed or is not registered.',
  ].join('\n'),
  args: '[clusterId…]',
  options: {
    concurrency: { type: 'string', value: 'N', description: `clusters synced at once (default ${DEFAULT_SYNC_OPTIONS.concurrency})` },
    timeout: { type: 'string', value: 'DURATION', description: `time allowed per cluster (default ${DEFAULT_SYNC_OPTIONS.clusterTimeoutMs / 1000}s)` },
    'refresh-debounce': {
      type: 'string',
      value: 'SECONDS',
      description: "Rancher's auth-provider-refresh-debounce-seconds (env REFRESH_DEBOUNCE_SECONDS); unset: never set needsRefresh",
    },
    ...OUTPUT_OPTION,
    ...TABLE_OPTIONS,
  },
  positionals: { min: 0, max: 1000 },
  examples: ['tokengate sync', 'tokengate sync c-m-abc12xyz -o json'],
  async run(input, io) {
    const format = outputFormat(input);
    const clusterIds = input.positionals.map((raw) => clusterIdArgument(raw));
    const concurrency = parseValue(concurrencySchema, stringOption(input, 'concurrency') ?? String(DEFAULT_SYNC_OPTIONS.concurrency), '--concurrency');
    const timeoutMs = parseValue(durationSchema, stringOption(input, 'timeout') ?? `${DEFAULT_SYNC_OPTIONS.clusterTimeoutMs / 1000}s`, '--timeout');
    if (timeoutMs < 1000) throw new UsageError('--timeout must be at least 1s');
    const debounceRaw = stringOption(input, 'refresh-debounce');
    if (debounceRaw !== undefined) parseValue(secondsSchema, debounceRaw, '--refresh-debounce');
    // the flags set the same settings the Lambda reads from its environment, parsed by the same schema
    const settings = parseConfig(syncRunConfigSchema, {
      ...io.env,
      SYNC_CONCURRENCY: String(concurrency),
      ...(debounceRaw !== undefined ? { REFRESH_DEBOUNCE_SECONDS: debounceRaw } : {}),
    });
    const location = tableLocation(input, io.env);

    return withTable(location, async ({ store, management }) => {
      // past SYNC_FAN_OUT_CLUSTERS the run hands its clusters out, here in process, through the syncWorker's handler
      const fromWorkers: SyncSummary[] = [];
      const dispatcher = new InProcessDispatcher(
        async (units, signal) => {
          fromWorkers.push((await runWorkUnits(syncer, units, signal)).summary);
        },
        { batchSize: settings.SYNC_WORKER_BATCH_SIZE, concurrency: settings.SYNC_WORKER_CONCURRENCY },
      );
      const syncer: Syncer = createSyncer({
        dispatcher,
        store,
        openSource: clusterSourceOpener(readableKubeconfigStores(io, location), { callTimeoutMs: timeoutMs }),
        management: { store: management, open: managementSourceOpener(readableKubeconfigStores(io, location), { callTimeoutMs: timeoutMs }) },
        log: silentLog,
        metrics: noMetrics,
        now: () => io.now(),
        elapsed: () => performance.now(),
        newRunId: () => `cli-${io.randomBytes(8).toString('hex')}`,
        options: { ...syncOptions(settings), clusterTimeoutMs: timeoutMs },
      });
      const stop = new AbortController();
      void io.untilStopped().then(() => stop.abort());
      const summary = withWorkerResults(await syncer.syncAll({ clusterIds, signal: stop.signal }), fromWorkers);

      // json and yaml: the whole run (its id, start and totals), as the Lambda returns it
      if (format === 'json') io.stdout(formatJson(summary));
      else if (format === 'yaml') io.stdout(formatYaml(summary));
      else if (summary.clusters.length > 0 || summary.unknown.length === 0) printObjects(io, format, summary.clusters, RESULT_VIEW);
      for (const id of summary.unknown) io.stderr(`cluster ${id} is not registered\n`);
      if (summary.management) {
        const read = summary.management;
        io.stderr(read.error ? `${read.error}\n` : `read Rancher's management cluster (${read.mode}): ${read.requests} request(s), ${read.objects} object(s)/event(s)\n`);
      }
      for (const result of summary.clusters) {
        for (const skipped of result.skipped) io.stderr(`cluster ${result.clusterId}: not mirrored: ${skipped}\n`);
        for (const warning of result.warnings) io.stderr(`cluster ${result.clusterId}: ${warning}\n`);
      }
      for (const result of summary.clusters) {
        if (result.writeBack.forbidden.includes('tokens')) {
          io.stderr(
            `cluster ${result.clusterId}: Rancher's reader may not patch its tokens (the optional tokengate-rancher-writeback objects of infra/kubernetes/rancher-reader.yaml): usage is not written back\n`,
          );
        } else if (result.writeBack.forbidden.length > 0) {
          io.stderr(`cluster ${result.clusterId}: the kubeconfig's Role may not patch ${result.writeBack.forbidden.join(', ')}: usage is not written back\n`);
        }
      }
      return summary.failed > 0 || summary.skipped > 0 || summary.unknown.length > 0 ? 1 : 0;
    });
  },
};

export const clustersSetKubeconfigCommand: Command = {
  name: 'clusters set-kubeconfig',
  summary: 'Register (or replace) the kubeconfig sync uses to read a registered cluster.',
  description: [
    'The kubeconfig is checked (context, server, user) and kept in Secrets Manager as',
    'tokengate/<stage>/clusters/<clusterId>, or, against a local table, referenced by its path. It is',
    'never written to the table. Use it after rotating the reader token of infra/kubernetes/sync-reader.yaml.',
  ].join('\n'),
  args: '<clusterId>',
  options: { ...KUBECONFIG_OPTIONS, ...TABLE_OPTIONS },
  positionals: { min: 1, max: 1 },
  examples: ['tokengate clusters set-kubeconfig c-m-abc12xyz --kubeconfig sync-reader.yaml'],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const location = tableLocation(input, io.env);
    const prepared = await prepareKubeconfig(input, io, clusterId, location);
    if (!prepared) throw new UsageError('missing option --kubeconfig FILE');
    return withTable(location, async ({ store }) => {
      if (!(await store.readCluster(clusterId))) throw new CliError(`cluster ${clusterId} is not registered (tokengate clusters add ${clusterId} --kubeconfig FILE registers it with its kubeconfig)`);
      const access = await prepared.save();
      if (!(await store.setClusterAccess(clusterId, access))) throw new CliError(`cluster ${clusterId} was removed meanwhile`);
      io.stderr(`cluster ${clusterId} is read with the kubeconfig in ${prepared.describe}; try it: tokengate sync ${clusterId}\n`);
      return 0;
    });
  },
};

const RESULT_VIEW: ObjectView<ClusterSyncResult> = {
  kind: 'cluster',
  nameOf: (result) => result.clusterId,
  empty: 'no clusters registered (tokengate clusters add <clusterId> --kubeconfig FILE)',
  columns: [
    { title: 'CLUSTER', cell: (result) => result.clusterId },
    { title: 'RESULT', cell: (result) => (result.outcome === 'busy' ? 'busy (another sync holds it)' : result.outcome) },
    { title: 'OBJECTS', cell: (result) => String(result.objects) },
    { title: 'WRITES', cell: (result) => String(result.writes) },
    { title: 'DELETES', cell: (result) => String(result.deletes) },
    { title: 'CONFLICTS', cell: (result) => String(result.conflicts) },
    { title: 'SECRET READS', cell: (result) => String(result.secretReads), wide: true },
    { title: 'DURATION', cell: (result) => `${(result.durationMs / 1000).toFixed(1)}s` },
    {
      title: 'ERROR',
      cell: (result) => result.error ?? (result.rejected.length > 0 ? `invalid, kept as they were: ${result.rejected.slice(0, 5).join(', ')}` : ''),
    },
  ],
};
