import type { TokenStore } from '../core/ports/token-store.ts';
import { review, type Decision, type ReviewContext } from '../core/review.ts';
import { parseToken } from '../core/token-string.ts';

/**
 * One review straight from the store, without caches or budgets: the token parsed once, a foreign one
 * answered without a read, a Rancher-shaped one decided against the record its name finds. The
 * operator's `tokengate review`; the authenticate service composes the same steps with its caches.
 */
export async function reviewToken(
  tokens: Pick<TokenStore, 'getToken'>,
  clusterId: string,
  token: string,
  context: ReviewContext,
): Promise<Decision> {
  const parsed = parseToken(token);
  if ('foreign' in parsed) return { outcome: 'foreign', foreign: parsed.foreign };
  return review(parsed.rancher, await tokens.getToken(clusterId, parsed.rancher.name), context);
}
