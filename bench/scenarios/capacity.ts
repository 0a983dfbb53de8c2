import { startWorker } from '../lib/child.ts';
import type { Consumed } from '../lib/capacity.ts';
import type { BenchContext, BenchGroup } from '../lib/report.ts';
import { toReportRow, type TargetRow } from '../lib/target-row.ts';
import type { CapacityRun } from '../workers/capacity.ts';
import type { KubeClustersReady } from '../workers/kube-clusters.ts';

const GROUP = 'capacity';
/** Issue 13, target 3. */
const NO_CHANGE_READ_SHARE = 0.05;
const REVIEW_RCU = 0.5;

/**
 * Issue 13, target 3, measured on AWS's DynamoDB Local (which reports consumed capacity): the read and write
 * capacity of a no-change resync against reading all of the cluster's rows once, and of one uncached review.
 * One test apiserver (1,000 tokens quick, 10,000 full), DynamoDB Local, the sync: three processes.
 */
export async function capacityScenarios(context: BenchContext): Promise<TargetRow[]> {
  const tokens = context.quick ? 1_000 : 10_000;
  context.progress(`capacity: DynamoDB Local and a test apiserver with ${tokens.toLocaleString('en-US')} tokens`);
  const ddb = await startWorker<{ endpoint: string }>('ddb-local.ts');
  const kube = await startWorker<KubeClustersReady>('kube-clusters.ts', [], { BENCH_CLUSTERS: '1', BENCH_TOKENS: String(tokens) });
  try {
    const cluster = kube.ready.clusters[0];
    if (!cluster) throw new Error('no test cluster');
    const sync = await startWorker<{ tableName: string }>('capacity.ts', [], {
      BENCH_DYNAMODB_ENDPOINT: ddb.ready.endpoint,
      BENCH_CLUSTERS_READY: JSON.stringify(kube.ready.clusters),
    });
    try {
      context.progress('capacity: initial mirror, then a no-change resync with and without the fingerprint');
      const initial = await sync.call<CapacityRun>('sync', { fullResyncSeconds: '1800' });
      assertOk(initial);
      const unchanged = await sync.call<CapacityRun>('sync', { fullResyncSeconds: '1800' });
      assertOk(unchanged);
      const full = await sync.call<CapacityRun>('sync', { fullResyncSeconds: '0' });
      assertOk(full);
      const allRows = await sync.call<{ consumed: Consumed; rows: number }>('readAllRows', { clusterId: cluster.clusterId });
      const review = await sync.call<{ consumed: Consumed; bytes: number; groups: number }>('reviewRead', { clusterId: cluster.clusterId });

      const share = unchanged.consumed.read / allRows.consumed.read;
      const skipped = unchanged.summary.clusters[0]?.unchanged === true;
      const reviewReads = Object.values(review.consumed.byCommand).reduce((sum, entry) => sum + entry.calls, 0);
      const calls = (consumed: Consumed) =>
        Object.entries(consumed.byCommand)
          .map(([command, entry]) => `${command.replace(/Command$/, '')} ×${entry.calls} (${entry.units} CU)`)
          .join(', ');
      return [
        {
          group: GROUP,
          name: `no-change resync reads, 1 × ${tokens.toLocaleString('en-US')} tokens`,
          value: `${(share * 100).toFixed(2)}% (${unchanged.consumed.read} of ${allRows.consumed.read} RCU)`,
          target: `≤ ${NO_CHANGE_READ_SHARE * 100}% of reading all rows`,
          pass: skipped && share <= NO_CHANGE_READ_SHARE,
          notes: [
            `no-change run: ${calls(unchanged.consumed)}; ${(unchanged.wallMs / 1000).toFixed(2)} s; fingerprint matched: ${skipped}`,
            `reading all ${allRows.rows.toLocaleString('en-US')} rows of the cluster (consistent Query): ${allRows.consumed.read} RCU`,
            `the same no-change run without the fingerprint (SYNC_FULL_RESYNC_SECONDS=0, as before): ${full.consumed.read} RCU, ${full.consumed.write} WCU: ${calls(full.consumed)}; ${(full.wallMs / 1000).toFixed(2)} s`,
            `amortised with the default full reconcile every 30 min: (${allRows.consumed.read} + 29 × ${unchanged.consumed.read}) / 30 = ${((allRows.consumed.read + 29 * unchanged.consumed.read) / 30).toFixed(1)} RCU per minute, ${(((allRows.consumed.read + 29 * unchanged.consumed.read) / 30 / allRows.consumed.read) * 100).toFixed(1)}% of before`,
            `initial mirror: ${initial.consumed.read} RCU, ${initial.consumed.write} WCU`,
          ],
        },
        {
          group: GROUP,
          name: 'no-change resync writes',
          value: `${unchanged.consumed.write} WCU`,
          target: '0 WCU',
          pass: unchanged.consumed.write === 0,
        },
        {
          group: GROUP,
          name: 'one uncached review',
          value: `${reviewReads} read, ${review.consumed.read} RCU`,
          target: `1 read, ≤ ${REVIEW_RCU} RCU`,
          pass: reviewReads === 1 && review.consumed.read <= REVIEW_RCU,
          notes: [`a token row with its user's ${review.groups} groups and extra: ${review.bytes} bytes as JSON; ${calls(review.consumed)}`],
        },
      ];
    } finally {
      await sync.stop();
    }
  } finally {
    await kube.stop();
    await ddb.stop();
  }
}

function assertOk(run: CapacityRun): void {
  const failed = run.summary.clusters.filter((cluster) => cluster.outcome !== 'ok');
  if (failed.length > 0) throw new Error(`sync failed: ${failed.map((cluster) => `${cluster.clusterId}: ${cluster.error ?? cluster.outcome}`).join('; ')}`);
}

/** The `capacity` group of `npm run bench`. */
export const capacityGroup: BenchGroup = { key: 'capacity', name: 'sync capacity', run: async (context) => (await capacityScenarios(context)).map(toReportRow) };
