/** Distinct keys counted per window unless told otherwise; the rest is counted as `untracked`. */
const MAX_KEYS = 1_000;
/** Keys named in one report unless told otherwise. */
const TOP = 20;

/** One counted key of a window, with what the caller folded into it. */
export interface TallyEntry<D> {
  key: string;
  count: number;
  detail: D;
}

export interface TallyReport<D = undefined> {
  /** Wall-clock or monotonic, as the caller's clock: where the window started and ended. */
  windowStartMs: number;
  windowEndMs: number;
  windowSeconds: number;
  total: number;
  /** The most frequent keys and their counts, most frequent first. */
  top: Record<string, number>;
  /** The same keys with their details, most frequent first. */
  entries: TallyEntry<D>[];
  untracked: number;
}

export interface IntervalTallyOptions {
  /** Distinct keys kept per window (the map's bound). */
  maxKeys?: number;
  /** Keys named in a report. */
  top?: number;
  /**
   * Windows on the clock's grid (`[k·interval, (k+1)·interval)`), so that every tally of every container
   * reports the same windows and they can be added up; an event after the end opens the next window.
   * Otherwise a window opens at its first event and the event that finds it over closes it.
   */
  aligned?: boolean;
}

/**
 * Counts events by key instead of logging each, and hands back at most one report per interval: what
 * keeps a flood of refusals from becoming a flood of log lines. `first` tells the caller when an event
 * opens a window, so the start of a flood is logged at once and the rest in the summary. Memory is
 * bounded: at most `maxKeys` keys (and their details) per window.
 *
 * The one windowed counter of the authenticate path: caller refusals, throttled verifies and the
 * foreign-token flood report all count with it.
 */
export class IntervalTally<D = undefined> {
  private entries = new Map<string, TallyEntry<D>>();
  private total = 0;
  private untracked = 0;
  private windowStart: number | undefined;
  private readonly maxKeys: number;
  private readonly top: number;
  private readonly aligned: boolean;

  constructor(
    private readonly intervalMs: number,
    options: IntervalTallyOptions = {},
  ) {
    this.maxKeys = options.maxKeys ?? MAX_KEYS;
    this.top = options.top ?? TOP;
    this.aligned = options.aligned ?? false;
  }

  /**
   * Counts one event at `nowMs`; `first` when it opened a window, `report` when a window is over.
   * `fold` turns the key's detail so far (undefined for its first event in the window) into the new one.
   */
  record(key: string, nowMs: number, fold?: (detail: D | undefined) => D): { first: boolean; report?: TallyReport<D> } {
    const ended = this.aligned ? this.takeEnded(nowMs) : undefined;
    const first = this.windowStart === undefined;
    this.windowStart ??= this.aligned ? nowMs - (nowMs % this.intervalMs) : nowMs;
    this.total += 1;
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.count += 1;
      if (fold) entry.detail = fold(entry.detail);
    } else if (this.entries.size < this.maxKeys) {
      this.entries.set(key, { key, count: 1, detail: fold ? fold(undefined) : (undefined as D) });
    } else this.untracked += 1;
    if (this.aligned) return ended ? { first, report: ended } : { first };
    if (nowMs - this.windowStart < this.intervalMs) return { first };
    return { first, report: this.take(nowMs) };
  }

  /** When the open window ends (undefined: none is open). */
  get windowEndMs(): number | undefined {
    return this.windowStart === undefined ? undefined : this.windowStart + this.intervalMs;
  }

  /** The report of the open window if it is over at `nowMs`, starting afresh; for reporting without a new event. */
  takeEnded(nowMs: number): TallyReport<D> | undefined {
    const end = this.windowEndMs;
    return end !== undefined && nowMs >= end ? this.take(this.aligned ? end : nowMs) : undefined;
  }

  /** The report of everything counted so far (a shutdown's last word), or undefined when nothing was. */
  takeNow(nowMs: number): TallyReport<D> | undefined {
    return this.windowStart === undefined ? undefined : this.take(nowMs);
  }

  private take(endMs: number): TallyReport<D> {
    const windowStartMs = this.windowStart as number;
    const entries = [...this.entries.values()].sort((a, b) => b.count - a.count).slice(0, this.top);
    const report: TallyReport<D> = {
      windowStartMs,
      windowEndMs: endMs,
      windowSeconds: Math.round((endMs - windowStartMs) / 1000),
      total: this.total,
      top: Object.fromEntries(entries.map((entry) => [entry.key, entry.count])),
      entries,
      untracked: this.untracked,
    };
    this.entries = new Map();
    this.total = 0;
    this.untracked = 0;
    this.windowStart = undefined;
    return report;
  }
}

/** What a summary log line shows of a report: the counts, without the details or the clock's raw values. */
export function summaryOf<D>(report: TallyReport<D>): { windowSeconds: number; total: number; top: Record<string, number>; untracked: number } {
  return { windowSeconds: report.windowSeconds, total: report.total, top: report.top, untracked: report.untracked };
}
