import { countToken, reportedOffender, tokenKeyOf, TOP_OFFENDERS, type FloodOffender, type FloodWindow } from '../../core/foreign-summary.ts';
import type { ForeignToken } from '../../core/token-string.ts';
import type { Log } from '../../core/ports/telemetry.ts';
import { describeError } from '../../core/errors.ts';
import { IntervalTally, type TallyReport } from './interval-tally.ts';

/**
 * Distinct senders counted per cluster per window; the rest are counted as `untracked`. With the cluster bound
 * below, at most 25,000 senders of at most ~2 KB of claims each: tens of MB at worst, in a 1 GB function.
 */
const MAX_OFFENDERS_PER_CLUSTER = 100;
/** Clusters with an open window at once; tokens of more are left to the ForeignTokens metric (and said once). */
const MAX_CLUSTERS = 250;

export interface FloodReportDeps {
  log: Log;
  /** Stores a window (best effort, within the review's write budget): the usage recorder's `recordFloodWindow`. */
  store(window: FloodWindow): Promise<void>;
  /** Wall-clock time: windows are on the clock's grid, so every container reports the same windows. */
  now: () => Date;
  intervalMs: number;
}

/** The foreign-token flood report of a container: counted per cluster, reported when each window ends. */
export interface FloodReport {
  /** Counts one foreign token of a cluster (never keeping the token: only the claims that name its sender). */
  count(clusterId: string, token: ForeignToken): void;
  /**
   * Logs one line per cluster whose window ended and stores it, resolving once those writes finished or
   * their budget passed. Cheap when no window ended (one clock read). `final`: every open window, ended or
   * not (a local server's shutdown).
   */
  reportEnded(final?: boolean): Promise<void>;
}

interface ClusterTally {
  tally: IntervalTally<FloodOffender>;
  byKind: FloodWindow['byKind'];
}

/**
 * Counts each cluster's foreign tokens by sender (a pod's ServiceAccount, a legacy Secret, an OIDC subject)
 * with a bounded map per cluster per window, and reports a window when it ends — from whatever call comes
 * next (any invocation in Lambda, a timer locally), not only when the next foreign token arrives, so a flood
 * that stops is still reported.
 */
export function createFloodReport(deps: FloodReportDeps): FloodReport {
  const { log, intervalMs } = deps;
  const clusters = new Map<string, ClusterTally>();
  /** Windows a late count closed before a report call came (the clock crossed a window's end meanwhile). */
  const closed: { clusterId: string; report: TallyReport<FloodOffender>; byKind: FloodWindow['byKind'] }[] = [];
  let nextEndMs = Number.POSITIVE_INFINITY;
  let overflowSaid = false;

  function windowOf(clusterId: string, report: TallyReport<FloodOffender>, byKind: FloodWindow['byKind']): FloodWindow {
    const offenders = report.entries.map((entry) => entry.detail);
    return {
      clusterId,
      windowStart: new Date(report.windowStartMs).toISOString(),
      windowEnd: new Date(report.windowEndMs).toISOString(),
      total: report.total,
      byKind,
      offenders,
      untracked: report.total - offenders.reduce((sum, offender) => sum + offender.count, 0),
    };
  }

  function logWindow(window: FloodWindow): void {
    log.info('foreign tokens refused', {
      ...window,
      windowSeconds: Math.round((Date.parse(window.windowEnd) - Date.parse(window.windowStart)) / 1000),
      offenders: window.offenders.map(reportedOffender),
    });
  }

  /** Logs and stores the windows closed or ended at `nowMs` (every open one when `final`). */
  async function reportAt(nowMs: number, final: boolean): Promise<void> {
    const windows = closed.splice(0).map(({ clusterId, report, byKind }) => windowOf(clusterId, report, byKind));
    nextEndMs = Number.POSITIVE_INFINITY;
    overflowSaid = false;
    for (const [clusterId, cluster] of clusters) {
      const report = final ? cluster.tally.takeNow(nowMs) : cluster.tally.takeEnded(nowMs);
      if (report) {
        windows.push(windowOf(clusterId, report, cluster.byKind));
        cluster.byKind = {};
      }
      const end = cluster.tally.windowEndMs;
      if (end === undefined) clusters.delete(clusterId);
      else nextEndMs = Math.min(nextEndMs, end);
    }
    // Never rejects: the handler starts this before the review and awaits it after, so a rejection in
    // between would be an unhandled one.
    try {
      for (const window of windows) logWindow(window);
      await Promise.all(windows.map((window) => deps.store(window)));
    } catch (error) {
      log.warn('flood report not recorded', { error: describeError(error) });
    }
  }

  return {
    count(clusterId, token) {
      const nowMs = deps.now().getTime();
      let cluster = clusters.get(clusterId);
      if (!cluster) {
        if (clusters.size >= MAX_CLUSTERS) {
          if (!overflowSaid) log.warn('flood report full', { clusters: MAX_CLUSTERS, note: 'foreign tokens of further clusters are only counted in the ForeignTokens metric this window' });
          overflowSaid = true;
          return;
        }
        cluster = { tally: new IntervalTally<FloodOffender>(intervalMs, { maxKeys: MAX_OFFENDERS_PER_CLUSTER, top: TOP_OFFENDERS, aligned: true }), byKind: {} };
        clusters.set(clusterId, cluster);
      }
      const counted = cluster;
      const { report } = counted.tally.record(tokenKeyOf(token), nowMs, (offender) => countToken(offender, token, nowMs));
      if (report) {
        // bounded like the clusters, should nothing report for a long while
        if (closed.length >= MAX_CLUSTERS) closed.shift();
        closed.push({ clusterId, report, byKind: counted.byKind });
        counted.byKind = {};
      }
      counted.byKind[token.kind] = (counted.byKind[token.kind] ?? 0) + 1;
      nextEndMs = Math.min(nextEndMs, counted.tally.windowEndMs ?? nextEndMs);
    },

    reportEnded(final = false) {
      const nowMs = deps.now().getTime();
      // every invocation asks: no async frame, no new promise, when no window ended
      if (!final && closed.length === 0 && nowMs < nextEndMs) return NOTHING_DUE;
      return reportAt(nowMs, final);
    },
  };
}

const NOTHING_DUE: Promise<void> = Promise.resolve();
