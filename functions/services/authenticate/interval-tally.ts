/** Distinct keys counted per window; the rest is counted as `untracked`. */
const MAX_KEYS = 1_000;
/** Keys named in one report. */
const TOP = 20;

export interface TallyReport {
  windowSeconds: number;
  total: number;
  /** The most frequent keys and their counts, most frequent first. */
  top: Record<string, number>;
  untracked: number;
}

/**
 * Counts events by key instead of logging each, and hands back at most one report per interval: what
 * keeps a flood of refusals from becoming a flood of log lines. `first` tells the caller when an event
 * opens a window, so the start of a flood is logged at once and the rest in the summary.
 */
export class IntervalTally {
  private counts = new Map<string, number>();
  private total = 0;
  private untracked = 0;
  private windowStart: number | undefined;

  constructor(private readonly intervalMs: number) {}

  /** Counts one event at `nowMs`; `first` when it opened a window, `report` when that window is over. */
  record(key: string, nowMs: number): { first: boolean; report?: TallyReport } {
    const first = this.windowStart === undefined;
    this.windowStart ??= nowMs;
    this.total += 1;
    const count = this.counts.get(key);
    if (count !== undefined) this.counts.set(key, count + 1);
    else if (this.counts.size < MAX_KEYS) this.counts.set(key, 1);
    else this.untracked += 1;
    if (nowMs - this.windowStart < this.intervalMs) return { first };
    const report: TallyReport = {
      windowSeconds: Math.round((nowMs - this.windowStart) / 1000),
      total: this.total,
      top: Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]).slice(0, TOP)),
      untracked: this.untracked,
    };
    this.counts = new Map();
    this.total = 0;
    this.untracked = 0;
    this.windowStart = undefined;
    return { first, report };
  }
}
