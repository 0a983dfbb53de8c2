import { describe, expect, it } from 'vitest';
import type { ReviewContext } from '../../../functions/core/review.ts';
import { reviewToken } from '../../../functions/services/review-token.ts';
import { DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../support/fakes.ts';

const NOW = new Date('2026-11-26T12:00:00Z');
const TOKEN = `kubeconfig-u-alice:${DEFAULT_SECRET}`;

/** The review as the operator's `tokengate review` runs it: parsed once, one read, decided. */
function review(request: { clusterId: string; token: string }, deps: { store: FakeTokenStore } & ReviewContext) {
  return reviewToken(deps.store, request.clusterId, request.token, deps);
}

function depsWith(store: FakeTokenStore, overrides: Partial<ReviewContext> = {}) {
  return { store, now: NOW, allowSystemGroups: false, ...overrides };
}

async function reviewWith(row: Parameters<typeof tokenRecord>[0], token = TOKEN, clusterId = 'c-abc12') {
  const store = new FakeTokenStore().putToken(tokenRecord(row));
  return review({ clusterId, token }, depsWith(store));
}

describe('reviewToken', () => {
  it('accepts a valid Rancher token with its user, groups and extras', async () => {
    expect(await reviewWith({})).toEqual({
      outcome: 'accepted',
      tokenName: 'kubeconfig-u-alice',
      user: {
        username: 'u-alice',
        uid: 'u-alice',
        groups: ['openldap_group://cn=admins,dc=example,dc=org'],
        extra: { principalid: ['openldap_user://uid=alice,dc=example,dc=org'], username: ['alice'] },
      },
    });
  });

  it('accepts an ext/ prefixed token', async () => {
    expect((await reviewWith({}, `ext/${TOKEN}`)).outcome).toBe('accepted');
  });

  it('refuses a foreign token without reading the store', async () => {
    const store = new FakeTokenStore().putToken(tokenRecord());
    const decision = await review({ clusterId: 'c-abc12', token: 'eyJhbGciOiJSUzI1NiJ9.e30.sig' }, depsWith(store));
    expect(decision.outcome).toBe('foreign');
    expect(store.calls.getToken).toBe(0);
  });

  it('refuses a token of another cluster (no cross-cluster replay)', async () => {
    const decision = await reviewWith({ clusterId: 'c-other' });
    expect(decision).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
  });

  it.each([
    ['token-not-found', { name: 'someone-else' }],
    ['token-disabled', { enabled: false }],
    ['token-revoked', { revoked: true }],
    ['user-not-found', { user: undefined }],
    ['user-disabled', { user: { enabled: false, groups: [], extraByProvider: {} } }],
    ['token-expired', { expiresAt: '2026-11-26T11:59:59Z' }],
    ['expiry-unparseable', { expiresAt: 'next tuesday' }],
    ['hash-missing', { hash: '' }],
    ['hash-unsupported', { hash: '$9:nope' }],
  ] as [string, Parameters<typeof tokenRecord>[0]][])('refuses with %s', async (reason, row) => {
    expect(await reviewWith(row)).toMatchObject({ outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason });
  });

  it('refuses a wrong secret', async () => {
    expect(await reviewWith({}, `kubeconfig-u-alice:${'c'.repeat(54)}`)).toMatchObject({
      outcome: 'refused',
      reason: 'secret-mismatch',
    });
  });

  it('checks in kube-api-auth order: a disabled token of a disabled user is reported disabled first', async () => {
    const decision = await reviewWith({ enabled: false, user: { enabled: false, groups: [], extraByProvider: {} }, hash: '' });
    expect(decision).toMatchObject({ reason: 'token-disabled' });
  });

  it('checks expiry before the hash: an expired token with a wrong secret is reported expired', async () => {
    const decision = await reviewWith({ expiresAt: '2020-01-01T00:00:00Z' }, 'kubeconfig-u-alice:wrong');
    expect(decision).toMatchObject({ reason: 'token-expired' });
  });

  it('accepts a token whose expiry is exactly now (expired only when strictly before now)', async () => {
    expect((await reviewWith({ expiresAt: NOW.toISOString() })).outcome).toBe('accepted');
  });

  it('accepts a token with a future expiry in another time zone offset', async () => {
    expect((await reviewWith({ expiresAt: '2026-11-26T13:30:00+01:00' })).outcome).toBe('accepted');
  });

  it('drops system: groups unless allowed', async () => {
    const row = tokenRecord({ user: { enabled: true, groups: ['system:masters', 'devs'], extraByProvider: {} } });
    const store = new FakeTokenStore().putToken(row);
    const dropped = await review({ clusterId: 'c-abc12', token: TOKEN }, depsWith(store));
    const kept = await review({ clusterId: 'c-abc12', token: TOKEN }, depsWith(store, { allowSystemGroups: true }));
    expect(dropped.outcome === 'accepted' && dropped.user.groups).toEqual(['devs']);
    expect(kept.outcome === 'accepted' && kept.user.groups).toEqual(['system:masters', 'devs']);
  });

  it('merges principalid and username extras across providers without duplicates and ignores other keys', async () => {
    const row = tokenRecord({
      user: {
        enabled: true,
        groups: [],
        extraByProvider: {
          openldap: { principalid: ['openldap_user://a'], username: ['alice'], other: ['x'] },
          local: { principalid: ['local://u-alice'], username: ['alice'] },
        },
      },
    });
    const decision = await review({ clusterId: 'c-abc12', token: TOKEN }, depsWith(new FakeTokenStore().putToken(row)));
    expect(decision.outcome === 'accepted' && decision.user.extra).toEqual({
      principalid: ['openldap_user://a', 'local://u-alice'],
      username: ['alice'],
    });
  });

  it('lets a store failure propagate instead of refusing', async () => {
    const store = new FakeTokenStore();
    store.failWith = new Error('boom');
    await expect(review({ clusterId: 'c-abc12', token: TOKEN }, depsWith(store))).rejects.toThrow('boom');
  });
});
