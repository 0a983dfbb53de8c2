import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import { ClusterSourceError, type ClusterSource } from '../../core/ports/cluster-source.ts';
import { sourceOf, type ClusterRecord, type LastSync, type SyncLease } from '../../core/records.ts';
import { NameFilterError } from '../mirror/name-filter.ts';
import { mirrorCluster } from './downstream-mirror.ts';
import {
  failClosed,
  mirrorFromManagement,
  NotServedError,
  readManagement,
  writeBackToRancher,
  type ManagementReading,
} from './management-sync.ts';
import { emptyResult, skipped, type ClusterSyncResult, type SyncDeps, type SyncRequest, type SyncSummary } from './types.ts';
import { writeBack } from './write-back.ts';

export type { SyncStore } from '../../core/ports/mirror-store.ts';
export type {
  ClusterSyncResult,
  OpenClusterSource,
  PatchKind,
  SyncDeps,
  SyncOptions,
  SyncRequest,
  SyncSummary,
  WriteBackOptions,
  WriteBackResult,
} from './types.ts';

const LOGGED_REJECTED_NAMES = 20;

/**
 * The sync service: mirrors every registered cluster's Rancher objects into the table (upsert what
 * changed, delete what is gone — only after complete listings), then writes usage back to the cluster.
 * Each cluster is synced under a lease on its registry row and its own timeout; one failing cluster
 * keeps its rows and does not affect the others.
 */
export function createSyncer(deps: SyncDeps) {
  const { store, log, metrics, options } = deps;

  async function syncAll(request: SyncRequest = {}): Promise<SyncSummary> {
    const runId = deps.newRunId();
    const startedAt = deps.now();
    const started = deps.elapsed();
    const registered = await store.listClusters();
    const wanted = request.clusterIds && request.clusterIds.length > 0 ? new Set(request.clusterIds) : undefined;
    const selected = wanted ? registered.filter((cluster) => wanted.has(cluster.clusterId)) : registered;
    const unknown = wanted ? [...wanted].filter((id) => !registered.some((cluster) => cluster.clusterId === id)) : [];
    if (unknown.length > 0) log.warn('unknown clusters requested', { clusters: unknown });

    const runSignal = request.signal ?? new AbortController().signal;
    // one read of Rancher per run, for every `rancher` cluster (and as a second ACE signal for downstream ones)
    const wantsManagement = selected.some((cluster) => sourceOf(cluster) === 'rancher') || (deps.management !== undefined && selected.length > 0);
    const reading: ManagementReading = wantsManagement
      ? await readManagement(deps.management, runSignal)
      : { ok: false, registered: false, error: 'not read' };
    const limit = pLimit(options.concurrency);
    // syncCluster never rejects: each cluster's failure is its own result
    const clusters = await Promise.all(
      selected.map((cluster) => limit(() => (runSignal.aborted ? skipped(cluster.clusterId) : syncCluster(cluster, runId, runSignal, reading)))),
    );
    for (const [index, result] of clusters.entries()) report(result, selected[index] as ClusterRecord);

    const count = (outcome: ClusterSyncResult['outcome']) => clusters.filter((result) => result.outcome === outcome).length;
    return {
      runId,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(deps.elapsed() - started),
      clusters,
      unknown,
      ok: count('ok'),
      failed: count('failed'),
      busy: count('busy'),
      skipped: count('skipped'),
      ...(reading.ok
        ? { management: { mode: reading.stats.mode, requests: reading.stats.requests, objects: reading.stats.objects, relisted: reading.stats.relisted } }
        : reading.registered
          ? { management: { mode: 'failed', requests: 0, objects: 0, relisted: [], error: reading.error } }
          : {}),
    };
  }

  async function syncCluster(cluster: ClusterRecord, runId: string, runSignal: AbortSignal, reading: ManagementReading): Promise<ClusterSyncResult> {
    const clusterId = cluster.clusterId;
    const started = deps.elapsed();
    const startedAt = deps.now();
    const lease: SyncLease = { owner: runId, expiresAtMs: startedAt.getTime() + options.clusterTimeoutMs + options.leaseMarginMs };
    try {
      if (!(await store.acquireSyncLease(clusterId, lease, startedAt.getTime()))) return { ...emptyResult(clusterId), outcome: 'busy' };
    } catch (error) {
      return { ...emptyResult(clusterId), error: describeFailure(error), durationMs: Math.round(deps.elapsed() - started) };
    }

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new SyncTimeoutError(clusterId, options.clusterTimeoutMs)), options.clusterTimeoutMs);
    const signal = AbortSignal.any([runSignal, timeout.signal]);
    const result = emptyResult(clusterId);
    const apply = { concurrency: options.writeConcurrency, batchChunk: options.batchChunk, signal };
    try {
      if (sourceOf(cluster) === 'rancher') {
        const current = await mirrorFromManagement(store, cluster, reading, apply, result);
        result.outcome = 'ok';
        const back = await writeBackToRancher(reading, cluster, current, options.writeBack, deps.now(), signal);
        result.writeBack = { ...result.writeBack, lastUsedPatched: back.lastUsedPatched, deferred: back.deferred, failed: back.failed, forbidden: back.forbidden ? ['clusterauthtokens'] : [] };
      } else {
        const source = await deps.openSource(cluster, signal);
        await failClosedIfAceOff(source, cluster, reading, apply, result);
        const mirrored = await mirrorCluster(store, options, source, signal, result);
        result.outcome = 'ok';
        result.writeBack = await writeBack(source, mirrored, options.writeBack, deps.now(), signal);
      }
    } catch (error) {
      result.outcome = 'failed';
      result.error = describeFailure(error, signal);
    } finally {
      clearTimeout(timer);
      result.durationMs = Math.round(deps.elapsed() - started);
    }

    const lastSync: LastSync = {
      at: startedAt.toISOString(),
      outcome: result.outcome === 'ok' ? 'ok' : 'failed',
      objects: result.objects,
      writes: result.writes,
      deletes: result.deletes,
      durationMs: result.durationMs,
      ...(result.error ? { error: result.error } : {}),
      ...(result.rejected.length > 0 ? { rejected: result.rejected.length } : {}),
      ...(result.skipped.length > 0 ? { skipped: result.skipped.length } : {}),
    };
    try {
      if (!(await store.finishSync(clusterId, runId, lastSync))) {
        log.warn('sync lease lost before the outcome was recorded', { clusterId, durationMs: result.durationMs });
      }
    } catch (error) {
      log.warn('sync outcome not recorded', { clusterId, error: describeFailure(error) });
    }
    return result;
  }

  /**
   * A downstream cluster whose ACE Rancher switched off (its kube-api-auth DaemonSet is gone, or Rancher's
   * cluster object says so) has objects Rancher no longer updates: its Rancher tokens stop being served
   * (`failClosed`) and the sync fails with the reason, until ACE is back or its source is switched.
   */
  async function failClosedIfAceOff(
    source: ClusterSource,
    cluster: ClusterRecord,
    reading: ManagementReading,
    apply: { concurrency: number; batchChunk: number; signal: AbortSignal },
    result: ClusterSyncResult,
  ): Promise<void> {
    const clusterId = cluster.clusterId;
    const inRancher = reading.ok ? reading.state.snapshot.clusters.find((candidate) => candidate.name === clusterId) : undefined;
    const why =
      (await source.readAceState({ signal: apply.signal })) === 'off'
        ? 'the kube-api-auth DaemonSet is gone from cattle-system'
        : inRancher?.aceEnabled === false
          ? "Rancher's cluster object has localClusterAuthEndpoint.enabled false"
          : undefined;
    if (why === undefined) return;
    await failClosed(store, clusterId, apply, result);
    throw new NotServedError(
      `cluster ${clusterId}: ACE is off in Rancher (${why}), so Rancher no longer updates the tokens in cattle-system; ` +
        `its Rancher tokens are no longer served. Turn ACE back on, or switch the cluster to the management source (docs/rancher.md)`,
    );
  }

  function report(result: ClusterSyncResult, cluster: ClusterRecord): void {
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

  return { syncAll };
}

export type Syncer = ReturnType<typeof createSyncer>;

/** A cluster's sync ran past its own timeout. */
export class SyncTimeoutError extends Error {
  override name = 'SyncTimeoutError';
  constructor(clusterId: string, timeoutMs: number) {
    super(`cluster ${clusterId}: sync timed out after ${timeoutMs / 1000} s`);
  }
}

/** A one-line, safe description of why a cluster's sync failed. */
function describeFailure(error: unknown, signal?: AbortSignal): string {
  // an abort surfaces as whatever the interrupted call threw; the signal's reason says why
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof SyncTimeoutError ? reason.message : 'the sync run reached its deadline';
  }
  if (error instanceof ClusterSourceError || error instanceof NotServedError || error instanceof NameFilterError) return error.message;
  return describeError(error);
}
