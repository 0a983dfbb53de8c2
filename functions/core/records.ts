/**
 * The domain's records: what tokengate knows about one cluster's tokens, users and caller credentials,
 * independent of how a store keeps them. Storage keys, row shapes and the store's own bookkeeping
 * (partition and sort keys, the expiry attribute) belong to the adapter (`adapters/dynamodb/`). The one
 * piece of bookkeeping the domain sees is a record's `version`, which the store bumps on every write
 * and which conditional writes compare against (see {@link Versioned}).
 */
// zod/mini: on the authenticate path (see adapters/dynamodb/rows.ts).
import * as z from 'zod/mini';

/** Lower-case DNS label, like Rancher's `c-xxxxx`, `c-m-xxxxxxxx` and `local`. */
export const clusterIdSchema = z
  .string()
  .check(z.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'cluster id must be a lower-case DNS label of at most 63 characters'));

/** Rancher's `extraByProvider`: provider → key → values. */
export type ExtraByProvider = Record<string, Record<string, string[]>>;

/** A user attribute as copied onto each of its tokens, so a review needs one read. */
export interface TokenUser {
  enabled: boolean;
  groups: string[];
  extraByProvider: ExtraByProvider;
}

/**
 * A token of one cluster. `rancher` tokens mirror a ClusterAuthToken (with its user's attribute and
 * its effective hash resolved); `native` tokens are tokens tokengate issued itself.
 */
export interface TokenRecord {
  kind: 'token';
  clusterId: string;
  name: string;
  origin: 'rancher' | 'native';
  userName: string;
  enabled: boolean;
  /** Set by `tokengate tokens revoke`; sync keeps it. */
  revoked?: boolean;
  revokedAt?: string;
  /** Exactly as the object carries it: empty or absent means never; kept raw so an unparseable one refuses. */
  expiresAt?: string;
  /** The effective hash: the token's own `hash` if non-empty, else its Secret's `data.hash`. */
  hash?: string;
  /** Absent when the user's ClusterUserAttribute does not exist. */
  user?: TokenUser;
  /** When a native token was issued. */
  createdAt?: string;
  /** Fingerprint of the source objects a mirrored record was derived from: an unchanged source costs no write. */
  sourceDigest?: string;
  /**
   * Written by the authenticate path after the secret first matched a slow `hash`: a fast `$3` verifier
   * of the same secret, tied to that hash by `source` (a digest of it). Applies only while `hash` is
   * unchanged; writers that replace the row may drop it.
   */
  verifier?: { source: string; hash: string };
}

/** A ClusterUserAttribute of one cluster (its `userId` is the Rancher user id, the object's name). */
export interface UserRecord {
  kind: 'user';
  clusterId: string;
  userId: string;
  enabled: boolean;
  groups: string[];
  extraByProvider: ExtraByProvider;
  lastRefresh?: string;
  needsRefresh?: boolean;
  sourceDigest?: string;
}

/** A token's hash Secret of one cluster, `data.hash` decoded. */
export interface SecretRecord {
  kind: 'secret';
  clusterId: string;
  name: string;
  hash: string;
  sourceDigest?: string;
}

/** When a token was last used, as the authenticate path records it (apart from the token, which sync rewrites). */
export interface UsageRecord {
  kind: 'usage';
  clusterId: string;
  name: string;
  lastUsedAt: string;
}

/**
 * An operator's revocation of one token instance (`tokengate tokens revoke`): bound to the token's name
 * and a fingerprint of its hash, and kept apart from the token, so it outlives the token's record leaving
 * and coming back (a prune, a Rancher backup restore) but not a regenerated token that reuses the name.
 */
export interface RevocationRecord {
  kind: 'revocation';
  clusterId: string;
  name: string;
  /** `hashFingerprint` of the hash the token had when it was revoked. */
  hashFingerprint: string;
  revokedAt: string;
  /** Whose token it was and where it came from, so `tokens list` can name a revocation whose token row is gone (absent on records written before). */
  userName?: string;
  origin?: TokenRecord['origin'];
}

/** The records the mirror derives from Rancher's objects and writes. */
export type MirroredRecord = TokenRecord | UserRecord | SecretRecord;

/** Names one record of a cluster, whatever its kind (a user is named by its user id). */
export interface RecordRef {
  kind: 'token' | 'user' | 'secret' | 'usage' | 'revocation';
  clusterId: string;
  name: string;
}

/** The reference of a record. */
export function refOf(record: MirroredRecord | UsageRecord | RevocationRecord): RecordRef {
  return { kind: record.kind, clusterId: record.clusterId, name: record.kind === 'user' ? record.userId : record.name };
}

/**
 * A record as read from the store, with the version the store gave it. Every write bumps it, and
 * writes to an existing record are conditional on it, so a concurrent change (a revoke, another sync)
 * is never overwritten with a stale copy.
 */
export type Versioned<T> = T & { readonly version: number };

/** Every record of one cluster, as read at the start of a sync or an import. */
export interface ClusterState {
  tokens: Versioned<TokenRecord>[];
  users: Versioned<UserRecord>[];
  secrets: Versioned<SecretRecord>[];
  usage: UsageRecord[];
  /** Durable revocations (absent: none). */
  revocations?: RevocationRecord[];
}

/** One webhook caller credential of a cluster; several exist during a rotation's grace period. */
export interface CallerCredential {
  id: string;
  /** The stored hash of the credential's secret part: `$tgc-sha256$…`, or an argon2id PHC string for older credentials. */
  hash: string;
  createdAt: string;
  /** Set on the old credential when it is rotated out; it stops working at this instant. */
  notAfter?: string;
}

/**
 * Where sync finds a cluster's kubeconfig. Never the kubeconfig itself: in AWS it is a Secrets Manager
 * secret (the sync role can read only tokengate's), locally a file the operator keeps.
 */
export type ClusterAccess =
  | { kind: 'secretsmanager'; secretId: string; context?: string }
  | { kind: 'file'; path: string; context?: string };

/** What the last sync of a cluster did, as `clusters list` shows it. */
export interface LastSync {
  at: string;
  outcome: 'ok' | 'failed';
  objects: number;
  writes: number;
  deletes: number;
  durationMs: number;
  /** Safe to show: names the cause, never a token, secret, hash or kubeconfig. */
  error?: string;
  /** Objects that failed validation (their records were kept as they were). */
  rejected?: number;
  /** Tokens of the cluster that were not mirrored (e.g. `$1`-hashed, user missing), each with its reason in the log. */
  skipped?: number;
  /** How many warnings the run gave (things the operator should fix that did not fail it, e.g. ACE on for a `rancher` cluster). */
  warnings?: number;
  /** The first of them, at most `LAST_SYNC_WARNING_MAX` characters; like `error`, never a token, secret, hash or kubeconfig. */
  firstWarning?: string;
}

/** The longest `LastSync.firstWarning` kept on a cluster's record (the registry row is also what the review path's caller check reads). */
export const LAST_SYNC_WARNING_MAX = 512;

/** Where a cluster's tokens are read from. */
export type ClusterSourceKind = 'downstream' | 'rancher';

/** The source of a cluster record, absent = `downstream`. */
export function sourceOf(cluster: Pick<ClusterRecord, 'source'>): ClusterSourceKind {
  return cluster.source ?? 'downstream';
}

/**
 * How tokengate reaches Rancher's management (local) cluster: one per deployment (`tokengate rancher set`).
 * Like a cluster's, the kubeconfig itself is never in the table, only where it is.
 */
export interface RancherSourceRecord {
  kind: 'rancher-source';
  access: ClusterAccess;
  /** Write `lastUsedAt` back to Rancher's tokens (needs the optional write-back RBAC). */
  writeBack: boolean;
  updatedAt: string;
}

/**
 * What the last complete, clean apply of a cluster was derived from (`core/mirror/fingerprint.ts`): a later
 * run whose listing gives the same digest at the same mirror epoch skips reading the cluster's rows.
 */
export interface MirrorFingerprint {
  digest: string;
  /** The cluster's `mirrorEpoch` when the run started: a write outside sync since then voids the fingerprint. */
  epoch: number;
  /** When the apply it records started; past the configured age a full reconcile runs anyway. */
  at: string;
}

/** A sync run's claim on a cluster: one writer per cluster at a time; it lapses on its own. */
export interface SyncLease {
  owner: string;
  expiresAtMs: number;
}

/** A registered cluster: its caller credentials, where its kubeconfig is, and how its syncs went. */
export interface ClusterRecord {
  kind: 'cluster';
  clusterId: string;
  createdAt: string;
  credentials: CallerCredential[];
  /**
   * Where its tokens come from (docs/rancher.md, "Supported setups"): `downstream` (absent = this, the
   * default for clusters registered before sources existed) reads Rancher's copies in the cluster's own
   * cattle-system; `rancher` derives them from Rancher's management cluster (`tokengate rancher set`).
   */
  source?: ClusterSourceKind;
  /** `rancher` source only: also accept unscoped non-session tokens (docs/rancher.md, "Unscoped tokens"). Off by default. */
  acceptUnscopedTokens?: boolean;
  /** Absent until `clusters add --kubeconfig` (or a later registration of it): sync then fails a downstream cluster. */
  access?: ClusterAccess;
  lastSync?: LastSync;
  /** When the cluster last synced successfully: the age metric and its alarm are measured from it. */
  lastSuccessfulSyncAt?: string;
  syncLease?: SyncLease;
  /** Recorded by a run whose apply was complete and clean; removed by a run that was not. */
  mirrorFingerprint?: MirrorFingerprint;
  /**
   * Bumped by every write to the cluster's rows made outside sync (import, revoke, unrevoke), after the
   * write: a fingerprint recorded at an older epoch no longer lets a run skip.
   */
  mirrorEpoch?: number;
}

/** A newly registered cluster: one caller credential, optionally where its kubeconfig is. */
export function newCluster(clusterId: string, credential: CallerCredential, now: Date, access?: ClusterAccess): ClusterRecord {
  return { kind: 'cluster', clusterId, createdAt: now.toISOString(), credentials: [credential], ...(access ? { access } : {}) };
}
