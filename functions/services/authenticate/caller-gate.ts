import {
  bearerCredential,
  credentialEndMs,
  credentialMatches,
  credentialRecordOf,
  credentialUsable,
  parseCredential,
  type ParsedCredential,
} from '../../core/caller-credential.ts';
import { UnauthorizedError } from '../../core/errors.ts';
import { clusterIdSchema, type ClusterRecord } from '../../core/records.ts';
import type { Log } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import { RateLimiter, takeEach } from './rate-limiter.ts';
import { TtlCache } from './ttl-cache.ts';

export interface CallerGateOptions {
  /** How long a check's result stays cached; 0 disables. */
  cacheTtlSeconds: number;
  /** Uncached checks of not-yet-verified credentials per cluster per second. */
  callerChecksPerSecond: number;
  /** The same over every cluster id together. */
  callerChecksPerSecondTotal: number;
}

export interface CallerGateDeps {
  store: Pick<TokenStore, 'getCluster'>;
  log: Log;
  now: () => Date;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: CallerGateOptions;
}

/** Distinct clusters whose budgets a container keeps; least recently used ones are forgotten. */
const MAX_TRACKED_CLUSTERS = 1_000;
/** Caller credentials a container remembers as verified. */
const MAX_VERIFIED_CALLERS = 1_000;
/** How long a verified caller credential is remembered. */
const REMEMBER_SECONDS = 3_600;
/** The one scope of a container-wide limiter. */
const CONTAINER = '';

/** A cached caller check; an accepted one ends at its credential's `notAfter` even within the TTL. */
type CallerCheck = { ok: boolean; notAfterMs?: number };

/** Checks that the caller holds a current webhook credential of the cluster in the path. */
export interface CallerGate {
  /** Resolves when it does; throws `UnauthorizedError`, or `StoreUnavailableError` when the registry cannot be read. */
  check(clusterId: string, authorization: string | undefined): Promise<void>;
}

/**
 * The caller check with its caches and budget. A credential that verified once is remembered (by
 * digest, with a digest of the stored hash it matched), so re-checking it after the cache TTL costs one
 * registry read and no argon2 verify, and is never throttled. Only unverified credentials spend the
 * per-cluster and per-container budgets.
 */
export function createCallerGate(deps: CallerGateDeps): CallerGate {
  const { store, log, options } = deps;
  const checks = new TtlCache<CallerCheck>(options.cacheTtlSeconds, 1_000, deps.elapsed);
  const verified = new TtlCache<{ recordDigest: string }>(REMEMBER_SECONDS, MAX_VERIFIED_CALLERS, deps.elapsed);
  const unknownClusters = new TtlCache<{ unknown: true }>(options.cacheTtlSeconds, 1_000, deps.elapsed);
  const perCluster = new RateLimiter({
    ratePerSecond: options.callerChecksPerSecond,
    burst: options.callerChecksPerSecond,
    maxScopes: MAX_TRACKED_CLUSTERS,
    now: deps.elapsed,
  });
  const perContainer = new RateLimiter({
    ratePerSecond: options.callerChecksPerSecondTotal,
    burst: options.callerChecksPerSecondTotal,
    maxScopes: 1,
    now: deps.elapsed,
  });
  // Concurrent checks of one credential (a burst at a cold container, or the local server) share one
  // verification: otherwise each would spend the budget, and the real apiserver could throttle itself.
  const pending = new Map<string, Promise<CallerCheck>>();

  function notAfterOf(cluster: ClusterRecord | undefined, presented: ParsedCredential): { notAfterMs?: number } {
    const record = cluster ? credentialRecordOf(cluster, presented) : undefined;
    const end = record ? credentialEndMs(record) : undefined;
    return end === undefined ? {} : { notAfterMs: end };
  }

  /** Whether a credential verified before still names a current record with the same stored hash. */
  function stillVerified(memo: { recordDigest: string } | undefined, presented: ParsedCredential, cluster: ClusterRecord | undefined): boolean {
    if (!memo || !cluster) return false;
    const record = credentialRecordOf(cluster, presented);
    if (!record || TtlCache.keyOf(record.hash) !== memo.recordDigest) return false;
    return credentialUsable(record, deps.now());
  }

  async function verify(clusterId: string, presented: ParsedCredential, key: string): Promise<CallerCheck> {
    let cluster: ClusterRecord | undefined;
    let result: CallerCheck | undefined;
    const memo = verified.get(key);
    if (memo) {
      cluster = await store.getCluster(clusterId);
      if (stillVerified(memo, presented, cluster)) result = { ok: true, ...notAfterOf(cluster, presented) };
    }
    if (!result) {
      if (unknownClusters.get(TtlCache.keyOf(clusterId))) return { ok: false };
      if (!takeEach([perCluster, clusterId], [perContainer, CONTAINER])) {
        log.warn('caller check throttled', { clusterId });
        throw new UnauthorizedError('too many failed caller checks');
      }
      if (!memo) cluster = await store.getCluster(clusterId);
      if (!cluster) unknownClusters.set(TtlCache.keyOf(clusterId), { unknown: true });
      const ok = cluster !== undefined && (await credentialMatches(presented, cluster, deps.now()));
      result = { ok, ...(ok ? notAfterOf(cluster, presented) : {}) };
      const record = cluster ? credentialRecordOf(cluster, presented) : undefined;
      if (result.ok && record) verified.set(key, { recordDigest: TtlCache.keyOf(record.hash) });
      if (!result.ok) log.warn('caller refused', { clusterId, credentialId: presented.id, known: cluster !== undefined });
    }
    checks.set(key, result);
    return result;
  }

  return {
    async check(clusterId, authorization) {
      if (!clusterIdSchema.safeParse(clusterId).success) throw new UnauthorizedError('unknown cluster');
      const presented = parseCredential(bearerCredential(authorization) ?? '');
      if (!presented) throw new UnauthorizedError('missing or malformed caller credential');
      const key = TtlCache.keyOf(clusterId, presented.id, presented.secret);
      const cached = checks.get(key);
      if (cached && !(cached.notAfterMs !== undefined && cached.notAfterMs <= deps.now().getTime())) {
        if (!cached.ok) throw new UnauthorizedError('unknown cluster or wrong caller credential');
        return;
      }
      let verification = pending.get(key);
      if (!verification) {
        verification = verify(clusterId, presented, key).finally(() => pending.delete(key));
        pending.set(key, verification);
      }
      if (!(await verification).ok) throw new UnauthorizedError('unknown cluster or wrong caller credential');
    },
  };
}
