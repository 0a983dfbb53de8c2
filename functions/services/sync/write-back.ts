import pLimit from 'p-limit';
import { ClusterForbiddenError, type ClusterSource } from '../../core/ports/cluster-source.ts';
import type { Mirrored } from './downstream-mirror.ts';
import type { PatchKind, WriteBackOptions, WriteBackResult } from './types.ts';

/**
 * Best effort: merge-patches `lastUsedAt` on tokens the table saw used well after the cluster did,
 * and `needsRefresh` on users whose refresh debounce has passed since a use. Bounded per run (the
 * rest waits for the next one); a forbidden kind stops that kind for this cluster and is reported
 * once; an unreachable cluster stops the write-back. Never fails the sync.
 */
export async function writeBack(source: ClusterSource, mirrored: Mirrored, options: WriteBackOptions, now: Date, signal: AbortSignal): Promise<WriteBackResult> {
  const result: WriteBackResult = { lastUsedPatched: 0, needsRefreshPatched: 0, deferred: 0, failed: 0, forbidden: [] };
  const { maxPatches, concurrency, lastUsedThresholdMs, refreshDebounceSeconds } = options;
  if (maxPatches === 0) return result;

  const nowMs = now.getTime();
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

function byOverdue(a: { overdueMs: number }, b: { overdueMs: number }): number {
  return b.overdueMs - a.overdueMs;
}
