import { bearerCredential, credentialMatches, parseCredential } from '../shared/caller-credential.ts';
import { UnauthorizedError } from '../shared/errors.ts';
import { ForeignTokenSummary } from '../shared/foreign-summary.ts';
import { REFUSAL_MESSAGES, review, type Decision } from '../shared/review.ts';
import { clusterIdSchema } from '../shared/table.ts';
import type { Log, MetricsSink } from '../shared/telemetry.ts';
import type { TokenStore } from '../shared/token-store.ts';
import { TtlCache } from '../shared/ttl-cache.ts';

export interface AuthenticatorOptions {
  /** How long a decision or a caller check stays cached in this container; 0 disables. */
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  allowSystemGroups: boolean;
  /** At most one lastUsedAt write per token per this interval. */
  lastUsedIntervalSeconds: number;
  /** How long the review waits for the best-effort lastUsedAt write before answering anyway. */
  lastUsedWaitMs: number;
  foreignSummaryIntervalSeconds: number;
  /**
   * Uncached caller checks (each an argon2id verify) allowed per cluster per second in this container,
   * so a flood of wrong credentials cannot buy CPU with hash work.
   */
  callerChecksPerSecond: number;
}

export const DEFAULT_AUTHENTICATOR_OPTIONS: AuthenticatorOptions = {
  cacheTtlSeconds: 10,
  cacheMaxEntries: 10_000,
  allowSystemGroups: false,
  lastUsedIntervalSeconds: 60,
  lastUsedWaitMs: 100,
  foreignSummaryIntervalSeconds: 60,
  callerChecksPerSecond: 5,
};

export interface AuthenticatorDeps {
  store: TokenStore;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
  /** Monotonic milliseconds, for latencies. */
  elapsed: () => number;
  options: AuthenticatorOptions;
}

export interface AuthenticationRequest {
  clusterId: string;
  /** The raw Authorization header the apiserver sent. */
  authorization: string | undefined;
  /** The bearer token under review (TokenReview spec.token). */
  token: string;
}

type CallerCheck = { ok: boolean };

/** The warm-container state of the authenticate path: caches, throttles and the foreign-token tally. */
export interface Authenticator {
  /** Checks the caller, then reviews the token. Throws `UnauthorizedError` or `StoreUnavailableError`. */
  authenticate(request: AuthenticationRequest): Promise<Decision>;
  /** Checks only the caller credential of a cluster (cached). */
  checkCaller(clusterId: string, authorization: string | undefined): Promise<void>;
  /** Reviews a token for a cluster whose caller is already checked (cached). */
  reviewToken(clusterId: string, token: string): Promise<Decision>;
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
  const callerBudget = new Map<string, { second: number; used: number }>();
  const foreign = new ForeignTokenSummary(options.foreignSummaryIntervalSeconds * 1000);

  function spendCallerCheck(clusterId: string): boolean {
    const second = Math.floor(deps.elapsed() / 1000);
    const budget = callerBudget.get(clusterId);
    if (!budget || budget.second !== second) {
      if (callerBudget.size > 1_000) callerBudget.clear();
      callerBudget.set(clusterId, { second, used: 1 });
      return true;
    }
    budget.used += 1;
    return budget.used <= options.callerChecksPerSecond;
  }

  async function checkCaller(clusterId: string, authorization: string | undefined): Promise<void> {
    if (!clusterIdSchema.safeParse(clusterId).success) throw new UnauthorizedError('unknown cluster');
    const presented = parseCredential(bearerCredential(authorization) ?? '');
    if (!presented) throw new UnauthorizedError('missing or malformed caller credential');
    const key = TtlCache.keyOf(clusterId, presented.id, presented.secret);
    let check = callers.get(key);
    if (!check) {
      if (!spendCallerCheck(clusterId)) {
        log.warn('caller check throttled', { clusterId });
        throw new UnauthorizedError('too many failed caller checks');
      }
      const cluster = await store.getCluster(clusterId);
      check = { ok: cluster !== undefined && (await credentialMatches(presented, cluster, deps.now())) };
      callers.set(key, check);
      if (!check.ok) log.warn('caller refused', { clusterId, credentialId: presented.id, known: cluster !== undefined });
    }
    if (!check.ok) throw new UnauthorizedError('unknown cluster or wrong caller credential');
  }

  async function recordUse(clusterId: string, tokenName: string): Promise<void> {
    const key = TtlCache.keyOf(clusterId, tokenName);
    if (lastUseRecorded.get(key)) return;
    lastUseRecorded.set(key, { at: deps.elapsed() });
    const now = deps.now();
    const notBefore = new Date(now.getTime() - options.lastUsedIntervalSeconds * 1000);
    // Best effort (DEVELOPERS.md rule 7): usage is informational for Rancher's UI, so a failed or slow
    // write must never fail or hold up a review. We wait a little so the write usually completes before
    // Lambda freezes the container, then answer regardless.
    const write = store.recordUse(clusterId, tokenName, now, notBefore).catch((error: unknown) => {
      log.warn('lastUsedAt not recorded', { clusterId, tokenName, error: errorName(error) });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([write, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.lastUsedWaitMs)))]);
    clearTimeout(timer);
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
    else log.info('token refused', { ...common, user: decision.userName, reason: decision.reason, message: REFUSAL_MESSAGES[decision.reason] });
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
    const key = TtlCache.keyOf(clusterId, token);
    const cachedDecision = freshFromCache(decisions.get(key));
    const decision =
      cachedDecision ??
      (await review({ clusterId, token }, { store, now: deps.now, allowSystemGroups: options.allowSystemGroups }));
    if (!cachedDecision && decision.outcome !== 'foreign') decisions.set(key, decision);
    if (decision.outcome === 'accepted') await recordUse(clusterId, decision.tokenName);
    report(clusterId, decision, cachedDecision !== undefined, started);
    return decision;
  }

  return {
    checkCaller,
    reviewToken,
    async authenticate(request) {
      await checkCaller(request.clusterId, request.authorization);
      return reviewToken(request.clusterId, request.token);
    },
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
