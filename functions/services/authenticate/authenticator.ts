import { review, type Decision } from '../../core/review.ts';
import { parseToken } from '../../core/token-string.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import { createCallerGate, type CallerGateOptions } from './caller-gate.ts';
import { DecisionCache, type DecisionCacheOptions } from './decision-cache.ts';
import { createDecisionReporting, type DecisionReportingOptions } from './decision-reporting.ts';
import { createTokenLookup, THROTTLED, type TokenLookupOptions } from './token-lookup.ts';
import { createUsageRecorder, type UsageRecorderOptions } from './usage-recorder.ts';

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
}

export interface AuthenticatorDeps {
  store: TokenStore;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
  /** Monotonic milliseconds, for latencies, caches and budgets. */
  elapsed: () => number;
  options: AuthenticatorOptions;
}

/** The warm-container state of the authenticate path: caches, budgets and the foreign-token tally. */
export interface Authenticator {
  /** Checks the caller credential of a cluster (cached). Throws `UnauthorizedError` or `StoreUnavailableError`. */
  checkCaller(clusterId: string, authorization: string | undefined): Promise<void>;
  /** Reviews a token for a cluster whose caller is already checked (cached). */
  reviewToken(clusterId: string, token: string): Promise<Decision>;
  /** Resolves once the best-effort writes started so far have finished (for a clean local shutdown). */
  settle(): Promise<void>;
}

/**
 * Builds the authenticate path's domain service from its parts: the caller gate, the token lookup, the
 * decision cache, the usage recorder and the decision reporting. The token is parsed once; foreign
 * tokens are answered before any cache, read or hash.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { store, log, metrics, options } = deps;
  const callers = createCallerGate({ store, log, now: deps.now, elapsed: deps.elapsed, options });
  const tokens = createTokenLookup({ store, elapsed: deps.elapsed, options });
  const decisions = new DecisionCache(options, deps.now, deps.elapsed);
  const usage = createUsageRecorder({ store, log, now: deps.now, elapsed: deps.elapsed, options });
  const reporting = createDecisionReporting({ log, metrics, now: deps.now, elapsed: deps.elapsed, options });

  async function reviewToken(clusterId: string, token: string): Promise<Decision> {
    const started = deps.elapsed();
    // Foreign tokens are most of the traffic: answer them before any hashing or cache work.
    const parsed = parseToken(token);
    if ('foreign' in parsed) {
      const decision: Decision = { outcome: 'foreign', foreign: parsed.foreign };
      reporting.decided(clusterId, decision, false, started);
      return decision;
    }
    const cached = decisions.get(clusterId, token);
    let decision: Decision;
    if (cached) decision = cached;
    else {
      const record = await tokens.find(clusterId, parsed.rancher.name);
      if (record === THROTTLED) {
        reporting.lookupThrottled(clusterId);
        return { outcome: 'refused', tokenName: parsed.rancher.name, reason: 'lookup-throttled' };
      }
      decision = await review(parsed.rancher, record, { now: deps.now(), allowSystemGroups: options.allowSystemGroups });
      decisions.set(clusterId, token, decision);
    }
    if (decision.outcome === 'accepted') usage.record(clusterId, decision.tokenName);
    reporting.decided(clusterId, decision, cached !== undefined, started);
    return decision;
  }

  return {
    checkCaller: (clusterId, authorization) => callers.check(clusterId, authorization),
    reviewToken,
    settle: () => usage.settle(),
  };
}
