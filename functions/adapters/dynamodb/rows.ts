/**
 * The single-table layout (docs/reference.md, "Table layout") and the mapping between the domain's
 * records and the table's rows. Only this adapter knows keys, row kinds and bookkeeping attributes.
 *
 * Every cluster-scoped row lives under `pk = C#<clusterId>`, so a token synced from cluster A is simply
 * not addressable from cluster B's endpoint (no cross-cluster replay), and removing a cluster is one
 * Query. The cluster registry lives in one partition (`pk = CLUSTERS`). A token row carries everything
 * a review needs (its user's attribute, its effective hash), so an uncached review is one GetItem.
 * Every row carries `rev`, bumped on each write (the records' `version`), and a token row with a
 * parseable expiry carries `ttl`, so DynamoDB removes it a day after it expires.
 *
 * The flood report lives in partitions of its own (`pk = F#<clusterId>`, one row per window and writing
 * container), so that a sync's read of a cluster partition never carries them, and so that the authenticate
 * role's right to write `ttl` is confined to them (infra/iam.yml).
 */
// zod/mini: this file is on the authenticate path, where the full zod costs ~80 KiB of bundle and its evaluation.
import * as z from 'zod/mini';
import { expiryOf } from '../../core/expiry.ts';
import { MalformedRecordError } from '../../core/errors.ts';
import type { FloodWindow } from '../../core/foreign-summary.ts';
import type { NameFilter } from '../../core/name-filter.ts';
import {
  refOf,
  type ClusterRecord,
  type MirroredRecord,
  type RancherSourceRecord,
  type RecordRef,
  type RevocationRecord,
  type SecretRecord,
  type TokenRecord,
  type UsageRecord,
  type UserRecord,
  type Versioned,
} from '../../core/records.ts';

export const REGISTRY_PK = 'CLUSTERS';
/**
 * The management source's partition: its registration (`SOURCE`), and the state between sync runs — a head
 * (`STATE`: resourceVersions, the generation and chunk count of the snapshot) and the gzip'd JSON snapshot in
 * chunks (`STATE#<generation>#<index>`), as one item may hold at most 400 KB (docs/rancher.md, "Load on Rancher").
 */
export const RANCHER_PK = 'RANCHER';
export const rancherSourceKey: TableKey = { pk: RANCHER_PK, sk: 'SOURCE' };
export const managementStateHeadKey: TableKey = { pk: RANCHER_PK, sk: 'STATE' };
export function managementStateChunkKey(generation: string, index: number): TableKey {
  return { pk: RANCHER_PK, sk: `STATE#${generation}#${String(index).padStart(4, '0')}` };
}
/** The TTL attribute (infra/table.yml enables it). */
export const TTL_ATTRIBUTE = 'ttl';
const DAY_SECONDS = 24 * 60 * 60;

export type TableKey = { pk: string; sk: string };
export type TableItem = TableKey & Record<string, unknown>;

const SK_PREFIX = { token: 'TOKEN#', user: 'USER#', secret: 'SECRET#', usage: 'USED#', revocation: 'REVOKED#' } as const;

/** The partition of a cluster's rows. */
export function partitionOf(clusterId: string): string {
  return `C#${clusterId}`;
}

/** The key of a cluster's registry row. */
export function clusterKey(clusterId: string): TableKey {
  return { pk: REGISTRY_PK, sk: clusterId };
}

/** The key of any cluster-scoped record. Usage lives in its own row so that sync can rewrite token rows without losing it. */
export function keyOf(ref: RecordRef): TableKey {
  return { pk: partitionOf(ref.clusterId), sk: `${SK_PREFIX[ref.kind]}${ref.name}` };
}

/** The kind and name a sort key of a cluster partition names, or undefined for a row of no known kind. */
export function parseSortKey(sk: string): { kind: RecordRef['kind']; name: string } | undefined {
  for (const [kind, prefix] of Object.entries(SK_PREFIX) as [RecordRef['kind'], string][]) {
    if (sk.startsWith(prefix)) return { kind, name: sk.slice(prefix.length) };
  }
  return undefined;
}

const extraByProviderSchema = z.record(z.string(), z.record(z.string(), z.array(z.string())));
const bookkeeping = { pk: z.string(), sk: z.string(), rev: z._default(z.int().check(z.nonnegative()), 0) };

const tokenRowSchema = z.looseObject({
  ...bookkeeping,
  kind: z.literal('token'),
  clusterId: z.string(),
  name: z.string(),
  origin: z.enum(['rancher', 'native']),
  userName: z.string(),
  enabled: z.boolean(),
  revoked: z.optional(z.boolean()),
  revokedAt: z.optional(z.string()),
  expiresAt: z.optional(z.string()),
  hash: z.optional(z.string()),
  user: z.optional(z.object({ enabled: z.boolean(), groups: z._default(z.array(z.string()), []), extraByProvider: z._default(extraByProviderSchema, {}) })),
  createdAt: z.optional(z.string()),
  sourceDigest: z.optional(z.string()),
  verifier: z.optional(z.object({ source: z.string(), hash: z.string() })),
  ttl: z.optional(z.int()),
});

const userRowSchema = z.looseObject({
  ...bookkeeping,
  kind: z.literal('user'),
  clusterId: z.string(),
  userId: z.string(),
  enabled: z.boolean(),
  groups: z._default(z.array(z.string()), []),
  extraByProvider: z._default(extraByProviderSchema, {}),
  lastRefresh: z.optional(z.string()),
  needsRefresh: z.optional(z.boolean()),
  sourceDigest: z.optional(z.string()),
});

const secretRowSchema = z.looseObject({
  ...bookkeeping,
  kind: z.literal('secret'),
  clusterId: z.string(),
  name: z.string(),
  hash: z.string(),
  sourceDigest: z.optional(z.string()),
});

const revocationRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  kind: z.literal('revocation'),
  clusterId: z.string(),
  name: z.string(),
  hashFingerprint: z.string(),
  revokedAt: z.string(),
  userName: z.optional(z.string()),
  origin: z.optional(z.enum(['rancher', 'native'])),
});

// A usage row is known by its `USED#` sort key. `kind: 'used'` is only on rows written before the
// authenticate role lost the right to write `kind` (infra/iam.yml), so it is optional.
const usedRowSchema = z.looseObject({ pk: z.string(), sk: z.string(), kind: z.optional(z.literal('used')), lastUsedAt: z.string() });

const callerCredentialSchema = z.object({
  id: z.string(),
  hash: z.string(),
  createdAt: z.string(),
  notAfter: z.optional(z.string()),
});

const clusterAccessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('secretsmanager'), secretId: z.string().check(z.minLength(1)), context: z.optional(z.string().check(z.minLength(1))) }),
  z.object({ kind: z.literal('file'), path: z.string().check(z.minLength(1)), context: z.optional(z.string().check(z.minLength(1))) }),
]);

const clusterRowSchema = z.looseObject({
  pk: z.literal(REGISTRY_PK),
  sk: z.string(),
  rev: z._default(z.int().check(z.nonnegative()), 0),
  kind: z.literal('cluster'),
  clusterId: z.string(),
  createdAt: z.string(),
  credentials: z.array(callerCredentialSchema),
  source: z.optional(z.enum(['downstream', 'rancher'])),
  acceptUnscopedTokens: z.optional(z.boolean()),
  access: z.optional(clusterAccessSchema),
  lastSync: z.optional(
    z.object({
      at: z.string(),
      outcome: z.enum(['ok', 'failed']),
      objects: z.int().check(z.nonnegative()),
      writes: z.int().check(z.nonnegative()),
      deletes: z.int().check(z.nonnegative()),
      durationMs: z.number().check(z.nonnegative()),
      error: z.optional(z.string()),
      rejected: z.optional(z.int().check(z.nonnegative())),
      skipped: z.optional(z.int().check(z.nonnegative())),
      warnings: z.optional(z.int().check(z.nonnegative())),
      firstWarning: z.optional(z.string()),
    }),
  ),
  lastSuccessfulSyncAt: z.optional(z.string()),
  syncLease: z.optional(z.object({ owner: z.string(), expiresAtMs: z.int() })),
  mirrorFingerprint: z.optional(z.object({ digest: z.string(), epoch: z.int().check(z.nonnegative()), at: z.string() })),
  mirrorEpoch: z.optional(z.int().check(z.nonnegative())),
});

/** Validates a row read from the table; a row that does not match is a defect of whoever wrote it. */
function parseRow<S extends z.ZodMiniType>(schema: S, item: Record<string, unknown>): z.infer<S> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new MalformedRecordError(`row ${String(item.pk)}/${String(item.sk)} is malformed: ${problems}`);
}

/** Drops the storage attributes of a parsed row: what is left is the record (and its version). */
function recordOf<T>(row: Record<string, unknown>): Versioned<T> {
  const { pk: _pk, sk: _sk, rev, ttl: _ttl, ...record } = row;
  return { ...(record as T), version: (rev as number | undefined) ?? 0 };
}

export function tokenFromItem(item: Record<string, unknown>): Versioned<TokenRecord> {
  return recordOf<TokenRecord>(parseRow(tokenRowSchema, item));
}

export function userFromItem(item: Record<string, unknown>): Versioned<UserRecord> {
  return recordOf<UserRecord>(parseRow(userRowSchema, item));
}

export function secretFromItem(item: Record<string, unknown>): Versioned<SecretRecord> {
  return recordOf<SecretRecord>(parseRow(secretRowSchema, item));
}

export function usageFromItem(item: Record<string, unknown>): UsageRecord {
  const row = parseRow(usedRowSchema, item);
  const clusterId = row.pk.slice(partitionOf('').length);
  return { kind: 'usage', clusterId, name: parseSortKey(row.sk)?.name ?? '', lastUsedAt: row.lastUsedAt };
}

export function revocationFromItem(item: Record<string, unknown>): RevocationRecord {
  const { pk: _pk, sk: _sk, ...record } = parseRow(revocationRowSchema, item);
  return record as RevocationRecord;
}

/** The row of a revocation (no `rev`: it is only ever put whole or deleted). */
export function revocationItemOf(record: RevocationRecord): TableItem {
  return { ...keyOf(refOf(record)), ...record };
}

export function clusterFromItem(item: Record<string, unknown>): Versioned<ClusterRecord> {
  return recordOf<ClusterRecord>(parseRow(clusterRowSchema, item));
}

const rancherSourceRowSchema = z.looseObject({
  pk: z.literal(RANCHER_PK),
  sk: z.literal('SOURCE'),
  kind: z.literal('rancher-source'),
  access: clusterAccessSchema,
  writeBack: z._default(z.boolean(), false),
  updatedAt: z.string(),
});

export function rancherSourceFromItem(item: Record<string, unknown>): RancherSourceRecord {
  const { pk: _pk, sk: _sk, rev: _rev, ...record } = parseRow(rancherSourceRowSchema, item);
  return record as RancherSourceRecord;
}

export function rancherSourceItemOf(record: RancherSourceRecord): TableItem {
  return { ...rancherSourceKey, ...record };
}

/** The record without its `version`: a row's `rev` is decided by its writer, and a review has no use for it. */
export function withoutVersion<T extends object>(record: T): T {
  const { version: _version, ...rest } = record as T & { version?: number };
  return rest as T;
}

/** The row of a mirrored or native record at revision `rev`. */
export function itemOf(record: MirroredRecord, rev: number): TableItem {
  const base = withoutVersion(record);
  const item: TableItem = { ...keyOf(refOf(record)), ...base, rev };
  if (record.kind === 'token') {
    const expiry = expiryOf(record.expiresAt);
    // DynamoDB's TTL removes the row a day after expiry; the review refuses it from the expiry itself.
    if (typeof expiry === 'number') item[TTL_ATTRIBUTE] = Math.floor(expiry / 1000) + DAY_SECONDS;
  }
  return item;
}

/**
 * The key of a cluster's name filter (`core/name-filter.ts`): one row in the cluster's partition, beside its
 * tokens, so removing the cluster removes it. `NAMES` matches no record kind's prefix, so the mirror's
 * listing of the partition skips it.
 */
export function nameFilterKey(clusterId: string): TableKey {
  return { pk: partitionOf(clusterId), sk: 'NAMES' };
}

const binary = z.pipe(
  z.custom<Uint8Array>((value) => value instanceof Uint8Array),
  z.transform((bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
);

const nameFilterRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.literal('NAMES'),
  rev: z.int().check(z.nonnegative()),
  kind: z.literal('name-filter'),
  clusterId: z.string(),
  key: binary,
  // absent when empty: an empty binary attribute is not accepted everywhere
  digests: z.optional(binary),
  overflow: z.boolean(),
  count: z.int().check(z.nonnegative()),
});

export function nameFilterFromItem(item: Record<string, unknown>): Versioned<NameFilter> {
  const row = parseRow(nameFilterRowSchema, item);
  if ((row.digests?.length ?? 0) % 4 !== 0) throw new MalformedRecordError(`row ${row.pk}/${row.sk} is malformed: digests are not whole`);
  return { clusterId: row.clusterId, key: row.key, digests: row.digests ?? Buffer.alloc(0), overflow: row.overflow, version: row.rev };
}

/** The row of a cluster's name filter at revision `rev`. */
export function nameFilterItemOf(filter: NameFilter, rev: number): TableItem {
  return {
    ...nameFilterKey(filter.clusterId),
    rev,
    kind: 'name-filter',
    clusterId: filter.clusterId,
    key: filter.key,
    ...(filter.digests.length > 0 ? { digests: filter.digests } : {}),
    overflow: filter.overflow,
    count: filter.digests.length / 4,
  };
}

/** The registry row of a cluster at revision `rev`. */
export function clusterItemOf(record: ClusterRecord, rev: number): TableItem {
  return { ...clusterKey(record.clusterId), ...withoutVersion(record), rev };
}

/** How long a flood row is kept before DynamoDB's TTL removes it. */
export const FLOOD_RETENTION_SECONDS = 7 * DAY_SECONDS;
/** The longest window a flood row may hold: how far before `since` a read starts, to find windows still open then. */
const LONGEST_FLOOD_WINDOW_MS = DAY_SECONDS * 1000;

/** The partition of a cluster's flood rows. */
export function floodPartitionOf(clusterId: string): string {
  return `F#${clusterId}`;
}

const floodOffenderSchema = z.object({
  kind: z.enum(['bound-serviceaccount', 'legacy-serviceaccount', 'serviceaccount', 'oidc', 'opaque']),
  workload: z.string(),
  count: z.int().check(z.nonnegative()),
  expired: z.int().check(z.nonnegative()),
  latestExpiresAt: z.optional(z.string()),
  issuer: z.optional(z.string()),
  subject: z.optional(z.string()),
  namespace: z.optional(z.string()),
  serviceAccount: z.optional(z.string()),
  pod: z.optional(z.string()),
  podUid: z.optional(z.string()),
  node: z.optional(z.string()),
  secret: z.optional(z.string()),
});

const floodRowSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  flood: z.object({
    clusterId: z.string(),
    windowStart: z.string(),
    windowEnd: z.string(),
    total: z.int().check(z.nonnegative()),
    byKind: z.object({ 'serviceaccount-jwt': z.optional(z.int()), jwt: z.optional(z.int()), opaque: z.optional(z.int()) }),
    offenders: z.array(floodOffenderSchema),
    untracked: z.int().check(z.nonnegative()),
  }),
  ttl: z.optional(z.int()),
});

/**
 * The row of one container's window of a cluster: its key and the attributes to set, `flood` (the window)
 * and `ttl` (removal after the retention period), the only ones the authenticate role may write there.
 */
export function floodRowOf(window: FloodWindow, writer: string): { key: TableKey; attributes: { flood: FloodWindow; ttl: number } } {
  return {
    key: { pk: floodPartitionOf(window.clusterId), sk: `W#${window.windowStart}#${writer}` },
    attributes: { flood: window, ttl: Math.floor(Date.parse(window.windowEnd) / 1000) + FLOOD_RETENTION_SECONDS },
  };
}

/** The first sort key a read of the windows that ended at or after `since` must look at. */
export function floodSortKeyFrom(since: Date): string {
  return `W#${new Date(since.getTime() - LONGEST_FLOOD_WINDOW_MS).toISOString()}`;
}

export function floodFromItem(item: Record<string, unknown>): FloodWindow {
  return parseRow(floodRowSchema, item).flood as FloodWindow;
}
