/** One timed run of a closed loop: how many operations finished in how long, and each one's latency. */
export interface Sample {
  ops: number;
  /** Operations answered with a 5xx (included in `ops`). */
  errors: number;
  elapsedMs: number;
  /** Milliseconds per operation, in completion order. */
  latencies: Float64Array;
}

/** Several samples of the same workload (e.g. the rounds of an alternating comparison) taken as one. */
export interface Summary {
  ops: number;
  errors: number;
  elapsedMs: number;
  /** Operations per second over all rounds: total operations / total time. */
  throughput: number;
  p50: number;
  p99: number;
}

export function summarize(samples: Sample[]): Summary {
  const ops = samples.reduce((sum, sample) => sum + sample.ops, 0);
  const errors = samples.reduce((sum, sample) => sum + sample.errors, 0);
  const elapsedMs = samples.reduce((sum, sample) => sum + sample.elapsedMs, 0);
  const all = new Float64Array(ops);
  let offset = 0;
  for (const sample of samples) {
    all.set(sample.latencies, offset);
    offset += sample.latencies.length;
  }
  all.sort();
  return {
    ops,
    errors,
    elapsedMs,
    throughput: elapsedMs > 0 ? (ops * 1000) / elapsedMs : 0,
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
  };
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 0.5);
}
