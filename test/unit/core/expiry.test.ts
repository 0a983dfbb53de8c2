import { describe, expect, it } from 'vitest';
import { expiryOf } from '../../../functions/core/expiry.ts';

describe('expiryOf', () => {
  it.each([
    ['', undefined],
    [undefined, undefined],
    ['2026-01-02T03:04:05Z', Date.parse('2026-01-02T03:04:05Z')],
    ['2026-01-02T03:04:05.123456789Z', Date.parse('2026-01-02T03:04:05.123Z')],
    ['2026-01-02', 'unparseable'],
    ['2026-13-45T00:00:00Z', 'unparseable'],
    ['yesterday', 'unparseable'],
  ])('reads %j as %j', (text, expected) => {
    expect(expiryOf(text)).toBe(expected);
  });
});
