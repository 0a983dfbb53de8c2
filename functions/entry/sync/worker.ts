import type { Context, SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { beginInvocation } from '../../adapters/telemetry/powertools.ts';
import { clusterWorkUnitSchema, type ClusterWorkUnit } from '../../core/ports/work-dispatcher.ts';
import { runWorkUnits } from '../../services/sync/cluster-worker.ts';
import { runDeadline, syncerFromEnvironment, type HandlerDeps, type InvocationContext, type SyncOverrides } from './handler.ts';

/**
 * The syncWorker function: consumes the sync queue (infra/queue.yml) through its event source mapping, one
 * batch of cluster units per invocation, and syncs them with the same per-cluster handler the in-process
 * dispatcher calls locally. Replies with partial batch failures (ReportBatchItemFailures): a message whose
 * body is not a unit, or whose cluster the invocation's deadline left unstarted, is delivered again (after
 * the queue's maxReceiveCount, into the dead-letter queue and its alarm); a cluster whose sync failed is not
 * (its failure is recorded and alarmed; the next tick retries it).
 */

export type WorkerHandler = (event: unknown, context?: InvocationContext) => Promise<SQSBatchResponse>;

const sqsEventSchema = z.object({
  Records: z.array(z.looseObject({ messageId: z.string().min(1), body: z.string() })),
});

export function makeWorkerHandler({ syncer, log, metrics }: HandlerDeps): WorkerHandler {
  return async (event, context) => {
    try {
      const parsed = sqsEventSchema.safeParse(event);
      if (!parsed.success) throw new Error(`not an SQS event: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      const failures: string[] = [];
      const byCluster = new Map<string, { unit: ClusterWorkUnit; messageIds: string[] }>();
      for (const record of parsed.data.Records) {
        const unit = parseUnit(record.body);
        if (unit === undefined) {
          log.error('sync queue message is not a cluster unit', { messageId: record.messageId });
          failures.push(record.messageId);
          continue;
        }
        // the same cluster twice in one batch (two ticks' units): synced once, both messages settled by it
        const entry = byCluster.get(unit.clusterId);
        if (entry) entry.messageIds.push(record.messageId);
        else byCluster.set(unit.clusterId, { unit, messageIds: [record.messageId] });
      }
      if (byCluster.size > 0) {
        const outcome = await runWorkUnits(syncer, [...byCluster.values()].map((entry) => entry.unit), runDeadline(context));
        for (const clusterId of outcome.retry) failures.push(...(byCluster.get(clusterId)?.messageIds ?? []));
        log.info('sync units finished', {
          runIds: [...new Set([...byCluster.values()].map((entry) => entry.unit.runId))],
          clusters: outcome.summary.clusters.length,
          ok: outcome.summary.ok,
          failed: outcome.summary.failed,
          busy: outcome.summary.busy,
          unchanged: outcome.summary.unchanged,
          redelivered: outcome.retry.length,
          durationMs: outcome.summary.durationMs,
        });
      }
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
    } catch (error) {
      // the whole batch is delivered again (e.g. the table was unreachable)
      log.error('sync units failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' });
      throw error;
    } finally {
      metrics.flush();
    }
  };
}

function parseUnit(body: string): ClusterWorkUnit | undefined {
  try {
    const parsed = clusterWorkUnitSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the worker handler from an environment (the same settings as the scheduled function's, never fanning out). */
export function workerHandlerFromEnvironment(env: Record<string, string | undefined>, overrides: SyncOverrides = {}): WorkerHandler {
  return makeWorkerHandler(syncerFromEnvironment(env, overrides));
}

// Composition root: built once per container at cold start and reused by warm invocations.
let coldStartHandler: WorkerHandler | undefined;

/** The Lambda entry point of syncWorker (the sync queue's event source mapping). */
export const handler: WorkerHandler = (event, context) => {
  coldStartHandler ??= workerHandlerFromEnvironment(process.env);
  beginInvocation(context as Context | undefined, undefined);
  return coldStartHandler(event, context);
};
