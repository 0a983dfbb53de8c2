import * as z from 'zod';
import type { SyncOptions } from '../../services/sync/sync.ts';
import { baseConfigSchema, parseConfig } from '../config.ts';

/**
 * How a sync run behaves, wherever it runs (the Lambda, `tokengate sync`). Every bound is here, with its
 * default, so an operator can tune it per stage without a code change.
 */
export const syncRunConfigSchema = z.object({
  ...baseConfigSchema.shape,
  /** Clusters synced at once by one run. */
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** One cluster's whole sync (listings, Secret reads, writes, write-back); its lease outlives it. */
  SYNC_CLUSTER_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(900).default(120),
  /** Items per list page requested from a cluster's apiserver. */
  SYNC_PAGE_SIZE: z.coerce.number().int().min(10).max(5000).default(500),
  /**
   * Rancher's `auth-provider-refresh-debounce-seconds`. Rancher defines no default: it copies the
   * setting into a ConfigMap only when an admin sets it, and kube-api-auth marks users for a refresh
   * only then. Unset here likewise means: never set `needsRefresh`.
   */
  REFRESH_DEBOUNCE_SECONDS: z.coerce.number().int().min(0).optional(),
  /** Write-back merge patches per cluster per run; the rest wait for the next run. 0 disables write-back. */
  WRITE_BACK_MAX_PATCHES: z.coerce.number().int().min(0).max(10_000).default(200),
  /** Write-back patches in flight per cluster. */
  WRITE_BACK_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  /** Patch a token's `lastUsedAt` in the cluster when the table's is newer by more than this. */
  WRITE_BACK_LAST_USED_THRESHOLD_SECONDS: z.coerce.number().int().min(0).default(60),
  /** How long a cluster's lease outlives its timeout, so a run that overran is still covered while it stops. */
  SYNC_LEASE_MARGIN_SECONDS: z.coerce.number().int().min(0).max(900).default(60),
  /** Conditional single-record writes in flight per cluster. */
  SYNC_WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(16),
  /**
   * A cluster whose listing is unchanged since its last clean apply is not read from the table, up to this
   * age of that apply; then a full reconcile runs (it also carries write-back). 0: read every run.
   */
  SYNC_FULL_RESYNC_SECONDS: z.coerce.number().int().min(0).max(86_400).default(1800),
  /**
   * A scheduled run with more downstream clusters than this hands each one to the work queue (in AWS, the
   * sync queue consumed by the syncWorker function; locally, in process) instead of syncing them itself. 0: never.
   */
  SYNC_FAN_OUT_CLUSTERS: z.coerce.number().int().min(0).max(100_000).default(150),
  /** In-process fan-out (no queue): units per handler call, as the queue's batch size. */
  SYNC_WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** In-process fan-out (no queue): handler calls at once, as the queue mapping's maximum concurrency. */
  SYNC_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Records per unconditional batch write, with the run's deadline checked in between. */
  SYNC_BATCH_CHUNK: z.coerce.number().int().min(25).max(10_000).default(500),
});
export type SyncRunConfig = z.infer<typeof syncRunConfigSchema>;

/** Environment of the sync function: a sync run's settings, plus where its clusters' kubeconfigs are. */
export const syncConfigSchema = syncRunConfigSchema.extend({
  /** Secrets Manager name prefix of the clusters' kubeconfigs, e.g. `tokengate/prod/clusters/`. */
  CLUSTER_SECRET_PREFIX: z.string().min(1).regex(/\/$/, 'must end with "/"'),
  /** How long a warm container reuses a cluster's kubeconfig before reading its secret again. */
  KUBECONFIG_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  /** A local Secrets Manager (tests); absent: AWS itself. */
  SECRETSMANAGER_ENDPOINT: z.url().optional(),
  /** The sync queue (infra/queue.yml): where a run past SYNC_FAN_OUT_CLUSTERS sends its units; absent: they run in process. */
  SYNC_QUEUE_URL: z.url().optional(),
  /** A local SQS-compatible endpoint (tests); absent: AWS itself. */
  SQS_ENDPOINT: z.url().optional(),
});
export type SyncConfig = z.infer<typeof syncConfigSchema>;

/** Maps a parsed configuration to the sync service's options. */
export function syncOptions(config: SyncRunConfig): SyncOptions {
  return {
    concurrency: config.SYNC_CONCURRENCY,
    clusterTimeoutMs: config.SYNC_CLUSTER_TIMEOUT_SECONDS * 1000,
    leaseMarginMs: config.SYNC_LEASE_MARGIN_SECONDS * 1000,
    writeConcurrency: config.SYNC_WRITE_CONCURRENCY,
    batchChunk: config.SYNC_BATCH_CHUNK,
    fullResyncMs: config.SYNC_FULL_RESYNC_SECONDS * 1000,
    fanOutClusters: config.SYNC_FAN_OUT_CLUSTERS,
    writeBack: {
      maxPatches: config.WRITE_BACK_MAX_PATCHES,
      concurrency: config.WRITE_BACK_CONCURRENCY,
      lastUsedThresholdMs: config.WRITE_BACK_LAST_USED_THRESHOLD_SECONDS * 1000,
      refreshDebounceSeconds: config.REFRESH_DEBOUNCE_SECONDS,
    },
  };
}

/** The sync options of an empty environment: every default of {@link syncRunConfigSchema}. */
export const DEFAULT_SYNC_OPTIONS: SyncOptions = syncOptions(parseConfig(syncRunConfigSchema, {}));
