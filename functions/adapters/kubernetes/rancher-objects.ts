/**
 * Rancher's objects in a downstream cluster's `cattle-system` namespace (docs/reference.md, "Rancher's objects"), validated at the boundary.
 *
 * Absent fields take Go's zero values, because that is what Rancher's own kube-api-auth sees when it decodes the
 * same JSON (`enabled` absent = false, `hash` absent = "", `groups` absent = []). A field of the wrong type makes
 * the one object invalid, never the whole listing. Unknown fields are ignored. Timestamps are kept as the raw
 * strings: whether `expiresAt` parses is the authenticator's decision ("unparseable = refuse"), not the sync's.
 */
import * as z from 'zod';
import type { ClusterAuthToken, ClusterUserAttribute, HashSecret, RejectedObject } from '../../core/rancher-objects.ts';

export type { ClusterAuthToken, ClusterUserAttribute, HashSecret, RejectedObject } from '../../core/rancher-objects.ts';

const objectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().default(''),
  resourceVersion: z.string().default(''),
});

const optionalTimestamp = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

const clusterAuthTokenSchema = z.looseObject({
  metadata: objectMetaSchema,
  userName: z.string().min(1),
  enabled: z.boolean().default(false),
  expiresAt: optionalTimestamp,
  hash: z.string().nullish().transform((value) => value ?? ''),
  lastUsedAt: optionalTimestamp,
});

const clusterUserAttributeSchema = z.looseObject({
  metadata: objectMetaSchema,
  groups: z.array(z.string()).nullish().transform((value) => value ?? []),
  enabled: z.boolean().default(false),
  extraByProvider: z
    .record(z.string(), z.record(z.string(), z.array(z.string()).nullish().transform((value) => value ?? [])))
    .nullish()
    .transform((value) => value ?? {}),
  lastRefresh: optionalTimestamp,
  needsRefresh: z.boolean().default(false),
});

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const secretSchema = z.looseObject({
  metadata: objectMetaSchema,
  type: z.string().default('Opaque'),
  data: z.record(z.string(), z.string()).nullish(),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; rejected: RejectedObject };

/** Validates one ClusterAuthToken as listed or fetched from the cluster. */
export function parseClusterAuthToken(raw: unknown): Parsed<ClusterAuthToken> {
  const result = clusterAuthTokenSchema.safeParse(raw);
  if (!result.success) return rejectedFrom(raw, result.error);
  const { metadata, userName, enabled, expiresAt, hash, lastUsedAt } = result.data;
  return {
    ok: true,
    value: { name: metadata.name, uid: metadata.uid, resourceVersion: metadata.resourceVersion, userName, enabled, expiresAt, hash, lastUsedAt },
  };
}

/** Validates one ClusterUserAttribute as listed or fetched from the cluster. */
export function parseClusterUserAttribute(raw: unknown): Parsed<ClusterUserAttribute> {
  const result = clusterUserAttributeSchema.safeParse(raw);
  if (!result.success) return rejectedFrom(raw, result.error);
  const { metadata, groups, enabled, extraByProvider, lastRefresh, needsRefresh } = result.data;
  return {
    ok: true,
    value: {
      name: metadata.name,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      groups,
      enabled,
      extraByProvider,
      lastRefresh,
      needsRefresh,
    },
  };
}

/**
 * Validates a Secret as a token's hash Secret. Returns `null` for a Secret that is not one (not Opaque, or no
 * `data.hash`): cattle-system holds many other Secrets, which are skipped without a trace of their content.
 */
export function parseHashSecret(raw: unknown): Parsed<HashSecret> | null {
  const result = secretSchema.safeParse(raw);
  if (!result.success) return rejectedFrom(raw, result.error);
  const { metadata, type, data } = result.data;
  const encoded = data?.hash;
  if (type !== 'Opaque' || encoded === undefined) return null;
  if (!STRICT_BASE64.test(encoded)) {
    return { ok: false, rejected: { name: metadata.name, problems: ['data.hash: not valid base64'] } };
  }
  const hash = Buffer.from(encoded, 'base64').toString('utf8');
  return { ok: true, value: { name: metadata.name, uid: metadata.uid, resourceVersion: metadata.resourceVersion, hash } };
}

function rejectedFrom(raw: unknown, error: z.ZodError): { ok: false; rejected: RejectedObject } {
  const name = readName(raw);
  // zod's default messages name the expected and received types, never the input's value
  const problems = error.issues.map((issue) => `${issue.path.join('.') || '(object)'}: ${issue.message}`);
  return { ok: false, rejected: { name, problems } };
}

function readName(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return '(unnamed)';
  const metadata = (raw as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return '(unnamed)';
  const name = (metadata as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : '(unnamed)';
}
