import { describe, expect, it } from 'vitest';
import { deriveClusterSources, extTokenExpiresAt, groupsOfPrincipals } from '../../../../functions/core/mirror/management-derivation.ts';
import type { ManagementSnapshot, ManagementToken } from '../../../../functions/core/management-objects.ts';

const HASH = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA';
const token = (fields: Partial<ManagementToken> & { name: string }): ManagementToken => ({
  origin: 'v3',
  userId: 'u-alice',
  clusterName: 'c-m-one',
  tokenKind: 'kubeconfig',
  enabled: true,
  expiresAt: '',
  secret: { kind: 'hash', hash: HASH, hashedOnIngest: false },
  lastUsedAt: '',
  ...fields,
});
const snapshot = (tokens: ManagementToken[]): ManagementSnapshot => ({
  tokens,
  users: [{ name: 'u-alice', enabled: true }, { name: 'u-bob', enabled: false }, { name: 'u-noattr', enabled: true }],
  userAttributes: [
    { name: 'u-alice', groups: ['a', 'b'], extraByProvider: { local: { username: ['alice'] } }, lastRefresh: '', needsRefresh: false },
    { name: 'u-bob', groups: [], extraByProvider: {}, lastRefresh: '', needsRefresh: false },
  ],
  clusters: [{ name: 'c-m-one', aceEnabled: false }],
});
const off = { acceptUnscopedTokens: false };

describe('deriveClusterSources', () => {
  it('mirrors only tokens scoped to the cluster, with username = userId and the user enabled from User', () => {
    const derived = deriveClusterSources('c-m-one', snapshot([
      token({ name: 'kubeconfig-a' }),
      token({ name: 'kubeconfig-b', userId: 'u-bob' }),
      token({ name: 'other', clusterName: 'c-m-two' }),
      token({ name: 'unscoped', clusterName: '' }),
    ]), off);
    expect(derived.sources.tokens.map((t) => t.name)).toEqual(['kubeconfig-a', 'kubeconfig-b']);
    expect(derived.sources.tokens[0]).toEqual({ name: 'kubeconfig-a', userName: 'u-alice', enabled: true, expiresAt: '', hash: HASH });
    expect(derived.sources.users.find((u) => u.name === 'u-bob')?.enabled).toBe(false);
    expect(derived.sources.users.find((u) => u.name === 'u-alice')?.groups).toEqual(['a', 'b']);
  });

  it('accepts unscoped non-session tokens only under the policy', () => {
    const tokens = [token({ name: 'api-key', clusterName: '' }), token({ name: 'login', clusterName: '', tokenKind: 'session' })];
    expect(deriveClusterSources('c-m-one', snapshot(tokens), off).sources.tokens).toEqual([]);
    expect(deriveClusterSources('c-m-one', snapshot(tokens), { acceptUnscopedTokens: true }).sources.tokens.map((t) => t.name)).toEqual(['api-key']);
  });

  it('skips tokens without a User, a UserAttribute or a $3 hash, each with its reason', () => {
    const derived = deriveClusterSources('c-m-one', snapshot([
      token({ name: 'gone', userId: 'u-gone' }),
      token({ name: 'noattr', userId: 'u-noattr' }),
      token({ name: 'scrypt', secret: { kind: 'legacy-hash', version: '1' } }),
      token({ name: 'sha256', secret: { kind: 'legacy-hash', version: '2' } }),
    ]), off);
    expect(derived.sources.tokens).toEqual([]);
    expect(derived.skipped).toEqual([
      { name: 'gone', reason: 'user u-gone does not exist in Rancher' },
      { name: 'noattr', reason: 'user u-noattr has no UserAttribute in Rancher' },
      { name: 'scrypt', reason: expect.stringContaining('hashed with $1 (scrypt)') },
      { name: 'sha256', reason: expect.stringContaining('hashed with $2 (SHA-256)') },
    ]);
  });

  it('keeps the v3 token when an ext token has the same name', () => {
    const derived = deriveClusterSources('c-m-one', snapshot([token({ name: 'token-x', origin: 'ext' }), token({ name: 'token-x' })]), off);
    expect(derived.sources.tokens).toHaveLength(1);
    expect(derived.skipped).toEqual([{ name: 'ext/token-x', reason: 'a v3 token has the same name' }]);
  });
});

describe('extTokenExpiresAt', () => {
  it('adds ttl milliseconds to the creation time, and never expires for a negative ttl', () => {
    expect(extTokenExpiresAt('2026-01-01T00:00:00Z', '3600000')).toBe('2026-01-01T01:00:00Z');
    expect(extTokenExpiresAt('2026-01-01T00:00:00Z', '-1')).toBe('');
  });

  it('gives an unparseable expiry (refused) for an unreadable ttl', () => {
    expect(Number.isNaN(Date.parse(extTokenExpiresAt('2026-01-01T00:00:00Z', 'soon')))).toBe(true);
  });
});

describe('groupsOfPrincipals', () => {
  it('takes every provider’s items and sorts them by bytes', () => {
    expect(groupsOfPrincipals({ openldap: { Items: [{ name: 'openldap_group://b' }] }, github: { Items: [{ name: 'github_org://A' }, { name: 'Z' }] } }))
      .toEqual(['Z', 'github_org://A', 'openldap_group://b']);
  });
});
