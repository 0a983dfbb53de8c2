/** The telemetry ports: structured logs and metrics. Adapters: `adapters/telemetry/powertools.ts`. */

export type LogAttributes = Record<string, unknown>;

/**
 * The logging port. Attributes are structured (one JSON line per call in production). Callers must
 * never pass a token, a secret, a hash or a credential; tests assert that with a capturing fake.
 */
export interface Log {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export type MetricDimensions = Record<string, string>;

/** The metrics port: counts and durations, published as CloudWatch EMF by the Powertools adapter. */
export interface MetricsSink {
  count(name: string, value: number, dimensions?: MetricDimensions): void;
  milliseconds(name: string, value: number, dimensions?: MetricDimensions): void;
  seconds(name: string, value: number, dimensions?: MetricDimensions): void;
  /** Writes what was recorded since the last flush; called once per invocation. */
  flush(): void;
}

/** A log that drops everything: for the CLI's review command and benchmarks. */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Metrics that go nowhere: for the local server and CLI, where no CloudWatch reads EMF. */
export const noMetrics: MetricsSink = { count() {}, milliseconds() {}, seconds() {}, flush() {} };
