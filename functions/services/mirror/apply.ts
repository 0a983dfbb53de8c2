import pLimit from 'p-limit';
import type { MirrorPlan } from '../../core/mirror/plan.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';
import { MAX_FILTER_NAMES } from '../../core/name-filter.ts';
import type { ClusterState } from '../../core/records.ts';
import { describeFilterFailure, includeNames, NameFilterError, trimTo, type FilterState } from './name-filter.ts';

export interface ApplyOptions {
  /** Conditional single-record writes in flight at once. */
  concurrency: number;
  /** Records per unconditional batch call, with the signal checked in between. */
  batchChunk: number;
  /** Stops the writes at the next record or chunk (a sync's deadline). */
  signal?: AbortSignal;
  /** The cluster the plan is for and what was read of it: the name filter is kept from them. */
  names: { clusterId: string; current: ClusterState; randomBytes?: (size: number) => Buffer };
}

export interface ApplyResult {
  /** Records created or replaced. */
  writes: number;
  deletes: number;
  /** Conditional writes that lost to a concurrent change (a revoke, another import or sync): left to the next pass. */
  conflicts: number;
  /** Things the operator should know that did not fail the pass (a name filter left larger than needed). */
  warnings?: string[];
}

/**
 * Applies a mirror plan, for sync and `import` alike. New records go in unconditional batches (nobody
 * else writes a record that does not exist yet: a revoke needs the record). Updates and deletes of
 * existing records are conditional on the version that was read, so a concurrent revoke or sync is
 * never overwritten; a lost condition is counted and left to the next pass, which starts from the new
 * state. Usage records of vanished tokens go last, unconditionally. An abort or a store error stops the
 * writes where they are: every record is written whole, and the next pass converges from there.
 *
 * The cluster's name filter (`name-filter.ts`) holds every new token name before its row is created, and
 * is checked again after; when it cannot be written, no token row is created (a token missing from the
 * filter would be refused unread), the other writes go ahead, and the pass fails with `NameFilterError`
 * naming why. Names of deleted tokens leave the filter last, best effort: a filter that still lists a
 * gone name costs one read of it per cache TTL, never a refusal.
 */
export async function applyMirrorPlan(
  store: MirrorStore,
  plan: MirrorPlan,
  options: ApplyOptions,
  /** Counted into as the writes land, so a caller whose apply fails part-way still knows what was written. */
  result: ApplyResult = { writes: 0, deletes: 0, conflicts: 0 },
): Promise<ApplyResult> {
  const { signal } = options;
  const { clusterId, current } = options.names;
  let creates = plan.puts.filter((put) => put.change === 'create').map((put) => put.record);
  const newNames = creates.filter((record) => record.kind === 'token').map((record) => record.name);
  const existingNames = current.tokens.map((token) => token.name);
  let filterFailure: string | undefined;
  let filter: FilterState | undefined;
  try {
    filter = await includeNames(store, clusterId, newNames, { names: existingNames, ...(options.names.randomBytes ? { randomBytes: options.names.randomBytes } : {}) });
    // a first build read the cluster before it: names created since by another writer are added now
    if (filter.kind === 'built') await includeNames(store, clusterId, (await store.readClusterState(clusterId)).tokens.map((token) => token.name));
    if (filter.kind === 'overflow') {
      (result.warnings ??= []).push(
        `cluster ${clusterId} has more token names than its name filter holds (${MAX_FILTER_NAMES}): its unknown names are read within UNKNOWN_NAME_LOOKUPS_PER_SECOND instead`,
      );
    }
  } catch (error) {
    filterFailure = describeFilterFailure(clusterId, error);
    creates = creates.filter((record) => record.kind !== 'token');
  }

  const updates = plan.puts.filter((put) => put.change === 'update');
  const conditionalDeletes = plan.deletes.filter((entry) => entry.expectedVersion !== undefined);
  const plainDeletes = plan.deletes.filter((entry) => entry.expectedVersion === undefined).map((entry) => entry.ref);

  for (let start = 0; start < creates.length; start += options.batchChunk) {
    signal?.throwIfAborted();
    const chunk = creates.slice(start, start + options.batchChunk);
    await store.createRecords(chunk);
    result.writes += chunk.length;
  }
  let uncheckedFailure: string | undefined;
  if (filterFailure === undefined && newNames.length > 0) {
    // after the rows exist: a concurrent trim that removed their digests has listed them, or is seen here
    try {
      await includeNames(store, clusterId, newNames);
    } catch (error) {
      uncheckedFailure = describeFilterFailure(clusterId, error);
    }
  }
  const deletedNames = new Set<string>();
  const limit = pLimit(options.concurrency);
  // after the first failure the queued writes are skipped, not sent: it is the pass's end
  let failed = false;
  const conditional = (write: () => Promise<boolean>, counted: 'writes' | 'deletes') =>
    limit(async () => {
      if (failed) return;
      try {
        signal?.throwIfAborted();
        if (await write()) result[counted] += 1;
        else result.conflicts += 1;
      } catch (error) {
        failed = true;
        throw error;
      }
    });
  await Promise.all(updates.map((put) => conditional(() => store.replaceIfVersion(put.record, put.expectedVersion ?? 0), 'writes')));
  await Promise.all(
    conditionalDeletes.map((entry) =>
      conditional(async () => {
        const deleted = await store.deleteIfVersion(entry.ref, entry.expectedVersion ?? 0);
        if (deleted && entry.ref.kind === 'token') deletedNames.add(entry.ref.name);
        return deleted;
      }, 'deletes'),
    ),
  );
  for (let start = 0; start < plainDeletes.length; start += options.batchChunk) {
    signal?.throwIfAborted();
    const chunk = plainDeletes.slice(start, start + options.batchChunk);
    await store.deleteRecords(chunk);
    result.deletes += chunk.length;
  }
  if (filterFailure !== undefined) throw new NameFilterError(`${filterFailure}; its new tokens were not created, the next pass retries`);
  if (uncheckedFailure !== undefined) {
    throw new NameFilterError(`${uncheckedFailure} after its new tokens were created (they were put in it before); the next pass checks it again`);
  }
  if (deletedNames.size > 0 || (filter?.kind === 'kept' && filter.stale)) {
    const remaining = [...new Set([...existingNames, ...newNames])].filter((name) => !deletedNames.has(name));
    try {
      await trimTo(store, clusterId, remaining);
    } catch (error) {
      (result.warnings ??= []).push(`${describeFilterFailure(clusterId, error)} (it still lists removed tokens, which are read and refused; the next pass retries)`);
    }
  }
  return result;
}
