import {
  bearerCredential,
  credentialEndMs,
  credentialRecordOf,
  credentialUsable,
  parseCredential,
  isArgon2Hash,
  secretMatches,
  type ParsedCredential,
} from '../../core/caller-credential.ts';
import { preloadArgon2 } from '../../core/argon2.ts';
import { OverloadedError, UnauthorizedError } from '../../core/errors.ts';
import { clusterIdSchema, type CallerCredential, type ClusterRecord } from '../../core/records.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { HashScheduler } from './hash-scheduler.ts';
import { IntervalTally, summaryOf } from './interval-tally.ts';
import { RateLimiter, takeEach } from './rate-limiter.ts';
import { TtlCache } from './ttl-cache.ts';

export interface CallerGateOptions {
  /** How long a check's result and a cluster's registry row stay cached; 0 disables. */
  cacheTtlSeconds: number;
  /**
   * Per credential id: failed verifies per second (burst the same), and per cluster: registry
   * reads per second for checks not already decided by a cached row or a remembered verification.
   */
  callerChecksPerSecond: number;
  /** Registry reads per second over every cluster id together, for checks of clusters not known to exist. */
  callerChecksPerSecondTotal: number;
  /** How often the summary of refused and overloaded caller checks is logged. */
  foreignSummaryIntervalSeconds: number;
}

export interface CallerGateDeps {
  store: Pick<TokenStore, 'getCluster'>;
  log: Log;
  metrics: MetricsSink;
  hashes: HashScheduler;
  now: () => Date;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: CallerGateOptions;
  /**
   * Told when a registry read is issued (within the gate's budgets), so reads a review will need next can
   * start beside it instead of after it.
   */
  onRegistryRead?: (clusterId: string) => void;
}

/** Distinct clusters (and credential ids) whose budgets a container keeps; least recently used ones are forgotten. */
const MAX_TRACKED_SCOPES = 1_000;
/** Caller credentials a container remembers as verified. */
const MAX_VERIFIED_CALLERS = 1_000;
/** How long a verified caller credential, and a cluster found in the registry, are remembered (refreshed on use). */
const REMEMBER_SECONDS = 3_600;
const CONTAINER = '';

/** A cached caller check; an accepted one ends at its credential's `notAfter` even within the TTL. */
type CallerCheck = { ok: boolean; notAfterMs?: number };

type Refusal = 'unknown-cluster' | 'unknown-credential' | 'wrong-secret' | 'overloaded';

/** Checks that the caller holds a current webhook credential of the cluster in the path. */
export interface CallerGate {
  /** Resolves when it does; throws `UnauthorizedError`, `OverloadedError`, or `StoreUnavailableError`. */
  check(clusterId: string, authorization: string | undefined): Promise<void>;
}

/**
 * The caller check. The one property that matters most: no flood of wrong credentials, whatever their
 * ids and rate, makes it refuse a correct one.
 *
 * - The cluster's registry row is read (and cached for the TTL, one read at a time per cluster) before
 *   anything is hashed, so a presented id that names none of the cluster's current credentials is
 *   refused with no hash, and spends no budget a known credential needs: when the cached row does not
 *   know the id it is read again within the per-cluster read budget (the row may predate a rotation),
 *   and past that budget the check is overloaded (500), so a credential written a moment ago is retried.
 * - A credential verified once is remembered (digest of credential and of the stored hash it matched,
 *   refreshed on every use), so its later checks cost no hash and no budget.
 * - A known id with a secret not yet verified is verified first; only failures are counted, per
 *   credential id. When an id's failures exceed `callerChecksPerSecond`, its unverified checks answer
 *   `OverloadedError` (500, retried by the apiserver) without a hash until the budget refills: CPU stays
 *   bounded and a correct credential caught in that flood is retried, never refused with a 401.
 * - Registry reads that no cached row answers spend a per-cluster budget, and for clusters not known to
 *   exist a per-container one; past them the check is `OverloadedError` too, never a 401.
 * - Refusals are counted into one summary line per interval, not logged per attempt.
 */
export function createCallerGate(deps: CallerGateDeps): CallerGate {
  const { store, log, metrics, hashes, options } = deps;
  const checks = new TtlCache<CallerCheck>(options.cacheTtlSeconds, 1_000, deps.elapsed);
  const verified = new TtlCache<{ recordDigest: string }>(REMEMBER_SECONDS, MAX_VERIFIED_CALLERS, deps.elapsed);
  const registry = new TtlCache<{ cluster: ClusterRecord | undefined }>(options.cacheTtlSeconds, MAX_TRACKED_SCOPES, deps.elapsed);
  const knownClusters = new TtlCache<{ known: true }>(REMEMBER_SECONDS, MAX_TRACKED_SCOPES, deps.elapsed);
  const failures = new RateLimiter({
    ratePerSecond: options.callerChecksPerSecond,
    burst: options.callerChecksPerSecond,
    maxScopes: MAX_TRACKED_SCOPES,
    now: deps.elapsed,
  });
  const reads = new RateLimiter({
    ratePerSecond: options.callerChecksPerSecond,
    burst: options.callerChecksPerSecond,
    maxScopes: MAX_TRACKED_SCOPES,
    now: deps.elapsed,
  });
  const unknownClusterReads = new RateLimiter({
    ratePerSecond: options.callerChecksPerSecondTotal,
    burst: options.callerChecksPerSecondTotal,
    maxScopes: 1,
    now: deps.elapsed,
  });
  const refusals = new IntervalTally(options.foreignSummaryIntervalSeconds * 1000);
  // Concurrent checks of one credential share one verification, concurrent reads of one cluster one read.
  const pendingChecks = new Map<string, Promise<CallerCheck>>();
  const pendingReads = new Map<string, Promise<ClusterRecord | undefined>>();

  function refused(clusterId: string, refusal: Refusal): void {
    metrics.count('CallerRefused', 1, { Reason: refusal });
    const { first, report } = refusals.record(`${clusterId} ${refusal}`, deps.elapsed());
    if (first) log.warn('caller checks refused', { clusterId, reason: refusal, note: 'further refusals are summarised per interval' });
    if (report) log.warn('caller checks refused', summaryOf(report));
  }

  function overloaded(clusterId: string, what: string): never {
    refused(clusterId, 'overloaded');
    throw new OverloadedError(`too many ${what}, retry`, { summarised: true });
  }

  /**
   * Reads the cluster's registry row (one read at a time per cluster) and caches it for the TTL. A read
   * not vouched for by a remembered verification spends the per-cluster budget, and for a cluster not
   * known to exist the per-container one; past them the check is overloaded (500), never refused.
   */
  function readCluster(clusterId: string, key: string, budgeted: boolean): Promise<ClusterRecord | undefined> {
    const pending = pendingReads.get(key);
    if (pending) return pending;
    if (budgeted) {
      const claims: [RateLimiter, string][] = [[reads, clusterId]];
      if (!knownClusters.get(key)) claims.push([unknownClusterReads, CONTAINER]);
      if (!takeEach(...claims)) overloaded(clusterId, 'caller checks for this cluster');
    }
    const read = store
      .getCluster(clusterId)
      .then((cluster) => {
        // Credentials issued before SHA-256 are argon2id hashes: start loading the native module for them now.
        if (cluster?.credentials.some((credential) => isArgon2Hash(credential.hash))) preloadArgon2();
        registry.set(key, { cluster });
        if (cluster) knownClusters.set(key, { known: true });
        return cluster;
      })
      .finally(() => pendingReads.delete(key));
    pendingReads.set(key, read);
    deps.onRegistryRead?.(clusterId);
    return read;
  }

  function accepted(record: CallerCredential): CallerCheck {
    const end = credentialEndMs(record);
    return end === undefined ? { ok: true } : { ok: true, notAfterMs: end };
  }

  async function verify(clusterId: string, presented: ParsedCredential, key: string): Promise<CallerCheck> {
    const memo = verified.get(key);
    const registryKey = TtlCache.keyOf(clusterId);
    const cachedRow = registry.get(registryKey);
    let cluster = cachedRow ? cachedRow.cluster : await readCluster(clusterId, registryKey, memo === undefined);
    let record = cluster ? credentialRecordOf(cluster, presented) : undefined;
    if (cachedRow && !record) {
      // A cached row that does not know the id may predate a rotation or a registration: read it again
      // (within the budget) rather than refuse a credential written a moment ago.
      cluster = await readCluster(clusterId, registryKey, true);
      record = cluster ? credentialRecordOf(cluster, presented) : undefined;
    }
    let result: CallerCheck;
    if (!cluster || !record || !credentialUsable(record, deps.now())) {
      // Nothing to hash: the cluster or the id is unknown, or the credential has ended.
      refused(clusterId, cluster ? 'unknown-credential' : 'unknown-cluster');
      result = { ok: false };
    } else if (memo && memo.recordDigest === TtlCache.keyOf(record.hash)) {
      verified.set(key, memo); // refreshed on use: a credential in use never lapses back to unverified
      result = accepted(record);
    } else {
      const scope = `${clusterId}\u0000${presented.id}`;
      // Reserved before the verify, so concurrent checks cannot all pass the budget; returned on success,
      // so only failures are counted and a correct secret never spends it.
      if (!failures.tryTake(scope)) overloaded(clusterId, 'failed caller checks for this credential id');
      metrics.count('CallerVerifies', 1);
      const ok = await hashes.run(clusterId, () => secretMatches(record, presented.secret)).catch((error: unknown) => {
        failures.giveBack(scope); // not verified, so not a failure
        if (error instanceof OverloadedError) refused(clusterId, 'overloaded');
        throw error;
      });
      if (ok) {
        failures.giveBack(scope);
        verified.set(key, { recordDigest: TtlCache.keyOf(record.hash) });
        result = accepted(record);
      } else {
        refused(clusterId, 'wrong-secret');
        result = { ok: false };
      }
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
        if (!cached.ok) throw new UnauthorizedError('unknown cluster or wrong caller credential', { summarised: true });
        return;
      }
      let verification = pendingChecks.get(key);
      if (!verification) {
        verification = verify(clusterId, presented, key).finally(() => pendingChecks.delete(key));
        pendingChecks.set(key, verification);
      }
      if (!(await verification).ok) throw new UnauthorizedError('unknown cluster or wrong caller credential', { summarised: true });
    },
  };
}
