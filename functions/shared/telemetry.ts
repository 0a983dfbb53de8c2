import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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

/** A Powertools Logger behind the `Log` port; the service name comes from POWERTOOLS_SERVICE_NAME. */
export function powertoolsLog(serviceName = 'tokengate', logLevel?: string): Log {
  const logger = new Logger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName,
    ...(logLevel ? { logLevel: logLevel.toUpperCase() as 'INFO' } : {}),
  });
  return {
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/**
 * Powertools Metrics behind the `MetricsSink` port. Each data point with dimensions goes out as its own
 * EMF blob (a single-metric), so dimensions of different metrics never mix.
 */
export function powertoolsMetrics(namespace = 'Tokengate', serviceName = 'tokengate'): MetricsSink {
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? namespace,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
  const add = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, dimensions?: MetricDimensions) => {
    if (!dimensions || Object.keys(dimensions).length === 0) {
      metrics.addMetric(name, unit, value);
      return;
    }
    const single = metrics.singleMetric();
    for (const [key, dimensionValue] of Object.entries(dimensions)) single.addDimension(key, dimensionValue);
    single.addMetric(name, unit, value);
  };
  return {
    count: (name, value, dimensions) => add(name, MetricUnit.Count, value, dimensions),
    milliseconds: (name, value, dimensions) => add(name, MetricUnit.Milliseconds, value, dimensions),
    seconds: (name, value, dimensions) => add(name, MetricUnit.Seconds, value, dimensions),
    flush: () => metrics.publishStoredMetrics(),
  };
}

/** A log that drops everything: for the CLI's review command and benchmarks. */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Metrics that go nowhere: for the local server and CLI, where no CloudWatch reads EMF. */
export const noMetrics: MetricsSink = { count() {}, milliseconds() {}, seconds() {}, flush() {} };
