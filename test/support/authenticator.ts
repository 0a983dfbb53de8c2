import { randomBytes } from 'node:crypto';
import { createAuthenticator, type AuthenticatorOptions } from '../../functions/services/authenticate/authenticator.ts';
import { authenticatorOptions } from '../../functions/entry/authenticate/handler.ts';
import { authenticateConfigSchema } from '../../functions/entry/authenticate/config.ts';
import { parseConfig } from '../../functions/entry/config.ts';
import type { Log, MetricsSink } from '../../functions/core/ports/telemetry.ts';
import { CapturingLog, CapturingMetrics, FakeTokenStore } from './fakes.ts';

/** The authenticator's options as an empty environment configures them: the schema's defaults. */
export function defaultAuthenticatorOptions(): AuthenticatorOptions {
  return authenticatorOptions(parseConfig(authenticateConfigSchema, {}));
}

export interface AuthenticatorFixtureInput {
  /** The store to review against; empty by default. */
  store?: FakeTokenStore;
  /** Settings that differ from the configuration's defaults. */
  options?: Partial<AuthenticatorOptions>;
  /** Other sinks than the capturing fakes (e.g. silent ones for memory measurements). */
  log?: Log;
  metrics?: MetricsSink;
  /** How the review waits for its writes' budget to pass; at once by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Wall-clock start; 2026-11-26T12:00:00Z by default. */
  startMs?: number;
}

/**
 * One authenticator over a fake store with a controlled clock: `advance(ms)` moves the wall clock and
 * the monotonic clock together. The one setup every authenticate-path unit test builds on.
 */
export function authenticatorFixture(input: AuthenticatorFixtureInput = {}) {
  const store = input.store ?? new FakeTokenStore();
  const log = new CapturingLog();
  const metrics = new CapturingMetrics();
  let clockMs = input.startMs ?? Date.parse('2026-11-26T12:00:00Z');
  let monotonic = 1_000_000;
  const options = { ...defaultAuthenticatorOptions(), ...input.options };
  const authenticator = createAuthenticator({
    store,
    log: input.log ?? log,
    metrics: input.metrics ?? metrics,
    now: () => new Date(clockMs),
    elapsed: () => monotonic,
    sleep: input.sleep ?? (() => Promise.resolve()),
    randomBytes,
    options,
  });
  const advance = (ms: number) => {
    clockMs += ms;
    monotonic += ms;
  };
  return { store, log, metrics, authenticator, advance, options };
}
