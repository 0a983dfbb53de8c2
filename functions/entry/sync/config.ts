import { z } from 'zod';

/**
 * Environment of the sync function (and of `tokengate sync`, which runs the same domain code). Every
 * bound is here so an operator can tune it per stage without a code change.
 */
export const syncConfigSchema = z.object({
  TABLE_NAME: z.string().min(1).default('tokengate'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Secrets Manager name prefix of the clusters' kubeconfigs, e.g. `tokengate/prod/clusters/`. */
  CLUSTER_SECRET_PREFIX: z.string().min(1).regex(/\/$/, 'must end with "/"'),
  /** How long a warm container reuses a cluster's kubeconfig before reading its secret again. */
  KUBECONFIG_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  /** A local Secrets Manager (tests); absent: AWS itself. */
  SECRETSMANAGER_ENDPOINT: z.url().optional(),
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
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'debug', 'info', 'warn', 'error']).default('INFO'),
});
export type SyncConfig = z.infer<typeof syncConfigSchema>;
