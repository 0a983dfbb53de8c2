import { REFUSAL_MESSAGES, type Decision } from '../../core/review.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { FloodReport } from './flood-report.ts';
import { IntervalTally, summaryOf } from './interval-tally.ts';

export interface DecisionReportingOptions {
  /** How often the foreign-token and throttle summaries are logged. */
  foreignSummaryIntervalSeconds: number;
  unknownNameLookupsPerSecond: number;
  unknownNameLookupsPerSecondTotal: number;
}

export interface DecisionReportingDeps {
  log: Log;
  metrics: MetricsSink;
  /** Where foreign tokens are counted, by sender, for the flood report. */
  floods: Pick<FloodReport, 'count'>;
  now: () => Date;
  /** Monotonic milliseconds. */
  elapsed: () => number;
  options: DecisionReportingOptions;
}

/** What an operator sees of each decision: metrics, one log line, summaries of the floods. */
export interface DecisionReporting {
  /** Counts a decision and logs its one line (foreign tokens: counted into the periodic summary instead). */
  decided(clusterId: string, decision: Decision, cached: boolean, startedMs: number): void;
  /** Counts a review refused because the unknown-name budget was spent; summarised, never logged one by one. */
  lookupThrottled(clusterId: string): void;
  /**
   * Counts a review refused because the cluster's name filter does not hold the name: logged when a
   * window opens, then summarised per interval (a flood of made-up or stale names is one line per interval).
   */
  nameUnknown(clusterId: string, tokenName: string): void;
  /** Counts a review refused because the token's slow-verify budget was spent or too much hash work waits; summarised. */
  verifyThrottled(clusterId: string, tokenName: string): void;
}

/** Clusters named in one throttle summary line. */
const SUMMARY_CLUSTERS = 20;

export function createDecisionReporting(deps: DecisionReportingDeps): DecisionReporting {
  const { log, metrics, options } = deps;
  const intervalMs = options.foreignSummaryIntervalSeconds * 1000;
  const lookups = new IntervalTally(intervalMs, { top: SUMMARY_CLUSTERS });
  const verifies = new IntervalTally(intervalMs);
  const unknownNames = new IntervalTally(intervalMs);

  return {
    decided(clusterId, decision, cached, startedMs) {
      const latencyMs = Math.round((deps.elapsed() - startedMs) * 100) / 100;
      metrics.count('Reviews', 1, { Outcome: decision.outcome });
      metrics.milliseconds('ReviewLatency', latencyMs, { Outcome: decision.outcome });
      if (decision.outcome === 'foreign') {
        metrics.count('ForeignTokens', 1, { ClusterId: clusterId });
        deps.floods.count(clusterId, decision.foreign);
        return;
      }
      const common = { clusterId, tokenName: decision.tokenName, outcome: decision.outcome, cached, latencyMs };
      if (decision.outcome === 'accepted') log.info('token accepted', { ...common, user: decision.user.username });
      else log.info('token refused', { ...common, user: decision.userName, reason: decision.reason, statusError: REFUSAL_MESSAGES[decision.reason] });
    },

    lookupThrottled(clusterId) {
      metrics.count('LookupsThrottled', 1, { ClusterId: clusterId });
      metrics.count('Reviews', 1, { Outcome: 'refused' });
      const { first, report } = lookups.record(clusterId, deps.elapsed());
      if (first) {
        log.warn('unknown token lookups throttled', {
          clusterId,
          perSecond: options.unknownNameLookupsPerSecond,
          perSecondTotal: options.unknownNameLookupsPerSecondTotal,
        });
      }
      if (report) log.warn('unknown token lookups throttled', { windowSeconds: report.windowSeconds, byCluster: report.top });
    },

    nameUnknown(clusterId, tokenName) {
      metrics.count('UnknownNames', 1, { ClusterId: clusterId });
      metrics.count('Reviews', 1, { Outcome: 'refused' });
      const { first, report } = unknownNames.record(clusterId, deps.elapsed());
      if (first) log.info('unknown token names refused', { clusterId, tokenName, note: 'not in the cluster’s name filter; further ones are summarised per interval' });
      if (report) log.info('unknown token names refused', summaryOf(report));
    },

    verifyThrottled(clusterId, tokenName) {
      metrics.count('VerifiesThrottled', 1, { ClusterId: clusterId });
      metrics.count('Reviews', 1, { Outcome: 'refused' });
      const { first, report } = verifies.record(`${clusterId} ${tokenName}`, deps.elapsed());
      if (first) log.warn('token verifies throttled', { clusterId, tokenName, note: 'further ones are summarised per interval' });
      if (report) log.warn('token verifies throttled', summaryOf(report));
    },
  };
}
