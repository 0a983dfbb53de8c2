import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import type { SecretVerifier } from '../../core/hash.ts';
import type { Log } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { FloodRecorder } from '../../core/ports/flood-store.ts';
import type { FloodWindow } from '../../core/foreign-summary.ts';
import { TtlCache } from './ttl-cache.ts';

export interface UsageRecorderOptions {
  /** At most one lastUsedAt write per token per this interval. */
  lastUsedIntervalSeconds: number;
  cacheMaxEntries: number;
  /**
   * How long a review waits for the writes it started before answering; 0: not at all (they finish in
   * the background). Lambda freezes the container once the handler returns, so there a write not
   * awaited is delayed to the next invocation or lost with the container.
   */
  usageWriteWaitMs: number;
}

export interface UsageRecorderDeps {
  store: Pick<TokenStore, 'recordUse' | 'recordVerifier'> & FloodRecorder;
  log: Log;
  now: () => Date;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  /** Resolves after `ms` milliseconds (injected like the clocks, so tests control it). */
  sleep: (ms: number) => Promise<void>;
  options: UsageRecorderOptions;
}

/**
 * Best-effort writes of a review (lastUsedAt, a token's verifier, a flood report's window): never part of
 * its answer, never its failure.
 */
export interface UsageRecorder {
  /** Starts the lastUsedAt write of a use (at most once per interval per token); never throws. */
  record(clusterId: string, tokenName: string): Promise<void>;
  /** Starts the write of a token's verifier; never throws. */
  recordVerifier(clusterId: string, tokenName: string, verifier: SecretVerifier): Promise<void>;
  /** Starts the write of a cluster's flood window under this container's `writer` id; never throws. */
  recordFloodWindow(window: FloodWindow, writer: string): Promise<void>;
  /** Resolves once the writes started so far have finished. */
  settle(): Promise<void>;
}

/** Best-effort writes outstanding at once; past it they are skipped (a slow store drops usage records, not reviews). */
const MAX_WRITES_IN_FLIGHT = 32;
/**
 * Flood-report writes running at once. They queue rather than being skipped: a window's rows are at most one
 * per cluster (the flood report's cluster bound), and none of them is worth losing to a burst.
 */
const FLOOD_WRITES_AT_ONCE = 8;

/**
 * Each method resolves when its write completed, failed (logged, swallowed) or `usageWriteWaitMs`
 * passed, whichever is first, so the review can await it: in Lambda the write is done before the reply
 * (within the stated budget); with a wait of 0 it resolves at once and the write runs in the background.
 */
export function createUsageRecorder(deps: UsageRecorderDeps): UsageRecorder {
  const { store, log, options } = deps;
  const recorded = new TtlCache<{ at: number }>(options.lastUsedIntervalSeconds, options.cacheMaxEntries, deps.elapsed);
  const inFlight = new Set<Promise<void>>();
  const floodWrites = new Set<Promise<void>>();
  const floodLimit = pLimit(FLOOD_WRITES_AT_ONCE);

  function start(write: () => Promise<void>, failure: string, attributes: Record<string, unknown>, tracked = inFlight): Promise<void> {
    if (tracked === inFlight && inFlight.size >= MAX_WRITES_IN_FLIGHT) return Promise.resolve();
    const running: Promise<void> = write()
      .catch((error: unknown) => log.warn(failure, { ...attributes, error: describeError(error) }))
      .finally(() => tracked.delete(running));
    tracked.add(running);
    if (options.usageWriteWaitMs <= 0) return Promise.resolve();
    return Promise.race([running, deps.sleep(options.usageWriteWaitMs)]);
  }

  return {
    record(clusterId, tokenName) {
      const key = TtlCache.keyOf(clusterId, tokenName);
      if (recorded.get(key) || inFlight.size >= MAX_WRITES_IN_FLIGHT) return Promise.resolve();
      recorded.set(key, { at: deps.elapsed() });
      const now = deps.now();
      const notBefore = new Date(now.getTime() - options.lastUsedIntervalSeconds * 1000);
      return start(() => store.recordUse(clusterId, tokenName, now, notBefore), 'lastUsedAt not recorded', { clusterId, tokenName });
    },
    recordVerifier(clusterId, tokenName, verifier) {
      return start(() => store.recordVerifier(clusterId, tokenName, verifier), 'verifier not recorded', { clusterId, tokenName });
    },
    recordFloodWindow(window, writer) {
      return start(
        () => floodLimit(() => store.recordFloodWindow(window, writer)),
        'flood report not recorded',
        { clusterId: window.clusterId, windowStart: window.windowStart },
        floodWrites,
      );
    },
    async settle() {
      await Promise.allSettled([...inFlight, ...floodWrites]);
    },
  };
}
