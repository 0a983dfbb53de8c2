/**
 * Rancher's objects in its management (local) cluster, as the domain sees them once the management
 * adapter (`adapters/kubernetes/management-objects.ts`) has validated them. Meanings and their places in
 * Rancher's source: docs/rancher.md ("What tokengate reads from Rancher's local cluster").
 *
 * No object here ever holds a token's plaintext: a v3 token stored unhashed (Rancher's `token-hashing`
 * feature off) is hashed at the adapter's boundary by `ingestV3Secret` (`core/rancher-hash.ts`), and only
 * the outcome — a `$3` hash, or why there is none — is kept.
 */

/** What became of a token's secret field. */
export type TokenSecret =
  | { kind: 'hash'; hash: string; /** true when tokengate hashed a plaintext `token` field itself. */ hashedOnIngest: boolean }
  /** Hashed by Rancher with `$1` (scrypt) or `$2` (SHA-256): Rancher's ACE never syncs these. */
  | { kind: 'legacy-hash'; version: '1' | '2' }
  /** Hashing is on but the `token-hashed` annotation is not set yet, or the field is empty/unreadable. */
  | { kind: 'not-ready'; why: string };

/** A `tokens.management.cattle.io` (v3) or an ext token (one Secret in `cattle-tokens`). */
export interface ManagementToken {
  /** The name a bearer presents: the v3 name, or the ext Secret's name (the bearer is `ext/<name>:…`). */
  name: string;
  origin: 'v3' | 'ext';
  userId: string;
  /** `clusterName` (v3) / `data.cluster` (ext); "" = unscoped. */
  clusterName: string;
  /** `authn.management.cattle.io/kind` label (v3) / `data.kind` (ext): "session" = a login token. */
  tokenKind: string;
  enabled: boolean;
  /** RFC 3339, "" = never: v3 copies the stored `expiresAt`; ext is computed from creationTimestamp + ttl. */
  expiresAt: string;
  secret: TokenSecret;
  /** RFC 3339 as Rancher holds it; "" = never used. */
  lastUsedAt: string;
}

/** A `users.management.cattle.io`: only whether it is enabled matters (`enabled` absent = true). */
export interface ManagementUser {
  name: string;
  enabled: boolean;
}

/** A `userattributes.management.cattle.io` (Rancher stores its fields with capitalised JSON keys). */
export interface ManagementUserAttribute {
  name: string;
  /** Every `GroupPrincipals[*].Items[*].metadata.name`, sorted, as Rancher's CUA controller computes them. */
  groups: string[];
  extraByProvider: Record<string, Record<string, string[]>>;
  lastRefresh: string;
  needsRefresh: boolean;
}

/** A `clusters.management.cattle.io`: its id and whether its Authorized Cluster Endpoint is on. */
export interface ManagementCluster {
  name: string;
  aceEnabled: boolean;
}

/** One consistent picture of everything the management source reads, as of the stored resourceVersions. */
export interface ManagementSnapshot {
  tokens: ManagementToken[];
  users: ManagementUser[];
  userAttributes: ManagementUserAttribute[];
  clusters: ManagementCluster[];
}
