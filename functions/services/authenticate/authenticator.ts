import { OverloadedError } from '../../core/errors.ts';
import { issueVerifier } from '../../core/hash.ts';
import { needsSlowVerify, review, type Decision } from '../../core/review.ts';
import { parseToken, type RancherToken } from '../../core/token-string.ts';
import type { TokenRecord } from '../../core/records.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { FloodRecorder } from '../../core/ports/flood-store.ts';
import { createCallerGate, type CallerGateOptions } from './caller-gate.ts';
import { DecisionCache, type DecisionCacheOptions } from './decision-cache.ts';
import { createDecisionReporting, type DecisionReportingOptions } from './decision-reporting.ts';
import { createHashScheduler, type HashSchedulerOptions } from './hash-scheduler.ts';
import { RateLimiter } from './rate-limiter.ts';
import { createTokenLookup, NOT_IN_FILTER, THROTTLED, type TokenLookupOptions } from './token-lookup.ts';
import { createUsageRecorder, type UsageRecorderOptions } from './usage-recorder.ts';
import { createFloodReport } from './flood-report.ts';

/**
 * Every setting of the authenticate service. There are no defaults here: they live in the function's
 * configuration schema (`entry/authenticate/config.ts`), the one place an operator reads them.
 */
export interface AuthenticatorOptions
  extends CallerGateOptions,
    TokenLookupOptions,
    UsageRecorderOptions,
    DecisionCacheOptions,
    DecisionReportingOptions {
  allowSystemGroups: boolean;
  /** Slow hash verifies per token name per second (burst twice that) while the token has no verifier. */
  slowVerifiesPerTokenPerSecond: number;
  hashConcurrency: HashSchedulerOptions['concurrency'];
  hashQueuePerCluster: HashSchedulerOptions['maxQueuedPerCluster'];
}

export interface AuthenticatorDeps {
  /** The table: reviews' reads, usage writes, the flood report's windows. */
  store: TokenStore & FloodRecorder;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
  /** Monotonic milliseconds, for latencies, caches and budgets. */
  elapsed: () => number;
  /** Resolves after `ms` milliseconds: how long a review waits for its best-effort writes. */
  sleep: (ms: number) => Promise<void>;
  /** Salts of the verifiers stored beside slow hashes, and this container's id on its flood rows. */
  randomBytes: (size: number) => Buffer;
  options: AuthenticatorOptions;
}

/** The warm-container state of the authenticate path: caches, budgets and the foreign-token tally. */
export interface Authenticator {
  /** Checks the caller credential of a cluster (cached). Throws `UnauthorizedError`, `OverloadedError` or `StoreUnavailableError`. */
  checkCaller(clusterId: string, authorization: string | undefined): Promise<void>;
  /** Reviews a token for a cluster whose caller is already checked (cached). */
  reviewToken(clusterId: string, token: string): Promise<Decision>;
  /**
   * Reports the foreign-token windows that ended (every open one when `final`): one log line and one stored
   * row per cluster, awaited within the write budget. Call it on every invocation (Lambda has no timers),
   * on a timer and at shutdown locally. Cheap when no window ended.
   */
  reportFloods(final?: boolean): Promise<void>;
  /** How often a window of the flood report ends (what a local timer calls `reportFloods` by). */
  floodIntervalMs: number;
  /** Resolves once the best-effort writes started so far have finished (for a clean local shutdown). */
  settle(): Promise<void>;
}

/** Token names whose slow-verify budgets a container keeps. */
const MAX_TRACKED_NAMES = 10_000;

/**
 * Builds the authenticate path's domain service from its parts: the caller gate, the token lookup, the
 * decision cache, the usage recorder, the hash scheduler and the decision reporting. The token is parsed
 * once; foreign tokens are answered before any cache, read or hash.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { store, log, metrics, options } = deps;
  const hashes = createHashScheduler({ concurrency: options.hashConcurrency, maxQueuedPerCluster: options.hashQueuePerCluster });
  const tokens = createTokenLookup({
    store,
    elapsed: deps.elapsed,
    options,
    unreadableFilter: (clusterId, error) => log.warn('name filter unreadable, reading unknown names within the budget', { clusterId, error: error.message }),
  });
  // the name filter a review reads after the caller check is read beside the check's registry read
  const callers = createCallerGate({ store, log, metrics, hashes, now: deps.now, elapsed: deps.elapsed, options, onRegistryRead: (clusterId) => tokens.warm(clusterId) });
  const decisions = new DecisionCache(options, deps.now, deps.elapsed);
  const writes = createUsageRecorder({ store, log, now: deps.now, elapsed: deps.elapsed, sleep: deps.sleep, options });
  const floodIntervalMs = options.foreignSummaryIntervalSeconds * 1000;
  // Rows are per container, so containers never overwrite each other's counts of the same window.
  const writer = deps.randomBytes(6).toString('hex');
  const floods = createFloodReport({ log, now: deps.now, intervalMs: floodIntervalMs, store: (window) => writes.recordFloodWindow(window, writer) });
  const reporting = createDecisionReporting({ log, metrics, floods, now: deps.now, elapsed: deps.elapsed, options });
  const slowVerifies = new RateLimiter({
    ratePerSecond: options.slowVerifiesPerTokenPerSecond,
    burst: options.slowVerifiesPerTokenPerSecond * 2,
    maxScopes: MAX_TRACKED_NAMES,
    now: deps.elapsed,
  });

  /**
   * The review of a record, with its slow hash work budgeted per name and run in the cluster's turn.
   * Undefined when that budget is spent or the cluster's hash queue is full.
   */
  async function decide(clusterId: string, token: RancherToken, record: TokenRecord | undefined): Promise<Decision | undefined> {
    const context = { now: deps.now(), allowSystemGroups: options.allowSystemGroups };
    if (!needsSlowVerify(record, context.now)) return review(token, record, context);
    if (!slowVerifies.tryTake(`${clusterId}\u0000${token.name}`)) return undefined;
    try {
      return await hashes.run(clusterId, () => review(token, record, context));
    } catch (error) {
      if (error instanceof OverloadedError) return undefined;
      throw error;
    }
  }

  async function reviewToken(clusterId: string, token: string): Promise<Decision> {
    const started = deps.elapsed();
    // Foreign tokens are most of the traffic: answer them before any hashing or cache work.
    const parsed = parseToken(token);
    if ('foreign' in parsed) {
      const decision: Decision = { outcome: 'foreign', foreign: parsed.foreign };
      reporting.decided(clusterId, decision, false, started);
      return decision;
    }
    const { name, secret } = parsed.rancher;
    const cached = decisions.get(clusterId, token);
    let decision: Decision;
    const pendingWrites: Promise<void>[] = [];
    if (cached) decision = cached;
    else {
      const found = await tokens.find(clusterId, name);
      if (found === NOT_IN_FILTER) {
        reporting.nameUnknown(clusterId, name);
        return { outcome: 'refused', tokenName: name, reason: 'name-unknown' };
      }
      if (found === THROTTLED) {
        reporting.lookupThrottled(clusterId);
        return { outcome: 'refused', tokenName: name, reason: 'lookup-throttled' };
      }
      const decided = await decide(clusterId, parsed.rancher, found.record);
      if (!decided) {
        reporting.verifyThrottled(clusterId, name);
        return { outcome: 'refused', tokenName: name, userName: found.record?.userName, reason: 'verify-throttled' };
      }
      decision = decided;
      if (decision.outcome === 'accepted' && decision.verifierWanted && found.record?.hash) {
        const verifier = issueVerifier(found.record.hash, secret, deps.randomBytes);
        tokens.withVerifier(clusterId, name, verifier);
        pendingWrites.push(writes.recordVerifier(clusterId, name, verifier));
        const { verifierWanted: _done, ...rest } = decision;
        decision = rest;
      }
      decisions.set(clusterId, token, decision, found.readAtMs);
    }
    if (decision.outcome === 'accepted') pendingWrites.push(writes.record(clusterId, decision.tokenName));
    reporting.decided(clusterId, decision, cached !== undefined, started);
    // In Lambda nothing runs after the reply: wait (within the stated budget) for this review's writes.
    await Promise.all(pendingWrites);
    return decision;
  }

  return {
    checkCaller: (clusterId, authorization) => callers.check(clusterId, authorization),
    reviewToken,
    reportFloods: (final) => floods.reportEnded(final),
    floodIntervalMs,
    settle: () => writes.settle(),
  };
}
