import type { ClusterWorkUnit } from '../../core/ports/work-dispatcher.ts';
import type { Syncer } from './sync.ts';
import { outcomeCounts, type SyncSummary } from './types.ts';

/** What a worker did with a batch of units, and which of them should be delivered again. */
export interface WorkerOutcome {
  summary: SyncSummary;
  /** Cluster ids whose unit should be retried: the run's deadline came before they started. */
  retry: string[];
}

/**
 * The per-cluster handler behind the work dispatcher: syncs the units' clusters as one run (never fanning
 * out again, never reading Rancher: the scheduler's reading travels in the units). A cluster whose own sync
 * failed is not retried by the queue: its failure is recorded and alarmed like any sync failure, and the next
 * scheduled tick is its retry. Only a unit the deadline skipped is handed back for redelivery.
 */
export async function runWorkUnits(syncer: Syncer, units: readonly ClusterWorkUnit[], signal?: AbortSignal): Promise<WorkerOutcome> {
  const summary = await syncer.syncAll({ clusterIds: units.map((unit) => unit.clusterId), units, ...(signal ? { signal } : {}) });
  return { summary, retry: summary.clusters.filter((result) => result.outcome === 'skipped').map((result) => result.clusterId) };
}

/**
 * A run that fanned out in process, with its workers' results folded in: what `tokengate sync` shows, as if
 * the run had synced every cluster itself.
 */
export function withWorkerResults(summary: SyncSummary, workers: readonly SyncSummary[]): SyncSummary {
  const clusters = [...summary.clusters, ...workers.flatMap((worker) => worker.clusters)];
  return { ...summary, clusters, ...outcomeCounts(clusters) };
}
