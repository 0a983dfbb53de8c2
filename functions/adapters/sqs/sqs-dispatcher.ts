import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describeError } from '../../core/errors.ts';
import type { ClusterWorkUnit, DispatchOutcome, WorkDispatcher } from '../../core/ports/work-dispatcher.ts';

/** SendMessageBatch's limit per call. */
const BATCH_ENTRIES = 10;

/**
 * The work dispatcher in AWS: one SQS message per cluster on the sync queue, sent in batches of 10. The
 * queue's event source mapping runs the syncWorker function on them with bounded concurrency
 * (serverless.yml, infra/queue.yml). Entries SQS refuses are reported per cluster, never retried here: the
 * next scheduled tick dispatches them again.
 */
export class SqsWorkDispatcher implements WorkDispatcher {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async dispatch(units: readonly ClusterWorkUnit[], options: { signal?: AbortSignal } = {}): Promise<DispatchOutcome> {
    const outcome: DispatchOutcome = { dispatched: 0, failed: [] };
    for (let start = 0; start < units.length; start += BATCH_ENTRIES) {
      const batch = units.slice(start, start + BATCH_ENTRIES);
      try {
        options.signal?.throwIfAborted();
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            // the entry id is the batch position: cluster ids are DNS labels, ids need only be unique per call
            Entries: batch.map((unit, index) => ({ Id: String(index), MessageBody: JSON.stringify(unit) })),
          }),
          options.signal ? { abortSignal: options.signal } : {},
        );
        const refused = new Map((result.Failed ?? []).map((entry) => [entry.Id, entry]));
        for (const [index, unit] of batch.entries()) {
          const entry = refused.get(String(index));
          if (entry) outcome.failed.push({ clusterId: unit.clusterId, error: `SQS refused the message: ${entry.Code ?? 'unknown'}` });
          else outcome.dispatched += 1;
        }
      } catch (error) {
        for (const unit of batch) outcome.failed.push({ clusterId: unit.clusterId, error: `sending to the sync queue failed: ${describeError(error)}` });
      }
    }
    return outcome;
  }
}
