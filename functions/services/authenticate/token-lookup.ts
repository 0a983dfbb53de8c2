import type { TokenRecord } from '../../core/records.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import { RateLimiter, takeEach } from './rate-limiter.ts';
import { TtlCache } from './ttl-cache.ts';

export interface TokenLookupOptions {
  /** How long a row (or its absence) stays cached per (cluster, name); 0 disables. */
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  /** Store reads per cluster per second for names not known to exist (burst twice that). */
  unknownNameLookupsPerSecond: number;
  /** The same over every cluster together (burst the same). */
  unknownNameLookupsPerSecondTotal: number;
}

export interface TokenLookupDeps {
  store: Pick<TokenStore, 'getToken'>;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: TokenLookupOptions;
}

/** Returned by a lookup when this container's budget for unknown names is spent. */
export const THROTTLED = Symbol('lookup throttled');
/**
 * A record (or its absence) with when it was read (monotonic ms, taken before the read began): whatever
 * is derived from it may live until `readAtMs` + the cache TTL, never longer.
 */
export interface Found {
  record: TokenRecord | undefined;
  readAtMs: number;
}
export type Lookup = Found | typeof THROTTLED;

/** The review's store: records cached per name, unknown names read within a budget, one read per name at a time. */
export interface TokenLookup {
  /** The record of a name (or undefined), `THROTTLED` past the unknown-name budget. Throws `StoreUnavailableError`. */
  find(clusterId: string, name: string): Promise<Lookup>;
  /** Puts a verifier into the cached record of a name (if cached), so this container uses it at once. */
  withVerifier(clusterId: string, name: string, verifier: NonNullable<TokenRecord['verifier']>): void;
}

/** Distinct clusters whose budgets a container keeps. */
const MAX_TRACKED_CLUSTERS = 1_000;
/** How long a name found in the store counts as known (exempt from the unknown-name budget). */
const REMEMBER_SECONDS = 3_600;
const CONTAINER = '';

/**
 * Rows (or their absence) are cached per (cluster, name) for the cache TTL, so distinct secrets for one
 * name cost one read per TTL, and a missing name is not read again within it. Names not known to exist
 * spend a token bucket per cluster and one per container (see SECURITY.md); concurrent lookups of one
 * name share one read.
 */
export function createTokenLookup(deps: TokenLookupDeps): TokenLookup {
  const { store, options } = deps;
  const rows = new TtlCache<Found>(options.cacheTtlSeconds, options.cacheMaxEntries, deps.elapsed);
  const knownNames = new TtlCache<{ known: true }>(REMEMBER_SECONDS, options.cacheMaxEntries, deps.elapsed);
  const perCluster = new RateLimiter({
    ratePerSecond: options.unknownNameLookupsPerSecond,
    burst: options.unknownNameLookupsPerSecond * 2,
    maxScopes: MAX_TRACKED_CLUSTERS,
    now: deps.elapsed,
  });
  const perContainer = new RateLimiter({
    ratePerSecond: options.unknownNameLookupsPerSecondTotal,
    burst: options.unknownNameLookupsPerSecondTotal,
    maxScopes: 1,
    now: deps.elapsed,
  });
  const pending = new Map<string, Promise<Lookup>>();

  async function read(clusterId: string, name: string, key: string): Promise<Lookup> {
    if (!knownNames.get(key) && !takeEach([perCluster, clusterId], [perContainer, CONTAINER])) return THROTTLED;
    const readAtMs = deps.elapsed();
    const record = await store.getToken(clusterId, name);
    const found = { record, readAtMs };
    // The row lives one TTL from when it was read, so nothing built from it outlives that.
    rows.set(key, found, options.cacheTtlSeconds * 1000 - (deps.elapsed() - readAtMs));
    if (record) knownNames.set(key, { known: true });
    return found;
  }

  return {
    async find(clusterId, name) {
      const key = TtlCache.keyOf(clusterId, name);
      const cached = rows.get(key);
      if (cached) return cached;
      let lookup = pending.get(key);
      if (!lookup) {
        lookup = read(clusterId, name, key).finally(() => pending.delete(key));
        pending.set(key, lookup);
      }
      return lookup;
    },
    withVerifier(clusterId, name, verifier) {
      const key = TtlCache.keyOf(clusterId, name);
      const cached = rows.get(key);
      if (cached?.record) cached.record = { ...cached.record, verifier };
    },
  };
}
