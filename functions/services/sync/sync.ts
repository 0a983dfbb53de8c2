import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import { ClusterSourceError } from '../../core/ports/cluster-source.ts';
import type { ClusterWorkUnit, WorkDispatcher } from '../../core/ports/work-dispatcher.ts';
import { LAST_SYNC_WARNING_MAX, sourceOf, type ClusterRecord, type LastSync, type MirrorFingerprint, type SyncLease } from '../../core/records.ts';
import { isUnchanged } from '../../core/mirror/fingerprint.ts';
import { NameFilterError } from '../mirror/name-filter.ts';
import { mirrorCluster } from './downstream-mirror.ts';
import { readCluster, type Prepared } from './cluster-reads.ts';
import { reportCluster } from './reporting.ts';
import {
  failClosed,
  mirrorFromManagement,
  NotServedError,
  rancherClusterOf,
  readManagement,
  writeBackToRancher,
  type ManagementReading,
} from './management-sync.ts';
import { emptyResult, outcomeCounts, skipped, type ClusterSyncResult, type SyncDeps, type SyncRequest, type SyncSummary } from './types.ts';
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
    const dispatchedUnits = request.units ? new Map(request.units.map((unit) => [unit.clusterId, unit])) : undefined;
    // one read of Rancher per run, for every `rancher` cluster (and as a second ACE signal for downstream ones);
    // a worker running dispatched units does not read Rancher: the scheduler's reading travels in each unit
    const wantsManagement =
      dispatchedUnits === undefined &&
      (selected.some((cluster) => sourceOf(cluster) === 'rancher') || (deps.management !== undefined && selected.length > 0));
    const reading: ManagementReading = wantsManagement
      ? await readManagement(deps.management, runSignal)
      : { ok: false, registered: false, error: dispatchedUnits ? 'a dispatched unit does not read the management cluster' : 'not read' };

    // Past the threshold a scheduled run of the whole fleet hands each downstream cluster to the dispatcher
    // (docs/deploy.md, "Fan-out"); `rancher` clusters stay here: they share this run's one reading of Rancher.
    const fanOut =
      deps.dispatcher !== undefined &&
      options.fanOutClusters > 0 &&
      wanted === undefined &&
      dispatchedUnits === undefined &&
      selected.filter((cluster) => sourceOf(cluster) !== 'rancher').length > options.fanOutClusters;
    const inline = fanOut ? selected.filter((cluster) => sourceOf(cluster) === 'rancher') : selected;
    const handedOver = fanOut ? selected.filter((cluster) => sourceOf(cluster) !== 'rancher') : [];

    const limit = pLimit(options.concurrency);
    // syncCluster never rejects: each cluster's failure is its own result
    const running = Promise.all(
      inline.map((cluster) =>
        limit(() =>
          runSignal.aborted ? skipped(cluster.clusterId) : syncCluster(cluster, runId, runSignal, reading, dispatchedUnits?.get(cluster.clusterId)?.aceOffInRancher === true),
        ),
      ),
    );
    const notDispatched = handedOver.length > 0 ? await dispatch(handedOver, runId, reading, runSignal) : [];
    const clusters = [...(await running), ...notDispatched];
    const byId = new Map(selected.map((cluster) => [cluster.clusterId, cluster]));
    for (const result of clusters) reportCluster(result, byId.get(result.clusterId) as ClusterRecord, deps);

    return {
      runId,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(deps.elapsed() - started),
      clusters,
      unknown,
      ...outcomeCounts(clusters),
      dispatched: handedOver.length - notDispatched.length,
      ...(reading.ok
        ? { management: { mode: reading.stats.mode, requests: reading.stats.requests, objects: reading.stats.objects, relisted: reading.stats.relisted } }
        : reading.registered
          ? { management: { mode: 'failed', requests: 0, objects: 0, relisted: [], error: reading.error } }
          : {}),
    };
  }

  /**
   * Hands the clusters to the dispatcher, one unit each; returns a failed result for each unit it could not
   * hand over (the next tick syncs it). Never throws.
   */
  async function dispatch(clusters: ClusterRecord[], runId: string, reading: ManagementReading, signal: AbortSignal): Promise<ClusterSyncResult[]> {
    const units: ClusterWorkUnit[] = clusters.map((cluster) => {
      const inRancher = rancherClusterOf(reading, cluster.clusterId);
      return { clusterId: cluster.clusterId, runId, ...(inRancher?.aceEnabled === false ? { aceOffInRancher: true } : {}) };
    });
    let failed: { clusterId: string; error: string }[];
    try {
      const outcome = await (deps.dispatcher as WorkDispatcher).dispatch(units, { signal });
      failed = outcome.failed;
      log.info('clusters dispatched', { runId, dispatched: outcome.dispatched, failed: outcome.failed.length });
    } catch (error) {
      failed = units.map((unit) => ({ clusterId: unit.clusterId, error: describeError(error) }));
    }
    return failed.map((entry) => ({ ...emptyResult(entry.clusterId), error: `not dispatched: ${entry.error}` }));
  }

  async function syncCluster(
    cluster: ClusterRecord,
    runId: string,
    runSignal: AbortSignal,
    reading: ManagementReading,
    aceOffInRancher: boolean,
  ): Promise<ClusterSyncResult> {
    const clusterId = cluster.clusterId;
    const started = deps.elapsed();
    const startedAt = deps.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new SyncTimeoutError(clusterId, options.clusterTimeoutMs)), options.clusterTimeoutMs);
    const signal = AbortSignal.any([runSignal, timeout.signal]);
    const result = emptyResult(clusterId);
    try {
      // Reads only, before the lease: a cluster whose inputs match its stored fingerprint costs no table
      // read and no write at all (docs/architecture.md, "The no-change resync").
      let prepared: Prepared | undefined;
      let prepareError: unknown;
      try {
        prepared = await readCluster(cluster, reading, deps.openSource, signal, aceOffInRancher);
      } catch (error) {
        prepareError = error;
      }
      const fingerprint = prepared?.digest === undefined ? undefined : { digest: prepared.digest, epoch: cluster.mirrorEpoch ?? 0, at: startedAt.toISOString() };
      if (fingerprint && isUnchanged(cluster.mirrorFingerprint, fingerprint.digest, fingerprint.epoch, startedAt.getTime(), options.fullResyncMs)) {
        result.outcome = 'ok';
        result.unchanged = true;
        result.objects = prepared?.objects ?? 0;
        if (prepared?.management) {
          result.skipped = prepared.management.skipped;
          result.warnings = prepared.management.warnings;
        }
        result.durationMs = Math.round(deps.elapsed() - started);
        return result;
      }
      return await mirrorUnderLease(cluster, runId, startedAt, started, signal, reading, result, prepared, prepareError, fingerprint);
    } finally {
      clearTimeout(timer);
    }
  }

  async function mirrorUnderLease(
    cluster: ClusterRecord,
    runId: string,
    startedAt: Date,
    started: number,
    signal: AbortSignal,
    reading: ManagementReading,
    result: ClusterSyncResult,
    prepared: Prepared | undefined,
    prepareError: unknown,
    fingerprint: MirrorFingerprint | undefined,
  ): Promise<ClusterSyncResult> {
    const clusterId = cluster.clusterId;
    const lease: SyncLease = { owner: runId, expiresAtMs: startedAt.getTime() + options.clusterTimeoutMs + options.leaseMarginMs };
    try {
      if (!(await store.acquireSyncLease(clusterId, lease, startedAt.getTime()))) return { ...emptyResult(clusterId), outcome: 'busy' };
    } catch (error) {
      return { ...emptyResult(clusterId), error: describeFailure(error), durationMs: Math.round(deps.elapsed() - started) };
    }

    const apply = { concurrency: options.writeConcurrency, batchChunk: options.batchChunk, signal };
    let complete = false;
    try {
      if (prepareError !== undefined) throw prepareError;
      if (sourceOf(cluster) === 'rancher') {
        const current = await mirrorFromManagement(store, cluster, reading, prepared?.management, apply, result);
        result.outcome = 'ok';
        complete = result.conflicts === 0;
        const back = await writeBackToRancher(reading, cluster, current, options.writeBack, deps.now(), signal);
        result.writeBack = { ...result.writeBack, lastUsedPatched: back.lastUsedPatched, deferred: back.deferred, failed: back.failed, forbidden: back.forbidden ? ['tokens'] : [] };
      } else {
        const downstream = prepared?.downstream;
        if (downstream === undefined) throw new Error(`cluster ${clusterId}: no listing`);
        if (downstream.aceOff !== undefined) await failClosedAceOff(cluster, downstream.aceOff, apply, result);
        const mirrored = await mirrorCluster(store, options, downstream.source, downstream.listed, signal, result);
        result.outcome = 'ok';
        complete = mirrored.complete && result.conflicts === 0;
        result.writeBack = await writeBack(downstream.source, mirrored, options.writeBack, deps.now(), signal);
      }
    } catch (error) {
      result.outcome = 'failed';
      result.error = describeFailure(error, signal);
    } finally {
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
      ...lastSyncWarnings(result.warnings),
    };
    // only a complete, clean apply lets a later run skip; anything else removes the stored fingerprint
    const keep = result.outcome === 'ok' && complete && options.fullResyncMs > 0 ? fingerprint : undefined;
    try {
      if (!(await store.finishSync(clusterId, runId, lastSync, keep))) {
        log.warn('sync lease lost before the outcome was recorded', { clusterId, durationMs: result.durationMs });
      }
    } catch (error) {
      log.warn('sync outcome not recorded', { clusterId, error: describeFailure(error) });
    }
    return result;
  }

  /** Stops serving the cluster's Rancher tokens (`failClosed`) and fails its sync with the reason, until ACE is back or its source is switched. */
  async function failClosedAceOff(
    cluster: ClusterRecord,
    why: string,
    apply: { concurrency: number; batchChunk: number; signal: AbortSignal },
    result: ClusterSyncResult,
  ): Promise<void> {
    const clusterId = cluster.clusterId;
    await failClosed(store, clusterId, apply, result);
    throw new NotServedError(
      `cluster ${clusterId}: ACE is off in Rancher (${why}), so Rancher no longer updates the tokens in cattle-system; ` +
        `its Rancher tokens are no longer served. Turn ACE back on, or switch the cluster to the management source (docs/rancher.md)`,
    );
  }

  return { syncAll };
}

export type Syncer = ReturnType<typeof createSyncer>;

/**
 * What a cluster's record keeps of a run's warnings: their count and the first, bounded, so `clusters list`
 * shows them after the run's output and log are gone. A run that skips (no change) writes no outcome, so the
 * record keeps what the last full run gave; the management fingerprint covers the warnings, so a change in them
 * makes a full run that records them.
 */
export function lastSyncWarnings(warnings: readonly string[]): Pick<LastSync, 'warnings' | 'firstWarning'> {
  const first = warnings[0];
  if (first === undefined) return {};
  const firstWarning = first.length > LAST_SYNC_WARNING_MAX ? `${first.slice(0, LAST_SYNC_WARNING_MAX - 1)}…` : first;
  return { warnings: warnings.length, firstWarning };
}

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
