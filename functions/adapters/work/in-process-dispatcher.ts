import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import type { ClusterWorkUnit, DispatchOutcome, WorkDispatcher } from '../../core/ports/work-dispatcher.ts';

export interface InProcessDispatchOptions {
  /** Units per call of the handler, as the queue's batch size. */
  batchSize: number;
  /** Handler calls at once, as the queue's maximum concurrency. */
  concurrency: number;
}

/**
 * The work dispatcher of local mode (`tokengate sync`, tests): the units go, in batches, to the same
 * per-cluster handler the syncWorker function runs on SQS messages, with bounded concurrency, in this
 * process. Waits for them, so a local run ends when its clusters are synced. No queue of its own: a unit
 * whose handler call fails is reported failed (the next run syncs it), not redelivered.
 */
export class InProcessDispatcher implements WorkDispatcher {
  constructor(
    private readonly handle: (units: readonly ClusterWorkUnit[], signal: AbortSignal | undefined) => Promise<void>,
    private readonly options: InProcessDispatchOptions,
  ) {}

  async dispatch(units: readonly ClusterWorkUnit[], options: { signal?: AbortSignal } = {}): Promise<DispatchOutcome> {
    const outcome: DispatchOutcome = { dispatched: 0, failed: [] };
    const limit = pLimit(this.options.concurrency);
    const batches: ClusterWorkUnit[][] = [];
    for (let start = 0; start < units.length; start += this.options.batchSize) batches.push(units.slice(start, start + this.options.batchSize));
    await Promise.all(
      batches.map((batch) =>
        limit(async () => {
          try {
            await this.handle(batch, options.signal);
            outcome.dispatched += batch.length;
          } catch (error) {
            for (const unit of batch) outcome.failed.push({ clusterId: unit.clusterId, error: describeError(error) });
          }
        }),
      ),
    );
    return outcome;
  }
}
