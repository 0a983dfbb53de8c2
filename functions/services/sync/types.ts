import type { ClusterSource } from '../../core/ports/cluster-source.ts';
import type { ClusterWorkUnit, WorkDispatcher } from '../../core/ports/work-dispatcher.ts';
import type { SyncStore } from '../../core/ports/mirror-store.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import type { ClusterRecord } from '../../core/records.ts';
import type { ManagementDeps } from './management-sync.ts';

/** The sync service's options, dependencies and results. */

/** Opens the ClusterSource of a registered cluster (reads its kubeconfig through the registry's reference). */
export type OpenClusterSource = (cluster: ClusterRecord, signal: AbortSignal) => Promise<ClusterSource>;

export interface WriteBackOptions {
  /** Merge patches per cluster per run (the most overdue first); 0 disables write-back. */
  maxPatches: number;
  concurrency: number;
  /** Patch `lastUsedAt` when the table's is newer than the cluster's by more than this. */
  lastUsedThresholdMs: number;
  /** Rancher's `auth-provider-refresh-debounce-seconds`; undefined: never set `needsRefresh` (as kube-api-auth). */
  refreshDebounceSeconds: number | undefined;
}

export interface SyncOptions {
  /** Clusters synced at once. */
  concurrency: number;
  /** One cluster's whole sync; past it the cluster's calls are aborted and it is recorded as failed. */
  clusterTimeoutMs: number;
  /** How long a lease outlives the cluster timeout, so a run that overran is still covered while it stops. */
  leaseMarginMs: number;
  /** Conditional single-item writes in flight per cluster. */
  writeConcurrency: number;
  /** Rows per unconditional batch-write call to the store, checked against the deadline in between. */
  batchChunk: number;
  writeBack: WriteBackOptions;
  /**
   * How old a stored mirror fingerprint may be and still let an unchanged cluster skip reading its rows; past
   * it the run reads and plans in full (recreating rows the table's TTL removed, and writing usage back). 0: never skip.
   */
  fullResyncMs: number;
  /**
   * A scheduled run of the whole fleet with more downstream clusters than this hands them to the
   * dispatcher, one unit each, instead of syncing them itself (docs/deploy.md, "Fan-out"). 0: never.
   */
  fanOutClusters: number;
}

export interface SyncDeps {
  store: SyncStore;
  openSource: OpenClusterSource;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
  /** Monotonic milliseconds, for durations. */
  elapsed: () => number;
  /** A fresh unique id per run: the lease owner. */
  newRunId: () => string;
  options: SyncOptions;
  /** Rancher's management cluster, for clusters whose source is `rancher` (docs/rancher.md). */
  management?: ManagementDeps;
  /** Where a run past `fanOutClusters` hands its clusters; absent: every run syncs its clusters itself. */
  dispatcher?: WorkDispatcher;
}

/** What write-back patches: downstream ClusterAuthTokens and ClusterUserAttributes, or Rancher's own tokens (v3 and ext). */
export type PatchKind = 'clusterauthtokens' | 'clusteruserattributes' | 'tokens';

export interface WriteBackResult {
  lastUsedPatched: number;
  needsRefreshPatched: number;
  /** Patches due but left for the next run (over the per-run cap, or stopped by an error). */
  deferred: number;
  failed: number;
  /** Kinds the cluster forbade us to patch (reported once, not per object). */
  forbidden: PatchKind[];
}

export interface ClusterSyncResult {
  clusterId: string;
  /** `busy`: another sync holds the cluster's lease; `skipped`: the run's deadline came first. */
  outcome: 'ok' | 'failed' | 'busy' | 'skipped';
  /** ClusterAuthTokens and ClusterUserAttributes listed (valid or not). */
  objects: number;
  writes: number;
  deletes: number;
  /** Conditional writes that lost to a concurrent change (e.g. a revoke): left to the next run. */
  conflicts: number;
  secretReads: number;
  /** Objects that failed validation, by kind and name; their rows were kept untouched. */
  rejected: string[];
  /** `rancher` source: tokens of the cluster that were not mirrored, each `token/<name>: <reason>`. */
  skipped: string[];
  /** Things the operator should know that did not fail the sync. */
  warnings: string[];
  durationMs: number;
  /** Safe to log and store: names the cause, never a token, secret, hash or kubeconfig. */
  error?: string;
  writeBack: WriteBackResult;
  /** The listing matched the stored fingerprint: the cluster's rows were not read and nothing was written. */
  unchanged?: boolean;
}

export interface SyncSummary {
  runId: string;
  startedAt: string;
  durationMs: number;
  clusters: ClusterSyncResult[];
  /** Cluster ids asked for that are not registered. */
  unknown: string[];
  ok: number;
  failed: number;
  busy: number;
  skipped: number;
  /** Clusters whose listing matched their fingerprint (counted in `ok` too). */
  unchanged: number;
  /** Clusters handed to the dispatcher (their results are the workers'); not in `clusters`. */
  dispatched: number;
  /** How the run read Rancher's management cluster, when it did. */
  management?: { mode: string; requests: number; objects: number; relisted: string[]; error?: string };
}

export interface SyncRequest {
  /** Only these clusters; absent or empty: every registered cluster. */
  clusterIds?: readonly string[];
  /** The run's own deadline (e.g. the Lambda's remaining time): clusters not started by then are skipped. */
  signal?: AbortSignal;
  /** A worker's run of dispatched units (their clusters are `clusterIds`): never fans out, never reads Rancher. */
  units?: readonly ClusterWorkUnit[];
}

/** A cluster's result before anything happened (failed until it succeeds). */
export function emptyResult(clusterId: string): ClusterSyncResult {
  return {
    clusterId,
    outcome: 'failed',
    objects: 0,
    writes: 0,
    deletes: 0,
    conflicts: 0,
    secretReads: 0,
    rejected: [],
    skipped: [],
    warnings: [],
    durationMs: 0,
    writeBack: { lastUsedPatched: 0, needsRefreshPatched: 0, deferred: 0, failed: 0, forbidden: [] },
  };
}

/** A cluster the run's deadline came before. */
export function skipped(clusterId: string): ClusterSyncResult {
  return { ...emptyResult(clusterId), outcome: 'skipped' };
}

/** A run's clusters counted by outcome, as the summary shows them. */
export function outcomeCounts(clusters: readonly ClusterSyncResult[]): Pick<SyncSummary, 'ok' | 'failed' | 'busy' | 'skipped' | 'unchanged'> {
  const count = (outcome: ClusterSyncResult['outcome']) => clusters.filter((result) => result.outcome === outcome).length;
  return {
    ok: count('ok'),
    failed: count('failed'),
    busy: count('busy'),
    skipped: count('skipped'),
    unchanged: clusters.filter((result) => result.unchanged === true).length,
  };
}
