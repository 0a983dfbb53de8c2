import { Counter, Histogram, Registry } from 'prom-client';
import type { MetricDimensions, MetricsSink } from '../../core/ports/telemetry.ts';

/** Buckets of the millisecond histograms: a cached review (≈0.1 ms) up to the store deadline and past it. */
const MILLISECOND_BUCKETS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
/** Buckets of the second histograms (sync age): one sync interval up to a day. */
const SECOND_BUCKETS = [30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400];

/** The metrics sink of the local server, with what `GET /metrics` answers. */
export interface PrometheusMetrics extends MetricsSink {
  /** The Prometheus text exposition of everything recorded so far, and its content type. */
  exposition(): Promise<{ contentType: string; body: string }>;
}

/**
 * The `MetricsSink` port on a prom-client registry of its own, for `GET /metrics` of the local server.
 * Metric names and labels are the EMF ones (`Reviews{Outcome="accepted"}`, `ReviewLatency`), so one
 * dashboard query reads both: counts become counters, durations histograms in their unit. A metric's
 * labels are those of its first data point; a label it was not created with is dropped, never an error
 * on the review path.
 */
export function prometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  const counters = new Map<string, { metric: Counter; labels: string[] }>();
  const histograms = new Map<string, { metric: Histogram; labels: string[] }>();

  const labelsFor = (names: readonly string[], dimensions: MetricDimensions = {}) =>
    Object.fromEntries(names.map((name) => [name, dimensions[name] ?? '']));

  const counter = (name: string, dimensions: MetricDimensions = {}) => {
    let entry = counters.get(name);
    if (!entry) {
      const labels = Object.keys(dimensions);
      entry = { metric: new Counter({ name, help: `${name} (count), as published in EMF`, labelNames: labels, registers: [registry] }), labels };
      counters.set(name, entry);
    }
    return entry;
  };

  const histogram = (name: string, unit: 'milliseconds' | 'seconds', dimensions: MetricDimensions = {}) => {
    let entry = histograms.get(name);
    if (!entry) {
      const labels = Object.keys(dimensions);
      const metric = new Histogram({
        name,
        help: `${name} (${unit}), as published in EMF`,
        labelNames: labels,
        buckets: unit === 'milliseconds' ? MILLISECOND_BUCKETS : SECOND_BUCKETS,
        registers: [registry],
      });
      entry = { metric, labels };
      histograms.set(name, entry);
    }
    return entry;
  };

  const observe = (name: string, unit: 'milliseconds' | 'seconds', value: number, dimensions?: MetricDimensions) => {
    const { metric, labels } = histogram(name, unit, dimensions);
    metric.observe(labelsFor(labels, dimensions), value);
  };

  return {
    count: (name, value, dimensions) => {
      const { metric, labels } = counter(name, dimensions);
      metric.inc(labelsFor(labels, dimensions), value);
    },
    milliseconds: (name, value, dimensions) => observe(name, 'milliseconds', value, dimensions),
    seconds: (name, value, dimensions) => observe(name, 'seconds', value, dimensions),
    // scraped, not pushed: nothing to publish per invocation
    flush: () => {},
    exposition: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

