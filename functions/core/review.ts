import { expiryOf } from './expiry.ts';
import { applicableVerifier, isSlowHash, verifySecret } from './hash.ts';
import type { TokenRecord, TokenUser } from './records.ts';
import { blockOf } from './token-state.ts';
import type { ForeignToken, RancherToken } from './token-string.ts';

/** Why a Rancher-shaped token was refused, in kube-api-auth's check order (docs/reference.md, "Check order"). */
export type RefusalReason =
  | 'token-not-found'
  /**
   * The cluster's filter of existing token names does not hold the name: no such token, decided without a
   * store read. Answered silently (no `status.error`), like a foreign token, so the apiserver caches the
   * refusal for its webhook cache TTL and stale or made-up tokens stop reaching us (SECURITY.md, "Unknown
   * token names"). Not a verdict of `review()`.
   */
  | 'name-unknown'
  /**
   * No row of that name, in a cluster without a usable name filter (none yet before its first sync or
   * import, more names than a filter row holds, or a row that is not a filter): the authenticate path reads
   * such names within its unknown-name budget and refuses a missing one as `token-not-found`, with
   * `status.error`. `tokengate review`'s word for it, so that an operator tells it from a name the filter
   * holds whose row is gone. Not a verdict of `review()`, and never the authenticate path's.
   */
  | 'token-not-found-unfiltered'
  | 'token-disabled'
  | 'token-revoked'
  | 'user-not-found'
  | 'user-disabled'
  | 'token-expired'
  | 'expiry-unparseable'
  | 'hash-missing'
  | 'hash-unsupported'
  | 'secret-mismatch'
  /**
   * Not a verdict on the token, and not decided here: the authenticate service's budget of store reads
   * for token names it does not know was spent (a flood of unknown names). Carries `status.error`, so the
   * apiserver neither caches nor retries it, and the same token is looked up again on its next use.
   */
  | 'lookup-throttled'
  /**
   * Not a verdict either: the token's slow hash was verified too often in this container without success
   * (a flood of wrong secrets for one name) or too much hash work is waiting. Carries `status.error`, so
   * the owner's next attempt is decided afresh as soon as the flood stops.
   */
  | 'verify-throttled';

/** The short, non-secret text the apiserver logs for each refusal (`status.error`). */
export const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  'token-not-found': 'token not found',
  'name-unknown': 'token not found',
  'token-not-found-unfiltered': 'token not found',
  'token-disabled': 'token disabled',
  'token-revoked': 'token revoked',
  'user-not-found': 'user not found',
  'user-disabled': 'user disabled',
  'token-expired': 'token expired',
  'expiry-unparseable': 'token expiry unreadable',
  'hash-missing': 'token has no hash',
  'hash-unsupported': 'token hash format unsupported',
  'secret-mismatch': 'invalid token secret',
  'lookup-throttled': 'too many unknown tokens, try again later',
  'verify-throttled': 'too many attempts for this token, try again later',
};

/** Refusals answered without `status.error`: the apiserver caches them for its webhook cache TTL. */
export const SILENT_REFUSALS: ReadonlySet<RefusalReason> = new Set<RefusalReason>(['name-unknown']);

export interface AuthenticatedUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export type Decision =
  | { outcome: 'foreign'; foreign: ForeignToken }
  | { outcome: 'refused'; tokenName: string; userName?: string; reason: RefusalReason }
  | {
      outcome: 'accepted';
      tokenName: string;
      user: AuthenticatedUser;
      expiresAtMs?: number;
      /** The secret matched a slow source hash that has no verifier yet: the caller may store one. */
      verifierWanted?: true;
    };

export interface ReviewContext {
  now: Date;
  /** Keep groups starting with `system:` (off by default: a synced group must not grant system roles). */
  allowSystemGroups: boolean;
}

/**
 * Whether deciding this record would cost a slow hash verify: it passes every check before the secret,
 * its hash is scrypt or argon2id, and no verifier of that hash exists. The service budgets those.
 */
export function needsSlowVerify(record: TokenRecord | undefined, now: Date): boolean {
  if (!record || blockOf(record, now) || !record.hash) return false;
  return isSlowHash(record.hash) && applicableVerifier(record.hash, record.verifier) === undefined;
}

/**
 * Decides one Rancher-shaped token against the record its name found in the cluster (or none): kube-api-auth's
 * checks in its order, then the secret against the record's effective hash, compared in constant time.
 * Pure: the caller parsed the token (foreign tokens never get here) and looked the record up.
 */
export async function review(token: RancherToken, record: TokenRecord | undefined, context: ReviewContext): Promise<Decision> {
  const { name, secret } = token;
  if (!record) return { outcome: 'refused', tokenName: name, reason: 'token-not-found' };
  const block = blockOf(record, context.now);
  if (block) return { outcome: 'refused', tokenName: name, userName: record.userName, reason: block };
  const hash = record.hash as string;
  // A verifier of the current hash answers in microseconds, right or wrong secret alike.
  const verifier = applicableVerifier(hash, record.verifier);
  const check = await verifySecret(verifier ?? hash, secret);
  if (check !== 'match') {
    const reason = check === 'mismatch' ? 'secret-mismatch' : 'hash-unsupported';
    return { outcome: 'refused', tokenName: name, userName: record.userName, reason };
  }
  const expiry = expiryOf(record.expiresAt);
  return {
    outcome: 'accepted',
    tokenName: name,
    user: toUser(record.userName, record.user as TokenUser, context.allowSystemGroups),
    ...(typeof expiry === 'number' ? { expiresAtMs: expiry } : {}),
    ...(verifier === undefined && isSlowHash(hash) ? { verifierWanted: true as const } : {}),
  };
}

const EXTRA_KEYS = ['principalid', 'username'] as const;

function toUser(userName: string, user: TokenUser, allowSystemGroups: boolean): AuthenticatedUser {
  const groups = user.groups.filter((group) => allowSystemGroups || !group.startsWith('system:'));
  const extra: Record<string, string[]> = {};
  for (const key of EXTRA_KEYS) {
    const values = new Set<string>();
    for (const provider of Object.values(user.extraByProvider)) {
      for (const value of provider[key] ?? []) values.add(value);
    }
    if (values.size > 0) extra[key] = [...values];
  }
  return { username: userName, uid: userName, groups: [...new Set(groups)], extra };
}
