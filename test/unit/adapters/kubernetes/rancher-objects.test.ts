import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  parseClusterAuthToken,
  parseClusterUserAttribute,
  parseHashSecret,
  type Parsed,
} from '../../../../functions/adapters/kubernetes/rancher-objects.ts';

const fixtures = path.join(import.meta.dirname, '..', '..', '..', 'fixtures', 'rancher');

function fixtureItems(file: string): unknown[] {
  const list = parseYaml(readFileSync(path.join(fixtures, file), 'utf8')) as { kind: string; items: unknown[] };
  expect(list.kind).toBe('List');
  return list.items;
}

function valueOf<T>(parsed: Parsed<T> | null): T {
  if (parsed === null || !parsed.ok) throw new Error(`expected a valid object, got ${JSON.stringify(parsed)}`);
  return parsed.value;
}

const SHA3_OF_C54 =
  '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';

const validToken = {
  apiVersion: 'cluster.cattle.io/v3',
  kind: 'ClusterAuthToken',
  metadata: { name: 'kubeconfig-u-x1', namespace: 'cattle-system', uid: 'uid-1', resourceVersion: '42' },
  userName: 'u-x1',
  enabled: true,
  hash: '',
};

describe('ClusterAuthToken', () => {
  it('reads the kubectl fixtures, including the Rancher 2.13 layout with an empty hash', () => {
    const tokens = fixtureItems('clusterauthtokens.yaml').map((item) => valueOf(parseClusterAuthToken(item)));

    expect(tokens).toEqual([
      {
        name: 'kubeconfig-u-abc12xyz',
        uid: '136627ac-7cfc-4a1c-8f14-0535e44a92d3',
        resourceVersion: '184467',
        userName: 'u-abc12xyz',
        enabled: true,
        expiresAt: '',
        hash: '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA',
        lastUsedAt: '2026-11-20T10:15:30Z',
      },
      {
        name: 'kubeconfig-user-gc4s9.c-cn2rq',
        uid: '49e369c5-2870-4e5e-b479-f6734c033198',
        resourceVersion: '201533',
        userName: 'user-gc4s9',
        enabled: true,
        expiresAt: '2027-01-01T00:00:00Z',
        hash: '',
        lastUsedAt: '',
      },
      {
        name: 'token-5hq2k',
        uid: 'd577ad10-1ab4-48bc-9e2f-5d657786631c',
        resourceVersion: '99120',
        userName: 'u-abc12xyz',
        enabled: false,
        expiresAt: '2030-01-01T00:00:00Z',
        hash: '$2:jwvzsLqh6Rg:FyeWbQuUt6VEMhQOe5J1kXPf0D4H9MRjub0aNaGzyx8',
        lastUsedAt: '',
      },
    ]);
  });

  it('takes Go zero values for absent fields, so a token without `enabled` is disabled', () => {
    const { enabled: _enabled, hash: _hash, ...withoutEnabledAndHash } = validToken;

    const token = valueOf(parseClusterAuthToken(withoutEnabledAndHash));

    expect(token).toMatchObject({ enabled: false, hash: '', expiresAt: '', lastUsedAt: '' });
  });

  it('keeps an empty or unparseable expiresAt as written, for the authenticator to refuse', () => {
    expect(valueOf(parseClusterAuthToken({ ...validToken, expiresAt: '' })).expiresAt).toBe('');
    expect(valueOf(parseClusterAuthToken({ ...validToken, expiresAt: 'next tuesday' })).expiresAt).toBe('next tuesday');
    expect(valueOf(parseClusterAuthToken({ ...validToken, lastUsedAt: null })).lastUsedAt).toBe('');
  });

  it('ignores unknown fields and leaves them out of the result', () => {
    const token = valueOf(
      parseClusterAuthToken({
        ...validToken,
        spec: { unexpected: true },
        metadata: { ...validToken.metadata, managedFields: [{ manager: 'rancher' }], labels: { a: 'b' } },
      }),
    );

    expect(Object.keys(token).sort()).toEqual(['enabled', 'expiresAt', 'hash', 'lastUsedAt', 'name', 'resourceVersion', 'uid', 'userName']);
  });

  it('rejects a token with a wrongly typed field by name and path, without echoing the value', () => {
    const parsed = parseClusterAuthToken({ ...validToken, enabled: 'yes-SECRETVALUE' });

    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.rejected.name).toBe('kubeconfig-u-x1');
    expect(parsed.rejected.problems).toHaveLength(1);
    expect(parsed.rejected.problems[0]).toMatch(/^enabled: /);
    expect(JSON.stringify(parsed.rejected)).not.toContain('SECRETVALUE');
  });

  it('rejects a token without a user or without a name', () => {
    const { userName: _userName, ...withoutUser } = validToken;

    const noUser = parseClusterAuthToken(withoutUser);
    const noName = parseClusterAuthToken({ ...validToken, metadata: { namespace: 'cattle-system' } });
    const notAnObject = parseClusterAuthToken('kubeconfig-u-x1');

    expect(noUser).toMatchObject({ ok: false, rejected: { name: 'kubeconfig-u-x1', problems: [expect.stringMatching(/^userName: /)] } });
    expect(noName).toMatchObject({ ok: false, rejected: { name: '(unnamed)' } });
    expect(notAnObject).toMatchObject({ ok: false, rejected: { name: '(unnamed)' } });
  });
});

describe('ClusterUserAttribute', () => {
  it('reads the kubectl fixtures, with empty groups and extras when Rancher omitted them', () => {
    const attributes = fixtureItems('clusteruserattributes.yaml').map((item) => valueOf(parseClusterUserAttribute(item)));

    expect(attributes).toEqual([
      {
        name: 'u-abc12xyz',
        uid: '0a320ca2-75c8-4389-8fcf-2ac4371a996e',
        resourceVersion: '201001',
        groups: ['openldap_group://cn=admins,dc=example,dc=org', 'openldap_group://cn=developers,dc=example,dc=org'],
        enabled: true,
        extraByProvider: {
          openldap: { principalid: ['openldap_user://uid=alice,ou=users,dc=example,dc=org'], username: ['alice'] },
        },
        lastRefresh: '2026-11-25T23:00:00Z',
        needsRefresh: false,
      },
      {
        name: 'user-gc4s9',
        uid: 'ed3abb67-44b8-4d91-b9e2-0e178d2fd3b8',
        resourceVersion: '201530',
        groups: [],
        enabled: true,
        extraByProvider: {},
        lastRefresh: '',
        needsRefresh: true,
      },
    ]);
  });

  it('rejects groups that are not a list of strings', () => {
    const parsed = parseClusterUserAttribute({ metadata: { name: 'u-x1' }, enabled: true, groups: 'admins' });

    expect(parsed).toMatchObject({ ok: false, rejected: { name: 'u-x1', problems: [expect.stringMatching(/^groups: /)] } });
  });

  it('treats a user attribute without `enabled` as a disabled user', () => {
    expect(valueOf(parseClusterUserAttribute({ metadata: { name: 'u-x1' } })).enabled).toBe(false);
  });
});

describe('hash Secret', () => {
  it('decodes data.hash of the Rancher 2.13 Secret and skips the namespace’s other Secrets', () => {
    const parsed = fixtureItems('secrets.yaml').map((item) => parseHashSecret(item));

    expect(parsed[0]).toBeNull();
    expect(valueOf(parsed[1] ?? null)).toEqual({
      name: 'kubeconfig-user-gc4s9.c-cn2rq',
      uid: '5b0f9a7e-3c1d-4e8a-9f6b-2d7c8e1a4b30',
      resourceVersion: '201532',
      hash: SHA3_OF_C54,
    });
  });

  it('is not a hash Secret unless it is Opaque', () => {
    const encoded = Buffer.from(SHA3_OF_C54).toString('base64');

    expect(parseHashSecret({ metadata: { name: 't' }, type: 'kubernetes.io/tls', data: { hash: encoded } })).toBeNull();
    expect(valueOf(parseHashSecret({ metadata: { name: 't' }, data: { hash: encoded } })).hash).toBe(SHA3_OF_C54);
  });

  it('rejects a hash that is not valid base64, without echoing it', () => {
    const parsed = parseHashSecret({ metadata: { name: 't' }, type: 'Opaque', data: { hash: '$3:1:not*base64' } });

    expect(parsed).toEqual({ ok: false, rejected: { name: 't', problems: ['data.hash: not valid base64'] } });
  });
});
