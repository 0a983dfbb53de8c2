import pLimit from 'p-limit';
import type { MirrorPlan } from '../../core/mirror/plan.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';

export interface ApplyOptions {
  /** Conditional single-record writes in flight at once. */
  concurrency: number;
  /** Records per unconditional batch call, with the signal checked in between. */
  batchChunk: number;
  /** Stops the writes at the next record or chunk (a sync's deadline). */
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** Records created or replaced. */
  writes: number;
  deletes: number;
  /** Conditional writes that lost to a concurrent change (a revoke, another import or sync): left to the next pass. */
  conflicts: number;
}

/**
 * Applies a mirror plan, for sync and `import` alike. New records go in unconditional batches (nobody
 * else writes a record that does not exist yet: a revoke needs the record). Updates and deletes of
 * existing records are conditional on the version that was read, so a concurrent revoke or sync is
 * never overwritten; a lost condition is counted and left to the next pass, which starts from the new
 * state. Usage records of vanished tokens go last, unconditionally. An abort or a store error stops the
 * writes where they are: every record is written whole, and the next pass converges from there.
 */
export async function applyMirrorPlan(
  store: MirrorStore,
  plan: MirrorPlan,
  options: ApplyOptions,
  /** Counted into as the writes land, so a caller whose apply fails part-way still knows what was written. */
  result: ApplyResult = { writes: 0, deletes: 0, conflicts: 0 },
): Promise<ApplyResult> {
  const { signal } = options;
  const creates = plan.puts.filter((put) => put.change === 'create').map((put) => put.record);
  const updates = plan.puts.filter((put) => put.change === 'update');
  const conditionalDeletes = plan.deletes.filter((entry) => entry.expectedVersion !== undefined);
  const plainDeletes = plan.deletes.filter((entry) => entry.expectedVersion === undefined).map((entry) => entry.ref);

  for (let start = 0; start < creates.length; start += options.batchChunk) {
    signal?.throwIfAborted();
    const chunk = creates.slice(start, start + options.batchChunk);
    await store.createRecords(chunk);
    result.writes += chunk.length;
  }
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
  await Promise.all(conditionalDeletes.map((entry) => conditional(() => store.deleteIfVersion(entry.ref, entry.expectedVersion ?? 0), 'deletes')));
  for (let start = 0; start < plainDeletes.length; start += options.batchChunk) {
    signal?.throwIfAborted();
    const chunk = plainDeletes.slice(start, start + options.batchChunk);
    await store.deleteRecords(chunk);
    result.deletes += chunk.length;
  }
  return result;
}
