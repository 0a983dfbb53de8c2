// zod/mini: the authenticate function's configuration is parsed at every cold start, and the authenticate
// bundle carries no other zod (see adapters/dynamodb/rows.ts). Schemas of either flavour extend this base.
import * as z from 'zod/mini';

/**
 * The configuration schemas' shared base. Every entry point parses its environment once, with one
 * schema built on this base (`entry/authenticate/config.ts`, `entry/sync/config.ts`); the defaults live
 * in those schemas and nowhere else, and the CLI maps its flags onto the same names.
 */

/** `true`/`false` (and `1`/`0`, `yes`/`no`) as environment variables spell them. */
export const booleanText = z.pipe(
  z.enum(['true', 'false', '1', '0', 'yes', 'no']),
  z.transform((text) => text === 'true' || text === '1' || text === 'yes'),
);

/** What every function reads: where the table is, how to log, how its telemetry is named. */
export const baseConfigSchema = z.object({
  TABLE_NAME: z._default(z.string().check(z.minLength(1)), 'tokengate'),
  /** A local DynamoDB instead of AWS (tests, local mode). */
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
  /**
   * Whether AWS credentials are configured in the environment. Against a local DynamoDB without them the
   * client signs with placeholder credentials, which local implementations accept.
   */
  AWS_ACCESS_KEY_ID: z.optional(z.string()),
  AWS_PROFILE: z.optional(z.string()),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'debug', 'info', 'warn', 'error']), 'INFO'),
  POWERTOOLS_SERVICE_NAME: z._default(z.string().check(z.minLength(1)), 'tokengate'),
  POWERTOOLS_METRICS_NAMESPACE: z._default(z.string().check(z.minLength(1)), 'Tokengate'),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** The table client settings of a parsed configuration. */
export function tableClientOf(
  config: Pick<BaseConfig, 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'AWS_ACCESS_KEY_ID' | 'AWS_PROFILE'>,
): { region: string; endpoint?: string; localCredentials: boolean } {
  return {
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
    localCredentials: config.DYNAMODB_ENDPOINT !== undefined && config.AWS_ACCESS_KEY_ID === undefined && config.AWS_PROFILE === undefined,
  };
}

/** Raised at cold start when the environment is wrong; its message lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment with a schema, listing every problem at once (blank values count as unset). */
export function parseConfig<S extends z.core.$ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = z.safeParse(schema, present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
}
