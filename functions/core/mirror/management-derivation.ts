import type { ManagementSnapshot, ManagementToken } from '../management-objects.ts';
import type { MirrorSources, TokenSource, UserSource } from './derive.ts';

/**
 * Rancher's own ACE derivation, done by tokengate: from the management cluster's v3 tokens, ext tokens,
 * users and user attributes to the ClusterAuthToken/ClusterUserAttribute shapes Rancher would have written
 * into one downstream cluster (docs/rancher.md, "Derivation"), so `deriveRecords` and `planMirror` work on
 * them unchanged. Pure.
 */

/** Per-cluster policy of the management source (off by default). */
export interface ManagementPolicy {
  /**
   * Also accept the user's unscoped (`clusterName` "") tokens that are not login (`session`) tokens, as
   * Rancher's own proxy does. ACE never does: see docs/rancher.md, "Unscoped tokens".
   */
  acceptUnscopedTokens: boolean;
}

/** A token of the cluster that was not mirrored, and why (safe to show: no secret, no hash). */
export interface SkippedToken {
  name: string;
  reason: string;
}

export interface ManagementDerivation {
  sources: MirrorSources;
  skipped: SkippedToken[];
}

/** Whether a token belongs to cluster `clusterId` under `policy`. */
export function tokenIsForCluster(token: ManagementToken, clusterId: string, policy: ManagementPolicy): boolean {
  if (token.clusterName === clusterId) return true;
  return policy.acceptUnscopedTokens && token.clusterName === '' && token.tokenKind !== 'session';
}

/**
 * The mirror sources of one cluster: its scoped tokens (and, under the policy, unscoped non-session ones)
 * with username = `userId`, the token's own enabled and expiry, and its `$3` hash; one user source per
 * referenced user with enabled = `User.enabled` and groups/extras from its UserAttribute. A token without a
 * user id, a User or a UserAttribute, or without a usable `$3` hash is skipped with its reason, as Rancher
 * creates no ClusterAuthToken for it. When a v3 and an ext token share a name, the v3 one wins (the
 * downstream ClusterAuthToken is named after the bare name in both cases).
 */
export function deriveClusterSources(clusterId: string, snapshot: ManagementSnapshot, policy: ManagementPolicy): ManagementDerivation {
  const users = new Map(snapshot.users.map((user) => [user.name, user]));
  const attributes = new Map(snapshot.userAttributes.map((attribute) => [attribute.name, attribute]));
  const tokens: TokenSource[] = [];
  const skipped: SkippedToken[] = [];
  const taken = new Map<string, ManagementToken['origin']>();
  const referenced = new Set<string>();

  const candidates = snapshot.tokens
    .filter((token) => tokenIsForCluster(token, clusterId, policy))
    .sort((a, b) => (a.origin === b.origin ? 0 : a.origin === 'v3' ? -1 : 1));
  for (const token of candidates) {
    const label = token.origin === 'ext' ? `ext/${token.name}` : token.name;
    const skip = (reason: string) => skipped.push({ name: label, reason });
    if (taken.has(token.name)) {
      skip(`a ${taken.get(token.name)} token has the same name`);
      continue;
    }
    if (token.userId === '') {
      skip('the token has no user id');
      continue;
    }
    if (!users.has(token.userId)) {
      skip(`user ${token.userId} does not exist in Rancher`);
      continue;
    }
    if (!attributes.has(token.userId)) {
      skip(`user ${token.userId} has no UserAttribute in Rancher`);
      continue;
    }
    const { secret } = token;
    if (secret.kind === 'legacy-hash') {
      skip(`hashed with $${secret.version} (${secret.version === '1' ? 'scrypt' : 'SHA-256'}): Rancher's ACE does not sync such tokens; create a new one`);
      continue;
    }
    if (secret.kind === 'not-ready') {
      skip(secret.why);
      continue;
    }
    taken.set(token.name, token.origin);
    referenced.add(token.userId);
    tokens.push({ name: token.name, userName: token.userId, enabled: token.enabled, expiresAt: token.expiresAt, hash: secret.hash });
  }

  const userSources: UserSource[] = [...referenced].sort().map((userId) => {
    const attribute = attributes.get(userId);
    return {
      name: userId,
      groups: attribute?.groups ?? [],
      enabled: users.get(userId)?.enabled ?? true,
      extraByProvider: attribute?.extraByProvider ?? {},
      lastRefresh: attribute?.lastRefresh ?? '',
      needsRefresh: attribute?.needsRefresh ?? false,
    };
  });
  return { sources: { tokens, users: userSources, secrets: [] }, skipped };
}

/**
 * An ext token's expiry as Rancher computes it on read: creationTimestamp + `ttl` milliseconds, RFC 3339;
 * "" (never) when `ttl` is negative. An unreadable creationTimestamp or ttl gives a value that does not parse,
 * so the review refuses the token rather than treating it as never expiring.
 */
export function extTokenExpiresAt(creationTimestamp: string, ttl: string): string {
  const ttlMs = Number(ttl);
  if (ttl.trim() === '' || !Number.isInteger(ttlMs)) return 'unreadable';
  if (ttlMs < 0) return '';
  const created = Date.parse(creationTimestamp);
  if (Number.isNaN(created)) return 'unreadable';
  return new Date(created + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Every GroupPrincipals[*].Items[*].metadata.name, sorted like Go's sort.Strings (byte order). */
export function groupsOfPrincipals(groupPrincipals: Record<string, { Items: { name: string }[] }>): string[] {
  const names: string[] = [];
  for (const provider of Object.values(groupPrincipals)) for (const item of provider.Items) names.push(item.name);
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
