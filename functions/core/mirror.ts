import { createHash } from 'node:crypto';
import type { ClusterAuthToken, ClusterUserAttribute, HashSecret } from './rancher-objects.ts';
import type { ClusterRows, TableItem, TableKey } from '../adapters/dynamodb/store.ts';
import { expiryOf } from './review.ts';
import { keys, type SecretRow, type TokenRow, type TokenUser, type UserRow } from '../adapters/dynamodb/table.ts';

/**
 * The mirror derivation shared by `tokengate import` and the sync function: Rancher's objects of one
 * cluster → the rows a review reads → the writes that bring the table there.
 */

/** The fields of a ClusterAuthToken that matter to a review (`""` = absent, as Rancher writes them). */
export type TokenSource = Pick<ClusterAuthToken, 'name' | 'userName' | 'enabled' | 'expiresAt' | 'hash'>;
/** The fields of a ClusterUserAttribute we mirror (`name` is the user id). */
export type UserSource = Pick<
  ClusterUserAttribute,
  'name' | 'groups' | 'enabled' | 'extraByProvider' | 'lastRefresh' | 'needsRefresh'
>;
/** A token's hash Secret, `data.hash` already decoded. */
export type SecretSource = Pick<HashSecret, 'name' | 'hash'>;

/** Everything known about one cluster's Rancher objects. */
export interface MirrorSources {
  tokens: TokenSource[];
  users: UserSource[];
  secrets: SecretSource[];
}

/** The rows the table should hold for those objects. */
export interface DesiredRows {
  tokens: TokenRow[];
  users: UserRow[];
  secrets: SecretRow[];
}

export interface Derivation {
  rows: DesiredRows;
  /** Tokens whose ClusterUserAttribute is missing: they will be refused as `user-not-found`. */
  tokensWithoutUser: string[];
  /** Tokens with neither their own hash nor a hash Secret: they will be refused as `hash-missing`. */
  tokensWithoutHash: string[];
  /** Hash Secrets no token of the sources is named after: not mirrored. */
  unreferencedSecrets: string[];
}

const DIGEST_VERSION = 'mirror-v1';
const DAY_SECONDS = 24 * 60 * 60;

/**
 * Computes the desired rows of one cluster. A token row carries its user's attribute and its effective
 * hash (the token's own non-empty `hash` wins over its Secret's), so a review is one read. Each row gets a
 * `sourceDigest` over exactly the fields it is derived from, so an unchanged object costs no write; the
 * user's `lastRefresh`/`needsRefresh` are not part of a token's digest, so Rancher's periodic group
 * refresh does not rewrite every token. Later duplicates of a name replace earlier ones. Only Secrets
 * named after a token are mirrored: cattle-system holds other Secrets whose content is none of ours.
 */
export function deriveRows(clusterId: string, sources: MirrorSources): Derivation {
  const users = byName(sources.users);
  const secrets = byName(sources.secrets);
  const tokens = byName(sources.tokens);
  const result: Derivation = {
    rows: { tokens: [], users: [], secrets: [] },
    tokensWithoutUser: [],
    tokensWithoutHash: [],
    unreferencedSecrets: [],
  };

  for (const token of tokens.values()) {
    const attribute = users.get(token.userName);
    const secret = secrets.get(token.name);
    const hash = token.hash !== '' ? token.hash : secret?.hash !== '' ? secret?.hash : undefined;
    const user: TokenUser | undefined = attribute
      ? { enabled: attribute.enabled, groups: [...attribute.groups], extraByProvider: attribute.extraByProvider }
      : undefined;
    if (!user) result.tokensWithoutUser.push(token.name);
    if (hash === undefined) result.tokensWithoutHash.push(token.name);
    const expiry = expiryOf(token.expiresAt);
    const content = {
      name: token.name,
      userName: token.userName,
      enabled: token.enabled,
      expiresAt: token.expiresAt,
      hash: hash ?? '',
      user: user ?? null,
    };
    result.rows.tokens.push({
      ...keys.token(clusterId, token.name),
      kind: 'token',
      clusterId,
      name: token.name,
      origin: 'rancher',
      userName: token.userName,
      enabled: token.enabled,
      ...(token.expiresAt !== '' ? { expiresAt: token.expiresAt } : {}),
      ...(hash !== undefined ? { hash } : {}),
      ...(user ? { user } : {}),
      sourceDigest: digestOf('token', content),
      rev: 0,
      // DynamoDB's TTL removes the row a day after expiry; the review refuses it from the expiry itself.
      ...(typeof expiry === 'number' ? { ttl: Math.floor(expiry / 1000) + DAY_SECONDS } : {}),
    });
  }

  for (const attribute of users.values()) {
    const content = {
      userId: attribute.name,
      enabled: attribute.enabled,
      groups: attribute.groups,
      extraByProvider: attribute.extraByProvider,
      lastRefresh: attribute.lastRefresh,
      needsRefresh: attribute.needsRefresh,
    };
    result.rows.users.push({
      ...keys.user(clusterId, attribute.name),
      kind: 'user',
      clusterId,
      userId: attribute.name,
      enabled: attribute.enabled,
      groups: [...attribute.groups],
      extraByProvider: attribute.extraByProvider,
      ...(attribute.lastRefresh !== '' ? { lastRefresh: attribute.lastRefresh } : {}),
      needsRefresh: attribute.needsRefresh,
      sourceDigest: digestOf('user', content),
      rev: 0,
    });
  }

  for (const secret of secrets.values()) {
    if (!tokens.has(secret.name)) {
      result.unreferencedSecrets.push(secret.name);
      continue;
    }
    result.rows.secrets.push({
      ...keys.secret(clusterId, secret.name),
      kind: 'secret',
      clusterId,
      name: secret.name,
      hash: secret.hash,
      sourceDigest: digestOf('secret', { name: secret.name, hash: secret.hash }),
      rev: 0,
    });
  }
  return result;
}

/**
 * The sources that rows already in the table were derived from, so that an import of some objects can
 * be merged with what is there (`mergeSources`) and every dependent row re-derived. Native tokens are
 * not Rancher sources and are left out. A token whose hash equals its Secret's is taken to have had an
 * empty own hash; either way the effective hash, and so the digest, is the same.
 */
export function sourcesFromRows(rows: Pick<ClusterRows, 'tokens' | 'users' | 'secrets'>): MirrorSources {
  const secretHashes = new Map(rows.secrets.map((secret) => [secret.name, secret.hash]));
  return {
    tokens: rows.tokens
      .filter((token) => token.origin === 'rancher')
      .map((token) => ({
        name: token.name,
        userName: token.userName,
        enabled: token.enabled,
        expiresAt: token.expiresAt ?? '',
        hash: token.hash === undefined || secretHashes.get(token.name) === token.hash ? '' : token.hash,
      })),
    users: rows.users.map((user) => ({
      name: user.userId,
      groups: user.groups,
      enabled: user.enabled,
      extraByProvider: user.extraByProvider,
      lastRefresh: user.lastRefresh ?? '',
      needsRefresh: user.needsRefresh ?? false,
    })),
    secrets: rows.secrets.map((secret) => ({ name: secret.name, hash: secret.hash })),
  };
}

/** `overlay`'s objects replace `base`'s of the same kind and name; the rest of `base` stays. */
export function mergeSources(base: MirrorSources, overlay: MirrorSources): MirrorSources {
  const merge = <T extends { name: string }>(a: T[], b: T[]) => [...byName([...a, ...b]).values()];
  return {
    tokens: merge(base.tokens, overlay.tokens),
    users: merge(base.users, overlay.users),
    secrets: merge(base.secrets, overlay.secrets),
  };
}

export interface PlannedPut {
  row: TableItem;
  change: 'create' | 'update';
  /** `rev` of the row this put replaces (absent for a new row), for a writer that writes conditionally. */
  expectedRev?: number;
}

export interface PlannedDelete {
  key: TableKey;
  expectedRev?: number;
}

export interface MirrorPlan {
  puts: PlannedPut[];
  deletes: PlannedDelete[];
  counts: { created: number; updated: number; unchanged: number; deleted: number };
  /** Rancher tokens whose name a native token already has: the native token is left alone. */
  shadowedByNative: string[];
}

export interface PlanOptions {
  /** Also delete Rancher-derived rows that the desired rows do not contain. */
  prune: boolean;
}

type MirroredRow = TokenRow | UserRow | SecretRow;

/**
 * The writes that turn the cluster's current rows into the desired ones. A row whose `sourceDigest` is
 * unchanged is not written. Native tokens are never overwritten or deleted. An updated token keeps its
 * `revoked`/`revokedAt` (an operator's revoke outlives sync) and every written row carries the current
 * `rev` + 1. With `prune`, Rancher rows absent from the desired ones are deleted, with the usage rows of
 * tokens that no longer exist.
 */
export function planMirror(current: ClusterRows, desired: DesiredRows, options: PlanOptions): MirrorPlan {
  const plan: MirrorPlan = { puts: [], deletes: [], counts: { created: 0, updated: 0, unchanged: 0, deleted: 0 }, shadowedByNative: [] };
  const currentBySk = new Map<string, MirroredRow>(
    [...current.tokens, ...current.users, ...current.secrets].map((row) => [row.sk, row]),
  );
  const desiredRows: MirroredRow[] = [...desired.tokens, ...desired.users, ...desired.secrets];
  const desiredSks = new Set(desiredRows.map((row) => row.sk));

  for (const row of desiredRows) {
    const existing = currentBySk.get(row.sk);
    if (existing?.kind === 'token' && existing.origin === 'native') {
      plan.shadowedByNative.push(existing.name);
      continue;
    }
    if (existing && existing.kind === row.kind && existing.sourceDigest === row.sourceDigest) {
      plan.counts.unchanged += 1;
      continue;
    }
    const next: TableItem = { ...row, rev: existing ? existing.rev + 1 : 0 };
    if (existing?.kind === 'token' && existing.revoked) {
      next.revoked = true;
      if (existing.revokedAt !== undefined) next.revokedAt = existing.revokedAt;
    }
    plan.puts.push({ row: next, change: existing ? 'update' : 'create', ...(existing ? { expectedRev: existing.rev } : {}) });
    plan.counts[existing ? 'updated' : 'created'] += 1;
  }

  if (options.prune) {
    for (const row of currentBySk.values()) {
      if (desiredSks.has(row.sk) || (row.kind === 'token' && row.origin === 'native')) continue;
      plan.deletes.push({ key: { pk: row.pk, sk: row.sk }, expectedRev: row.rev });
      plan.counts.deleted += 1;
    }
    const remainingTokens = new Set([
      ...desired.tokens.map((token) => token.name),
      ...current.tokens.filter((token) => token.origin === 'native').map((token) => token.name),
    ]);
    for (const used of current.used) {
      const name = used.sk.slice(used.sk.indexOf('#') + 1);
      if (!remainingTokens.has(name)) plan.deletes.push({ key: { pk: used.pk, sk: used.sk } });
    }
  }
  return plan;
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

/** sha256 over a canonical JSON form (keys sorted at every level), tagged with what it describes. */
function digestOf(kind: string, content: unknown): string {
  return createHash('sha256').update(`${DIGEST_VERSION}:${kind}:`).update(canonicalJson(content)).digest('base64url');
}

/** JSON with object keys sorted, so equal content always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
