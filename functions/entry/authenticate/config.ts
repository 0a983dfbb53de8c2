// zod/mini, as the base it extends (entry/config.ts).
import * as z from 'zod/mini';
import { baseConfigSchema, booleanText } from '../config.ts';

/** Environment of the authenticate function (and the local server, which runs the same handler). */
export const authenticateConfigSchema = z.extend(baseConfigSchema, {
  CACHE_TTL_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(3600)), 10),
  CACHE_MAX_ENTRIES: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1_000_000)), 10_000),
  ALLOW_SYSTEM_GROUPS: z._default(booleanText, false),
  LAST_USED_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 60),
  /**
   * The flood report's window (and the other summaries'): at most a day, as `tokengate floods` looks for
   * windows that started up to a day before its `--since` (adapters/dynamodb/rows.ts).
   */
  FOREIGN_SUMMARY_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(86_400)), 60),
  /**
   * Per credential id: failed caller verifies per second before its unverified checks answer 500 (retried)
   * without a hash; per cluster: registry reads per second not vouched for by a cached row or a verified credential.
   */
  CALLER_CHECKS_PER_SECOND: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 5),
  /** Registry reads per second over every cluster id not known to exist, so made-up ids cannot buy unbounded reads. */
  CALLER_CHECKS_PER_SECOND_TOTAL: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 50),
  /** Slow (scrypt, argon2id) verifies per token name per second, burst twice that, until its fast verifier exists. */
  SLOW_VERIFIES_PER_TOKEN_PER_SECOND: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 2),
  /** Slow hash verifies running at once per container, handed to clusters in turn. */
  HASH_CONCURRENCY: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(16)), 2),
  /** Slow hash verifies one cluster may have waiting per container; past it, refused with status.error (tokens) or 500 (callers). */
  HASH_QUEUE_PER_CLUSTER: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 32),
  /**
   * How long a review waits for its lastUsedAt / verifier write before answering, and an invocation for the flood
   * rows of the windows that ended (Lambda freezes after the reply); 0: not at all.
   */
  USAGE_WRITE_WAIT_MS: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(1000)), 200),
  /** Store reads per second for token names not known to exist, per cluster and per container (SECURITY.md). */
  UNKNOWN_NAME_LOOKUPS_PER_SECOND: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 20),
  UNKNOWN_NAME_LOOKUPS_PER_SECOND_TOTAL: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 100),
  /** Total time a store call may take, retries included, before the review answers 500. */
  STORE_DEADLINE_MS: z._default(z.coerce.number().check(z.int(), z.minimum(50), z.maximum(10_000)), 1000),
  /** Metrics are aggregated in the container and published at most once per this interval; 0: every invocation. */
  METRICS_FLUSH_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(300)), 10),
  /** Set by the stack when the custom domain requires mutual TLS (infra/domain.yml). */
  CLIENT_CERT_REQUIRED: z._default(booleanText, false),
});
export type AuthenticateConfig = z.infer<typeof authenticateConfigSchema>;
