import { describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../../../../functions/core/errors.ts';
import { buildNameFilter, MAX_FILTER_NAMES } from '../../../../functions/core/name-filter.ts';
import { nameFilterFromItem, nameFilterItemOf, nameFilterKey, parseSortKey } from '../../../../functions/adapters/dynamodb/rows.ts';

/** DynamoDB's item size: attribute names and values in bytes (numbers and booleans counted generously). */
function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value instanceof Uint8Array) bytes += value.byteLength;
    else if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else bytes += 21;
  }
  return bytes;
}

describe('the name filter row', () => {
  it('lives in the cluster partition under a sort key no record kind uses', () => {
    expect(nameFilterKey('c-abc12')).toEqual({ pk: 'C#c-abc12', sk: 'NAMES' });
    expect(parseSortKey('NAMES')).toBeUndefined();
  });

  it('reads back what was written, as the SDK returns binary attributes', () => {
    const filter = buildNameFilter('c-abc12', Buffer.alloc(16, 9), ['kubeconfig-u-alice', 'token-abcde']);
    const item = nameFilterItemOf(filter, 3);
    const fromSdk = { ...item, key: new Uint8Array(filter.key), digests: new Uint8Array(filter.digests) };
    expect(nameFilterFromItem(fromSdk)).toEqual({ ...filter, version: 3 });
  });

  it('stays under DynamoDB’s 400 KB item limit at the most names a filter holds', () => {
    const names = Array.from({ length: MAX_FILTER_NAMES }, (_, index) => `kubeconfig-user-${index.toString(36)}.c-m-abcdefgh`);
    const filter = buildNameFilter('c-m-abcdefgh', Buffer.alloc(16, 1), names);
    expect(filter.overflow).toBe(false);
    expect(itemBytes(nameFilterItemOf(filter, 1))).toBeLessThan(400 * 1024);
  });

  it('refuses a row that is not a filter, naming it', () => {
    // e.g. a row the authenticate role created with only lastUsedAt under that key
    expect(() => nameFilterFromItem({ pk: 'C#c-abc12', sk: 'NAMES', lastUsedAt: '2026-01-01T00:00:00Z' })).toThrow(MalformedRecordError);
    const filter = buildNameFilter('c-abc12', Buffer.alloc(16, 9), ['a']);
    expect(() => nameFilterFromItem({ ...nameFilterItemOf(filter, 0), digests: new Uint8Array(3) })).toThrow(/C#c-abc12\/NAMES is malformed/);
  });
});
