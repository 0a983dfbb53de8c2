import * as z from 'zod';
import { clusterIdSchema } from '../records.ts';

/**
 * The port through which a scheduled sync run hands one unit of work per cluster to other executions, once
 * the fleet outgrows one run (docs/deploy.md, "Fan-out"). Adapters: `adapters/sqs/sqs-dispatcher.ts` (an SQS
 * queue consumed by the sync worker function) in AWS, `adapters/work/in-process-dispatcher.ts` locally; both
 * end in the same per-cluster handler (`services/sync/cluster-worker.ts`).
 */

/** One cluster to sync, as the scheduler hands it over (also the SQS message body, as JSON). */
export const clusterWorkUnitSchema = z.object({
  clusterId: clusterIdSchema,
  /** The scheduled run that dispatched it, for correlating log lines. */
  runId: z.string().min(1).max(100),
  /**
   * Rancher's cluster object says ACE is off (the scheduler's one reading of the management cluster): a
   * second signal besides the kube-api-auth DaemonSet, carried so that workers need not read Rancher.
   */
  aceOffInRancher: z.boolean().optional(),
});
export type ClusterWorkUnit = z.infer<typeof clusterWorkUnitSchema>;

export interface DispatchOutcome {
  /** Units accepted (queued, or run in process). */
  dispatched: number;
  /** Units that could not be handed over, with a safe reason: they are synced by the next tick. */
  failed: { clusterId: string; error: string }[];
}

export interface WorkDispatcher {
  dispatch(units: readonly ClusterWorkUnit[], options?: { signal?: AbortSignal }): Promise<DispatchOutcome>;
}
