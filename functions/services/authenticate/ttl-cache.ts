import { hash } from 'node:crypto';
import { LruMap } from './lru-map.ts';

/**
 * A bounded, time-limited cache for the warm Lambda. Keys are SHA-256 digests of their parts, so a
 * token or credential is never held in clear; a TTL of 0 disables caching entirely.
 */
export class TtlCache<V extends object> {
  private readonly entries: LruMap<string, { value: V; expiresAtMs: number }> | undefined;
  private readonly ttlMs: number;

  constructor(ttlSeconds: number, maxEntries: number, private readonly now: () => number = Date.now) {
    this.ttlMs = ttlSeconds * 1000;
    this.entries = ttlSeconds > 0 ? new LruMap(maxEntries) : undefined;
  }

  /** Digest of the parts, joined unambiguously; used as the cache key. */
  static keyOf(...parts: string[]): string {
    let joined = '';
    for (const part of parts) joined += `${part.length}:${part}`;
    return hash('sha256', joined, 'base64url');
  }

  /** The value while its life lasts; an expired entry is forgotten when read. */
  get(key: string): V | undefined {
    const entry = this.entries?.get(key);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.expiresAtMs) {
      this.entries?.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores a value for the cache's TTL, or for `ttlMs` when given (a shorter life; 0 or less stores nothing). */
  set(key: string, value: V, ttlMs?: number): void {
    if (ttlMs !== undefined && ttlMs <= 0) return;
    this.entries?.set(key, { value, expiresAtMs: this.now() + (ttlMs ?? this.ttlMs) });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
