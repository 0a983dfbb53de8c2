import { startWorker } from '../lib/child.ts';
import { rate, type BenchContext, type BenchGroup, type Row } from '../lib/report.ts';
import type { KubeClustersReady } from '../workers/kube-clusters.ts';
import type { SyncRun } from '../workers/sync.ts';

const GROUP = 'sync';

/**
 * The sync function mirroring 3 clusters (test apiservers) into a local DynamoDB of its own, then
 * syncing again with nothing changed. Three processes: the clusters, the store, the sync.
 */
export async function syncScenarios(context: BenchContext): Promise<Row[]> {
  const tokens = context.quick ? 1_000 : 10_000;
  const clusterCount = 3;
  context.progress(`sync: starting ${clusterCount} test apiservers with ${tokens.toLocaleString('en-US')} tokens each`);
  const kube = await startWorker<KubeClustersReady>('kube-clusters.ts', [], { BENCH_CLUSTERS: String(clusterCount), BENCH_TOKENS: String(tokens) });
  const store = await startWorker<{ endpoint: string }>('dynalite.ts');
  let sync: Awaited<ReturnType<typeof startWorker<{ tableName: string }>>> | undefined;
  try {
    sync = await startWorker<{ tableName: string }>('sync.ts', [], {
      BENCH_DYNAMODB_ENDPOINT: store.ready.endpoint,
      BENCH_CLUSTERS_READY: JSON.stringify(kube.ready.clusters),
    });
    const users = kube.ready.clusters.reduce((sum, cluster) => sum + cluster.users, 0);
    const label = `${clusterCount} × ${tokens.toLocaleString('en-US')} tokens + ${(users / clusterCount).toLocaleString('en-US')} users`;

    context.progress('sync: initial mirror');
    await kube.call('requests');
    const first = await sync.call<SyncRun>('sync');
    const firstRequests = await kube.call<Array<{ list: number; get: number; patch: number }>>('requests');
    context.progress('sync: no-change resync');
    const second = await sync.call<SyncRun>('sync');
    const secondRequests = await kube.call<Array<{ list: number; get: number; patch: number }>>('requests');
    context.progress('sync: diagnostics (listing only, bare batch writes)');
    const listing = await sync.call<{ wallMs: number; objects: number }>('listOnly');
    const writing = await sync.call<{ wallMs: number; rows: number }>('bareWrites');
    const rateOf = (count: number, wallMs: number) => ({ ops: count, errors: 0, elapsedMs: wallMs, throughput: (count * 1000) / wallMs, p50: Number.NaN, p99: Number.NaN });

    const objects = (run: SyncRun) => run.summary.clusters.reduce((sum, cluster) => sum + cluster.objects, 0);
    const rowWrites = (run: SyncRun) => Object.values(run.storeWrites).reduce((sum, count) => sum + count, 0);
    const failed = (run: SyncRun) => run.summary.clusters.filter((cluster) => cluster.outcome !== 'ok');
    for (const run of [first, second]) {
      if (failed(run).length > 0) throw new Error(`sync failed: ${failed(run).map((cluster) => `${cluster.clusterId}: ${cluster.error}`).join('; ')}`);
    }
    const expected = kube.ready.clusters.reduce((sum, cluster) => sum + cluster.tokens + cluster.users, 0);
    if (objects(first) !== expected) throw new Error(`the initial sync listed ${objects(first)} objects, not ${expected}`);
    const perCluster = (run: SyncRun) => run.summary.clusters.map((cluster) => `${cluster.clusterId} ${(cluster.durationMs / 1000).toFixed(1)} s`).join(', ');
    const requests = (counts: Array<{ list: number; get: number; patch: number }>) =>
      `${counts.reduce((sum, count) => sum + count.list, 0)} list pages, ${counts.reduce((sum, count) => sum + count.get, 0)} GETs, ${counts.reduce((sum, count) => sum + count.patch, 0)} patches`;
    const throughput = (run: SyncRun) => ({ ops: objects(run), errors: 0, elapsedMs: run.wallMs, throughput: (objects(run) * 1000) / run.wallMs, p50: Number.NaN, p99: Number.NaN });
    const secondWrites = rowWrites(second);
    const summaryWrites = second.summary.clusters.reduce((sum, cluster) => sum + cluster.writes + cluster.deletes, 0);

    return [
      {
        group: GROUP,
        scenario: `initial mirror, ${label}`,
        measured: throughput(first),
        baselineName: 'bare BatchWrite of the same rows',
        baseline: rateOf(writing.rows, writing.wallMs),
        ratio: `${(first.wallMs / 1000).toFixed(1)} s vs ${(writing.wallMs / 1000).toFixed(1)} s`,
        verdict: 'report',
        notes: [
          `${objects(first).toLocaleString('en-US')} objects in ${(first.wallMs / 1000).toFixed(1)} s = ${rate(throughput(first).throughput)} objects/s; ` +
            `${rowWrites(first).toLocaleString('en-US')} row writes (${JSON.stringify(first.storeWrites)}); clusters in parallel: ${perCluster(first)}; apiservers served ${requests(firstRequests)}`,
          `baseline (diagnostic, no target): the ${writing.rows.toLocaleString('en-US')} rows the sync wrote, written again into an empty table by the store's batch writer, one stream per cluster, in ${(writing.wallMs / 1000).toFixed(1)} s`,
        ],
      },
      {
        group: GROUP,
        scenario: 'no-change resync',
        measured: throughput(second),
        baselineName: 'listing only (adapter, no store)',
        baseline: rateOf(listing.objects, listing.wallMs),
        ratio: `${(second.wallMs / 1000).toFixed(1)} s vs ${(listing.wallMs / 1000).toFixed(1)} s; ${secondWrites} writes`,
        target: '0 row writes',
        verdict: secondWrites === 0 && summaryWrites === 0 ? 'PASS' : 'FAIL',
        notes: [
          `${(second.wallMs / 1000).toFixed(1)} s; row writes at the store port: ${secondWrites} (the sync reports ${summaryWrites}); clusters: ${perCluster(second)}; apiservers served ${requests(secondRequests)}`,
          `baseline (diagnostic): the product's Kubernetes adapter listing the same ${listing.objects.toLocaleString('en-US')} objects of the 3 clusters at once, without the store, in ${(listing.wallMs / 1000).toFixed(1)} s`,
        ],
      },
    ];
  } finally {
    await Promise.all([sync?.stop(), store.stop(), kube.stop()]);
  }
}

export const syncGroup: BenchGroup = { key: 'sync', name: 'sync', run: syncScenarios };
