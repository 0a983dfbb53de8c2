import { createHash } from 'node:crypto';
import type { ClusterAuthToken, ClusterUserAttribute, HashSecret } from '../rancher-objects.ts';
import type { ClusterState, SecretRecord, TokenRecord, TokenUser, UserRecord } from '../records.ts';

/**
 * The first half of the mirror, shared by `tokengate import` and the sync function: Rancher's objects of
 * one cluster → the records a review reads (`plan.ts` then computes the writes that bring the store there,
 * and `services/mirror/apply.ts` makes them).
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

/** The records the store should hold for those objects. */
export interface DesiredRecords {
  tokens: TokenRecord[];
  users: UserRecord[];
  secrets: SecretRecord[];
}

export interface Derivation {
  records: DesiredRecords;
  /** Tokens whose ClusterUserAttribute is missing: they will be refused as `user-not-found`. */
  tokensWithoutUser: string[];
  /** Tokens with neither their own hash nor a hash Secret: they will be refused as `hash-missing`. */
  tokensWithoutHash: string[];
  /** Hash Secrets no token of the sources is named after: not mirrored. */
  unreferencedSecrets: string[];
}

const DIGEST_VERSION = 'mirror-v1';

/**
 * Computes the desired records of one cluster. A token record carries its user's attribute and its effective
 * hash (the token's own non-empty `hash` wins over its Secret's), so a review is one read. Each record gets a
 * `sourceDigest` over exactly the fields it is derived from, so an unchanged object costs no write; the
 * user's `lastRefresh`/`needsRefresh` are not part of a token's digest, so Rancher's periodic group
 * refresh does not rewrite every token. Later duplicates of a name replace earlier ones. Only Secrets
 * named after a token are mirrored: cattle-system holds other Secrets whose content is none of ours.
 */
export function deriveRecords(clusterId: string, sources: MirrorSources): Derivation {
  const users = byName(sources.users);
  const secrets = byName(sources.secrets);
  const tokens = byName(sources.tokens);
  const result: Derivation = {
    records: { tokens: [], users: [], secrets: [] },
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
    const content = {
      name: token.name,
      userName: token.userName,
      enabled: token.enabled,
      expiresAt: token.expiresAt,
      hash: hash ?? '',
      user: user ?? null,
    };
    result.records.tokens.push({
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
    result.records.users.push({
      kind: 'user',
      clusterId,
      userId: attribute.name,
      enabled: attribute.enabled,
      groups: [...attribute.groups],
      extraByProvider: attribute.extraByProvider,
      ...(attribute.lastRefresh !== '' ? { lastRefresh: attribute.lastRefresh } : {}),
      needsRefresh: attribute.needsRefresh,
      sourceDigest: digestOf('user', content),
    });
  }

  for (const secret of secrets.values()) {
    if (!tokens.has(secret.name)) {
      result.unreferencedSecrets.push(secret.name);
      continue;
    }
    result.records.secrets.push({
      kind: 'secret',
      clusterId,
      name: secret.name,
      hash: secret.hash,
      sourceDigest: digestOf('secret', { name: secret.name, hash: secret.hash }),
    });
  }
  return result;
}

/**
 * The sources that records already in the store were derived from, so that an import of some objects can
 * be merged with what is there (`mergeSources`) and every dependent row re-derived. Native tokens are
 * not Rancher sources and are left out. A token whose hash equals its Secret's is taken to have had an
 * empty own hash; either way the effective hash, and so the digest, is the same.
 */
export function sourcesFromState(state: Pick<ClusterState, 'tokens' | 'users' | 'secrets'>): MirrorSources {
  const secretHashes = new Map(state.secrets.map((secret) => [secret.name, secret.hash]));
  return {
    tokens: state.tokens
      .filter((token) => token.origin === 'rancher')
      .map((token) => ({
        name: token.name,
        userName: token.userName,
        enabled: token.enabled,
        expiresAt: token.expiresAt ?? '',
        hash: token.hash === undefined || secretHashes.get(token.name) === token.hash ? '' : token.hash,
      })),
    users: state.users.map((user) => ({
      name: user.userId,
      groups: user.groups,
      enabled: user.enabled,
      extraByProvider: user.extraByProvider,
      lastRefresh: user.lastRefresh ?? '',
      needsRefresh: user.needsRefresh ?? false,
    })),
    secrets: state.secrets.map((secret) => ({ name: secret.name, hash: secret.hash })),
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
