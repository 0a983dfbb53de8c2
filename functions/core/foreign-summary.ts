import type { ForeignToken } from './token-string.ts';

/** Distinct (cluster, kind, issuer, subject) keys kept per window; the rest is counted as "other". */
const MAX_KEYS = 1000;
const TOP = 5;

export interface ForeignOffender {
  clusterId: string;
  kind: ForeignToken['kind'];
  issuer?: string;
  subject?: string;
  count: number;
}

export interface ForeignTokenReport {
  windowSeconds: number;
  total: number;
  byCluster: Record<string, Record<string, number>>;
  topOffenders: ForeignOffender[];
  untracked: number;
}

/**
 * Counts foreign tokens (ServiceAccount and OIDC JWTs, random strings) instead of logging each one — the
 * log flood kube-api-auth produced — and hands back at most one report per interval naming the top
 * offenders, so an operator learns which workload carries a stale ServiceAccount token.
 */
export class ForeignTokenSummary {
  private offenders = new Map<string, ForeignOffender>();
  private total = 0;
  private untracked = 0;
  private windowStart: number | undefined;

  constructor(private readonly intervalMs: number) {}

  /** Counts one foreign token; returns a report when the current window is over. */
  record(clusterId: string, token: ForeignToken, nowMs: number): ForeignTokenReport | undefined {
    this.windowStart ??= nowMs;
    this.total += 1;
    // Cheaper than JSON.stringify on the hottest path. NUL is not in cluster ids or kinds; a claim carrying one
    // could at worst merge two offenders' counts in the summary.
    const key = `${clusterId}\u0000${token.kind}\u0000${token.issuer ?? ''}\u0000${token.subject ?? ''}`;
    const offender = this.offenders.get(key);
    if (offender) offender.count += 1;
    else if (this.offenders.size < MAX_KEYS) this.offenders.set(key, { clusterId, ...token, count: 1 });
    else this.untracked += 1;
    return nowMs - this.windowStart >= this.intervalMs ? this.take(nowMs) : undefined;
  }

  /** The report of everything counted so far (if anything), starting a new window. */
  take(nowMs: number): ForeignTokenReport | undefined {
    if (this.total === 0 || this.windowStart === undefined) return undefined;
    const byCluster: ForeignTokenReport['byCluster'] = {};
    for (const offender of this.offenders.values()) {
      // Own properties only: a cluster id such as "constructor" (a valid DNS label) must not reach Object's.
      const kinds = Object.hasOwn(byCluster, offender.clusterId)
        ? (byCluster[offender.clusterId] as Record<string, number>)
        : (byCluster[offender.clusterId] = {});
      kinds[offender.kind] = (kinds[offender.kind] ?? 0) + offender.count;
    }
    const report: ForeignTokenReport = {
      windowSeconds: Math.round((nowMs - this.windowStart) / 1000),
      total: this.total,
      byCluster,
      topOffenders: [...this.offenders.values()].sort((a, b) => b.count - a.count).slice(0, TOP),
      untracked: this.untracked,
    };
    this.offenders = new Map();
    this.total = 0;
    this.untracked = 0;
    this.windowStart = undefined;
    return report;
  }
}
