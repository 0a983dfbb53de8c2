import { expiryOf } from './expiry.ts';
import type { TokenRecord } from './records.ts';

/** What keeps an existing token from authenticating, before its secret is even looked at. */
export type TokenBlock =
  | 'token-disabled'
  | 'token-revoked'
  | 'user-not-found'
  | 'user-disabled'
  | 'expiry-unparseable'
  | 'token-expired'
  | 'hash-missing';

/**
 * The first check an existing token fails, in kube-api-auth's order (enabled → user exists → user
 * enabled → not expired → hash present; docs/reference.md, "Check order"), with tokengate's own
 * revocation right after "enabled"; undefined when only the secret is left to verify. The review and
 * `tokens list` both ask this, so they can never disagree on a token's state.
 */
export function blockOf(token: TokenRecord, now: Date): TokenBlock | undefined {
  if (!token.enabled) return 'token-disabled';
  if (token.revoked) return 'token-revoked';
  if (!token.user) return 'user-not-found';
  if (!token.user.enabled) return 'user-disabled';
  const expiry = expiryOf(token.expiresAt);
  if (expiry === 'unparseable') return 'expiry-unparseable';
  if (expiry !== undefined && expiry < now.getTime()) return 'token-expired';
  if (!token.hash) return 'hash-missing';
  return undefined;
}
