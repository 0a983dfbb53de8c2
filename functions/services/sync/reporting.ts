import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { ClusterRecord } from '../../core/records.ts';
import type { ClusterSyncResult } from './types.ts';

const LOGGED_REJECTED_NAMES = 20;

/** One log line and the per-cluster metrics of a cluster's sync result. */
export function reportCluster(result: ClusterSyncResult, cluster: ClusterRecord, deps: { log: Log; metrics: MetricsSink; now: () => Date }): void {
  const { log, metrics } = deps;
  const dimensions = { ClusterId: result.clusterId };
  const nowMs = deps.now().getTime();
  const lastSuccess = result.outcome === 'ok' ? nowMs - result.durationMs : Date.parse(cluster.lastSuccessfulSyncAt ?? cluster.createdAt);
  if (!Number.isNaN(lastSuccess)) metrics.seconds('SyncAgeSeconds', Math.max(0, Math.round((nowMs - lastSuccess) / 1000)), dimensions);
  const attributes = {
    clusterId: result.clusterId,
    outcome: result.outcome,
    objects: result.objects,
    writes: result.writes,
    deletes: result.deletes,
    conflicts: result.conflicts,
    secretReads: result.secretReads,
    durationMs: result.durationMs,
    rejectedCount: result.rejected.length,
    rejected: result.rejected.slice(0, LOGGED_REJECTED_NAMES),
    skippedCount: result.skipped.length,
    skipped: result.skipped.slice(0, LOGGED_REJECTED_NAMES),
    ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    writeBack: result.writeBack,
    ...(result.error ? { error: result.error } : {}),
  };
  if (result.unchanged) {
    // no metric of its own: each per-cluster metric is a billed custom metric (docs/deploy.md, "Cost")
    metrics.count('SyncObjects', result.objects, dimensions);
    metrics.milliseconds('SyncDurationMs', result.durationMs, dimensions);
    metrics.count('SyncFailures', 0, dimensions);
    log.info('cluster unchanged: table not read', { clusterId: result.clusterId, objects: result.objects, durationMs: result.durationMs });
    return;
  }
  if (result.outcome === 'busy' || result.outcome === 'skipped') {
    log.info(result.outcome === 'busy' ? 'cluster sync skipped: another sync holds it' : 'cluster sync skipped: run deadline', attributes);
    return;
  }
  metrics.count('SyncObjects', result.objects, dimensions);
  metrics.count('SyncWrites', result.writes, dimensions);
  metrics.count('SyncDeletes', result.deletes, dimensions);
  metrics.milliseconds('SyncDurationMs', result.durationMs, dimensions);
  metrics.count('SyncFailures', result.outcome === 'failed' ? 1 : 0, dimensions);
  if (result.outcome === 'failed') log.warn('cluster sync failed', attributes);
  else log.info('cluster synced', attributes);
}
