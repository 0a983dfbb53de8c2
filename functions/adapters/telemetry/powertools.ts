import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, MetricDimensions, MetricsSink } from '../../core/ports/telemetry.ts';

/** A Powertools Logger behind the `Log` port. */
export function powertoolsLog(serviceName: string, logLevel?: string): Log {
  const logger = new Logger({
    serviceName,
    ...(logLevel ? { logLevel: logLevel.toUpperCase() as 'INFO' } : {}),
  });
  return {
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/** Latency samples kept per metric and dimension set between publishes: Powertools publishes early (and drops
 * the dimension set) when a metric reaches 100 values, so stay below that. */
const MAX_SAMPLES = 99;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface Aggregate {
  dimensions: MetricDimensions;
  counts: Map<string, number>;
  samples: Map<string, { unit: Unit; values: number[]; seen: number }>;
}

export interface PowertoolsMetricsOptions {
  namespace?: string;
  serviceName?: string;
  /**
   * Publish at most once per this interval; `flush()` calls in between only keep aggregating. 0 publishes
   * at every flush (the sync function: one run, one publish).
   */
  flushIntervalMs?: number;
  /** Monotonic milliseconds; injected by tests. */
  now?: () => number;
  /** Random numbers in [0, 1) for latency sampling; injected by tests. */
  random?: () => number;
}

/**
 * Powertools Metrics behind the `MetricsSink` port, aggregated: counts are summed and durations sampled
 * (at most 99 per metric and dimension set) per dimension set, then published as one EMF line per
 * dimension set at most once per interval. Publishing a line per data point cost the authenticate path
 * more than the review itself; the price is that a container reaped before its next publish loses at most
 * one interval of data points.
 */
export function powertoolsMetrics(options: PowertoolsMetricsOptions = {}): MetricsSink {
  const metrics = new Metrics({
    namespace: options.namespace ?? 'Tokengate',
    serviceName: options.serviceName ?? 'tokengate',
  });
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const intervalMs = options.flushIntervalMs ?? 0;
  let pending = new Map<string, Aggregate>();
  let lastPublish = now();

  const aggregateFor = (dimensions: MetricDimensions = {}): Aggregate => {
    const key = Object.entries(dimensions)
      .map(([name, value]) => `${name}=${value}`)
      .join('\u0000');
    let aggregate = pending.get(key);
    if (!aggregate) {
      aggregate = { dimensions, counts: new Map(), samples: new Map() };
      pending.set(key, aggregate);
    }
    return aggregate;
  };

  const sample = (name: string, unit: Unit, value: number, dimensions?: MetricDimensions) => {
    const samples = aggregateFor(dimensions).samples;
    let entry = samples.get(name);
    if (!entry) {
      entry = { unit, values: [], seen: 0 };
      samples.set(name, entry);
    }
    entry.seen += 1;
    if (entry.values.length < MAX_SAMPLES) entry.values.push(value);
    else {
      // Reservoir sampling keeps every value equally likely to be reported, so percentiles stay unbiased.
      const slot = Math.floor(random() * entry.seen);
      if (slot < MAX_SAMPLES) entry.values[slot] = value;
    }
  };

  const publish = () => {
    for (const aggregate of pending.values()) {
      if (Object.keys(aggregate.dimensions).length > 0) metrics.addDimensions(aggregate.dimensions);
      for (const [name, value] of aggregate.counts) metrics.addMetric(name, MetricUnit.Count, value);
      for (const [name, entry] of aggregate.samples) {
        for (const value of entry.values) metrics.addMetric(name, entry.unit, value);
      }
      metrics.publishStoredMetrics();
    }
    pending = new Map();
    lastPublish = now();
  };

  return {
    count: (name, value, dimensions) => {
      const counts = aggregateFor(dimensions).counts;
      counts.set(name, (counts.get(name) ?? 0) + value);
    },
    milliseconds: (name, value, dimensions) => sample(name, MetricUnit.Milliseconds, value, dimensions),
    seconds: (name, value, dimensions) => sample(name, MetricUnit.Seconds, value, dimensions),
    flush: () => {
      if (pending.size > 0 && now() - lastPublish >= intervalMs) publish();
    },
  };
}
