import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, parseToken } from '../../../functions/core/token-string.ts';

function jwt(payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(payload)}.c2lnbmF0dXJl`;
}

describe('parseToken', () => {
  it('splits a Rancher token into name and secret', () => {
    expect(parseToken('kubeconfig-user-gc4s9.c-cn2rq:abc')).toEqual({
      rancher: { name: 'kubeconfig-user-gc4s9.c-cn2rq', secret: 'abc' },
    });
  });

  it('strips exactly one leading ext/', () => {
    expect(parseToken('ext/token-5hq2k:secret')).toEqual({ rancher: { name: 'token-5hq2k', secret: 'secret' } });
    expect('foreign' in parseToken('ext/ext/token-5hq2k:secret')).toBe(true);
  });

  it('splits on the first colon only, so a secret may contain colons', () => {
    expect(parseToken('token-5hq2k:a:b:c')).toEqual({ rancher: { name: 'token-5hq2k', secret: 'a:b:c' } });
  });

  it.each([
    ['empty', ''],
    ['no colon', 'randomstring'],
    ['empty name', ':secret'],
    ['empty secret', 'token-5hq2k:'],
    ['upper-case name', 'Token:secret'],
    ['space in secret', 'token-5hq2k:sec ret'],
    ['NUL in secret', 'token-5hq2k:sec\u0000ret'],
    ['unicode in secret', 'token-5hq2k:sécret'],
    ['name with slash', 'a/b:secret'],
    ['too long', `token-5hq2k:${'x'.repeat(MAX_TOKEN_LENGTH)}`],
  ])('calls a token that is not Rancher-shaped (%s) foreign', (_label, token) => {
    const parsed = parseToken(token);
    expect('foreign' in parsed && parsed.foreign.kind).toBe('opaque');
  });

  it('recognises a bound ServiceAccount JWT and reports its issuer and subject', () => {
    const token = jwt({ iss: 'https://kubernetes.default.svc.cluster.local', sub: 'system:serviceaccount:cattle-system:cattle' });
    expect(parseToken(token)).toEqual({
      foreign: {
        kind: 'serviceaccount-jwt',
        issuer: 'https://kubernetes.default.svc.cluster.local',
        subject: 'system:serviceaccount:cattle-system:cattle',
      },
    });
  });

  it('recognises a legacy ServiceAccount JWT by its issuer', () => {
    const parsed = parseToken(jwt({ iss: 'kubernetes/serviceaccount', 'kubernetes.io/serviceaccount/namespace': 'x' }));
    expect(parsed).toEqual({
      foreign: { kind: 'serviceaccount-jwt', issuer: 'kubernetes/serviceaccount', subject: undefined, workload: { namespace: 'x' } },
    });
  });

  it('names the pod, namespace, ServiceAccount and node of a bound ServiceAccount token, and its expiry', () => {
    const token = jwt({
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: 'system:serviceaccount:monitoring:prometheus',
      exp: 1_764_000_000,
      'kubernetes.io': {
        namespace: 'monitoring',
        serviceaccount: { name: 'prometheus', uid: 'f0b3' },
        pod: { name: 'prometheus-0', uid: '5c1e' },
        node: { name: 'worker-3', uid: '77aa' },
        warnafter: 1_763_996_400,
      },
    });
    expect(parseToken(token)).toMatchObject({
      foreign: {
        kind: 'serviceaccount-jwt',
        expiresAtMs: 1_764_000_000_000,
        workload: { namespace: 'monitoring', serviceAccount: 'prometheus', pod: 'prometheus-0', podUid: '5c1e', node: 'worker-3' },
      },
    });
  });

  it('names the Secret of a legacy Secret-based ServiceAccount token', () => {
    const token = jwt({
      iss: 'kubernetes/serviceaccount',
      sub: 'system:serviceaccount:ci:deployer',
      'kubernetes.io/serviceaccount/namespace': 'ci',
      'kubernetes.io/serviceaccount/secret.name': 'deployer-token-x7k2p',
      'kubernetes.io/serviceaccount/service-account.name': 'deployer',
    });
    expect(parseToken(token)).toMatchObject({
      foreign: { workload: { namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' } },
    });
  });

  it('takes no workload from an OIDC token, and cuts over-long claims', () => {
    const parsed = parseToken(jwt({ iss: 'https://dex.example.org', sub: 'x'.repeat(300), 'kubernetes.io': { namespace: 'n' } }));
    expect(parsed).not.toHaveProperty('foreign.workload');
    expect('foreign' in parsed && parsed.foreign.subject).toHaveLength(253);
  });

  it('calls an OIDC JWT a jwt with its issuer and subject', () => {
    expect(parseToken(jwt({ iss: 'https://dex.example.org', sub: 'CgVhbGljZQ' }))).toEqual({
      foreign: { kind: 'jwt', issuer: 'https://dex.example.org', subject: 'CgVhbGljZQ' },
    });
  });

  it('calls three dotted parts with an undecodable payload opaque', () => {
    expect(parseToken('a.b.c')).toEqual({ foreign: { kind: 'opaque' } });
    expect(parseToken(`x.${Buffer.from('[1,2]').toString('base64url')}.y`)).toEqual({ foreign: { kind: 'opaque' } });
  });
});
