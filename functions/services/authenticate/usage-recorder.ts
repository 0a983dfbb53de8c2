import { describeError } from '../../core/errors.ts';
import type { Log } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import { TtlCache } from './ttl-cache.ts';

export interface UsageRecorderOptions {
  /** At most one lastUsedAt write per token per this interval. */
  lastUsedIntervalSeconds: number;
  cacheMaxEntries: number;
}

export interface UsageRecorderDeps {
  store: Pick<TokenStore, 'recordUse'>;
  log: Log;
  now: () => Date;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: UsageRecorderOptions;
}

/** Best-effort lastUsedAt writes: informational for Rancher's UI, never part of a review's answer. */
export interface UsageRecorder {
  /** Starts the write of a use (at most once per interval per token); never throws. */
  record(clusterId: string, tokenName: string): void;
  /** Resolves once the writes started so far have finished. */
  settle(): Promise<void>;
}

/** Best-effort lastUsedAt writes outstanding at once; past it usage records are skipped. */
const MAX_USES_IN_FLIGHT = 32;

/**
 * Usage never holds up or fails a review: the write is not awaited, failures are logged and swallowed,
 * and at most `MAX_USES_IN_FLIGHT` writes are outstanding (a slow store drops usage records, not
 * reviews). In Lambda a write still in flight when the reply is sent completes when the container next
 * runs, or is lost with it.
 */
export function createUsageRecorder(deps: UsageRecorderDeps): UsageRecorder {
  const { store, log, options } = deps;
  const recorded = new TtlCache<{ at: number }>(options.lastUsedIntervalSeconds, options.cacheMaxEntries, deps.elapsed);
  const inFlight = new Set<Promise<void>>();
  return {
    record(clusterId, tokenName) {
      const key = TtlCache.keyOf(clusterId, tokenName);
      if (recorded.get(key) || inFlight.size >= MAX_USES_IN_FLIGHT) return;
      recorded.set(key, { at: deps.elapsed() });
      const now = deps.now();
      const notBefore = new Date(now.getTime() - options.lastUsedIntervalSeconds * 1000);
      const write = store
        .recordUse(clusterId, tokenName, now, notBefore)
        .catch((error: unknown) => log.warn('lastUsedAt not recorded', { clusterId, tokenName, error: describeError(error) }))
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
    },
    async settle() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
