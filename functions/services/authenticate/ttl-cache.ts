import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * A bounded, time-limited cache for the warm Lambda. Keys are SHA-256 digests of their parts, so a
 * token or credential is never held in clear; a TTL of 0 disables caching entirely.
 */
export class TtlCache<V extends object> {
  private readonly entries: LRUCache<string, V> | undefined;

  constructor(ttlSeconds: number, maxEntries: number, now: () => number = Date.now) {
    this.entries =
      ttlSeconds > 0
        ? new LRUCache<string, V>({ max: maxEntries, ttl: ttlSeconds * 1000, ttlAutopurge: false, ttlResolution: 0, perf: { now } })
        : undefined;
  }

  /** Digest of the parts, joined unambiguously; used as the cache key. */
  static keyOf(...parts: string[]): string {
    let joined = '';
    for (const part of parts) joined += `${part.length}:${part}`;
    return hash('sha256', joined, 'base64url');
  }

  get(key: string): V | undefined {
    return this.entries?.get(key);
  }

  /** Stores a value for the cache's TTL, or for `ttlMs` when given (a shorter life; 0 or less stores nothing). */
  set(key: string, value: V, ttlMs?: number): void {
    if (ttlMs === undefined) this.entries?.set(key, value);
    else if (ttlMs > 0) this.entries?.set(key, value, { ttl: ttlMs });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
