import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../../../functions/services/authenticate/ttl-cache.ts';

describe('TtlCache', () => {
  it('keys by a fixed-length digest that does not contain the token it stands for', () => {
    const token = `kubeconfig-u-alice:${'d'.repeat(54)}`;
    const key = TtlCache.keyOf('c-abc12', token);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('d'.repeat(8));
    expect(key).not.toContain('kubeconfig');
  });

  it('keeps the parts apart, so that shifting a boundary gives another key', () => {
    expect(TtlCache.keyOf('c-a', 'bc:x')).not.toBe(TtlCache.keyOf('c-ab', 'c:x'));
    expect(TtlCache.keyOf('c-abc12', 't:s')).toBe(TtlCache.keyOf('c-abc12', 't:s'));
  });

  it('forgets entries after the TTL on the injected clock', () => {
    let now = 1_000;
    const cache = new TtlCache<{ v: number }>(10, 100, () => now);
    cache.set('k', { v: 1 });
    now = 10_999;
    expect(cache.get('k')).toEqual({ v: 1 });
    now = 11_001;
    expect(cache.get('k')).toBeUndefined();
  });

  it('holds nothing when the TTL is 0', () => {
    const cache = new TtlCache<{ v: number }>(0, 100);
    cache.set('k', { v: 1 });
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most its maximum number of entries', () => {
    const cache = new TtlCache<{ v: number }>(60, 3);
    for (let i = 0; i < 10; i += 1) cache.set(`k${i}`, { v: i });
    expect(cache.size).toBe(3);
    expect(cache.get('k9')).toEqual({ v: 9 });
    expect(cache.get('k0')).toBeUndefined();
  });
});
