import { describe, expect, it } from 'vitest';
import type { ReviewContext } from '../../../functions/core/review.ts';
import { MalformedRecordError } from '../../../functions/core/errors.ts';
import { buildNameFilter } from '../../../functions/core/name-filter.ts';
import { explainReview, reviewToken } from '../../../functions/services/review-token.ts';
import { DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../support/fakes.ts';
import { boundServiceAccountJwt, legacyServiceAccountJwt, oidcJwt } from '../../support/jwts.ts';

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

describe('explainReview', () => {
  const nowS = Math.floor(NOW.getTime() / 1000);
  const explain = (store: FakeTokenStore, token: string, clusterId = 'c-abc12') => explainReview(store, clusterId, token, { now: NOW, allowSystemGroups: false });
  /** Nothing of the token but what it names: not its encoded parts, not its signature. */
  function expectNoTokenText(explanation: unknown, token: string) {
    const text = JSON.stringify(explanation);
    for (const part of token.split('.')) expect(text).not.toContain(part);
  }

  it('names a bound ServiceAccount token by namespace, ServiceAccount and pod, with its pod uid, node and whether it expired, as the flood report does', async () => {
    const store = new FakeTokenStore();
    const { token } = boundServiceAccountJwt({ namespace: 'billing', serviceAccount: 'billing-worker', pod: 'billing-worker-6f8d9c7b5d-q2lx7', podUid: '5e0c2a61-9d4b-4f7e-b3a8-0c6d1e2f3a4b', node: 'ip-10-0-3-17', iat: nowS - 7200 });
    const explanation = await explain(store, token);
    expect(explanation.decision.outcome).toBe('foreign');
    expect(explanation.sender).toEqual({
      kind: 'bound-serviceaccount',
      workload: 'billing/billing-worker (pod billing-worker-6f8d9c7b5d-q2lx7)',
      issuer: 'https://kubernetes.default.svc.cluster.local',
      subject: 'system:serviceaccount:billing:billing-worker',
      namespace: 'billing',
      serviceAccount: 'billing-worker',
      pod: 'billing-worker-6f8d9c7b5d-q2lx7',
      podUid: '5e0c2a61-9d4b-4f7e-b3a8-0c6d1e2f3a4b',
      node: 'ip-10-0-3-17',
      expiresAt: new Date((nowS - 7200 + 3607) * 1000).toISOString(),
      state: 'expired',
      likely: expect.stringContaining('token expired'),
    });
    expect(store.calls).toMatchObject({ getToken: 0, getNameFilter: 0 });
    expectNoTokenText(explanation.sender, token);
  });

  it('says a bound token whose exp has not passed is unexpired', async () => {
    const { token } = boundServiceAccountJwt({ namespace: 'reports', serviceAccount: 'cron', pod: 'cron-1', podUid: 'uid-1', iat: nowS - 60 });
    expect((await explain(new FakeTokenStore(), token)).sender).toMatchObject({ state: 'unexpired', likely: expect.stringContaining('unexpired yet refused') });
  });

  it('names a legacy ServiceAccount token by its Secret', async () => {
    const { token } = legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'jenkins-deployer', secret: 'jenkins-deployer-token-4wz8k' });
    const explanation = await explain(new FakeTokenStore(), token);
    expect(explanation.sender).toMatchObject({ kind: 'legacy-serviceaccount', workload: 'ci/jenkins-deployer (secret jenkins-deployer-token-4wz8k)', secret: 'jenkins-deployer-token-4wz8k', state: 'no-exp' });
    expect(explanation.sender).not.toHaveProperty('expiresAt');
    expectNoTokenText(explanation.sender, token);
  });

  it('names an OIDC token by its subject and issuer', async () => {
    const { token } = oidcJwt({ issuer: 'https://dex.example.org', subject: 'CgVhbGljZRIEbGRhcA', iat: nowS - 7200, exp: nowS - 3600 });
    const explanation = await explain(new FakeTokenStore(), token);
    expect(explanation.sender).toMatchObject({ kind: 'oidc', workload: 'CgVhbGljZRIEbGRhcA (issuer https://dex.example.org)', state: 'expired', likely: 'OIDC token expired: the client does not refresh it' });
    expectNoTokenText(explanation.sender, token);
  });

  it('calls an opaque string not a JWT', async () => {
    const explanation = await explain(new FakeTokenStore(), 'not-a-token at all');
    expect(explanation.sender).toEqual({ kind: 'opaque', workload: 'not a JWT', state: 'no-exp', likely: expect.stringContaining('not a JWT') });
    expect(JSON.stringify(explanation)).not.toContain('not-a-token');
  });

  it("refuses a name outside the cluster's filter as the webhook does (name-unknown), though the row alone would accept it", async () => {
    const store = new FakeTokenStore().buildNameFilter('c-abc12');
    expect(await explain(store, TOKEN)).toEqual({ decision: { outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason: 'name-unknown' }, nameFilter: 'lacks-name' });
    store.putToken(tokenRecord());
    expect(await explain(store, TOKEN)).toEqual({
      decision: { outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason: 'name-unknown' },
      nameFilter: 'lacks-name',
      rowOutsideFilter: true,
    });
  });

  it('refuses a name the filter holds whose row is gone as token-not-found', async () => {
    const store = new FakeTokenStore().putToken(tokenRecord()).buildNameFilter('c-abc12');
    expect((await explain(store, TOKEN)).decision.outcome).toBe('accepted');
    store.tokens.clear();
    expect(await explain(store, TOKEN)).toEqual({ decision: { outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason: 'token-not-found' }, nameFilter: 'holds-name' });
  });

  it('refuses a missing row of a cluster without a usable filter as token-not-found-unfiltered, and says which', async () => {
    const none = new FakeTokenStore();
    expect(await explain(none, TOKEN)).toEqual({ decision: { outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason: 'token-not-found-unfiltered' }, nameFilter: 'none' });
    const overflow = new FakeTokenStore();
    overflow.nameFilters.set('c-abc12', { ...buildNameFilter('c-abc12', Buffer.alloc(16), []), digests: Buffer.alloc(0), overflow: true });
    expect(await explain(overflow, TOKEN)).toMatchObject({ decision: { reason: 'token-not-found-unfiltered' }, nameFilter: 'overflow' });
    const unreadable = new FakeTokenStore();
    unreadable.getNameFilter = async () => {
      throw new MalformedRecordError('not a filter');
    };
    expect(await explain(unreadable, TOKEN)).toMatchObject({ decision: { reason: 'token-not-found-unfiltered' }, nameFilter: 'unreadable' });
  });

  it('decides a row the filter holds, or a row of a cluster without a filter, as the row says', async () => {
    const filtered = new FakeTokenStore().putToken(tokenRecord({ enabled: false })).buildNameFilter('c-abc12');
    expect(await explain(filtered, TOKEN)).toMatchObject({ decision: { reason: 'token-disabled' }, nameFilter: 'holds-name' });
    const unfiltered = new FakeTokenStore().putToken(tokenRecord());
    expect(await explain(unfiltered, TOKEN)).toMatchObject({ decision: { outcome: 'accepted' }, nameFilter: 'none' });
  });

  it('lets a store failure reading the filter propagate instead of refusing', async () => {
    const store = new FakeTokenStore();
    store.failWith = new Error('boom');
    await expect(explain(store, TOKEN)).rejects.toThrow('boom');
  });
});
