import { randomBytes } from 'node:crypto';

/**
 * Real-shaped JWTs (header.payload.signature, base64url, an RS256-sized signature) with the claim layouts
 * Kubernetes and OIDC providers issue. Never signed for real: the webhook never checks the signature.
 */
function jwt(payload: object, kid = 'cKM3zH1qc6g4mNbWP3aCrK2h1DfShrNKPbv2Gv1Yh5Y'): { token: string; signature: string } {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signature = randomBytes(256).toString('base64url');
  return { token: `${part({ alg: 'RS256', kid })}.${part(payload)}.${signature}`, signature };
}

export interface BoundTokenInput {
  namespace: string;
  serviceAccount: string;
  pod: string;
  podUid: string;
  node?: string;
  /** Issued at, epoch seconds; exp is an hour later unless given. */
  iat: number;
  exp?: number;
  issuer?: string;
}

/**
 * A bound ServiceAccount token as the TokenRequest API issues it for a pod's projected volume: the
 * `kubernetes.io` claim names the namespace, the pod and the ServiceAccount (each with its uid), the node
 * on 1.30+ (ServiceAccountTokenPodNodeInfo), and `warnafter` when the expiry is extended.
 */
export function boundServiceAccountJwt(input: BoundTokenInput) {
  const exp = input.exp ?? input.iat + 3607;
  return jwt({
    aud: ['https://kubernetes.default.svc.cluster.local', 'rke2'],
    exp,
    iat: input.iat,
    iss: input.issuer ?? 'https://kubernetes.default.svc.cluster.local',
    jti: '6a0ac3a5-7f6c-4d2b-9a51-3c1f3e0b8f21',
    'kubernetes.io': {
      namespace: input.namespace,
      ...(input.node !== undefined ? { node: { name: input.node, uid: '9b0e6f36-5b7e-4a49-8c0b-2f1b0b5e7a10' } } : {}),
      pod: { name: input.pod, uid: input.podUid },
      serviceaccount: { name: input.serviceAccount, uid: '0f8e2a57-8a1e-4b7c-9a64-5a2a0f9d1c33' },
      warnafter: input.iat + 3607,
    },
    nbf: input.iat,
    sub: `system:serviceaccount:${input.namespace}:${input.serviceAccount}`,
  });
}

/** A legacy Secret-based ServiceAccount token (`kubernetes.io/service-account-token`): no exp, the Secret's name. */
export function legacyServiceAccountJwt(input: { namespace: string; serviceAccount: string; secret: string }) {
  return jwt({
    iss: 'kubernetes/serviceaccount',
    'kubernetes.io/serviceaccount/namespace': input.namespace,
    'kubernetes.io/serviceaccount/secret.name': input.secret,
    'kubernetes.io/serviceaccount/service-account.name': input.serviceAccount,
    'kubernetes.io/serviceaccount/service-account.uid': '4d0d5a8f-3b1e-4f2b-8a7e-1c9d2e3f4a5b',
    sub: `system:serviceaccount:${input.namespace}:${input.serviceAccount}`,
  });
}

/** An OIDC ID token (Dex, Keycloak, …). */
export function oidcJwt(input: { issuer: string; subject: string; iat: number; exp: number }) {
  return jwt({
    iss: input.issuer,
    sub: input.subject,
    aud: 'kubernetes',
    exp: input.exp,
    iat: input.iat,
    email: 'alice@example.org',
    email_verified: true,
    groups: ['platform'],
  });
}

/** A TokenRequest token bound to no object (`kubectl create token deployer`): the `kubernetes.io` claim names no pod. */
export function unboundServiceAccountJwt(input: { namespace: string; serviceAccount: string; iat: number }) {
  return jwt({
    aud: ['https://kubernetes.default.svc.cluster.local'],
    exp: input.iat + 3600,
    iat: input.iat,
    iss: 'https://kubernetes.default.svc.cluster.local',
    jti: '1c0e4b7a-2d6f-4e8b-9a3c-5f1d7e9b2a40',
    'kubernetes.io': { namespace: input.namespace, serviceaccount: { name: input.serviceAccount, uid: '0f8e2a57-8a1e-4b7c-9a64-5a2a0f9d1c33' } },
    nbf: input.iat,
    sub: `system:serviceaccount:${input.namespace}:${input.serviceAccount}`,
  });
}
