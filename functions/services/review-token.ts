import { MalformedRecordError } from '../core/errors.ts';
import { countToken, expiryStateOf, likelyCauseOf, type ExpiryState, type FloodOffender } from '../core/foreign-summary.ts';
import { mayContain } from '../core/name-filter.ts';
import type { TokenStore } from '../core/ports/token-store.ts';
import { review, type Decision, type ReviewContext } from '../core/review.ts';
import { parseToken, type RancherToken } from '../core/token-string.ts';

/**
 * One review straight from the store, without caches, budgets or the name filter: the token parsed once, a
 * foreign one answered without a read, a Rancher-shaped one decided against the record its name finds.
 * What the row says; {@link explainReview} adds what the authenticate path decides before it reads.
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

/**
 * What the cluster's name filter says of a Rancher-shaped token's name: it holds the name, it lacks it (the
 * authenticate path refuses it silently, unread), or the cluster has no usable filter (`none` before its
 * first sync or import; `overflow` past the names one row holds; `unreadable` for a row that is not a
 * filter), where the authenticate path reads unknown names within its budget.
 */
export type NameFilterState = 'holds-name' | 'lacks-name' | 'none' | 'overflow' | 'unreadable';

/**
 * A foreign token's sender as `tokengate floods` names it (the same fields as its offenders, without the
 * window's counts): `expiresAt` is this token's `exp`, `state` whether it had passed at the review.
 */
export type ForeignSender = Omit<FloodOffender, 'count' | 'expired' | 'latestExpiresAt'> & {
  expiresAt?: string;
  state: ExpiryState;
  likely: string;
};

/** The operator's review: the webhook's decision and what explains it. Never holds the token or its secret. */
export interface ReviewExplanation {
  decision: Decision;
  /** Rancher-shaped tokens: what the cluster's name filter says of the name. */
  nameFilter?: NameFilterState;
  /**
   * `lacks-name` while the table holds a row of that name: the filter is behind the table (a writer that
   * did not keep it), and the webhook refuses the token until the next sync or import restores it.
   */
  rowOutsideFilter?: true;
  /** Foreign tokens: who sent it, named from its claims. */
  sender?: ForeignSender;
}

/**
 * The review `tokengate review` explains: the decision the authenticate path reaches for this token, from
 * the store and without caches or budgets. A foreign token's sender is named as the flood report names it;
 * a Rancher-shaped name the cluster's filter lacks is refused `name-unknown` as the webhook refuses it
 * (the row is read anyway, to say when the filter is behind the table); a missing row is `token-not-found`
 * when the filter holds the name, `token-not-found-unfiltered` when the cluster has no usable filter.
 */
export async function explainReview(
  tokens: Pick<TokenStore, 'getToken' | 'getNameFilter'>,
  clusterId: string,
  token: string,
  context: ReviewContext,
): Promise<ReviewExplanation> {
  const parsed = parseToken(token);
  if ('foreign' in parsed) {
    return { decision: { outcome: 'foreign', foreign: parsed.foreign }, sender: senderOf(countToken(undefined, parsed.foreign, context.now.getTime())) };
  }
  const { name } = parsed.rancher;
  const [nameFilter, record] = await Promise.all([filterStateOf(tokens, clusterId, parsed.rancher), tokens.getToken(clusterId, name)]);
  if (nameFilter === 'lacks-name') {
    return { decision: { outcome: 'refused', tokenName: name, reason: 'name-unknown' }, nameFilter, ...(record ? { rowOutsideFilter: true as const } : {}) };
  }
  if (!record && nameFilter !== 'holds-name') return { decision: { outcome: 'refused', tokenName: name, reason: 'token-not-found-unfiltered' }, nameFilter };
  return { decision: await review(parsed.rancher, record, context), nameFilter };
}

async function filterStateOf(tokens: Pick<TokenStore, 'getNameFilter'>, clusterId: string, token: RancherToken): Promise<NameFilterState> {
  try {
    const filter = await tokens.getNameFilter(clusterId);
    if (!filter) return 'none';
    if (filter.overflow) return 'overflow';
    return mayContain(filter, token.name) ? 'holds-name' : 'lacks-name';
  } catch (error) {
    // the authenticate path serves such a cluster by the budgeted reads too
    if (error instanceof MalformedRecordError) return 'unreadable';
    throw error;
  }
}

/** The flood report's offender of one token, without its window's counts. */
function senderOf(offender: FloodOffender): ForeignSender {
  const { count: _count, expired: _expired, latestExpiresAt, ...named } = offender;
  return {
    ...named,
    ...(latestExpiresAt !== undefined ? { expiresAt: latestExpiresAt } : {}),
    state: expiryStateOf(offender),
    likely: likelyCauseOf(offender),
  };
}
