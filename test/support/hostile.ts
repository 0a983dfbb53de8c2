import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { issueCredential } from '../../functions/core/caller-credential.ts';
import { REFUSAL_MESSAGES } from '../../functions/core/review.ts';
import { newCluster, type ClusterRecord, type TokenRecord } from '../../functions/core/records.ts';
import { DEFAULT_SECRET, tokenRecord } from './fakes.ts';

/**
 * Hostile input for the authenticate endpoint, shared by the property tests (handler and local server) and
 * the soak run: a small world of two clusters with known tokens, generators of requests that mix the valid
 * with every malformed shape we could think of, and the oracle that says what a reply may be.
 */

export const CLUSTER_A = 'c-abc12';
export const CLUSTER_B = 'c-other';
const SECRET_C = 'c'.repeat(54);
/** Rancher's public vectors (docs/reference.md, "Hash formats"): "d"×54 as $3, "c"×54 as $3 and as $2. */
const HASH_D_SHA3 = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA';
const HASH_C_SHA3 = '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';
const HASH_C_SHA256 = '$2:jwvzsLqh6Rg:FyeWbQuUt6VEMhQOe5J1kXPf0D4H9MRjub0aNaGzyx8';

export interface World {
  clusters: ClusterRecord[];
  tokens: TokenRecord[];
  /** `Bearer …` header value per cluster. */
  authorization: Record<string, string>;
  /** Token string → username, per cluster: the only pairs that may ever be accepted. */
  valid: Record<string, Map<string, string>>;
  /** Strings that must never appear in a reply or a log line. */
  secrets: string[];
}

/** Builds the world: cluster A has alice ($3 "d") and bob ($2 "c"); cluster B has its own alice ($3 "c"). */
export async function buildWorld(now = new Date('2026-11-26T00:00:00Z')): Promise<World> {
  const clusters: ClusterRecord[] = [];
  const authorization: Record<string, string> = {};
  const secrets = [DEFAULT_SECRET, SECRET_C, HASH_D_SHA3, HASH_C_SHA3, HASH_C_SHA256];
  for (const clusterId of [CLUSTER_A, CLUSTER_B]) {
    const { credential, record } = await issueCredential(randomBytes, now);
    clusters.push(newCluster(clusterId, record, now));
    authorization[clusterId] = `Bearer ${credential}`;
    secrets.push(credential, credential.slice('tgc_'.length + 11), record.hash); // tgc_<10-char id>_<secret>; the secret may contain '_'
  }
  for (const hash of [HASH_D_SHA3, HASH_C_SHA3, HASH_C_SHA256]) secrets.push(hash.split(':').at(-1)!);
  const tokens = [
    tokenRecord({ clusterId: CLUSTER_A, name: 'kubeconfig-u-alice', hash: HASH_D_SHA3 }),
    tokenRecord({ clusterId: CLUSTER_A, name: 'token-bob12', userName: 'u-bob', hash: HASH_C_SHA256 }),
    tokenRecord({ clusterId: CLUSTER_A, name: 'token-gone1', userName: 'u-bob', hash: HASH_C_SHA256, revoked: true }),
    tokenRecord({ clusterId: CLUSTER_A, name: 'token-old01', userName: 'u-bob', hash: HASH_C_SHA256, expiresAt: '2020-01-01T00:00:00Z' }),
    tokenRecord({ clusterId: CLUSTER_B, name: 'kubeconfig-u-alice', userName: 'u-carol', hash: HASH_C_SHA3 }),
  ];
  const valid: World['valid'] = {
    [CLUSTER_A]: new Map([
      [`kubeconfig-u-alice:${DEFAULT_SECRET}`, 'u-alice'],
      [`ext/kubeconfig-u-alice:${DEFAULT_SECRET}`, 'u-alice'],
      [`token-bob12:${SECRET_C}`, 'u-bob'],
      [`ext/token-bob12:${SECRET_C}`, 'u-bob'],
    ]),
    [CLUSTER_B]: new Map([
      [`kubeconfig-u-alice:${SECRET_C}`, 'u-carol'],
      [`ext/kubeconfig-u-alice:${SECRET_C}`, 'u-carol'],
    ]),
  };
  return { clusters, tokens, authorization, valid, secrets };
}

/** One generated request, with what the generator knows about it (the oracle needs it). */
export interface HostileRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  isBase64Encoded: boolean;
  /** Set when the body is a TokenReview we built: the token under review and the apiVersion sent. */
  review?: { token: string; apiVersion: string | undefined };
  /** Strings of this request that must not be echoed (the secret parts of the tokens it carries). */
  secrets: string[];
}

const RANCHER_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const rancherSecret = fc.string({ unit: fc.constantFrom(...RANCHER_ALPHABET), minLength: 54, maxLength: 54 });
/** A distinctive random marker: if it shows up in a reply or a log, something echoed the token. */
const marker = fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'), minLength: 24, maxLength: 24 });
const name = fc.oneof(
  fc.constantFrom('kubeconfig-u-alice', 'token-bob12', 'token-gone1', 'token-old01', 'kubeconfig-u-nobody', 'u', 'a.b', '-x', 'X'),
  fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,40}[a-z0-9]$/),
);

function jwt(claims: object, signature: string): string {
  return [
    Buffer.from('{"alg":"RS256","kid":"k"}').toString('base64url'),
    Buffer.from(JSON.stringify(claims)).toString('base64url'),
    signature,
  ].join('.');
}

/** Token shapes: valid ones, near misses, and the strange (huge, unicode, NUL, colons, ext/ext/, empty parts). */
export function tokenArbitrary(world: World): fc.Arbitrary<{ token: string; secrets: string[] }> {
  const validTokens = [...Object.values(world.valid).flatMap((map) => [...map.keys()])];
  const plain = (token: string, secrets: string[] = []) => ({ token, secrets });
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...validTokens).map((token) => plain(token)) },
    { weight: 3, arbitrary: fc.tuple(name, rancherSecret).map(([n, s]) => plain(`${n}:${s}`, [s])) },
    { weight: 2, arbitrary: fc.tuple(name, marker).map(([n, m]) => plain(`ext/${n}:${m}`, [m])) },
    { weight: 2, arbitrary: fc.constantFrom(...validTokens).map((token) => plain(`ext/${token}`)) }, // ext/ext/
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...validTokens), fc.constantFrom('prefix', 'suffix', 'upper', 'space', 'nul', 'colon', 'drop'))
        .map(([token, how]) => {
          switch (how) {
            case 'prefix': return plain(`x${token}`);
            case 'suffix': return plain(`${token}x`);
            case 'upper': return plain(token.toUpperCase());
            case 'space': return plain(` ${token} `);
            case 'nul': return plain(`${token}\u0000`);
            case 'colon': return plain(token.replace(':', '::'));
            default: return plain(token.slice(0, -1));
          }
        }),
    },
    { weight: 2, arbitrary: fc.tuple(fc.array(name, { minLength: 2, maxLength: 8 }), marker).map(([parts, m]) => plain(`${parts.join(':')}:${m}`, [m])) },
    { weight: 1, arbitrary: fc.constantFrom('', ':', 'ext/', 'ext/:', ':secret', 'name:', 'ext/ext/', '\u0000', 'a\u0000:b').map((t) => plain(t)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 4000, max: 70_000 }), marker).map(([n, m]) => plain(`kubeconfig-u-alice:${m}${'d'.repeat(n)}`, [m])) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((t) => plain(t)) },
    { weight: 2, arbitrary: fc.tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), marker).map(([u, m]) => plain(`${u}:${m}`, [m])) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('kubernetes/serviceaccount', 'https://oidc.example.com', ''), fc.string({ maxLength: 40 }), marker)
        .map(([iss, sub, m]) => plain(jwt({ iss, sub: `system:serviceaccount:${sub}` }, m), [m])),
    },
    { weight: 1, arbitrary: fc.tuple(marker, marker).map(([a, b]) => plain(`${a}.${b}.${a}`, [a, b])) },
  );
}

const API_VERSIONS = [
  'authentication.k8s.io/v1',
  'authentication.k8s.io/v1beta1',
  undefined,
  'authentication.k8s.io/v2',
  'authentication.k8s.io/V1',
  'v1',
  '',
];

/** Paths: ours for the two clusters, percent-encoded, traversal, unicode, very long, trailing slashes, others. */
export function pathArbitrary(): fc.Arbitrary<string> {
  const cluster = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(CLUSTER_A, CLUSTER_B) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '%63-abc12', '..', '%2e%2e', '..%2F..%2Fc-abc12', 'c-abc12%00', 'C-ABC12', 'c-abc12 ', '%', '%zz', '%E2%82%AC',
        'c_abc12', '-c', 'c-', '', 'c-abc12%2Fauthenticate', 'ünïcødé', '💥', 'a'.repeat(63), 'a'.repeat(64), 'b'.repeat(5000),
      ),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('constructor', 'prototype', '__proto__', 'valueof', 'tostring') },
    { weight: 1, arbitrary: fc.webSegment() },
  );
  return fc.oneof(
    { weight: 10, arbitrary: cluster.map((c) => `/v1/clusters/${c}/authenticate`) },
    { weight: 1, arbitrary: cluster.map((c) => `/v1/clusters/${c}/authenticate/`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '/healthz', '/', '/v1/clusters//authenticate', '/v1/clusters/c-abc12/../c-other/authenticate', '/v1/clusters/c-abc12',
        '/V1/clusters/c-abc12/authenticate', '/v1/clusters/c-abc12/authenticate/x', '/healthz/', '//v1/clusters/c-abc12/authenticate',
      ),
    },
    { weight: 1, arbitrary: fc.webPath() },
  );
}

export function requestArbitrary(world: World): fc.Arbitrary<HostileRequest> {
  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constant('POST') },
    { weight: 2, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'post') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
  );
  const authorization = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...Object.values(world.authorization)) },
    {
      weight: 4,
      arbitrary: fc.oneof(
        fc.constantFrom(...Object.values(world.authorization)).map((v) => v.replace('Bearer ', 'bearer  ')),
        fc.constantFrom(...Object.values(world.authorization)).map((v) => v.replace('Bearer ', '')),
        fc.constantFrom(...Object.values(world.authorization)).map((v) => `${v.slice(0, -2)}xx`),
        fc.constantFrom(...Object.values(world.authorization)).map((v) => `${v} extra`),
        fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer tgc_aaaaaaaaaa_short'),
        marker.map((m) => `Bearer tgc_${m.slice(0, 10).toLowerCase()}_${m}${m.slice(0, 19)}`),
        fc.string({ maxLength: 60 }),
      ),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const headerName = fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION');
  const extraHeaders = fc.dictionary(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((h) => h !== 'authorization' && h !== 'content-length' && h !== 'host' && h !== 'transfer-encoding' && h !== 'connection' && h !== 'expect'),
    fc.string({ maxLength: 40 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
    { maxKeys: 4 },
  );
  const reviewBody = fc
    .tuple(tokenArbitrary(world), fc.constantFrom(...API_VERSIONS), fc.constantFrom('TokenReview', 'TokenReview', 'TokenReview', 'tokenreview', 'SubjectAccessReview', undefined))
    .map(([{ token, secrets }, apiVersion, kind]) => {
      const body = JSON.stringify({
        ...(apiVersion !== undefined ? { apiVersion } : {}),
        ...(kind !== undefined ? { kind } : {}),
        metadata: { creationTimestamp: null },
        spec: { token, audiences: ['https://kubernetes.default.svc'] },
        status: { user: {} },
      });
      return { body, review: kind === 'TokenReview' ? { token, apiVersion } : undefined, secrets };
    });
  const otherBody = fc
    .oneof(
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('', '{', 'null', '[]', '{"kind":"TokenReview"}', '{"kind":"TokenReview","spec":{"token":7}}', '{"kind":"TokenReview","spec":null}'),
    )
    .map((body) => ({ body, review: undefined as HostileRequest['review'], secrets: [] as string[] }));
  // Around the 64 KiB limit: under it, a (foreign) TokenReview; over it, 413.
  const hugeBody = fc.integer({ min: 60_000, max: 200_000 }).map((n) => ({
    body: JSON.stringify({ kind: 'TokenReview', spec: { token: 'x'.repeat(n) } }),
    review: { token: 'x'.repeat(n), apiVersion: undefined } as HostileRequest['review'],
    secrets: [] as string[],
  }));
  const body = fc.oneof({ weight: 8, arbitrary: reviewBody }, { weight: 2, arbitrary: otherBody }, { weight: 1, arbitrary: hugeBody });
  const encoding = fc.constantFrom('plain', 'plain', 'base64', 'base64-garbage', 'absent');

  const chaotic = fc.record({ method, path: pathArbitrary(), authorization, headerName, extraHeaders, body, encoding });
  // Coherent requests: the right credential for the cluster in the path and a well-formed TokenReview, with
  // the token valid for that cluster about half the time (the others are near misses and cross-cluster replays).
  const coherent = fc
    .record({
      clusterId: fc.constantFrom(...Object.keys(world.valid)),
      pathStyle: fc.constantFrom('plain', 'plain', 'plain', 'slash', 'encoded'),
      pick: fc.nat(),
      validToken: fc.boolean(),
      other: tokenArbitrary(world),
      apiVersion: fc.constantFrom('authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1', undefined),
      headerName,
      extraHeaders,
      encoding: fc.constantFrom('plain', 'plain', 'base64'),
    })
    .map(({ clusterId, pathStyle, pick, validToken, other, apiVersion, headerName, extraHeaders, encoding }) => {
      const tokens = [...world.valid[clusterId]!.keys()];
      const { token, secrets } = validToken ? { token: tokens[pick % tokens.length]!, secrets: [] } : other;
      const segment = pathStyle === 'encoded' ? `%${clusterId.charCodeAt(0).toString(16)}${clusterId.slice(1)}` : clusterId;
      return {
        method: 'POST',
        path: `/v1/clusters/${segment}/authenticate${pathStyle === 'slash' ? '/' : ''}`,
        authorization: world.authorization[clusterId],
        headerName,
        extraHeaders,
        body: {
          body: JSON.stringify({ ...(apiVersion ? { apiVersion } : {}), kind: 'TokenReview', spec: { token, audiences: ['https://kubernetes.default.svc'] } }),
          review: { token, apiVersion },
          secrets,
        },
        encoding,
      };
    });

  return fc
    .oneof({ weight: 3, arbitrary: coherent }, { weight: 7, arbitrary: chaotic })
    .map(({ method, path, authorization, headerName, extraHeaders, body, encoding }) => {
      const headers: Record<string, string> = { ...extraHeaders, 'content-type': 'application/json' };
      if (authorization !== undefined) headers[headerName] = authorization;
      let text: string | undefined = body.body;
      let isBase64Encoded = false;
      let review = body.review;
      if (encoding === 'base64') {
        text = Buffer.from(body.body, 'utf8').toString('base64');
        isBase64Encoded = true;
      } else if (encoding === 'base64-garbage') {
        text = `${Buffer.from([0xff, 0xfe, 0x00, 0xc3]).toString('base64')}!!`;
        isBase64Encoded = true;
        review = undefined;
      } else if (encoding === 'absent') {
        text = undefined;
        review = undefined;
      }
      return { method, path, headers, body: text, isBase64Encoded, review, secrets: body.secrets };
    });
}

export const DOCUMENTED_STATUSES = new Set([200, 400, 401, 404, 405, 413, 500]);
const REFUSAL_TEXTS = new Set(Object.values(REFUSAL_MESSAGES));
const VERSIONS = new Set(['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1']);

export interface Reply {
  statusCode: number;
  contentType: string | undefined;
  body: string;
}

/** What the request may legitimately be accepted as: the user it authenticates, or undefined. */
export function expectedUser(world: World, request: HostileRequest): string | undefined {
  if (request.method !== 'POST' || !request.review) return undefined;
  if (request.review.apiVersion !== undefined && !VERSIONS.has(request.review.apiVersion)) return undefined;
  const match = /^\/v1\/clusters\/([^/]*)\/authenticate\/?$/.exec(request.path);
  if (!match) return undefined;
  let clusterId: string;
  try {
    clusterId = decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
  const credential = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (!Object.hasOwn(world.authorization, clusterId)) return undefined; // e.g. a cluster id "constructor"
  const expectedCredential = world.authorization[clusterId];
  const credentialOk = expectedCredential !== undefined && credential !== undefined && /^bearer +(\S+) *$/i.exec(credential)?.[1] === expectedCredential.slice(7);
  if (!credentialOk) return undefined;
  return world.valid[clusterId]?.get(request.review.token);
}

/**
 * Checks one reply against the documented shapes; returns the list of violations (empty when fine).
 * `mustAccept`: the request is an exact valid pair under conditions that cannot throttle it.
 */
export function violations(world: World, request: HostileRequest, reply: Reply, logText: string, mustAccept: boolean): string[] {
  const problems: string[] = [];
  if (!DOCUMENTED_STATUSES.has(reply.statusCode)) problems.push(`undocumented status ${reply.statusCode}`);
  if (reply.contentType !== 'application/json') problems.push(`content-type ${reply.contentType}`);
  let json: any;
  try {
    json = JSON.parse(reply.body);
  } catch {
    problems.push('body is not JSON');
    return problems;
  }
  const user = expectedUser(world, request);
  if (reply.statusCode !== 200) {
    const ok =
      // A metav1.Status (what the webhook client decodes and logs) carrying our own error object too.
      json !== null && typeof json === 'object' && Object.keys(json).sort().join() === 'apiVersion,code,error,kind,message,metadata,reason,status' &&
      json.kind === 'Status' && json.status === 'Failure' && json.code === reply.statusCode && json.message === json.error?.message &&
      Object.keys(json.error ?? {}).sort().join() === 'code,message' && json.error.code === reply.statusCode &&
      typeof json.error.message === 'string' && json.error.message.length < 200;
    if (!ok) problems.push(`error body shape ${reply.body.slice(0, 200)}`);
  } else if (json?.status === 'ok' && Object.keys(json).length === 1) {
    if (!/^\/healthz$/.test(request.path)) problems.push('health reply off /healthz');
  } else {
    const wantVersion = request.review?.apiVersion ?? 'authentication.k8s.io/v1beta1';
    if (!request.review) problems.push('TokenReview reply to a request that was not one');
    if (!VERSIONS.has(json.apiVersion) || json.apiVersion !== wantVersion) problems.push(`apiVersion ${json.apiVersion} for ${wantVersion}`);
    if (json.kind !== 'TokenReview') problems.push(`kind ${json.kind}`);
    const status = json.status;
    if (typeof status?.authenticated !== 'boolean') problems.push('status.authenticated missing');
    if (status?.audiences !== undefined) problems.push('status.audiences present');
    if (status?.authenticated === true) {
      if (user === undefined) problems.push(`WRONG ACCEPT of ${JSON.stringify(request.review?.token).slice(0, 80)} at ${request.path.slice(0, 80)}`);
      else if (status.user?.username !== user) problems.push(`accepted as ${status.user?.username}, expected ${user}`);
      if (!Array.isArray(status.user?.groups) || status.user.groups.some((g: unknown) => typeof g !== 'string' || g.startsWith('system:'))) problems.push('groups shape');
    } else if (status?.authenticated === false) {
      if (JSON.stringify(status.user) !== '{}') problems.push('refusal carries a user');
      if (status.error !== undefined && !REFUSAL_TEXTS.has(status.error)) problems.push(`unknown status.error ${status.error}`);
    }
  }
  if (mustAccept && user !== undefined && json?.status?.authenticated !== true) {
    problems.push(`LOCKED OUT: valid ${user} got ${reply.statusCode} ${reply.body.slice(0, 200)}`);
  }
  // Only strings long enough to be meaningful: a short one would match innocent text by chance.
  const secrets = [...world.secrets, ...request.secrets].filter((secret) => secret.length >= 12);
  for (const secret of secrets) {
    if (reply.body.includes(secret)) problems.push(`reply contains a secret (${secret.slice(0, 4)}…)`);
    if (logText.includes(secret)) {
      const at = logText.indexOf(secret);
      problems.push(`log contains a secret (${secret.slice(0, 4)}…): …${logText.slice(Math.max(0, at - 120), at + 20)}`);
    }
  }
  return problems;
}

/** Property budgets: small in `npm test`, large when SOAK=1. */
export function runs(fast: number, soak: number): number {
  return process.env.SOAK === '1' ? Number(process.env.SOAK_RUNS ?? soak) : fast;
}
