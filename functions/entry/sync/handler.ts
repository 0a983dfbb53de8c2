import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { parseConfig, tableClientOf } from '../config.ts';
import { createDocumentClient } from '../../adapters/dynamodb/client.ts';
import { DynamoDbMirrorStore } from '../../adapters/dynamodb/mirror-store.ts';
import { TableOperations } from '../../adapters/dynamodb/table-operations.ts';
import { clusterIdSchema } from '../../core/records.ts';
import { beginInvocation, powertoolsLog, powertoolsMetrics } from '../../adapters/telemetry/powertools.ts';
import { type Log, type MetricsSink } from '../../core/ports/telemetry.ts';
import { clusterSourceOpener } from '../../adapters/kubernetes/cluster-opener.ts';
import { managementSourceOpener } from '../../adapters/kubernetes/management-opener.ts';
import { DynamoDbManagementStateStore } from '../../adapters/dynamodb/management-state-store.ts';
import type { ManagementDeps } from '../../services/sync/management-sync.ts';
import { syncConfigSchema, syncOptions, type SyncConfig } from './config.ts';
import { cachingKubeconfigStore, SecretsManagerKubeconfigStore } from '../../adapters/kubeconfig/kubeconfig-store.ts';
import { createSyncer, type OpenClusterSource, type SyncStore, type Syncer, type SyncSummary } from '../../services/sync/sync.ts';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsWorkDispatcher } from '../../adapters/sqs/sqs-dispatcher.ts';
import { InProcessDispatcher } from '../../adapters/work/in-process-dispatcher.ts';
import type { WorkDispatcher } from '../../core/ports/work-dispatcher.ts';
import { runWorkUnits } from '../../services/sync/cluster-worker.ts';

/** The part of the Lambda context the handler uses: how long it may still run. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

export type SyncHandler = (event: unknown, context?: InvocationContext) => Promise<SyncSummary>;

/** The event: a schedule tick (any EventBridge payload: every cluster), or `{clusters: [...]}` for some. */
const syncEventSchema = z.looseObject({ clusters: z.array(clusterIdSchema).max(1000).optional() });

/** The invocation's event is not one the handler accepts. */
export class InvalidSyncEventError extends Error {
  override name = 'InvalidSyncEventError';
}

/** Time kept back from the Lambda's remaining time so that every started cluster can record its outcome. */
const RESERVE_MS = 15_000;

/** The run's deadline in an invocation: its remaining time less the reserve (none outside Lambda). */
export function runDeadline(context: InvocationContext | undefined): AbortSignal | undefined {
  const remainingMs = context?.getRemainingTimeInMillis();
  return remainingMs === undefined ? undefined : AbortSignal.timeout(Math.max(1000, remainingMs - RESERVE_MS));
}

export interface HandlerDeps {
  syncer: Syncer;
  log: Log;
  metrics: MetricsSink;
}

/** Translates an invocation into a sync run and its summary; metrics are flushed whatever happens. */
export function makeHandler({ syncer, log, metrics }: HandlerDeps): SyncHandler {
  return async (event, context) => {
    try {
      const parsed = syncEventSchema.safeParse(event ?? {});
      if (!parsed.success) {
        throw new InvalidSyncEventError(`invalid sync event: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      const summary = await syncer.syncAll({ clusterIds: parsed.data.clusters, signal: runDeadline(context) });
      log.info('sync run finished', {
        runId: summary.runId,
        clusters: summary.clusters.length,
        ok: summary.ok,
        failed: summary.failed,
        busy: summary.busy,
        skipped: summary.skipped,
        unchanged: summary.unchanged,
        dispatched: summary.dispatched,
        unknown: summary.unknown,
        durationMs: summary.durationMs,
      });
      return summary;
    } catch (error) {
      log.error('sync run failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' });
      throw error;
    } finally {
      metrics.flush();
    }
  };
}

/**
 * The table client of sync: longer per-attempt timeouts than the review path's, and more attempts,
 * because sync writes in bulk and throttling (retried by the SDK with backoff) is expected there.
 */
export function syncStore(config: Pick<SyncConfig, 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'TABLE_NAME' | 'AWS_ACCESS_KEY_ID' | 'AWS_PROFILE'>): DynamoDbMirrorStore {
  return new DynamoDbMirrorStore(syncTable(config));
}

/** The management source's state store on the same table (docs/rancher.md). */
export function syncManagementStore(config: Pick<SyncConfig, 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'TABLE_NAME' | 'AWS_ACCESS_KEY_ID' | 'AWS_PROFILE'>): DynamoDbManagementStateStore {
  return new DynamoDbManagementStateStore(syncTable(config));
}

function syncTable(config: Pick<SyncConfig, 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'TABLE_NAME' | 'AWS_ACCESS_KEY_ID' | 'AWS_PROFILE'>): TableOperations {
  const client = createDocumentClient({
    ...tableClientOf(config),
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 10_000,
    maxAttempts: 8,
  });
  return new TableOperations(client, config.TABLE_NAME);
}

export interface SyncOverrides {
  store?: SyncStore;
  openSource?: OpenClusterSource;
  management?: ManagementDeps;
  log?: Log;
  metrics?: MetricsSink;
  /** Where a run past SYNC_FAN_OUT_CLUSTERS hands its clusters; default: the sync queue (SYNC_QUEUE_URL), else in process. */
  dispatcher?: WorkDispatcher;
}

/**
 * Builds a syncer from an environment: one store, one Secrets Manager client, one log, one metrics sink; and
 * its dispatcher: the SQS queue when SYNC_QUEUE_URL is set (AWS), else the in-process one, which runs the units
 * through the same per-cluster handler as the syncWorker function (`runWorkUnits`).
 */
export function syncerFromEnvironment(env: Record<string, string | undefined>, overrides: SyncOverrides = {}): HandlerDeps & { config: SyncConfig } {
  const config = parseConfig(syncConfigSchema, env);
  const log = overrides.log ?? powertoolsLog(config.POWERTOOLS_SERVICE_NAME, config.LOG_LEVEL);
  const metrics =
    overrides.metrics ?? powertoolsMetrics({ namespace: config.POWERTOOLS_METRICS_NAMESPACE, serviceName: config.POWERTOOLS_SERVICE_NAME });
  const store = overrides.store ?? syncStore(config);
  const kubeconfigStores = [
    cachingKubeconfigStore(
      new SecretsManagerKubeconfigStore(
        new SecretsManagerClient({ region: config.AWS_REGION, ...(config.SECRETSMANAGER_ENDPOINT ? { endpoint: config.SECRETSMANAGER_ENDPOINT } : {}) }),
        config.CLUSTER_SECRET_PREFIX,
      ),
      config.KUBECONFIG_CACHE_SECONDS * 1000,
      () => performance.now(),
    ),
  ];
  const openSource =
    overrides.openSource ??
    clusterSourceOpener(kubeconfigStores, { pageSize: config.SYNC_PAGE_SIZE, callTimeoutMs: config.SYNC_CLUSTER_TIMEOUT_SECONDS * 1000 });
  const management = overrides.management ?? {
    store: syncManagementStore(config),
    open: managementSourceOpener(kubeconfigStores, { pageSize: config.SYNC_PAGE_SIZE, callTimeoutMs: config.SYNC_CLUSTER_TIMEOUT_SECONDS * 1000 }),
  };
  const dispatcher =
    overrides.dispatcher ??
    (config.SYNC_QUEUE_URL !== undefined
      ? new SqsWorkDispatcher(
          new SQSClient({ region: config.AWS_REGION, ...(config.SQS_ENDPOINT ? { endpoint: config.SQS_ENDPOINT } : {}) }),
          config.SYNC_QUEUE_URL,
        )
      : new InProcessDispatcher(
          async (units, signal) => {
            await runWorkUnits(syncer, units, signal);
          },
          { batchSize: config.SYNC_WORKER_BATCH_SIZE, concurrency: config.SYNC_WORKER_CONCURRENCY },
        ));
  const syncer: Syncer = createSyncer({
    store,
    openSource,
    management,
    dispatcher,
    log,
    metrics,
    now: () => new Date(),
    elapsed: () => performance.now(),
    newRunId: () => randomUUID(),
    options: syncOptions(config),
  });
  return { syncer, log, metrics, config };
}

/** Builds the real scheduled handler from an environment. */
export function handlerFromEnvironment(env: Record<string, string | undefined>, overrides: SyncOverrides = {}): SyncHandler {
  return makeHandler(syncerFromEnvironment(env, overrides));
}

// Composition root: built once per container at cold start and reused by warm invocations. A bad
// environment throws here, listing every problem, so the function fails loudly on its first run.
let coldStartHandler: SyncHandler | undefined;

/** The Lambda entry point (scheduled every minute; `{clusters: [...]}` syncs only those). */
export const handler: SyncHandler = (event, context) => {
  coldStartHandler ??= handlerFromEnvironment(process.env);
  // the schedule's event id, when EventBridge sent it, correlates the run's log lines
  const eventId = (event as { id?: unknown } | null)?.id;
  beginInvocation(context as Context | undefined, typeof eventId === 'string' ? eventId : undefined);
  return coldStartHandler(event, context);
};
