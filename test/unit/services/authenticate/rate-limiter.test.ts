import { describe, expect, it } from 'vitest';
import { RateLimiter, takeEach } from '../../../../functions/services/authenticate/rate-limiter.ts';

function limiter(ratePerSecond: number, burst: number, maxScopes = 100) {
  let now = 0;
  const rateLimiter = new RateLimiter({ ratePerSecond, burst, maxScopes, now: () => now });
  return { rateLimiter, advance: (ms: number) => (now += ms) };
}

describe('RateLimiter', () => {
  it('lets a scope spend its burst at once, then refills it at the rate', () => {
    const { rateLimiter, advance } = limiter(2, 4);
    expect([1, 2, 3, 4, 5].map(() => rateLimiter.tryTake('a'))).toEqual([true, true, true, true, false]);
    advance(500);
    expect([rateLimiter.tryTake('a'), rateLimiter.tryTake('a')]).toEqual([true, false]);
    advance(10_000);
    expect([1, 2, 3, 4, 5].map(() => rateLimiter.tryTake('a')).filter(Boolean)).toHaveLength(4);
  });

  it('keeps scopes apart', () => {
    const { rateLimiter } = limiter(1, 1);
    expect(rateLimiter.tryTake('a')).toBe(true);
    expect(rateLimiter.tryTake('a')).toBe(false);
    expect(rateLimiter.tryTake('b')).toBe(true);
  });

  it('spends from every limiter or from none', () => {
    const perScope = limiter(1, 5).rateLimiter;
    const shared = limiter(1, 1).rateLimiter;
    expect(takeEach([perScope, 'a'], [shared, ''])).toBe(true);
    expect(takeEach([perScope, 'a'], [shared, ''])).toBe(false);
    // the refused claim spent nothing from the per-scope bucket: four of its five are left
    expect([1, 2, 3, 4, 5].map(() => perScope.tryTake('a')).filter(Boolean)).toHaveLength(4);
  });
});
