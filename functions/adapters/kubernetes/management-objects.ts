/**
 * Rancher's management-cluster objects, validated at the boundary and reduced to what the derivation needs
 * (docs/rancher.md, "What tokengate reads from Rancher's local cluster"). A v3 token's `token` field is read
 * here and immediately handed to `ingestV3Secret`, which returns a hash or why there is none: the plaintext
 * (Rancher's `token-hashing` off) never leaves `parseV3Token`. A field of the wrong type rejects the one
 * object, never the listing; problems name fields, never values.
 */
import * as z from 'zod';
import { extTokenExpiresAt, groupsOfPrincipals } from '../../core/mirror/management-derivation.ts';
import type { ManagementCluster, ManagementToken, ManagementUser, ManagementUserAttribute } from '../../core/management-objects.ts';
import { ingestV3Secret } from '../../core/rancher-hash.ts';
import type { RejectedObject } from '../../core/rancher-objects.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; rejected: RejectedObject };

const metadataSchema = z.looseObject({
  name: z.string().min(1),
  resourceVersion: z.string().default(''),
  creationTimestamp: z.string().default(''),
  labels: z.record(z.string(), z.string()).nullish().transform((value) => value ?? {}),
  annotations: z.record(z.string(), z.string()).nullish().transform((value) => value ?? {}),
});
const text = z.string().nullish().transform((value) => value ?? '');

const v3TokenSchema = z.looseObject({
  metadata: metadataSchema,
  token: text,
  userId: text,
  clusterName: text,
  enabled: z.boolean().nullish(),
  expiresAt: text,
  lastUsedAt: text,
});

const secretSchema = z.looseObject({
  metadata: metadataSchema,
  data: z.record(z.string(), z.string()).nullish().transform((value) => value ?? {}),
});

const userSchema = z.looseObject({ metadata: metadataSchema, enabled: z.boolean().nullish() });

const principalListSchema = z.looseObject({
  Items: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string() }) })).nullish().transform((value) => value ?? []),
});
const userAttributeSchema = z.looseObject({
  metadata: metadataSchema,
  GroupPrincipals: z.record(z.string(), principalListSchema).nullish().transform((value) => value ?? {}),
  ExtraByProvider: z
    .record(z.string(), z.record(z.string(), z.array(z.string()).nullish().transform((value) => value ?? [])))
    .nullish()
    .transform((value) => value ?? {}),
  LastRefresh: text,
  NeedsRefresh: z.boolean().nullish().transform((value) => value ?? false),
});

const clusterSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z
    .looseObject({ localClusterAuthEndpoint: z.looseObject({ enabled: z.boolean().nullish() }).nullish() })
    .nullish(),
});

/**
 * A v3 token. `previousHash` names the hash kept from an earlier run for a token of that name, so a plaintext
 * token that did not change keeps its hash (and its row).
 */
export function parseV3Token(raw: unknown, previousHash: (name: string) => string | undefined, randomSalt: () => Uint8Array): Parsed<ManagementToken> {
  const parsed = v3TokenSchema.safeParse(raw);
  if (!parsed.success) return rejectedFrom(raw, parsed.error);
  const { metadata, userId, clusterName, enabled, expiresAt, lastUsedAt } = parsed.data;
  const secret = ingestV3Secret(
    { token: parsed.data.token, hashedAnnotation: metadata.annotations['authn.management.cattle.io/token-hashed'] === 'true', hashingOn: false },
    previousHash(metadata.name),
    randomSalt,
  );
  return {
    ok: true,
    value: {
      name: metadata.name,
      origin: 'v3',
      userId,
      clusterName,
      tokenKind: metadata.labels['authn.management.cattle.io/kind'] ?? '',
      enabled: enabled ?? true,
      expiresAt,
      secret,
      lastUsedAt,
    },
  };
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** An ext token's backing Secret; `null` for a Secret without the `cattle.io/kind=token` label (Rancher ignores those too). */
export function parseExtTokenSecret(raw: unknown): Parsed<ManagementToken> | null {
  const parsed = secretSchema.safeParse(raw);
  if (!parsed.success) return rejectedFrom(raw, parsed.error);
  const { metadata, data } = parsed.data;
  if (metadata.labels['cattle.io/kind'] !== 'token') return null;
  const decoded: Record<string, string> = {};
  for (const key of ['cluster', 'enabled', 'hash', 'kind', 'ttl', 'user-id', 'last-used-at']) {
    const value = data[key];
    if (value === undefined) continue;
    if (!STRICT_BASE64.test(value)) return { ok: false, rejected: { name: metadata.name, problems: [`data.${key}: not valid base64`] } };
    decoded[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  const hash = decoded.hash ?? '';
  return {
    ok: true,
    value: {
      name: metadata.name,
      origin: 'ext',
      userId: decoded['user-id'] ?? '',
      clusterName: decoded.cluster ?? '',
      tokenKind: decoded.kind ?? '',
      enabled: decoded.enabled === 'true',
      expiresAt: extTokenExpiresAt(metadata.creationTimestamp, decoded.ttl ?? ''),
      secret: hash.startsWith('$3:')
        ? { kind: 'hash', hash, hashedOnIngest: false }
        : hash.startsWith('$1:') || hash.startsWith('$2:')
          ? { kind: 'legacy-hash', version: hash.startsWith('$1:') ? '1' : '2' }
          : { kind: 'not-ready', why: 'the ext token has no $3 hash' },
      lastUsedAt: decoded['last-used-at'] ?? '',
    },
  };
}

export function parseUser(raw: unknown): Parsed<ManagementUser> {
  const parsed = userSchema.safeParse(raw);
  if (!parsed.success) return rejectedFrom(raw, parsed.error);
  return { ok: true, value: { name: parsed.data.metadata.name, enabled: parsed.data.enabled ?? true } };
}

export function parseUserAttribute(raw: unknown): Parsed<ManagementUserAttribute> {
  const parsed = userAttributeSchema.safeParse(raw);
  if (!parsed.success) return rejectedFrom(raw, parsed.error);
  const { metadata, GroupPrincipals, ExtraByProvider, LastRefresh, NeedsRefresh } = parsed.data;
  const principals = Object.fromEntries(
    Object.entries(GroupPrincipals).map(([provider, list]) => [provider, { Items: list.Items.map((item) => ({ name: item.metadata.name })) }]),
  );
  return {
    ok: true,
    value: { name: metadata.name, groups: groupsOfPrincipals(principals), extraByProvider: ExtraByProvider, lastRefresh: LastRefresh, needsRefresh: NeedsRefresh },
  };
}

export function parseCluster(raw: unknown): Parsed<ManagementCluster> {
  const parsed = clusterSchema.safeParse(raw);
  if (!parsed.success) return rejectedFrom(raw, parsed.error);
  return { ok: true, value: { name: parsed.data.metadata.name, aceEnabled: parsed.data.spec?.localClusterAuthEndpoint?.enabled === true } };
}

/** The name of a raw object, for watch DELETED events (whose object needs no validation beyond its name). */
export function nameOf(raw: unknown): string | undefined {
  const name = (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function rejectedFrom(raw: unknown, error: z.ZodError): { ok: false; rejected: RejectedObject } {
  const problems = error.issues.map((issue) => `${issue.path.join('.') || '(object)'}: ${issue.message}`);
  return { ok: false, rejected: { name: nameOf(raw) ?? '(unnamed)', problems } };
}
