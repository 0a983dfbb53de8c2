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
    expect(parsed).toEqual({ foreign: { kind: 'serviceaccount-jwt', issuer: 'kubernetes/serviceaccount', subject: undefined } });
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
