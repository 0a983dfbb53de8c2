import { z } from 'zod';

/**
 * The single-table layout. Every cluster-scoped row lives under `pk = C#<clusterId>`, so a token synced
 * from cluster A is simply not addressable from cluster B's endpoint (no cross-cluster replay), and
 * removing a cluster is one Query. The cluster registry lives in one partition (`pk = CLUSTERS`), read
 * rarely (the caller check is cached) and listed by `clusters list`.
 *
 * A token row carries everything a review needs — its user's attribute copied in and the effective hash
 * resolved from the token or its Secret — so an uncached review is exactly one GetItem.
 */
export const REGISTRY_PK = 'CLUSTERS';

export const keys = {
  cluster: (clusterId: string) => ({ pk: REGISTRY_PK as typeof REGISTRY_PK, sk: clusterId }),
  partition: (clusterId: string) => `C#${clusterId}`,
  token: (clusterId: string, name: string) => ({ pk: `C#${clusterId}`, sk: `TOKEN#${name}` }),
  user: (clusterId: string, userId: string) => ({ pk: `C#${clusterId}`, sk: `USER#${userId}` }),
  secret: (clusterId: string, name: string) => ({ pk: `C#${clusterId}`, sk: `SECRET#${name}` }),
  /** lastUsedAt lives in its own row so that sync can rewrite token rows without losing usage. */
  used: (clusterId: string, name: string) => ({ pk: `C#${clusterId}`, sk: `USED#${name}` }),
} as const;

export const SK_PREFIX = { token: 'TOKEN#', user: 'USER#', secret: 'SECRET#', used: 'USED#' } as const;

/** Lower-case DNS label, like Rancher's `c-xxxxx`, `c-m-xxxxxxxx` and `local`. */
export const clusterIdSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'cluster id must be a lower-case DNS label of at most 63 characters');

const extraByProviderSchema = z.record(z.string(), z.record(z.string(), z.array(z.string())));
export type ExtraByProvider = z.infer<typeof extraByProviderSchema>;

/** The user attribute as copied onto each of its tokens. */
export const tokenUserSchema = z.object({
  enabled: z.boolean(),
  groups: z.array(z.string()).default([]),
  extraByProvider: extraByProviderSchema.default({}),
});
export type TokenUser = z.infer<typeof tokenUserSchema>;

export const tokenRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  kind: z.literal('token'),
  clusterId: z.string(),
  name: z.string(),
  /** `rancher` rows mirror a ClusterAuthToken; `native` rows are tokens tokengate issued itself. */
  origin: z.enum(['rancher', 'native']),
  userName: z.string(),
  enabled: z.boolean(),
  /** Set by `tokengate tokens revoke`; survives sync, which never clears it. */
  revoked: z.boolean().optional(),
  /** Exactly as the object carries it: empty means never; kept raw so an unparseable one refuses. */
  expiresAt: z.string().optional(),
  /** The effective hash: the token's own `hash` if non-empty, else its Secret's `data.hash`. */
  hash: z.string().optional(),
  /** Absent when the user's ClusterUserAttribute does not exist. */
  user: tokenUserSchema.optional(),
  /** Fingerprint of the source objects this row was derived from: an unchanged source costs no write. */
  sourceDigest: z.string().optional(),
  /** Bumped on every write; writes to an existing row are conditional on it. */
  rev: z.number().int().nonnegative().default(0),
  ttl: z.number().int().optional(),
});
export type TokenRow = z.infer<typeof tokenRowSchema>;

export const userRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  kind: z.literal('user'),
  clusterId: z.string(),
  userId: z.string(),
  enabled: z.boolean(),
  groups: z.array(z.string()).default([]),
  extraByProvider: extraByProviderSchema.default({}),
  lastRefresh: z.string().optional(),
  needsRefresh: z.boolean().optional(),
  sourceDigest: z.string().optional(),
  rev: z.number().int().nonnegative().default(0),
});
export type UserRow = z.infer<typeof userRowSchema>;

export const secretRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  kind: z.literal('secret'),
  clusterId: z.string(),
  name: z.string(),
  hash: z.string(),
  sourceDigest: z.string().optional(),
  rev: z.number().int().nonnegative().default(0),
});
export type SecretRow = z.infer<typeof secretRowSchema>;

export const usedRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  kind: z.literal('used'),
  lastUsedAt: z.string(),
});
export type UsedRow = z.infer<typeof usedRowSchema>;

/** One webhook caller credential of a cluster; several exist during a rotation's grace period. */
export const callerCredentialSchema = z.object({
  id: z.string(),
  /** argon2id PHC string of the credential's secret part. */
  hash: z.string(),
  createdAt: z.string(),
  /** Set on the old credential when it is rotated out; it stops working after this instant. */
  notAfter: z.string().optional(),
});
export type CallerCredential = z.infer<typeof callerCredentialSchema>;

/**
 * Where sync finds a cluster's kubeconfig. Never the kubeconfig itself: in AWS it is a Secrets Manager
 * secret (the sync role can read only tokengate's), locally a file the operator keeps.
 */
export const clusterAccessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('secretsmanager'), secretId: z.string().min(1), context: z.string().min(1).optional() }),
  z.object({ kind: z.literal('file'), path: z.string().min(1), context: z.string().min(1).optional() }),
]);
export type ClusterAccess = z.infer<typeof clusterAccessSchema>;

/** What the last sync of a cluster did, as `clusters list` shows it. */
export const lastSyncSchema = z.object({
  at: z.string(),
  outcome: z.enum(['ok', 'failed']),
  objects: z.number().int().nonnegative(),
  writes: z.number().int().nonnegative(),
  deletes: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  /** Safe to show: names the cause, never a token, secret, hash or kubeconfig. */
  error: z.string().optional(),
  /** Objects that failed validation (their rows were kept as they were). */
  rejected: z.number().int().nonnegative().optional(),
});
export type LastSync = z.infer<typeof lastSyncSchema>;

/** A sync run's claim on a cluster: one writer per cluster at a time; it lapses on its own. */
export const syncLeaseSchema = z.object({
  owner: z.string(),
  expiresAtMs: z.number().int(),
});
export type SyncLease = z.infer<typeof syncLeaseSchema>;

export const clusterRowSchema = z.looseObject({
  pk: z.literal(REGISTRY_PK),
  sk: z.string(),
  kind: z.literal('cluster'),
  clusterId: z.string(),
  createdAt: z.string(),
  credentials: z.array(callerCredentialSchema),
  rev: z.number().int().nonnegative().default(0),
  /** Absent until `clusters add --kubeconfig` (or a later registration of it): sync then fails the cluster. */
  access: clusterAccessSchema.optional(),
  lastSync: lastSyncSchema.optional(),
  /** When the cluster last synced successfully: the age metric and its alarm are measured from it. */
  lastSuccessfulSyncAt: z.string().optional(),
  syncLease: syncLeaseSchema.optional(),
});
export type ClusterRow = z.infer<typeof clusterRowSchema>;

/** The registry row of a newly registered cluster: one caller credential, optionally where its kubeconfig is. */
export function newClusterRow(clusterId: string, credential: CallerCredential, now: Date, access?: ClusterAccess): ClusterRow {
  return {
    ...keys.cluster(clusterId),
    kind: 'cluster',
    clusterId,
    createdAt: now.toISOString(),
    credentials: [credential],
    rev: 0,
    ...(access ? { access } : {}),
  };
}
