import { LRUCache } from 'lru-cache';
import {
  bearerCredential,
  credentialEndMs,
  credentialMatches,
  credentialRecordOf,
  credentialUsable,
  parseCredential,
  type ParsedCredential,
} from '../../core/caller-credential.ts';
import { describeError, UnauthorizedError } from '../../core/errors.ts';
import { ForeignTokenSummary } from '../../core/foreign-summary.ts';
import { REFUSAL_MESSAGES, review, type Decision } from '../../core/review.ts';
import { parseToken, type RancherToken } from '../../core/token-string.ts';
import { clusterIdSchema, type ClusterRecord, type TokenRecord } from '../../core/records.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import { TtlCache } from './ttl-cache.ts';

export interface AuthenticatorOptions {
  /** How long a decision or a caller check stays cached in this container; 0 disables. */
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  allowSystemGroups: boolean;
  /** At most one lastUsedAt write per token per this interval. */
  lastUsedIntervalSeconds: number;
  foreignSummaryIntervalSeconds: number;
  /**
   * Uncached caller checks (each an argon2id verify) allowed per cluster per second in this container,
   * so a flood of wrong credentials cannot buy CPU with hash work.
   */
  callerChecksPerSecond: number;
  /**
   * Uncached caller checks allowed per second in this container over all cluster ids together, so that
   * cycling through made-up cluster ids cannot buy unbounded store reads either. Default 50.
   */
  callerChecksPerSecondTotal?: number;
  /**
   * Store reads for token names this container has not seen exist, per cluster per second (a token
   * bucket with a burst of twice the rate). Past it, such a review is refused with `lookup-throttled`
   * (200, `authenticated:false`, `status.error`: neither cached nor retried by the apiserver). Names
   * known to exist are never throttled. Default 20.
   */
  unknownNameLookupsPerSecond?: number;
  /** The same over all clusters together, per container. Default 100 (burst 100). */
  unknownNameLookupsPerSecondTotal?: number;
}

export const DEFAULT_AUTHENTICATOR_OPTIONS: AuthenticatorOptions = {
  cacheTtlSeconds: 10,
  cacheMaxEntries: 10_000,
  allowSystemGroups: false,
  lastUsedIntervalSeconds: 60,
  foreignSummaryIntervalSeconds: 60,
  callerChecksPerSecond: 5,
  callerChecksPerSecondTotal: 50,
  unknownNameLookupsPerSecond: 20,
  unknownNameLookupsPerSecondTotal: 100,
};

/** Best-effort lastUsedAt writes outstanding at once; past it usage records are skipped. */
const MAX_USES_IN_FLIGHT = 32;
/** Distinct clusters whose throttles a container keeps; least recently used ones are forgotten. */
const MAX_TRACKED_CLUSTERS = 1_000;
/** Caller credentials a container remembers as verified (see `verifiedCallers`). */
const MAX_VERIFIED_CALLERS = 1_000;
/** How long a name found in the store counts as known (exempt from the unknown-name budget), and a verified caller credential is remembered. */
const REMEMBER_SECONDS = 3_600;

/**
 * A token bucket over the monotonic clock: `rate` tokens per second, holding at most `burst`.
 * `take()` spends one if available.
 */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  available(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return this.tokens >= 1;
  }

  take(): void {
    this.tokens -= 1;
  }
}

export interface AuthenticatorDeps {
  store: TokenStore;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
  /** Monotonic milliseconds, for latencies. */
  elapsed: () => number;
  options: AuthenticatorOptions;
}

/** Returned by a token lookup when this container's budget for unknown names is spent. */
const THROTTLED = Symbol('lookup throttled');
type Lookup = TokenRecord | undefined | typeof THROTTLED;

/** A cached caller check; an accepted one ends at its credential's `notAfter` even within the TTL. */
type CallerCheck = { ok: boolean; notAfterMs?: number };

/** The warm-container state of the authenticate path: caches, throttles and the foreign-token tally. */
export interface Authenticator {
  /** Checks the caller credential of a cluster (cached). Throws `UnauthorizedError` or `StoreUnavailableError`. */
  checkCaller(clusterId: string, authorization: string | undefined): Promise<void>;
  /** Reviews a token for a cluster whose caller is already checked (cached). */
  reviewToken(clusterId: string, token: string): Promise<Decision>;
  /** Resolves once the best-effort writes started so far have finished (for a clean local shutdown). */
  settle(): Promise<void>;
}

/**
 * Builds the authenticate path's domain service. Decisions are cached per (cluster, token) digest for
 * the configured TTL; foreign tokens are never looked up and are summarised, not logged one by one.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { store, log, metrics, options } = deps;
  const decisions = new TtlCache<Decision>(options.cacheTtlSeconds, options.cacheMaxEntries, deps.elapsed);
  const callers = new TtlCache<CallerCheck>(options.cacheTtlSeconds, 1_000, deps.elapsed);
  const lastUseRecorded = new TtlCache<{ at: number }>(options.lastUsedIntervalSeconds, options.cacheMaxEntries, deps.elapsed);
  const foreign = new ForeignTokenSummary(options.foreignSummaryIntervalSeconds * 1000);

  // Caller checks. A credential that verified once is remembered (by digest, with a digest of the stored
  // hash it matched), so re-checking it after the cache TTL costs one registry read and no argon2 verify,
  // and is never throttled: a flood of wrong credentials cannot lock the real apiserver out of a warm
  // container. Only unverified credentials spend the per-cluster and per-container budgets.
  const verifiedCallers = new TtlCache<{ recordDigest: string }>(REMEMBER_SECONDS, MAX_VERIFIED_CALLERS, deps.elapsed);
  const unknownClusters = new TtlCache<{ unknown: true }>(options.cacheTtlSeconds, 1_000, deps.elapsed);
  const callerBudget = new LRUCache<string, { second: number; used: number }>({ max: MAX_TRACKED_CLUSTERS });
  const callerTotal = { second: -1, used: 0 };
  const callerChecksTotal = options.callerChecksPerSecondTotal ?? DEFAULT_AUTHENTICATOR_OPTIONS.callerChecksPerSecondTotal ?? 50;

  // Token lookups. Rows (or their absence) are cached per (cluster, name) for the cache TTL, so distinct
  // secrets for one name cost one read per TTL, and a missing name is not read again within it. Names
  // not known to exist spend a token bucket per cluster and one per container (see SECURITY.md).
  const rows = new TtlCache<{ row: TokenRecord | undefined }>(options.cacheTtlSeconds, options.cacheMaxEntries, deps.elapsed);
  const knownNames = new TtlCache<{ known: true }>(REMEMBER_SECONDS, options.cacheMaxEntries, deps.elapsed);
  const lookupRate = options.unknownNameLookupsPerSecond ?? DEFAULT_AUTHENTICATOR_OPTIONS.unknownNameLookupsPerSecond ?? 20;
  const lookupRateTotal =
    options.unknownNameLookupsPerSecondTotal ?? DEFAULT_AUTHENTICATOR_OPTIONS.unknownNameLookupsPerSecondTotal ?? 100;
  const lookupBuckets = new LRUCache<string, TokenBucket>({ max: MAX_TRACKED_CLUSTERS });
  const lookupTotal = new TokenBucket(lookupRateTotal, lookupRateTotal, deps.elapsed());
  const throttledLookups = new Map<string, number>();
  // In-flight verifications and reads, shared by concurrent requests for the same key (see checkCaller).
  const pendingChecks = new Map<string, Promise<CallerCheck>>();
  const pendingLookups = new Map<string, Promise<Lookup>>();
  let throttledSince: number | undefined;

  function spendCallerCheck(clusterId: string): boolean {
    const second = Math.floor(deps.elapsed() / 1000);
    if (callerTotal.second !== second) {
      callerTotal.second = second;
      callerTotal.used = 0;
    }
    const budget = callerBudget.get(clusterId);
    const used = budget && budget.second === second ? budget.used : 0;
    if (used >= options.callerChecksPerSecond || callerTotal.used >= callerChecksTotal) return false;
    callerBudget.set(clusterId, { second, used: used + 1 });
    callerTotal.used += 1;
    return true;
  }

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

  async function checkCaller(clusterId: string, authorization: string | undefined): Promise<void> {
    if (!clusterIdSchema.safeParse(clusterId).success) throw new UnauthorizedError('unknown cluster');
    const presented = parseCredential(bearerCredential(authorization) ?? '');
    if (!presented) throw new UnauthorizedError('missing or malformed caller credential');
    const key = TtlCache.keyOf(clusterId, presented.id, presented.secret);
    const cachedCheck = callers.get(key);
    if (cachedCheck && !(cachedCheck.notAfterMs !== undefined && cachedCheck.notAfterMs <= deps.now().getTime())) {
      if (!cachedCheck.ok) throw new UnauthorizedError('unknown cluster or wrong caller credential');
      return;
    }
    // Concurrent checks of one credential (a burst at a cold container, or the local server) share one
    // verification: otherwise each would spend the budget, and the real apiserver could throttle itself.
    let pending = pendingChecks.get(key);
    if (!pending) {
      pending = verifyCaller(clusterId, presented, key).finally(() => pendingChecks.delete(key));
      pendingChecks.set(key, pending);
    }
    const check = await pending;
    if (!check.ok) throw new UnauthorizedError('unknown cluster or wrong caller credential');
  }

  async function verifyCaller(clusterId: string, presented: ParsedCredential, key: string): Promise<CallerCheck> {
    let cluster: ClusterRecord | undefined;
    let check: CallerCheck | undefined;
    const memo = verifiedCallers.get(key);
    if (memo) {
      cluster = await store.getCluster(clusterId);
      if (stillVerified(memo, presented, cluster)) check = { ok: true, ...notAfterOf(cluster, presented) };
    }
    if (!check) {
      if (unknownClusters.get(TtlCache.keyOf(clusterId))) return { ok: false };
      if (!spendCallerCheck(clusterId)) {
        log.warn('caller check throttled', { clusterId });
        throw new UnauthorizedError('too many failed caller checks');
      }
      if (!memo) cluster = await store.getCluster(clusterId);
      if (!cluster) unknownClusters.set(TtlCache.keyOf(clusterId), { unknown: true });
      const ok = cluster !== undefined && (await credentialMatches(presented, cluster, deps.now()));
      check = { ok, ...(ok ? notAfterOf(cluster, presented) : {}) };
      const record = cluster ? credentialRecordOf(cluster, presented) : undefined;
      if (check.ok && record) verifiedCallers.set(key, { recordDigest: TtlCache.keyOf(record.hash) });
      if (!check.ok) log.warn('caller refused', { clusterId, credentialId: presented.id, known: cluster !== undefined });
    }
    callers.set(key, check);
    return check;
  }

  /** The review's store: records cached per name, unknown names read within a budget, one read per name at a time. */
  async function lookupToken(clusterId: string, name: string): Promise<Lookup> {
    const key = TtlCache.keyOf(clusterId, name);
    const cached = rows.get(key);
    if (cached) return cached.row;
    let pending = pendingLookups.get(key);
    if (!pending) {
      pending = readToken(clusterId, name, key).finally(() => pendingLookups.delete(key));
      pendingLookups.set(key, pending);
    }
    return pending;
  }

  async function readToken(clusterId: string, name: string, key: string): Promise<Lookup> {
    if (!knownNames.get(key)) {
      const now = deps.elapsed();
      let bucket = lookupBuckets.get(clusterId);
      if (!bucket) {
        bucket = new TokenBucket(lookupRate, lookupRate * 2, now);
        lookupBuckets.set(clusterId, bucket);
      }
      const clusterOk = bucket.available(now);
      const totalOk = lookupTotal.available(now);
      if (!clusterOk || !totalOk) return THROTTLED;
      bucket.take();
      lookupTotal.take();
    }
    const row = await store.getToken(clusterId, name);
    rows.set(key, { row });
    if (row) knownNames.set(key, { known: true });
    return row;
  }

  /** Throttled lookups are counted and summarised per interval, never logged one by one. */
  function noteThrottled(clusterId: string): void {
    const now = deps.elapsed();
    throttledSince ??= now;
    throttledLookups.set(clusterId, (throttledLookups.get(clusterId) ?? 0) + 1);
    metrics.count('LookupsThrottled', 1, { ClusterId: clusterId });
    if (throttledLookups.size === 1 && throttledLookups.get(clusterId) === 1) {
      log.warn('unknown token lookups throttled', { clusterId, perSecond: lookupRate, perSecondTotal: lookupRateTotal });
    }
    if (now - throttledSince >= options.foreignSummaryIntervalSeconds * 1000) {
      log.warn('unknown token lookups throttled', {
        windowSeconds: Math.round((now - throttledSince) / 1000),
        byCluster: Object.fromEntries([...throttledLookups].slice(0, 20)),
      });
      throttledLookups.clear();
      throttledSince = undefined;
    }
  }

  const usesInFlight = new Set<Promise<void>>();

  /**
   * Best effort (never holding up a review for a write that is not part of its answer): usage is informational for Rancher's UI, so the write never holds
   * up or fails a review: it is not awaited, failures are logged and swallowed, and at most
   * `maxUsesInFlight` writes are outstanding (a slow store drops usage records, not reviews). In Lambda a
   * write still in flight when the reply is sent completes when the container next runs, or is lost with it.
   */
  function recordUse(clusterId: string, tokenName: string): void {
    const key = TtlCache.keyOf(clusterId, tokenName);
    if (lastUseRecorded.get(key) || usesInFlight.size >= MAX_USES_IN_FLIGHT) return;
    lastUseRecorded.set(key, { at: deps.elapsed() });
    const now = deps.now();
    const notBefore = new Date(now.getTime() - options.lastUsedIntervalSeconds * 1000);
    const write = store
      .recordUse(clusterId, tokenName, now, notBefore)
      .catch((error: unknown) => log.warn('lastUsedAt not recorded', { clusterId, tokenName, error: describeError(error) }))
      .finally(() => usesInFlight.delete(write));
    usesInFlight.add(write);
  }

  function report(clusterId: string, decision: Decision, cached: boolean, started: number): void {
    const latencyMs = Math.round((deps.elapsed() - started) * 100) / 100;
    metrics.count('Reviews', 1, { Outcome: decision.outcome });
    metrics.milliseconds('ReviewLatency', latencyMs, { Outcome: decision.outcome });
    if (decision.outcome === 'foreign') {
      metrics.count('ForeignTokens', 1, { ClusterId: clusterId });
      const summary = foreign.record(clusterId, decision.foreign, deps.now().getTime());
      if (summary) log.info('foreign tokens refused', { ...summary });
      return;
    }
    const common = { clusterId, tokenName: decision.tokenName, outcome: decision.outcome, cached, latencyMs };
    if (decision.outcome === 'accepted') log.info('token accepted', { ...common, user: decision.user.username });
    else log.info('token refused', { ...common, user: decision.userName, reason: decision.reason, statusError: REFUSAL_MESSAGES[decision.reason] });
  }

  /** A cached acceptance ends when the token expires, even inside the cache TTL. */
  function freshFromCache(decision: Decision | undefined): Decision | undefined {
    if (decision?.outcome === 'accepted' && decision.expiresAtMs !== undefined && decision.expiresAtMs < deps.now().getTime()) {
      return undefined;
    }
    return decision;
  }

  async function reviewToken(clusterId: string, token: string): Promise<Decision> {
    const started = deps.elapsed();
    // Foreign tokens are most of the traffic (docs/reference.md, "What reaches the webhook"): answer them before any hashing or cache work.
    const parsed = parseToken(token);
    if ('foreign' in parsed) {
      const decision: Decision = { outcome: 'foreign', foreign: parsed.foreign };
      report(clusterId, decision, false, started);
      return decision;
    }
    const key = TtlCache.keyOf(clusterId, token);
    const cachedDecision = freshFromCache(decisions.get(key));
    let decision: Decision;
    if (cachedDecision) decision = cachedDecision;
    else {
      const record = await lookupToken(clusterId, parsed.rancher.name);
      if (record === THROTTLED) {
        noteThrottled(clusterId);
        metrics.count('Reviews', 1, { Outcome: 'refused' });
        return { outcome: 'refused', tokenName: parsed.rancher.name, reason: 'lookup-throttled' };
      }
      decision = await review(parsed.rancher, record, { now: deps.now(), allowSystemGroups: options.allowSystemGroups });
    }
    if (!cachedDecision && decision.outcome !== 'foreign') decisions.set(key, decision);
    if (decision.outcome === 'accepted') recordUse(clusterId, decision.tokenName);
    report(clusterId, decision, cachedDecision !== undefined, started);
    return decision;
  }

  return {
    checkCaller,
    reviewToken,
    async settle() {
      await Promise.allSettled([...usesInFlight]);
    },
  };
}
