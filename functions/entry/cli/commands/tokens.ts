import * as z from 'zod';
import { ConflictError } from '../../../core/errors.ts';
import type { ClusterState, RevocationRecord, TokenRecord } from '../../../core/records.ts';
import { revocationOf } from '../../../core/revocation.ts';
import { blockOf, type TokenBlock } from '../../../core/token-state.ts';
import { parseValue, stringOption, stringsOption, type Command } from '../lib/command.ts';
import { CliError, UsageError } from '../lib/errors.ts';
import { createNativeToken, defaultTokenName, isValidTokenName } from '../../../core/native-token.ts';
import { createToken } from '../../../services/admin/create-token.ts';
import { clusterIdArgument, durationSchema, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { printObjects, type ObjectView } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

const printable = z
  .string()
  .refine((text) => text.trim() !== '', 'must not be empty or blank')
  .refine((text) => text.length <= 1024, 'is too long (at most 1024 characters)')
  .refine((text) => /^[^\p{Cc}]*$/u.test(text), 'must not contain control characters');

/** A revocation binds the token's hash, so a name tokengate holds no row of cannot be revoked (yet). */
function noTokenToRevoke(clusterId: string, name: string): CliError {
  return new CliError(
    `no token named ${name} in cluster ${clusterId} to revoke: a revocation binds the token's hash, ` +
      `so the token must be synced or imported first (tokengate tokens list ${clusterId})`,
  );
}

const lifetimeSchema = z
  .string()
  .refine((text) => !text.startsWith('-'), 'a lifetime cannot be negative; give e.g. 8h or 7d, or 0 for a token that never expires')
  .pipe(durationSchema);

export const tokensCreateCommand: Command = {
  name: 'tokens create',
  summary: 'Issue a native token for a user of a cluster and print it (name:secret, stdout only, shown once).',
  description:
    "A native token is tokengate's own (origin native): its user and groups are stored with it, sync never\n" +
    'changes it, and only its argon2id hash is kept. Groups starting with system: are dropped by the\n' +
    'review unless the API runs with ALLOW_SYSTEM_GROUPS=true.',
  args: '<clusterId>',
  options: {
    user: { type: 'string', value: 'USER', description: 'username the apiserver will see (required)' },
    group: { type: 'string', multiple: true, value: 'GROUP', description: 'a group of the user (repeatable)' },
    'expires-in': { type: 'string', value: 'DURATION', description: 'lifetime, e.g. 8h or 7d (default 24h; 0 = never expires)' },
    name: { type: 'string', value: 'NAME', description: 'token name (default tg-<5 random characters>)' },
    ...TABLE_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  examples: ['tokengate tokens create c-m-abc12xyz --user alice --group developers --expires-in 8h'],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const rawUser = stringOption(input, 'user');
    if (rawUser === undefined) throw new UsageError('--user is required: the username the apiserver will see');
    const userName = parseValue(printable, rawUser, '--user');
    const groups = stringsOption(input, 'group').map((group) => parseValue(printable, group, '--group'));
    const lifetimeMs = parseValue(lifetimeSchema, stringOption(input, 'expires-in') ?? '24h', '--expires-in');
    const name = stringOption(input, 'name') ?? defaultTokenName(io.randomBytes);
    if (!isValidTokenName(name)) throw new UsageError(`--name: "${name}" is not a valid token name (lower-case letters, digits, '-' and '.')`);
    if (groups.some((group) => group.startsWith('system:'))) {
      io.stderr('warning: groups starting with system: are dropped by the review unless ALLOW_SYSTEM_GROUPS=true\n');
    }
    return withTable(tableLocation(input, io.env), async ({ store }) => {
      if (!(await store.readCluster(clusterId))) throw new CliError(`cluster ${clusterId} is not registered (tokengate clusters add ${clusterId})`);
      const now = io.now();
      const expiresAt = lifetimeMs > 0 ? new Date(now.getTime() + lifetimeMs) : undefined;
      const { record, token } = await createNativeToken(
        { clusterId, name, userName, groups, now, ...(expiresAt ? { expiresAt } : {}) },
        io.randomBytes,
      );
      let created: { warning?: string };
      try {
        created = await createToken(store, record);
      } catch (error) {
        if (error instanceof ConflictError) throw new CliError(`a token named ${name} already exists in cluster ${clusterId}`);
        throw error;
      }
      io.stdout(`${token}\n`);
      if (created.warning) io.stderr(`warning: ${created.warning}\n`);
      io.stderr(
        `created native token ${name} for ${userName} in cluster ${clusterId}, ` +
          `${expiresAt ? `expiring ${expiresAt.toISOString()}` : 'never expiring'}; it is shown only this once\n`,
      );
      return 0;
    });
  },
};

/** What `tokens list` shows of a token: never its hash. */
export interface TokenView {
  name: string;
  /** `unknown` only for a revocation without a token row recorded before revocations named their token's origin. */
  origin: TokenRecord['origin'] | 'unknown';
  /** Empty only where `origin` is `unknown`. */
  userName: string;
  state: 'active' | 'revoked' | 'disabled' | 'expired' | 'user-missing' | 'user-disabled' | 'no-hash' | 'expiry-unreadable';
  enabled: boolean;
  revoked: boolean;
  /**
   * True for a revocation whose token row is gone (pruned from Rancher, or not yet back from a backup
   * restore): it is listed so it can be seen and lifted, and it still refuses the token should it return.
   */
  tokenAbsent: boolean;
  revokedAt?: string;
  expiresAt?: string;
  lastUsedAt?: string;
  groups: string[];
}

/** How `tokens list` names each state (`active`: only the secret is left to check). */
const STATE_NAMES: Record<TokenBlock, Exclude<TokenView['state'], 'active'>> = {
  'token-disabled': 'disabled',
  'token-revoked': 'revoked',
  'user-not-found': 'user-missing',
  'user-disabled': 'user-disabled',
  'expiry-unparseable': 'expiry-unreadable',
  'token-expired': 'expired',
  'hash-missing': 'no-hash',
};

/** The state a review would see first, in its check order (the review's own `blockOf`). */
export function tokenView(row: TokenRecord, lastUsedAt: string | undefined, now: Date): TokenView {
  const block = blockOf(row, now);
  const state: TokenView['state'] = block === undefined ? 'active' : STATE_NAMES[block];
  return {
    name: row.name,
    origin: row.origin,
    userName: row.userName,
    state,
    enabled: row.enabled,
    revoked: row.revoked === true,
    tokenAbsent: false,
    ...(typeof row.revokedAt === 'string' ? { revokedAt: row.revokedAt } : {}),
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    ...(lastUsedAt ? { lastUsedAt } : {}),
    groups: row.user?.groups ?? [],
  };
}

/** A revocation with no token row of its name: revoked, the token absent, nothing known beyond what the revocation recorded. */
export function absentTokenView(revocation: RevocationRecord): TokenView {
  return {
    name: revocation.name,
    origin: revocation.origin ?? 'unknown',
    userName: revocation.userName ?? '',
    state: 'revoked',
    enabled: false,
    revoked: true,
    tokenAbsent: true,
    revokedAt: revocation.revokedAt,
    groups: [],
  };
}

/** Every token row, and every revocation whose token row is gone, in name order. */
export function tokenViews(state: Pick<ClusterState, 'tokens' | 'usage' | 'revocations'>, now: Date): TokenView[] {
  const lastUse = new Map(state.usage.map((usage) => [usage.name, usage.lastUsedAt]));
  const names = new Set(state.tokens.map((row) => row.name));
  return [
    ...state.tokens.map((row) => tokenView(row, lastUse.get(row.name), now)),
    ...(state.revocations ?? []).filter((revocation) => !names.has(revocation.name)).map(absentTokenView),
  ].sort((a, b) => a.name.localeCompare(b.name));
}

/** `tokens list` in each `-o` format; wide adds the groups, whether it is enabled and when it was revoked. */
export function tokenObjects(clusterId: string): ObjectView<TokenView> {
  return {
    kind: 'token',
    nameOf: (view) => view.name,
    empty: `no tokens in cluster ${clusterId}`,
    columns: [
      { title: 'NAME', cell: (view) => view.name },
      { title: 'ORIGIN', cell: (view) => view.origin },
      { title: 'USER', cell: (view) => view.userName || '-' },
      { title: 'STATE', cell: (view) => (view.tokenAbsent ? `${view.state} (token absent)` : view.state) },
      { title: 'EXPIRES', cell: (view) => (view.tokenAbsent ? '-' : (view.expiresAt ?? 'never')) },
      { title: 'LAST-USED', cell: (view) => view.lastUsedAt ?? '-' },
      { title: 'ENABLED', cell: (view) => (view.tokenAbsent ? '-' : String(view.enabled)), wide: true },
      { title: 'REVOKED-AT', cell: (view) => view.revokedAt ?? '-', wide: true },
      { title: 'GROUPS', cell: (view) => view.groups.join(',') || '-', wide: true },
    ],
  };
}

export const tokensListCommand: Command = {
  name: 'tokens list',
  summary: "List a cluster's tokens: origin, user, state, expiry and last use (never secrets or hashes).",
  description:
    'A revocation whose token row is gone (its token pruned from Rancher, or not yet back from a backup\n' +
    'restore) is listed too, as "revoked (token absent)" (tokenAbsent: true in -o json/yaml): it still refuses\n' +
    'that token should it come back, until tokens unrevoke lifts it.',
  args: '<clusterId>',
  options: { ...OUTPUT_OPTION, ...TABLE_OPTIONS },
  positionals: { min: 1, max: 1 },
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const format = outputFormat(input);
    return withTable(tableLocation(input, io.env), async ({ store }) => {
      printObjects(io, format, tokenViews(await store.readClusterState(clusterId), io.now()), tokenObjects(clusterId));
      return 0;
    });
  },
};

export const tokensRevokeCommand: Command = {
  name: 'tokens revoke',
  summary: 'Revoke a token at once, native or synced from Rancher (sync keeps the revocation).',
  description:
    'The table changes immediately. A review cached before may still accept the token for the API\'s\n' +
    "CACHE_TTL_SECONDS and the apiserver's --authentication-token-webhook-cache-ttl. The revocation is a\n" +
    "record of its own, bound to the token's name and hash: it survives the token's row being pruned and\n" +
    'synced again, but a regenerated token of the same name (a new secret) is not revoked. Lift it with\n' +
    'tokens unrevoke.',
  args: '<clusterId> <tokenName>',
  options: { ...TABLE_OPTIONS },
  positionals: { min: 2, max: 2 },
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const name = input.positionals[1] as string;
    return withTable(tableLocation(input, io.env), async ({ store, reviews }) => {
      const [token, revocation] = await Promise.all([reviews.getToken(clusterId, name), store.readRevocation(clusterId, name)]);
      if (token?.revoked && revocation !== undefined && revocationOf(token, [revocation])) {
        io.stderr(`${name} in cluster ${clusterId} is already revoked (since ${revocation.revokedAt})\n`);
        return 0;
      }
      if (token === undefined && revocation !== undefined) {
        io.stderr(
          `${name} in cluster ${clusterId} is already revoked (since ${revocation.revokedAt}); its token row is absent, ` +
            'and the revocation refuses that token should it come back\n',
        );
        return 0;
      }
      if (!(await store.revokeToken(clusterId, name, io.now()))) throw noTokenToRevoke(clusterId, name);
      io.stderr(`revoked ${name} in cluster ${clusterId}\n`);
      return 0;
    });
  },
};

export const tokensUnrevokeCommand: Command = {
  name: 'tokens unrevoke',
  summary: "Lift a token's revocation (the token works again if it is otherwise valid).",
  args: '<clusterId> <tokenName>',
  options: { ...TABLE_OPTIONS },
  positionals: { min: 2, max: 2 },
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const name = input.positionals[1] as string;
    return withTable(tableLocation(input, io.env), async ({ store, reviews }) => {
      const token = await reviews.getToken(clusterId, name);
      if (!(await store.unrevokeToken(clusterId, name))) throw new CliError(`${name} in cluster ${clusterId} is not revoked`);
      io.stderr(
        token === undefined
          ? `lifted the revocation of ${name} in cluster ${clusterId}; its token row is absent, and should that token come back it is no longer refused\n`
          : `lifted the revocation of ${name} in cluster ${clusterId}\n`,
      );
      return 0;
    });
  },
};
