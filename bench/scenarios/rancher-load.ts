import { startWorker } from '../lib/child.ts';
import type { BenchContext, BenchGroup } from '../lib/report.ts';
import { toReportRow, type TargetRow } from '../lib/target-row.ts';
import type { ManagementLoad } from '../workers/rancher-management.ts';

const GROUP = 'rancher load';
/** Issue 11: an unchanged Rancher costs almost nothing per minute; held here to 1% of a full listing's bytes. */
const NO_CHANGE_BYTES_SHARE = 0.01;

/**
 * Issue 11, "Load on Rancher's local cluster": bytes and objects the management source reads from the test
 * management apiserver with 50,000 tokens (quick: 5,000), for a full listing and for the next run when nothing
 * changed (a watch from the stored resourceVersions).
 */
export async function rancherLoadScenarios(context: BenchContext): Promise<TargetRow[]> {
  const tokens = context.quick ? 5_000 : 50_000;
  context.progress(`rancher load: a test management apiserver with ${tokens.toLocaleString('en-US')} tokens`);
  const worker = await startWorker<{ tokens: number; users: number; clusters: number }>('rancher-management.ts', [], { BENCH_MANAGEMENT_TOKENS: String(tokens) });
  try {
    const full = await worker.call<ManagementLoad>('read', { fresh: true });
    const unchanged = await worker.call<ManagementLoad>('read', {});
    const share = unchanged.served.bytes / full.served.bytes;
    const describe = (load: ManagementLoad) =>
      `${load.stats.mode}: ${load.served.requests} requests, ${load.served.objects.toLocaleString('en-US')} objects/events, ${(load.served.bytes / 1024).toFixed(1)} KiB in ${(load.wallMs / 1000).toFixed(2)} s (` +
      Object.entries(load.byResource)
        .map(([resource, entry]) => `${resource} ${entry.requests} req/${entry.objects.toLocaleString('en-US')} obj/${(entry.bytes / 1024).toFixed(0)} KiB`)
        .join(', ') +
      ')';
    return [
      {
        group: GROUP,
        name: `management source, no-change run vs full listing, ${tokens.toLocaleString('en-US')} tokens`,
        value: `${(share * 100).toFixed(3)}% of the bytes (${unchanged.served.bytes.toLocaleString('en-US')} B vs ${(full.served.bytes / 2 ** 20).toFixed(1)} MiB); ${unchanged.served.objects} vs ${full.served.objects.toLocaleString('en-US')} objects`,
        target: `≤ ${NO_CHANGE_BYTES_SHARE * 100}% of a full listing's bytes, 0 objects`,
        pass: share <= NO_CHANGE_BYTES_SHARE && unchanged.served.objects === 0 && unchanged.stats.mode === 'watch',
        notes: [`full listing (first run, or after 410 Gone) — ${describe(full)}`, `no-change run — ${describe(unchanged)}`, `${worker.ready.users.toLocaleString('en-US')} users and attributes, ${worker.ready.clusters} clusters; 1 in 5 tokens an ext token Secret, 1 in 5 a login session (not served: the adapter's label selector leaves sessions out)`],
      },
    ];
  } finally {
    await worker.stop();
  }
}

/** The `rancher-load` group of `npm run bench`. */
export const rancherLoadGroup: BenchGroup = { key: 'rancher-load', name: 'rancher load', run: async (context) => (await rancherLoadScenarios(context)).map(toReportRow) };
