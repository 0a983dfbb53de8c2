import { MalformedRecordError } from '../../core/errors.ts';
import { mayContain, type NameFilter } from '../../core/name-filter.ts';
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
  store: Pick<TokenStore, 'getToken' | 'getNameFilter'>;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: TokenLookupOptions;
  /** Told when a cluster's name filter row cannot be read as one (the budgeted path serves it meanwhile). */
  unreadableFilter?: (clusterId: string, error: MalformedRecordError) => void;
}

/** Returned by a lookup when this container's budget for unknown names is spent. */
export const THROTTLED = Symbol('lookup throttled');
/** Returned by a lookup when the cluster's name filter does not hold the name: no such token, and nothing was read. */
export const NOT_IN_FILTER = Symbol('name not in filter');
/**
 * A record (or its absence) with when it was read (monotonic ms, taken before the read began): whatever
 * is derived from it may live until `readAtMs` + the cache TTL, never longer.
 */
export interface Found {
  record: TokenRecord | undefined;
  readAtMs: number;
}
export type Lookup = Found | typeof THROTTLED | typeof NOT_IN_FILTER;

/**
 * The review's store: records cached per name, one read per name at a time; names the cluster's name filter
 * does not hold refused unread, names it holds read unbudgeted, and, for a cluster without a usable filter,
 * names not known to exist read within a budget.
 */
export interface TokenLookup {
  /**
   * The record of a name (or undefined); `NOT_IN_FILTER` when the cluster's filter rules it out; `THROTTLED`
   * past the unknown-name budget (only for a cluster without a usable filter). Throws `StoreUnavailableError`.
   */
  find(clusterId: string, name: string): Promise<Lookup>;
  /**
   * Starts reading the cluster's name filter unless it is cached or being read: called beside the caller
   * check's registry read, so a cold container's first review waits for one round trip instead of two.
   * Bounded by the caller gate's budgets for registry reads; a failure is left to the review's own read.
   */
  warm(clusterId: string): void;
  /** Puts a verifier into the cached record of a name (if cached), so this container uses it at once. */
  withVerifier(clusterId: string, name: string, verifier: NonNullable<TokenRecord['verifier']>): void;
}

/** A cluster's name filter (or its absence) and when it was read (monotonic ms, before the read began). */
interface CachedFilter {
  filter: NameFilter | undefined;
  readAtMs: number;
}

type UsableFilter = CachedFilter & { filter: NameFilter };

/** Distinct clusters whose budgets a container keeps. */
const MAX_TRACKED_CLUSTERS = 1_000;
/** How long a name found in the store counts as known (exempt from the unknown-name budget). */
const REMEMBER_SECONDS = 3_600;
const CONTAINER = '';
/**
 * A name the cached filter lacks re-reads the filter when the cached one is at least this old per 4 KB of
 * it (one read unit), so a token synced a moment ago works within about a second rather than a cache TTL,
 * while a flood of made-up names costs at most one read unit per second per cluster per container.
 */
const MISS_REFRESH_MS_PER_READ_UNIT = 1_000;
const READ_UNIT_BYTES = 4_096;

/**
 * Rows (or their absence) are cached per (cluster, name) for the cache TTL, so distinct secrets for one
 * name cost one read per TTL, and a missing name is not read again within it; concurrent lookups of one
 * name share one read. Each cluster's name filter is read once per cache TTL (concurrent reviews share the
 * read). With a filter, a name outside it costs no read and a name in it is read whatever other traffic
 * did, so no flood of made-up names can refuse a token that exists. Without one (an older table, a
 * cluster before its first sync, a cluster with more names than a filter row holds), names not known to
 * exist spend a token bucket per cluster and one per container (see SECURITY.md).
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
  const filters = new TtlCache<CachedFilter>(options.cacheTtlSeconds, MAX_TRACKED_CLUSTERS, deps.elapsed);
  const pendingFilters = new Map<string, Promise<CachedFilter>>();

  function readShared(clusterId: string): Promise<CachedFilter> {
    let reading = pendingFilters.get(clusterId);
    if (!reading) {
      reading = readFilter(clusterId).finally(() => pendingFilters.delete(clusterId));
      pendingFilters.set(clusterId, reading);
    }
    return reading;
  }

  async function readFilter(clusterId: string): Promise<CachedFilter> {
    const readAtMs = deps.elapsed();
    let filter: NameFilter | undefined;
    try {
      filter = await store.getNameFilter(clusterId);
    } catch (error) {
      if (!(error instanceof MalformedRecordError)) throw error;
      deps.unreadableFilter?.(clusterId, error);
    }
    const cached = { filter, readAtMs };
    filters.set(clusterId, cached, options.cacheTtlSeconds * 1000 - (deps.elapsed() - readAtMs));
    return cached;
  }

  /** The cluster's usable filter (cached for the TTL), undefined when it has none or it overflowed. */
  async function filterOf(clusterId: string): Promise<UsableFilter | undefined> {
    const { filter, readAtMs } = filters.get(clusterId) ?? (await readShared(clusterId));
    return filter && !filter.overflow ? { filter, readAtMs } : undefined;
  }

  /**
   * Whether the filter rules the name out: checked against the cached filter, and, when that lacks it and
   * is old enough for its size, against a fresh one (a token synced since the cached one was read).
   */
  async function ruledOut(clusterId: string, cached: UsableFilter, name: string): Promise<boolean> {
    const { filter } = cached;
    if (mayContain(filter, name)) return false;
    // a review that waited meanwhile may find a newer filter already read by another
    const latest = filters.get(clusterId);
    const newest = latest && latest.readAtMs > cached.readAtMs ? latest : cached;
    if (newest !== cached && (newest.filter === undefined || newest.filter.overflow || mayContain(newest.filter, name))) return false;
    const readUnits = Math.max(1, Math.ceil((filter.digests.length + filter.key.length) / READ_UNIT_BYTES));
    if (deps.elapsed() - newest.readAtMs < readUnits * MISS_REFRESH_MS_PER_READ_UNIT) return true;
    const fresh = (await readShared(clusterId)).filter;
    return fresh !== undefined && !fresh.overflow && !mayContain(fresh, name);
  }

  async function read(clusterId: string, name: string, key: string, budgeted: boolean): Promise<Lookup> {
    if (budgeted && !knownNames.get(key) && !takeEach([perCluster, clusterId], [perContainer, CONTAINER])) return THROTTLED;
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
      const filter = await filterOf(clusterId);
      if (filter && (await ruledOut(clusterId, filter, name))) return NOT_IN_FILTER;
      let lookup = pending.get(key);
      if (!lookup) {
        lookup = read(clusterId, name, key, filter === undefined).finally(() => pending.delete(key));
        pending.set(key, lookup);
      }
      return lookup;
    },
    warm(clusterId) {
      if (filters.get(clusterId) || pendingFilters.has(clusterId)) return;
      readShared(clusterId).catch(() => undefined);
    },
    withVerifier(clusterId, name, verifier) {
      const key = TtlCache.keyOf(clusterId, name);
      const cached = rows.get(key);
      if (cached?.record) cached.record = { ...cached.record, verifier };
    },
  };
}
