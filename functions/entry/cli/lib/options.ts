import * as z from 'zod';
import { clusterIdSchema } from '../../../core/records.ts';
import { baseConfigSchema, parseConfig, tableClientOf } from '../../config.ts';
import { parseValue, stringOption, type CommandInput, type OptionDef } from './command.ts';
import { UsageError } from './errors.ts';
import { OUTPUT_FORMATS, type OutputFormat } from './output.ts';
import type { TableLocation } from '../../../adapters/dynamodb/table-access.ts';

/** Options of every command that talks to the table. */
export const TABLE_OPTIONS: Record<string, OptionDef> = {
  endpoint: { type: 'string', value: 'URL', description: 'DynamoDB endpoint (env DYNAMODB_ENDPOINT; default: AWS itself)' },
  table: { type: 'string', value: 'NAME', description: 'table name (env TABLE_NAME; default tokengate)' },
  region: { type: 'string', value: 'REGION', description: 'AWS region (env AWS_REGION; default us-east-1)' },
};

/** `-o` for commands that print objects: kubectl's formats. */
export const OUTPUT_OPTION: Record<string, OptionDef> = {
  output: { type: 'string', short: 'o', value: 'FORMAT', description: `${OUTPUT_FORMATS.join('|')} (default table)` },
};

const { TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE } = baseConfigSchema.shape;

const endpointSchema = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const tableNameSchema = z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)');

/**
 * Where the table is: options first, then the environment, then the defaults, as the functions' shared
 * configuration schema reads them (the flags are its variables).
 */
export function tableLocation(input: CommandInput, env: Record<string, string | undefined>, useEnvEndpoint = true): TableLocation {
  const endpoint = stringOption(input, 'endpoint') ?? (useEnvEndpoint ? nonEmpty(env.DYNAMODB_ENDPOINT) : undefined);
  const tableName = stringOption(input, 'table') ?? nonEmpty(env.TABLE_NAME);
  if (tableName !== undefined) parseValue(tableNameSchema, tableName, '--table');
  if (endpoint !== undefined) parseValue(endpointSchema, endpoint, '--endpoint');
  const config = parseConfig(z.object({ TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE }), {
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_PROFILE: env.AWS_PROFILE,
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: stringOption(input, 'region') ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
  });
  const client = tableClientOf(config);
  return {
    tableName: config.TABLE_NAME,
    region: client.region,
    ...(client.endpoint !== undefined ? { endpoint: client.endpoint } : {}),
    ...(client.localCredentials ? { localCredentials: true } : {}),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The cluster id argument, validated like the API validates it. */
export function clusterIdArgument(raw: string | undefined): string {
  if (raw !== undefined && clusterIdSchema.safeParse(raw).success) return raw;
  throw new UsageError(`invalid cluster id "${raw ?? ''}": expected a lower-case DNS label of at most 63 characters, like c-m-abc12xyz or local`);
}

/** The `--output` format of the commands that print objects. */
export function outputFormat(input: CommandInput): OutputFormat {
  return parseValue(z.enum(OUTPUT_FORMATS, { error: `expected one of ${OUTPUT_FORMATS.join(', ')}` }), stringOption(input, 'output') ?? 'table', '--output');
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `1h`, `90m`, `1h30m`, `7d`, `45s` or `0` → milliseconds. */
export const durationSchema = z
  .string()
  .regex(/^(0|(\d+[dhms])+)$/, 'expected a duration like 30s, 15m, 1h, 1h30m or 7d')
  .transform((text) => {
    let total = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g)) total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    return total;
  })
  .refine((ms) => ms <= 10 * 365 * UNIT_MS.d, 'at most 10 years');

/** A TCP port; 0 asks the system for a free one. */
export const portSchema = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a port number')
  .min(0, 'expected a port number from 0 to 65535')
  .max(65535, 'expected a port number from 0 to 65535');

/** Formats milliseconds the way `durationSchema` reads them, e.g. `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text || `${ms}ms`;
}
