import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildNameFilter,
  filterDigests,
  MAX_FILTER_NAMES,
  mayContain,
  missingNames,
  nameDigest,
  withNames,
} from '../../../functions/core/name-filter.ts';

const tokenName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,62}$/);
const key = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes));

/** Made-up Rancher-shaped names, as a flood sends them, none of which exists. */
function madeUpNames(count: number, seed: number): string[] {
  let state = seed;
  const names: string[] = [];
  for (let index = 0; index < count; index += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    names.push(`kubeconfig-u-${state.toString(36)}x${index.toString(36)}`);
  }
  return names;
}

describe('the name filter', () => {
  it('never rules out a name it was built with (no false negatives), whatever the names and key', () => {
    fc.assert(
      fc.property(fc.array(tokenName, { maxLength: 300 }), key, (names, filterKey) => {
        const filter = buildNameFilter('c-abc12', filterKey, names);
        expect(missingNames(filter, names)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every name it held when names are added, and holds the added ones', () => {
    fc.assert(
      fc.property(fc.array(tokenName, { maxLength: 100 }), fc.array(tokenName, { maxLength: 100 }), key, (before, added, filterKey) => {
        const { filter } = withNames(buildNameFilter('c-abc12', filterKey, before), added);
        expect(missingNames(filter, [...before, ...added])).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('lets through fewer than 1% of made-up names (false positives), for a cluster of 50,000 tokens', () => {
    const names = madeUpNames(50_000, 1).map((name) => `real-${name}`);
    const filter = buildNameFilter('c-abc12', Buffer.alloc(16, 3), names);
    const probes = madeUpNames(200_000, 2);
    const passed = probes.filter((name) => mayContain(filter, name)).length;
    // expected about 50,000 / 2^32 per probe, i.e. ~2 of 200,000; 1% would be 2,000
    expect(passed).toBeLessThan(20);
    expect(filter.digests.length).toBe(filterDigests(filter).length * 4);
  });

  it('digests names under its own key, so which made-up names pass cannot be computed without it', () => {
    const names = madeUpNames(1_000, 3);
    const a = names.map((name) => nameDigest(Buffer.alloc(16, 1), name));
    const b = names.map((name) => nameDigest(Buffer.alloc(16, 2), name));
    expect(a.filter((digest, index) => digest === b[index]).length).toBeLessThan(2);
  });

  it('says nothing (overflow) past the names one row holds (digests, 4 bytes each), and then rules out no name', () => {
    const filter = buildNameFilter('c-abc12', Buffer.alloc(16, 3), madeUpNames(MAX_FILTER_NAMES + 100, 4));
    expect(filter.overflow).toBe(true);
    expect(filter.digests.length).toBe(0);
    expect(mayContain(filter, 'anything')).toBe(true);
    expect(buildNameFilter('c-abc12', Buffer.alloc(16, 3), madeUpNames(MAX_FILTER_NAMES, 4)).overflow).toBe(false);
  });
});
