import { describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../../../../functions/core/errors.ts';
import { buildNameFilter, MAX_FILTER_NAMES, missingNames, type NameFilter } from '../../../../functions/core/name-filter.ts';
import type { MirrorStore } from '../../../../functions/core/ports/mirror-store.ts';
import type { ClusterState, Versioned } from '../../../../functions/core/records.ts';
import { applyMirrorPlan } from '../../../../functions/services/mirror/apply.ts';
import { includeNames, NameFilterError, trimTo } from '../../../../functions/services/mirror/name-filter.ts';
import { tokenRecord } from '../../../support/fakes.ts';

const CLUSTER = 'c-abc12';
const KEY = Buffer.alloc(16, 5);

/** The filter row and the token names of one cluster, with the store's conditional-write semantics. */
class FilterStore implements Pick<MirrorStore, 'readNameFilter' | 'writeNameFilter' | 'readClusterState'> {
  stored: Versioned<NameFilter> | 'unreadable' | undefined;
  names: string[] = [];
  writes = 0;
  /** Runs before each write lands (another writer acting in between). */
  beforeWrite: (() => void) | undefined;

  async readNameFilter() {
    if (this.stored === 'unreadable') throw new MalformedRecordError('row C#c-abc12/NAMES is malformed');
    return this.stored;
  }
  async writeNameFilter(filter: NameFilter, expected: number | 'absent' | 'any') {
    this.beforeWrite?.();
    const current = this.stored;
    const version = current === undefined || current === 'unreadable' ? undefined : current.version;
    const holds = expected === 'any' || (expected === 'absent' ? current === undefined : version === expected);
    if (!holds) return false;
    this.writes += 1;
    this.stored = { ...filter, version: (version ?? -1) + 1 };
    return true;
  }
  async readClusterState(): Promise<ClusterState> {
    return { tokens: this.names.map((name) => ({ ...tokenRecord({ clusterId: CLUSTER, name }), version: 0 })), users: [], secrets: [], usage: [] };
  }
  filter(): NameFilter {
    if (this.stored === undefined || this.stored === 'unreadable') throw new Error('no filter');
    return this.stored;
  }
}

describe('keeping a cluster’s name filter', () => {
  it('builds it from a complete reading when there is none, and leaves it absent for a writer without one', async () => {
    const store = new FilterStore();
    expect(await includeNames(store, CLUSTER, ['tg-native'])).toEqual({ kind: 'absent' });
    expect(store.writes).toBe(0);
    expect(await includeNames(store, CLUSTER, ['token-new'], { names: ['token-a', 'token-b'], randomBytes: () => KEY })).toEqual({ kind: 'built' });
    expect(missingNames(store.filter(), ['token-a', 'token-b', 'token-new'])).toEqual([]);
    expect(store.filter().key).toEqual(KEY);
  });

  it('rebuilds an unreadable row from a complete reading, and leaves it to the budgeted path otherwise', async () => {
    const store = new FilterStore();
    store.stored = 'unreadable';
    expect(await includeNames(store, CLUSTER, ['tg-native'])).toEqual({ kind: 'absent' });
    expect(store.writes).toBe(0);
    expect(await includeNames(store, CLUSTER, [], { names: ['token-a'] })).toEqual({ kind: 'built' });
    expect(missingNames(store.filter(), ['token-a'])).toEqual([]);
  });

  it('reads again when another writer changed the filter in between, keeping that writer’s names', async () => {
    const store = new FilterStore();
    store.stored = { ...buildNameFilter(CLUSTER, KEY, ['token-a']), version: 0 };
    store.beforeWrite = () => {
      store.beforeWrite = undefined;
      const other = buildNameFilter(CLUSTER, KEY, ['token-a', 'tg-other']);
      store.stored = { ...other, version: 1 };
    };
    expect(await includeNames(store, CLUSTER, ['token-new'])).toEqual({ kind: 'kept', stale: false });
    expect(missingNames(store.filter(), ['token-a', 'tg-other', 'token-new'])).toEqual([]);
  });

  it('gives up with NameFilterError when the filter keeps changing, so no token row is created', async () => {
    const store = new FilterStore();
    store.stored = { ...buildNameFilter(CLUSTER, KEY, ['token-a']), version: 0 };
    store.beforeWrite = () => {
      const current = store.filter() as Versioned<NameFilter>;
      store.stored = { ...current, version: current.version + 1 };
    };
    await expect(includeNames(store, CLUSTER, ['token-new'])).rejects.toThrow(NameFilterError);
  });

  it('says it is stale when it holds names the complete reading no longer has', async () => {
    const store = new FilterStore();
    store.stored = { ...buildNameFilter(CLUSTER, KEY, ['token-a', 'token-gone']), version: 0 };
    expect(await includeNames(store, CLUSTER, [], { names: ['token-a'] })).toEqual({ kind: 'kept', stale: true });
  });

  it('writes an overflowing filter past the names one row holds, and rebuilds it once the names fit again', async () => {
    const store = new FilterStore();
    const many = Array.from({ length: MAX_FILTER_NAMES + 100 }, (_, index) => `token-${index}`);
    expect(await includeNames(store, CLUSTER, [], { names: many })).toEqual({ kind: 'overflow' });
    expect(store.filter().overflow).toBe(true);
    expect(await includeNames(store, CLUSTER, ['tg-native'])).toEqual({ kind: 'overflow' });
    expect(await includeNames(store, CLUSTER, [], { names: many.slice(0, 10) })).toEqual({ kind: 'built' });
    expect(store.filter().overflow).toBe(false);
  });

  it('trims the digests of gone names, then adds back every name listed afresh (a token created meanwhile)', async () => {
    const store = new FilterStore();
    store.stored = { ...buildNameFilter(CLUSTER, KEY, ['token-a', 'token-gone', 'tg-raced']), version: 0 };
    // the trimming writer read the cluster before tg-raced's row existed; the fresh listing has it
    store.names = ['token-a', 'tg-raced'];
    expect(await trimTo(store, CLUSTER, ['token-a'])).toBe(true);
    expect(missingNames(store.filter(), ['token-a', 'tg-raced'])).toEqual([]);
    expect(missingNames(store.filter(), ['token-gone'])).toEqual(['token-gone']);
  });
});

describe('applying a plan to a cluster with more names than a filter holds', () => {
  it('writes an overflowing filter and says so in the pass’s warnings', async () => {
    const store = Object.assign(new FilterStore(), {
      createRecords: async () => undefined,
      replaceIfVersion: async () => true,
      deleteIfVersion: async () => true,
      deleteRecords: async () => undefined,
    });
    const current: ClusterState = {
      tokens: Array.from({ length: MAX_FILTER_NAMES + 100 }, (_, index) => ({ ...tokenRecord({ clusterId: CLUSTER, name: `token-${index}` }), version: 0 })),
      users: [],
      secrets: [],
      usage: [],
    };
    const plan = { puts: [], deletes: [], counts: { created: 0, updated: 0, unchanged: 0, deleted: 0 }, shadowedByNative: [] };
    const result = await applyMirrorPlan(store, plan, { concurrency: 1, batchChunk: 25, names: { clusterId: CLUSTER, current } });
    expect(store.filter().overflow).toBe(true);
    expect(result.warnings).toEqual([expect.stringContaining('more token names than its name filter holds (90000)')]);
  });
});
