/** Longest bearer token we look at; anything longer is foreign (docs/reference.md, "What reaches the webhook"). */
export const MAX_TOKEN_LENGTH = 4096;

/** A Kubernetes object name (DNS-1123 subdomain): what a ClusterAuthToken's metadata.name can be. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Printable ASCII without space: Rancher secrets use 27 letters and digits, ours too; `:` is allowed. */
const SECRET = /^[\x21-\x7e]{1,512}$/;

export interface RancherToken {
  name: string;
  secret: string;
}

export type ForeignTokenKind = 'serviceaccount-jwt' | 'jwt' | 'opaque';

/**
 * The workload a ServiceAccount token names, from its `kubernetes.io` claims: a bound token (projected
 * volume, TokenRequest) names its namespace, ServiceAccount, pod and node; a legacy Secret-based token
 * names its namespace, ServiceAccount and Secret. What an operator needs to find and restart the workload.
 */
export interface ServiceAccountWorkload {
  namespace?: string;
  serviceAccount?: string;
  pod?: string;
  podUid?: string;
  node?: string;
  /** The Secret of a legacy (Secret-based) token. */
  secret?: string;
}

export interface ForeignToken {
  kind: ForeignTokenKind;
  /**
   * Claims of a JWT's payload, decoded without verification (the signature is not ours to check): for the
   * operator's summary only, never for a decision. Each is cut to a bounded length.
   */
  issuer?: string;
  subject?: string;
  /** `exp`, in epoch milliseconds. */
  expiresAtMs?: number;
  workload?: ServiceAccountWorkload;
}

export type ParsedToken = { rancher: RancherToken } | { foreign: ForeignToken };

/**
 * Splits a bearer token the way kube-api-auth does: strip one leading `ext/`, split on the first `:`.
 * Anything not shaped `[ext/]name:secret` is foreign (a ServiceAccount or OIDC JWT, a scanner's string)
 * and is classified so that the caller can count it without ever keeping the token itself.
 */
export function parseToken(token: string): ParsedToken {
  if (token.length > 0 && token.length <= MAX_TOKEN_LENGTH) {
    const body = token.startsWith('ext/') ? token.slice(4) : token;
    const colon = body.indexOf(':');
    if (colon > 0) {
      const name = body.slice(0, colon);
      const secret = body.slice(colon + 1);
      if (name.length <= 253 && OBJECT_NAME.test(name) && SECRET.test(secret)) {
        return { rancher: { name, secret } };
      }
    }
  }
  return { foreign: classifyForeign(token) };
}

function classifyForeign(token: string): ForeignToken {
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split('.') : [];
  if (parts.length !== 3) return { kind: 'opaque' };
  const claims = decodeJwtPayload(parts[1] ?? '');
  if (!claims) return { kind: 'opaque' };
  const issuer = claim(claims.iss);
  const subject = claim(claims.sub);
  const isServiceAccount =
    subject?.startsWith('system:serviceaccount:') === true || issuer === 'kubernetes/serviceaccount';
  const foreign: ForeignToken = { kind: isServiceAccount ? 'serviceaccount-jwt' : 'jwt', issuer, subject };
  if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) foreign.expiresAtMs = claims.exp * 1000;
  const workload = isServiceAccount ? workloadOf(claims) : undefined;
  if (workload) foreign.workload = workload;
  return foreign;
}

/** A string claim, cut to a length fit for a log line; undefined for anything else. */
function claim(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 253) : undefined;
}

function nested(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** The workload of a bound (`kubernetes.io` object) or legacy (`kubernetes.io/serviceaccount/…` keys) token. */
function workloadOf(claims: Record<string, unknown>): ServiceAccountWorkload | undefined {
  const bound = claims['kubernetes.io'];
  const workload: ServiceAccountWorkload = bound !== undefined
    ? {
        namespace: claim(nested(bound, 'namespace')),
        serviceAccount: claim(nested(nested(bound, 'serviceaccount'), 'name')),
        pod: claim(nested(nested(bound, 'pod'), 'name')),
        podUid: claim(nested(nested(bound, 'pod'), 'uid')),
        node: claim(nested(nested(bound, 'node'), 'name')),
      }
    : {
        namespace: claim(claims['kubernetes.io/serviceaccount/namespace']),
        serviceAccount: claim(claims['kubernetes.io/serviceaccount/service-account.name']),
        secret: claim(claims['kubernetes.io/serviceaccount/secret.name']),
      };
  const present = Object.fromEntries(Object.entries(workload).filter(([, value]) => value !== undefined)) as ServiceAccountWorkload;
  return Object.keys(present).length > 0 ? present : undefined;
}

function decodeJwtPayload(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
