import type { Decision } from '../../core/review.ts';
import { TtlCache } from './ttl-cache.ts';

export interface DecisionCacheOptions {
  /** How long a decision stays cached; 0 disables. */
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
}

/**
 * Decisions per (cluster, token) digest, so a repeated review costs no read and no hash; the token is
 * never held in clear. Foreign tokens are never cached (they cost nothing to decide).
 */
export class DecisionCache {
  private readonly decisions: TtlCache<Decision>;

  private readonly ttlMs: number;

  constructor(
    options: DecisionCacheOptions,
    private readonly now: () => Date,
    private readonly elapsed: () => number,
  ) {
    this.ttlMs = options.cacheTtlSeconds * 1000;
    this.decisions = new TtlCache<Decision>(options.cacheTtlSeconds, options.cacheMaxEntries, elapsed);
  }

  /** The cached decision of a token; a cached acceptance ends when the token expires, even inside the TTL. */
  get(clusterId: string, token: string): Decision | undefined {
    const decision = this.decisions.get(TtlCache.keyOf(clusterId, token));
    if (decision?.outcome === 'accepted' && decision.expiresAtMs !== undefined && decision.expiresAtMs < this.now().getTime()) {
      return undefined;
    }
    return decision;
  }

  /**
   * Caches a decision until one TTL after the record it was built from was read (`readAtMs`, monotonic),
   * not one TTL after the decision: a decision built from a row cached just before a revoke must not
   * live a second TTL. So any change in the table is seen within one `CACHE_TTL_SECONDS`.
   */
  set(clusterId: string, token: string, decision: Decision, readAtMs: number): void {
    if (decision.outcome === 'foreign') return;
    this.decisions.set(TtlCache.keyOf(clusterId, token), decision, this.ttlMs - (this.elapsed() - readAtMs));
  }
}
