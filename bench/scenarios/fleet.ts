import { startWorker } from '../lib/child.ts';
import type { BenchContext, BenchGroup } from '../lib/report.ts';
import { toReportRow, type TargetRow } from '../lib/target-row.ts';
import type { KubeClustersReady } from '../workers/kube-clusters.ts';
import type { SyncRun } from '../workers/sync.ts';

const GROUP = 'fleet';
/** Issue 13, target 4: the whole fleet inside one schedule interval. */
const INTERVAL_MS = 60_000;

/**
 * Issue 13, target 4: a fleet of test apiservers (200 × 500 tokens; quick: 40 × 500) synced by one run of
 * the sync function against a local DynamoDB (dynalite in its own process): the initial mirror, a no-change
 * resync, and a full reconcile (no fingerprint: every cluster's rows read and planned). Objects/s and the
 * per-cluster p99 of each; PASS when the run fits one 60 s interval on this machine.
 */
export async function fleetScenarios(context: BenchContext): Promise<TargetRow[]> {
  const clusters = context.quick ? 40 : 200;
  const tokens = 500;
  const concurrency = '16';
  context.progress(`fleet: starting ${clusters} test apiservers with ${tokens} tokens each`);
  const kube = await startWorker<KubeClustersReady>('kube-clusters.ts', [], { BENCH_CLUSTERS: String(clusters), BENCH_TOKENS: String(tokens) });
  const store = await startWorker<{ endpoint: string }>('dynalite.ts');
  const workers: Array<{ stop(): Promise<void> }> = [];
  try {
    const start = async (env: Record<string, string>, register = true) => {
      const worker = await startWorker<{ tableName: string }>('sync.ts', [], {
        BENCH_SYNC_REGISTER: register ? '1' : '0',
        BENCH_DYNAMODB_ENDPOINT: store.ready.endpoint,
        BENCH_CLUSTERS_READY: JSON.stringify(kube.ready.clusters),
        // fan-out off: this measures what one run does; the fan-out takes over past it (docs/deploy.md)
        BENCH_SYNC_ENV: JSON.stringify({ SYNC_CONCURRENCY: concurrency, SYNC_FAN_OUT_CLUSTERS: '0', WRITE_BACK_MAX_PATCHES: '0', ...env }),
      });
      workers.push(worker);
      return worker;
    };
    const sync = await start({});
    context.progress('fleet: initial mirror');
    const initial = await sync.call<SyncRun>('sync');
    context.progress('fleet: no-change resync');
    const unchanged = await sync.call<SyncRun>('sync');
    // the same table, by a sync that ignores fingerprints: the reconcile each cluster gets every 30 minutes
    const reconciler = await start({ SYNC_FULL_RESYNC_SECONDS: '0' }, false);
    context.progress('fleet: full reconcile (fingerprints ignored)');
    const full = await reconciler.call<SyncRun>('sync');

    const label = `${clusters} × ${tokens} tokens`;
    const row = (name: string, run: SyncRun, note: string): TargetRow => {
      const results = run.summary.clusters;
      const failed = results.filter((result) => result.outcome !== 'ok');
      const objects = results.reduce((sum, result) => sum + result.objects, 0);
      const durations = results.map((result) => result.durationMs).sort((a, b) => a - b);
      const p99 = durations[Math.min(durations.length - 1, Math.ceil(durations.length * 0.99) - 1)] ?? Number.NaN;
      const p50 = durations[Math.floor(durations.length / 2)] ?? Number.NaN;
      return {
        group: GROUP,
        name: `${name}, ${label}`,
        value: `${(run.wallMs / 1000).toFixed(1)} s; ${Math.round((objects * 1000) / run.wallMs).toLocaleString('en-US')} objects/s; per-cluster p50 ${(p50 / 1000).toFixed(2)} s, p99 ${(p99 / 1000).toFixed(2)} s`,
        target: `all ${clusters} clusters ok within ${INTERVAL_MS / 1000} s`,
        pass: failed.length === 0 && results.length === clusters && run.wallMs <= INTERVAL_MS,
        notes: [
          `${note}; SYNC_CONCURRENCY ${concurrency}; ${objects.toLocaleString('en-US')} objects listed; row writes ${JSON.stringify(run.storeWrites)}; unchanged clusters ${run.summary.unchanged}` +
            (failed.length > 0 ? `; FAILED: ${failed.slice(0, 3).map((result) => `${result.clusterId}: ${result.error ?? result.outcome}`).join('; ')}` : ''),
        ],
      };
    };
    return [
      row('fleet initial mirror', initial, 'every row created'),
      row('fleet no-change resync', unchanged, 'listings only: fingerprints matched, no table read, no write'),
      row('fleet full reconcile', full, 'every cluster listed, its rows read and planned, nothing to write (SYNC_FULL_RESYNC_SECONDS=0)'),
    ];
  } finally {
    for (const worker of workers) await worker.stop();
    await store.stop();
    await kube.stop();
  }
}

/** The `fleet` group of `npm run bench`. */
export const fleetGroup: BenchGroup = { key: 'fleet', name: 'fleet', run: async (context) => (await fleetScenarios(context)).map(toReportRow) };
