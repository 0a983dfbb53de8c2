import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { MalformedRecordError, describeError } from '../../core/errors.ts';
import {
  buildNameFilter,
  digestsOf,
  filterDigests,
  filterOfDigests,
  FILTER_KEY_BYTES,
  MAX_FILTER_NAMES,
  withNames,
  type NameFilter,
} from '../../core/name-filter.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';
import type { Versioned } from '../../core/records.ts';

/**
 * Keeping a cluster's name filter (`core/name-filter.ts`) a superset of its token names while several writers
 * (sync, `import`, `tokens create`) work at once. A filter that lacks an existing name locks that token out,
 * so every step is ordered for it:
 *
 * - a writer adds names *before* creating their rows, and checks again *after* creating them (a concurrent
 *   trim or first build may have missed them);
 * - digests are removed only by a writer that then lists the cluster's names afresh and adds back any it
 *   lacks (a row created meanwhile is either in that listing, or its writer's check after creating it sees
 *   the removal);
 * - a filter is first built only from a complete reading of the cluster, and that reading is then repeated
 *   after the build for the same reason.
 *
 * Every write is conditional on the version read; a lost condition reads again.
 */

/** What the stored filter is, after a writer made sure of its names. */
export type FilterState =
  /** Holds the names; `stale`: it also holds digests of names that no longer exist. */
  | { kind: 'kept'; stale: boolean }
  /** Written afresh from a complete reading (first build, an unreadable row, or back under the size limit). */
  | { kind: 'built' }
  /** More names than a row holds: the authenticate path reads unknown names within its budget instead. */
  | { kind: 'overflow' }
  /** None stored (or an unreadable row), and this writer has no complete reading to build one from (the budgeted path applies). */
  | { kind: 'absent' };

/** A complete reading of the cluster's token names, from which a filter may be built. */
export interface CompleteNames {
  names: readonly string[];
  randomBytes?: (size: number) => Buffer;
}

/** The filter could not be written: new token rows must not be created (they would be refused). */
export class NameFilterError extends Error {
  override name = 'NameFilterError';
}

/** Conditional writes lost in a row before giving up (each means another writer changed the filter meanwhile). */
const MAX_ATTEMPTS = 8;

async function readFilter(store: Pick<MirrorStore, 'readNameFilter'>, clusterId: string): Promise<Versioned<NameFilter> | 'unreadable' | undefined> {
  try {
    return await store.readNameFilter(clusterId);
  } catch (error) {
    if (error instanceof MalformedRecordError) return 'unreadable';
    throw error;
  }
}

/**
 * Makes the stored filter hold `names` (and, given a complete reading, every name of it, building the filter
 * when there is none, it is unreadable, or it overflowed and the names fit again). Call before creating the
 * rows of `names`, and again after. Throws on a store error or when the filter keeps changing.
 */
export async function includeNames(
  store: Pick<MirrorStore, 'readNameFilter' | 'writeNameFilter'>,
  clusterId: string,
  names: readonly string[],
  complete?: CompleteNames,
): Promise<FilterState> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const stored = await readFilter(store, clusterId);
    const all = complete ? [...complete.names, ...names] : names;
    if (stored !== undefined && stored !== 'unreadable' && !stored.overflow) {
      const next = withNames(stored, all);
      const stale = complete !== undefined && next.extra > 0;
      if (!next.changed) return { kind: 'kept', stale };
      if (await store.writeNameFilter(next.filter, stored.version)) return next.filter.overflow ? { kind: 'overflow' } : { kind: 'kept', stale };
      continue;
    }
    if (complete === undefined) return stored === undefined || stored === 'unreadable' ? { kind: 'absent' } : { kind: 'overflow' };
    if (stored !== undefined && stored !== 'unreadable' && new Set(all).size > MAX_FILTER_NAMES) return { kind: 'overflow' };
    const key = (complete.randomBytes ?? cryptoRandomBytes)(FILTER_KEY_BYTES);
    const built = buildNameFilter(clusterId, key, all);
    const expected = stored === undefined ? 'absent' : stored === 'unreadable' ? 'any' : stored.version;
    if (await store.writeNameFilter(built, expected)) return built.overflow ? { kind: 'overflow' } : { kind: 'built' };
  }
  throw new NameFilterError(`the name filter of cluster ${clusterId} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
}

/**
 * Removes from the filter every digest not of `remaining` (the names the writer knows exist), then lists the
 * cluster afresh and adds back any name it lacks, so a token created meanwhile by another writer is not lost.
 * Returns whether anything was removed.
 */
export async function trimTo(store: Pick<MirrorStore, 'readNameFilter' | 'writeNameFilter' | 'readClusterState'>, clusterId: string, remaining: readonly string[]): Promise<boolean> {
  let trimmed = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && !trimmed; attempt += 1) {
    const stored = await readFilter(store, clusterId);
    if (stored === undefined || stored === 'unreadable' || stored.overflow) return false;
    const target = digestsOf(stored.key, remaining);
    const current = filterDigests(stored);
    if (target.length === current.length && target.every((digest, index) => digest === current[index])) return false;
    // adding a remaining name the filter lacked is safe too; only the digests of no remaining name go
    const next = filterOfDigests(clusterId, stored.key, target);
    trimmed = await store.writeNameFilter(next, stored.version);
  }
  if (!trimmed) return false;
  const fresh = await store.readClusterState(clusterId);
  await includeNames(store, clusterId, fresh.tokens.map((token) => token.name));
  return true;
}

/** A one-line reason a filter step failed, for the sync report and the CLI. */
export function describeFilterFailure(clusterId: string, error: unknown): string {
  return error instanceof NameFilterError ? error.message : `the name filter of cluster ${clusterId} was not written: ${describeError(error)}`;
}
