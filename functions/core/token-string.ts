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

export interface ForeignToken {
  kind: ForeignTokenKind;
  /** `iss` and `sub` of a JWT's payload, decoded without verification, for the operator's summary. */
  issuer?: string;
  subject?: string;
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
  const issuer = typeof claims.iss === 'string' ? claims.iss.slice(0, 200) : undefined;
  const subject = typeof claims.sub === 'string' ? claims.sub.slice(0, 200) : undefined;
  const isServiceAccount =
    subject?.startsWith('system:serviceaccount:') === true || issuer === 'kubernetes/serviceaccount';
  return { kind: isServiceAccount ? 'serviceaccount-jwt' : 'jwt', issuer, subject };
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
