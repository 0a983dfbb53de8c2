import { verifySecret } from './hash.ts';
import type { TokenStore } from './ports/token-store.ts';
import type { TokenRow, TokenUser } from '../adapters/dynamodb/table.ts';
import { parseToken, type ForeignToken } from './token-string.ts';

/** Why a Rancher-shaped token was refused, in kube-api-auth's check order (SPEC §3). */
export type RefusalReason =
  | 'token-not-found'
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
   * Not a verdict on the token: this container's budget of store reads for token names it does not know
   * was spent (a flood of unknown names). Carries `status.error`, so the apiserver neither caches nor
   * retries it, and the same token is looked up again on its next use.
   */
  | 'lookup-throttled';

/** The short, non-secret text the apiserver logs for each refusal (`status.error`). */
export const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  'token-not-found': 'token not found',
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
};

export interface AuthenticatedUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export type Decision =
  | { outcome: 'foreign'; foreign: ForeignToken }
  | { outcome: 'refused'; tokenName: string; userName?: string; reason: RefusalReason }
  | { outcome: 'accepted'; tokenName: string; user: AuthenticatedUser; expiresAtMs?: number };

export interface ReviewRequest {
  clusterId: string;
  token: string;
}

export interface ReviewDeps {
  store: Pick<TokenStore, 'getToken'>;
  now: () => Date;
  /** Keep groups starting with `system:` (off by default: a synced group must not grant system roles). */
  allowSystemGroups: boolean;
}

/**
 * Decides one TokenReview for one cluster. Foreign tokens are refused without touching the store or any
 * hash; Rancher-shaped tokens go through kube-api-auth's checks in its order, then the secret is verified
 * against the row's effective hash in constant time.
 */
export async function review(request: ReviewRequest, deps: ReviewDeps): Promise<Decision> {
  const parsed = parseToken(request.token);
  if ('foreign' in parsed) return { outcome: 'foreign', foreign: parsed.foreign };
  const { name, secret } = parsed.rancher;

  const row = await deps.store.getToken(request.clusterId, name);
  const refusal = checkRow(row, deps.now());
  if (refusal) return { outcome: 'refused', tokenName: name, userName: row?.userName, reason: refusal };
  const token = row as TokenRow & { user: TokenUser; hash: string };

  const check = await verifySecret(token.hash, secret);
  if (check !== 'match') {
    const reason = check === 'mismatch' ? 'secret-mismatch' : 'hash-unsupported';
    return { outcome: 'refused', tokenName: name, userName: token.userName, reason };
  }
  const expiry = expiryOf(token.expiresAt);
  return {
    outcome: 'accepted',
    tokenName: name,
    user: toUser(token, deps.allowSystemGroups),
    ...(typeof expiry === 'number' ? { expiresAtMs: expiry } : {}),
  };
}

function checkRow(row: TokenRow | undefined, now: Date): RefusalReason | undefined {
  if (!row) return 'token-not-found';
  if (!row.enabled) return 'token-disabled';
  if (row.revoked) return 'token-revoked';
  if (!row.user) return 'user-not-found';
  if (!row.user.enabled) return 'user-disabled';
  const expiry = expiryOf(row.expiresAt);
  if (expiry === 'unparseable') return 'expiry-unparseable';
  if (expiry !== undefined && expiry < now.getTime()) return 'token-expired';
  if (!row.hash) return 'hash-missing';
  return undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, undefined for "never expires" (empty), or 'unparseable'. */
export function expiryOf(expiresAt: string | undefined): number | undefined | 'unparseable' {
  if (expiresAt === undefined || expiresAt === '') return undefined;
  if (!RFC3339.test(expiresAt)) return 'unparseable';
  const millis = Date.parse(expiresAt);
  return Number.isNaN(millis) ? 'unparseable' : millis;
}

const EXTRA_KEYS = ['principalid', 'username'] as const;

function toUser(token: TokenRow & { user: TokenUser }, allowSystemGroups: boolean): AuthenticatedUser {
  const groups = token.user.groups.filter((group) => allowSystemGroups || !group.startsWith('system:'));
  const extra: Record<string, string[]> = {};
  for (const key of EXTRA_KEYS) {
    const values = new Set<string>();
    for (const provider of Object.values(token.user.extraByProvider)) {
      for (const value of provider[key] ?? []) values.add(value);
    }
    if (values.size > 0) extra[key] = [...values];
  }
  return { username: token.userName, uid: token.userName, groups: [...new Set(groups)], extra };
}
