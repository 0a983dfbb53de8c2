import { z } from 'zod';
import { baseConfigSchema, booleanText } from '../config.ts';

/** Environment of the authenticate function (and the local server, which runs the same handler). */
export const authenticateConfigSchema = baseConfigSchema.extend({
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ALLOW_SYSTEM_GROUPS: booleanText.default(false),
  LAST_USED_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  FOREIGN_SUMMARY_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  CALLER_CHECKS_PER_SECOND: z.coerce.number().int().min(1).default(5),
  /** The same over every cluster id together, so cycling through made-up ids cannot buy unbounded store reads. */
  CALLER_CHECKS_PER_SECOND_TOTAL: z.coerce.number().int().min(1).default(50),
  /** Store reads per second for token names not known to exist, per cluster and per container (SECURITY.md). */
  UNKNOWN_NAME_LOOKUPS_PER_SECOND: z.coerce.number().int().min(1).default(20),
  UNKNOWN_NAME_LOOKUPS_PER_SECOND_TOTAL: z.coerce.number().int().min(1).default(100),
  /** Total time a store call may take, retries included, before the review answers 500. */
  STORE_DEADLINE_MS: z.coerce.number().int().min(50).max(10_000).default(1000),
  /** Metrics are aggregated in the container and published at most once per this interval; 0: every invocation. */
  METRICS_FLUSH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Set by the stack when the custom domain requires mutual TLS (infra/domain.yml). */
  CLIENT_CERT_REQUIRED: booleanText.default(false),
});
export type AuthenticateConfig = z.infer<typeof authenticateConfigSchema>;
