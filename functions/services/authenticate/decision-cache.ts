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

  constructor(
    options: DecisionCacheOptions,
    private readonly now: () => Date,
    elapsed: () => number,
  ) {
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

  set(clusterId: string, token: string, decision: Decision): void {
    if (decision.outcome !== 'foreign') this.decisions.set(TtlCache.keyOf(clusterId, token), decision);
  }
}
