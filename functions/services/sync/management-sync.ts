import pLimit from 'p-limit';
import { describeError } from '../../core/errors.ts';
import { failClosedPlan } from '../../core/mirror/fail-closed.ts';
import { deriveClusterSources } from '../../core/mirror/management-derivation.ts';
import type { ManagementCluster, ManagementToken } from '../../core/management-objects.ts';
import { deriveRecords, type DesiredRecords } from '../../core/mirror/derive.ts';
import { planMirror } from '../../core/mirror/plan.ts';
import { ClusterForbiddenError, ClusterSourceError } from '../../core/ports/cluster-source.ts';
import type { ManagementReadStats, ManagementSource, ManagementState, ManagementStateStore } from '../../core/ports/management-source.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';
import type { ClusterRecord, ClusterState, RancherSourceRecord } from '../../core/records.ts';
import { applyMirrorPlan, type ApplyResult } from '../mirror/apply.ts';

/**
 * The management source's part of a sync run (docs/rancher.md): one read of Rancher's local cluster per run,
 * resumed from the stored state, feeding every cluster whose source is `rancher`; and the fail-closed step
 * shared with downstream clusters whose ACE was switched off.
 */

/** Opens the management source from its registration (reads the kubeconfig through the registry's reference). */
export type OpenManagementSource = (record: RancherSourceRecord, signal: AbortSignal) => Promise<ManagementSource>;

export interface ManagementDeps {
  store: ManagementStateStore;
  open: OpenManagementSource;
}

/** The run's one read of Rancher, or why there is none (safe to show). */
export type ManagementReading =
  | { ok: true; source: ManagementSource; record: RancherSourceRecord; state: ManagementState; stats: ManagementReadStats; rejected: string[] }
  | { ok: false; error: string; registered: boolean };

/**
 * Reads Rancher once: the stored state brought up to date (or a full listing), stored again when it moved.
 * Never throws: a failure is the reading's error, and every `rancher` cluster of the run fails with it and
 * keeps its rows.
 */
export async function readManagement(deps: ManagementDeps | undefined, signal: AbortSignal): Promise<ManagementReading> {
  if (deps === undefined) return { ok: false, registered: false, error: 'this deployment has no management source configured' };
  let record: RancherSourceRecord | undefined;
  try {
    record = await deps.store.readRancherSource();
    if (record === undefined) return { ok: false, registered: false, error: 'no Rancher management source registered (tokengate rancher set --kubeconfig FILE)' };
    const source = await deps.open(record, signal);
    const previous = await deps.store.readManagementState();
    const read = await source.read(previous, { signal });
    if (read.changed) await deps.store.writeManagementState(read.state);
    return {
      ok: true,
      source,
      record,
      state: read.state,
      stats: read.stats,
      rejected: read.rejected.map((object) => object.name),
    };
  } catch (error) {
    const message = error instanceof ClusterSourceError ? error.message : describeError(error);
    return { ok: false, registered: record !== undefined, error: `reading Rancher's management cluster failed: ${message}` };
  }
}

/** A cluster's tokens were not served; the sync of it fails with this message (and the alarm fires). */
export class NotServedError extends Error {
  override name = 'NotServedError';
}

export interface ManagementClusterResult extends ApplyResult {
  objects: number;
  skipped: string[];
  warnings: string[];
}

export interface WriteBackSettings {
  maxPatches: number;
  concurrency: number;
  lastUsedThresholdMs: number;
}

/** Rancher's object of a cluster in the run's reading; undefined when Rancher was not read or does not know it. */
export function rancherClusterOf(reading: ManagementReading, clusterId: string): ManagementCluster | undefined {
  return reading.ok ? reading.state.snapshot.clusters.find((candidate) => candidate.name === clusterId) : undefined;
}

/** What the run's reading derives for one `rancher` cluster: its records, and what the sync report says of it. */
export interface RancherClusterDerivation {
  /** What Rancher's ACE controllers would write into the cluster. */
  desired: DesiredRecords;
  objects: number;
  /** Tokens of the cluster not mirrored, each `token/<name>: <reason>`. */
  skipped: string[];
  warnings: string[];
}

/**
 * Derives one `rancher` cluster from the run's reading, once per run: the no-change check fingerprints it
 * and the mirror applies it. Undefined when Rancher was not read or does not know the cluster. ACE being on
 * for it is a warning naming the fix (setups row 3 cannot work): see docs/rancher.md, "ACE and the two sources".
 */
export function deriveFromReading(cluster: ClusterRecord, reading: ManagementReading): RancherClusterDerivation | undefined {
  const known = rancherClusterOf(reading, cluster.clusterId);
  if (!reading.ok || known === undefined) return undefined;
  const derived = deriveClusterSources(cluster.clusterId, reading.state.snapshot, { acceptUnscopedTokens: cluster.acceptUnscopedTokens ?? false });
  return {
    desired: deriveRecords(cluster.clusterId, derived.sources).records,
    objects: derived.sources.tokens.length + derived.skipped.length + derived.sources.users.length,
    skipped: skippedReasons(derived.skipped),
    // Not a failure: the derivation is the one Rancher's ACE runs, so serving it is never a wrong accept, and a
    // registered cluster may legitimately be set up this way. A provisioned one never asks us: say how to fix it.
    warnings: known.aceEnabled ? [aceOnWarning(cluster.clusterId)] : [],
  };
}

/**
 * Mirrors one `rancher` cluster from its derivation (`deriveFromReading`): plans against its records and
 * applies. A cluster Rancher does not know fails closed.
 */
export async function mirrorFromManagement(
  store: MirrorStore,
  cluster: ClusterRecord,
  reading: ManagementReading,
  derivation: RancherClusterDerivation | undefined,
  apply: { concurrency: number; batchChunk: number; signal: AbortSignal },
  result: ManagementClusterResult,
): Promise<ClusterState> {
  if (!reading.ok) throw new NotServedError(reading.error);
  const clusterId = cluster.clusterId;
  if (derivation === undefined) {
    await failClosed(store, clusterId, apply, result);
    throw new NotServedError(`cluster ${clusterId} does not exist in Rancher: its Rancher tokens are not served`);
  }
  result.warnings.push(...derivation.warnings);
  result.objects = derivation.objects;
  result.skipped = derivation.skipped;
  const current = await store.readClusterState(clusterId);
  apply.signal.throwIfAborted();
  const plan = planMirror(current, derivation.desired, { prune: true });
  await applyMirrorPlan(store, plan, { ...apply, names: { clusterId, current } }, result);
  return current;
}

/**
 * The warning for a `rancher` cluster whose ACE is on in Rancher: setups row 3 cannot work for a provisioned
 * cluster, so it names the fix. Repeated by every run, including one that finds nothing changed.
 */
export function aceOnWarning(clusterId: string): string {
  return (
    `ACE is on for ${clusterId} in Rancher. If Rancher provisioned this cluster, its apiservers ask kube-api-auth, not tokengate ` +
    `(Rancher appends its own authentication-token-webhook-config-file after yours, and the last one wins): ` +
    `switch "Authorized Endpoint" off for it in Rancher (docs/rancher.md, setups row 2). ` +
    `If it is a registered cluster whose apiserver flags you set, it works, but --source downstream is the usual setup (row 1)`
  );
}

/** The sync report's line for each token of a `rancher` cluster that was not mirrored: `token/<name>: <reason>`. */
function skippedReasons(skipped: readonly { name: string; reason: string }[]): string[] {
  return skipped.map((token) => `token/${token.name}: ${token.reason}`);
}

/** Deletes a cluster's Rancher-derived records (`failClosedPlan`), counting into `result`. */
export async function failClosed(
  store: MirrorStore,
  clusterId: string,
  apply: { concurrency: number; batchChunk: number; signal: AbortSignal },
  result: ApplyResult,
): Promise<void> {
  const current = await store.readClusterState(clusterId);
  await applyMirrorPlan(store, failClosedPlan(current), { ...apply, names: { clusterId, current } }, result);
}

export interface ManagementWriteBack {
  lastUsedPatched: number;
  deferred: number;
  failed: number;
  forbidden: boolean;
}

/**
 * Writes `lastUsedAt` back to Rancher for the cluster's tokens that the table saw used well after Rancher
 * did, when the registration enables it: only when newer, never for an expired or disabled token, bounded per
 * run. Best effort: never fails the sync.
 */
export async function writeBackToRancher(
  reading: ManagementReading,
  cluster: ClusterRecord,
  state: ClusterState,
  settings: WriteBackSettings,
  now: Date,
  signal: AbortSignal,
): Promise<ManagementWriteBack> {
  const result: ManagementWriteBack = { lastUsedPatched: 0, deferred: 0, failed: 0, forbidden: false };
  if (!reading.ok || !reading.record.writeBack || settings.maxPatches === 0) return result;
  const policy = { acceptUnscopedTokens: cluster.acceptUnscopedTokens ?? false };
  const derived = new Set(deriveClusterSources(cluster.clusterId, reading.state.snapshot, policy).sources.tokens.map((token) => token.name));
  const tokens = new Map<string, ManagementToken>();
  for (const token of reading.state.snapshot.tokens) if (derived.has(token.name) && !tokens.has(token.name)) tokens.set(token.name, token);
  const due: { token: ManagementToken; at: Date; overdueMs: number }[] = [];
  for (const usage of state.usage) {
    const token = tokens.get(usage.name);
    const used = Date.parse(usage.lastUsedAt);
    if (token === undefined || Number.isNaN(used) || !token.enabled) continue;
    const expiry = token.expiresAt === '' ? undefined : Date.parse(token.expiresAt);
    if (expiry !== undefined && (Number.isNaN(expiry) || expiry <= now.getTime())) continue;
    const known = token.lastUsedAt === '' ? 0 : Date.parse(token.lastUsedAt);
    const overdueMs = used - (Number.isNaN(known) ? 0 : known);
    if (overdueMs > settings.lastUsedThresholdMs) due.push({ token, at: new Date(used), overdueMs });
  }
  due.sort((a, b) => b.overdueMs - a.overdueMs);
  const queue = due.slice(0, settings.maxPatches);
  result.deferred = due.length - queue.length;
  const limit = pLimit(settings.concurrency);
  let stopped = false;
  await Promise.all(
    queue.map((patch) =>
      limit(async () => {
        if (stopped || signal.aborted) {
          result.deferred += 1;
          return;
        }
        try {
          if ((await reading.source.patchLastUsed(patch.token, patch.at, { signal })) === 'patched') result.lastUsedPatched += 1;
        } catch (error) {
          stopped = true;
          if (error instanceof ClusterForbiddenError) result.forbidden = true;
          else result.failed += 1;
        }
      }),
    ),
  );
  return result;
}
