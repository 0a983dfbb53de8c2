import { z } from 'zod';

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((text) => text === 'true' || text === '1' || text === 'yes');

/** Environment of the authenticate function (and the local server, which runs the same handler). */
export const authenticateConfigSchema = z.object({
  TABLE_NAME: z.string().min(1).default('tokengate'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ALLOW_SYSTEM_GROUPS: booleanText.default(false),
  LAST_USED_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  FOREIGN_SUMMARY_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  CALLER_CHECKS_PER_SECOND: z.coerce.number().int().min(1).default(5),
  /** Store reads per second for token names not known to exist, per cluster and per container (SECURITY.md). */
  UNKNOWN_NAME_LOOKUPS_PER_SECOND: z.coerce.number().int().min(1).default(20),
  UNKNOWN_NAME_LOOKUPS_PER_SECOND_TOTAL: z.coerce.number().int().min(1).default(100),
  /** Total time a store call may take, retries included, before the review answers 500. */
  STORE_DEADLINE_MS: z.coerce.number().int().min(50).max(10_000).default(1000),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'debug', 'info', 'warn', 'error']).default('INFO'),
  /** Metrics are aggregated in the container and published at most once per this interval; 0: every invocation. */
  METRICS_FLUSH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Set by the stack when the custom domain requires mutual TLS (infra/domain.yml). */
  CLIENT_CERT_REQUIRED: booleanText.default(false),
});
export type AuthenticateConfig = z.infer<typeof authenticateConfigSchema>;

/** Raised at cold start when the environment is wrong; its message lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment with a schema, listing every problem at once (blank values count as unset). */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
}
