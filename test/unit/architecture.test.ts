import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types, shared with `node scripts/check-layers.mjs`
import { check } from '../../scripts/check-layers.mjs';

describe('the layers of functions/', () => {
  it('import only downward (core ← services ← adapters ← entry), with no two folders importing each other', () => {
    expect(check()).toEqual([]);
  });
});
