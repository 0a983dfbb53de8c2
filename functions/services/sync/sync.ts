import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import { deriveRecords, sourcesFromState, type MirrorSources } from '../../core/mirror/derive.ts';
import { planMirror } from '../../core/mirror/plan.ts';
import type { SyncStore } from '../../core/ports/mirror-store.ts';
import type { ClusterRecord, ClusterState, LastSync, SyncLease } from '../../core/records.ts';
import type { Log, MetricsSink } from '../../core/ports/telemetry.ts';
import {
  ClusterForbiddenError,
  ClusterSourceError,
  type ClusterAuthToken,
  type ClusterListing,
  type ClusterSource,
  type ClusterUserAttribute,
  type HashSecretReads,
} from '../../core/ports/cluster-source.ts';
import { applyMirrorPlan } from '../mirror/apply.ts';
import { sourceOf } from '../../core/records.ts';
import {
  failClosed,
  mirrorFromManagement,
  NotServedError,
  readManagement,
  writeBackToRancher,
  type ManagementDeps,
  type ManagementReading,
} from './management-sync.ts';

export type { SyncStore } from '../../core/ports/mirror-store.ts';

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
}

export type PatchKind = 'clusterauthtokens' | 'clusteruserattributes';

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
  /** How the run read Rancher's management cluster, when it did. */
  management?: { mode: string; requests: number; objects: number; relisted: string[]; error?: string };
}

export interface SyncRequest {
  /** Only these clusters; absent or empty: every registered cluster. */
  clusterIds?: readonly string[];
  /** The run's own deadline (e.g. the Lambda's remaining time): clusters not started by then are skipped. */
  signal?: AbortSignal;
}

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
        const mirrored = await mirrorCluster(source, signal, result);
        result.outcome = 'ok';
        result.writeBack = await writeBack(source, mirrored, signal);
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

  interface Mirrored {
    tokens: ClusterAuthToken[];
    users: ClusterUserAttribute[];
    current: ClusterState;
  }

  /**
   * Lists, derives, plans and writes one cluster. A failure before the writes (listing, reading the rows,
   * reading Secrets) leaves every row as it was; one during the writes leaves what was written, each row
   * whole, and the next run converges from there.
   */
  async function mirrorCluster(source: ClusterSource, signal: AbortSignal, result: ClusterSyncResult): Promise<Mirrored> {
    const clusterId = source.clusterId;
    const [tokens, users] = await Promise.all([source.listTokens({ signal }), source.listUserAttributes({ signal })]);
    result.objects = countListed(tokens) + countListed(users);
    const current = await store.readClusterState(clusterId);
    signal.throwIfAborted();

    const stored = sourcesFromState(current);
    const storedTokens = byName(stored.tokens);
    const storedUsers = byName(stored.users);

    // An object that fails validation keeps the rows it had: its stored source stands in for it.
    const rejectedUsers = users.rejected.map((object) => object.name);
    const userSources = [...users.items, ...present(rejectedUsers.map((name) => storedUsers.get(name)))];

    const secretReads = await readChangedSecrets(source, tokens.items, current, stored, signal);
    result.secretReads = secretReads.read;
    const rejectedTokens = new Set([...tokens.rejected.map((object) => object.name), ...secretReads.rejected]);
    const tokenSources = [
      ...tokens.items.filter((token) => !rejectedTokens.has(token.name)),
      ...present([...rejectedTokens].map((name) => storedTokens.get(name))),
    ];
    result.rejected = [
      ...tokens.rejected.map((object) => `clusterauthtoken/${object.name}`),
      ...users.rejected.map((object) => `clusteruserattribute/${object.name}`),
      ...secretReads.rejected.map((name) => `secret/${name}`),
    ];

    const derivation = deriveRecords(clusterId, { tokens: tokenSources, users: userSources, secrets: secretReads.secrets });
    const plan = planMirror(current, derivation.records, { prune: true });
    await applyMirrorPlan(store, plan, { concurrency: options.writeConcurrency, batchChunk: options.batchChunk, signal }, result);
    return { tokens: tokens.items, users: users.items, current };
  }

  /**
   * Reads the hash Secrets of the tokens that have no hash of their own and are new, changed, or still
   * without a stored Secret; every other token reuses its stored SECRET# row (Rancher writes a token's
   * Secret before the token and never changes its hash), so an unchanged cluster costs no Secret read.
   * "Changed" compares the token row derived from the listed token with the stored user and Secret
   * against the stored row, so a change of the user alone does not re-read its tokens' Secrets.
   */
  async function readChangedSecrets(
    source: ClusterSource,
    tokens: ClusterAuthToken[],
    current: ClusterState,
    stored: MirrorSources,
    signal: AbortSignal,
  ): Promise<{ secrets: MirrorSources['secrets']; rejected: string[]; read: number }> {
    const storedSecrets = byName(stored.secrets);
    const currentTokens = new Map(current.tokens.map((row) => [row.name, row]));
    const withoutHash = tokens.filter((token) => token.hash === '');
    const probe = deriveRecords(source.clusterId, { tokens: withoutHash, users: stored.users, secrets: stored.secrets });
    const toRead = probe.records.tokens
      .filter((row) => {
        const existing = currentTokens.get(row.name);
        if (existing?.origin === 'native') return false;
        return existing?.sourceDigest !== row.sourceDigest || !storedSecrets.has(row.name);
      })
      .map((row) => row.name);

    const reads: HashSecretReads = toRead.length > 0 ? await source.readHashSecrets(toRead, { signal }) : { found: [], missing: [], rejected: [] };
    const secrets = new Map(storedSecrets);
    for (const name of reads.missing) secrets.delete(name);
    for (const secret of reads.found) secrets.set(secret.name, { name: secret.name, hash: secret.hash });
    const rejected = reads.rejected.map((object) => object.name);
    // a rejected Secret's token keeps its stored rows, Secret included
    for (const name of rejected) {
      const kept = storedSecrets.get(name);
      if (kept) secrets.set(name, kept);
      else secrets.delete(name);
    }
    return { secrets: [...secrets.values()], rejected, read: toRead.length };
  }

  /**
   * Best effort: merge-patches `lastUsedAt` on tokens the table saw used well after the cluster did,
   * and `needsRefresh` on users whose refresh debounce has passed since a use. Bounded per run (the
   * rest waits for the next one); a forbidden kind stops that kind for this cluster and is reported
   * once; an unreachable cluster stops the write-back. Never fails the sync.
   */
  async function writeBack(source: ClusterSource, mirrored: Mirrored, signal: AbortSignal): Promise<WriteBackResult> {
    const result: WriteBackResult = { lastUsedPatched: 0, needsRefreshPatched: 0, deferred: 0, failed: 0, forbidden: [] };
    const { maxPatches, concurrency, lastUsedThresholdMs, refreshDebounceSeconds } = options.writeBack;
    if (maxPatches === 0) return result;

    const nowMs = deps.now().getTime();
    const usedAt = new Map<string, number>();
    for (const usage of mirrored.current.usage) {
      const millis = Date.parse(usage.lastUsedAt);
      if (!Number.isNaN(millis)) usedAt.set(usage.name, millis);
    }

    type Patch = { kind: PatchKind; name: string; at?: Date; overdueMs: number };
    const tokenPatches: Patch[] = [];
    const lastUseByUser = new Map<string, number>();
    for (const token of mirrored.tokens) {
      const used = usedAt.get(token.name);
      if (used === undefined) continue;
      lastUseByUser.set(token.userName, Math.max(used, lastUseByUser.get(token.userName) ?? 0));
      // never used (or unreadable) in the cluster counts from the epoch: the most recent use goes first
      const known = token.lastUsedAt === '' ? 0 : Date.parse(token.lastUsedAt);
      const overdueMs = used - (Number.isNaN(known) ? 0 : known);
      if (overdueMs > lastUsedThresholdMs) tokenPatches.push({ kind: 'clusterauthtokens', name: token.name, at: new Date(used), overdueMs });
    }

    const userPatches: Patch[] = [];
    if (refreshDebounceSeconds !== undefined) {
      for (const user of mirrored.users) {
        // kube-api-auth's rule: a user never refreshed, or already marked, is left alone
        if (user.needsRefresh || user.lastRefresh === '') continue;
        const lastRefresh = Date.parse(user.lastRefresh);
        const lastUse = lastUseByUser.get(user.name);
        if (Number.isNaN(lastRefresh) || lastUse === undefined || lastUse <= lastRefresh) continue;
        if (lastRefresh + refreshDebounceSeconds * 1000 >= nowMs) continue;
        userPatches.push({ kind: 'clusteruserattributes', name: user.name, overdueMs: nowMs - lastRefresh });
      }
    }

    // needsRefresh first: it is what keeps a user's groups current; then the most overdue usage.
    const due = [...userPatches.sort(byOverdue), ...tokenPatches.sort(byOverdue)];
    const queue = due.slice(0, maxPatches);
    result.deferred = due.length - queue.length;
    let stopped = false;
    const limit = pLimit(concurrency);
    // each patch catches its own failure, so none of these rejects
    await Promise.all(queue.map((patch) => limit(async () => {
      if (stopped || signal.aborted || result.forbidden.includes(patch.kind)) {
        result.deferred += 1;
        return;
      }
      try {
        const outcome =
          patch.kind === 'clusterauthtokens'
            ? await source.patchTokenLastUsed(patch.name, patch.at as Date, { signal })
            : await source.patchUserNeedsRefresh(patch.name, { signal });
        if (outcome === 'patched') {
          if (patch.kind === 'clusterauthtokens') result.lastUsedPatched += 1;
          else result.needsRefreshPatched += 1;
        }
      } catch (error) {
        if (error instanceof ClusterForbiddenError) {
          if (!result.forbidden.includes(patch.kind)) result.forbidden.push(patch.kind);
          result.deferred += 1;
          return;
        }
        result.failed += 1;
        // a cluster that fails one patch after the adapter's retries will not take the next ones either
        stopped = true;
      }
    })));
    return result;
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
  if (error instanceof ClusterSourceError || error instanceof NotServedError) return error.message;
  return describeError(error);
}

function emptyResult(clusterId: string): ClusterSyncResult {
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

function skipped(clusterId: string): ClusterSyncResult {
  return { ...emptyResult(clusterId), outcome: 'skipped' };
}

function countListed(listing: ClusterListing<unknown>): number {
  return listing.items.length + listing.rejected.length;
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

function byOverdue(a: { overdueMs: number }, b: { overdueMs: number }): number {
  return b.overdueMs - a.overdueMs;
}
