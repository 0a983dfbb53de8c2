import { LruMap } from './lru-map.ts';

export interface RateLimiterOptions {
  /** Tokens added per second to each scope's bucket. */
  ratePerSecond: number;
  /** Most tokens a bucket holds (and starts with): the burst a scope may spend at once. */
  burst: number;
  /** Scopes tracked at once; the least recently used are forgotten (and start full again). */
  maxScopes: number;
  /** Monotonic milliseconds. */
  now: () => number;
}

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * The authenticate path's one rate-limit primitive: a token bucket per scope (a cluster id, a
 * credential id, a token name, or one shared scope for a container-wide bound), refilled continuously
 * at `ratePerSecond` up to `burst`. Memory is bounded by an LRU over scopes, so a flood of made-up
 * scopes cannot grow it; a forgotten scope starts full, which is why each budget is paired with a
 * container-wide one where that matters.
 */
export class RateLimiter {
  private readonly buckets: LruMap<string, Bucket>;

  constructor(private readonly options: RateLimiterOptions) {
    this.buckets = new LruMap<string, Bucket>(options.maxScopes);
  }

  /** Whether the scope has a token to spend now (refilling it first); spends nothing. */
  available(scope: string): boolean {
    return this.refilled(scope).tokens >= 1;
  }

  /** Spends one token of the scope (call after `available`; a bucket may go below zero otherwise). */
  take(scope: string): void {
    this.refilled(scope).tokens -= 1;
  }

  /** Returns a token spent for work that turned out not to count (never above the burst). */
  giveBack(scope: string): void {
    const bucket = this.refilled(scope);
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + 1);
  }

  /** Spends one token if the scope has one; false when its budget is spent. */
  tryTake(scope: string): boolean {
    if (!this.available(scope)) return false;
    this.take(scope);
    return true;
  }

  private refilled(scope: string): Bucket {
    const now = this.options.now();
    let bucket = this.buckets.get(scope);
    if (!bucket) {
      bucket = { tokens: this.options.burst, last: now };
      this.buckets.set(scope, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.last) / 1000) * this.options.ratePerSecond);
    bucket.last = now;
    return bucket;
  }
}

/** Spends one token from each (limiter, scope) pair only if every one has a token: all or nothing. */
export function takeEach(...claims: ReadonlyArray<readonly [RateLimiter, string]>): boolean {
  if (!claims.every(([limiter, scope]) => limiter.available(scope))) return false;
  for (const [limiter, scope] of claims) limiter.take(scope);
  return true;
}
