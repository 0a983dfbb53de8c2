import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuthenticatorOptions } from '../../../../functions/services/authenticate/authenticator.ts';
import { StoreUnavailableError, UnauthorizedError } from '../../../../functions/core/errors.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { registeredCluster } from '../../../support/clusters.ts';
import { DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';

const TOKEN = `kubeconfig-u-alice:${DEFAULT_SECRET}`;
const SA_JWT = [
  Buffer.from('{"alg":"RS256"}').toString('base64url'),
  Buffer.from(JSON.stringify({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:cattle-system:cattle' })).toString('base64url'),
  'sig',
].join('.');

let cluster: Awaited<ReturnType<typeof registeredCluster>>;
beforeAll(async () => {
  cluster = await registeredCluster();
});

function setup(options: Partial<AuthenticatorOptions> = {}) {
  return authenticatorFixture({ store: new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord()), options });
}

describe('caller check', () => {
  it('lets a registered cluster with its credential through', async () => {
    const { authenticator } = setup();
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).resolves.toBeUndefined();
  });

  it.each([
    ['no Authorization header', undefined],
    ['a malformed credential', 'Bearer not-a-credential'],
    ['a Basic header', 'Basic dXNlcjpwYXNz'],
  ])('refuses %s without reading the store', async (_label, header) => {
    const { authenticator, store } = setup();
    await expect(authenticator.checkCaller('c-abc12', header)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(store.calls.getCluster).toBe(0);
  });

  it('refuses a well-formed but wrong credential', async () => {
    const { authenticator } = setup();
    const other = await registeredCluster();
    await expect(authenticator.checkCaller('c-abc12', other.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("refuses another cluster's credential (the credential is per cluster)", async () => {
    const { authenticator, store } = setup();
    const other = await registeredCluster('c-other');
    store.putCluster(other.record);
    await expect(authenticator.checkCaller('c-abc12', other.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses an unknown cluster', async () => {
    const { authenticator } = setup();
    await expect(authenticator.checkCaller('c-nope1', cluster.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it.each(['C-ABC', '../c-abc12', 'c_abc', 'a'.repeat(64), '', 'c-abc-'])(
    'refuses the malformed cluster id %j without reading the store',
    async (clusterId) => {
      const { authenticator, store } = setup();
      await expect(authenticator.checkCaller(clusterId, cluster.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(store.calls.getCluster).toBe(0);
    },
  );

  it('caches a successful check', async () => {
    const { authenticator, store } = setup();
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    expect(store.calls.getCluster).toBe(1);
  });

  it('checks again on every call when the cache TTL is 0', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 0 });
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    expect(store.calls.getCluster).toBe(2);
  });

  it('refuses unknown credential ids without a hash, re-reading the registry for them only within the per-cluster budget', async () => {
    const { authenticator, store, metrics, advance } = setup({ callerChecksPerSecond: 3 });
    const wrong = await Promise.all([1, 2, 3, 4, 5].map(() => registeredCluster()));
    const outcomes: string[] = [];
    for (const attempt of wrong) {
      outcomes.push(await authenticator.checkCaller('c-abc12', attempt.authorization).then(() => 'ok', (error: Error) => error.name));
    }
    // past the budget the answer is 500 (retried by the apiserver), never a 401 that could hit a just-rotated credential
    expect(outcomes).toEqual(['UnauthorizedError', 'UnauthorizedError', 'UnauthorizedError', 'OverloadedError', 'OverloadedError']);
    expect(store.calls.getCluster).toBe(3);
    expect(metrics.total('CallerVerifies')).toBe(0);
    advance(1_000);
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).resolves.toBeUndefined();
  });

  it('refuses a credential whose notAfter is unreadable (fails closed)', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 0 });
    const [record] = cluster.record.credentials;
    store.putCluster({ ...cluster.record, credentials: [{ ...record!, notAfter: 'end of next week' }] });
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses a rotated-out credential after its grace period ends', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 0 });
    const [record] = cluster.record.credentials;
    store.putCluster({ ...cluster.record, credentials: [{ ...record!, notAfter: '2026-11-26T12:00:30Z' }] });
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).resolves.toBeUndefined();
    advance(31_000);
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('token review', () => {
  beforeEach(() => undefined);

  it('accepts a valid token and logs one structured line without the secret', async () => {
    const { authenticator, log } = setup();
    const decision = await authenticator.reviewToken('c-abc12', TOKEN);
    expect(decision.outcome).toBe('accepted');
    const lines = log.withMessage('token accepted');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.attributes).toMatchObject({ clusterId: 'c-abc12', tokenName: 'kubeconfig-u-alice', user: 'u-alice', outcome: 'accepted' });
    expect(log.text()).not.toContain(DEFAULT_SECRET);
    expect(log.text()).not.toContain('$3:1:');
  });

  it('logs a refusal with its reason and never the secret or hash', async () => {
    const { authenticator, log } = setup();
    const wrongSecret = 'b'.repeat(54);
    await authenticator.reviewToken('c-abc12', `kubeconfig-u-alice:${wrongSecret}`);
    expect(log.withMessage('token refused')[0]!.attributes).toMatchObject({ reason: 'secret-mismatch', user: 'u-alice' });
    expect(log.text()).not.toContain(wrongSecret);
    expect(log.text()).not.toContain('zsN1zEFC7SvABTdR58o7yjIq');
  });

  it('serves a repeated review from the cache within the TTL and reads again after it', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 10 });
    await authenticator.reviewToken('c-abc12', TOKEN);
    await authenticator.reviewToken('c-abc12', TOKEN);
    expect(store.calls.getToken).toBe(1);
    advance(10_001);
    await authenticator.reviewToken('c-abc12', TOKEN);
    expect(store.calls.getToken).toBe(2);
  });

  it('reads the store on every review when the cache TTL is 0, so a revocation is seen at once', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 0 });
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    store.putToken(tokenRecord({ revoked: true }));
    expect(await authenticator.reviewToken('c-abc12', TOKEN)).toMatchObject({ outcome: 'refused', reason: 'token-revoked' });
    expect(store.calls.getToken).toBe(2);
  });

  it('stops serving a cached acceptance once the token expires, even within the TTL', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 60 });
    store.putToken(tokenRecord({ expiresAt: '2026-11-26T12:00:05Z' }));
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    advance(6_000);
    expect(await authenticator.reviewToken('c-abc12', TOKEN)).toMatchObject({ outcome: 'refused', reason: 'token-expired' });
  });

  it('does not let a cached wrong secret affect the right one', async () => {
    const { authenticator } = setup();
    await authenticator.reviewToken('c-abc12', 'kubeconfig-u-alice:wrongsecret');
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
  });

  it('keeps cached decisions apart per cluster', async () => {
    const { authenticator } = setup();
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    expect(await authenticator.reviewToken('c-other', TOKEN)).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
  });

  it('refuses foreign tokens silently: no store read, no per-token log line, one summary per cluster per interval', async () => {
    const { authenticator, store, log, metrics, advance } = setup({ foreignSummaryIntervalSeconds: 60 });
    for (let i = 0; i < 50; i += 1) {
      expect((await authenticator.reviewToken('c-abc12', SA_JWT)).outcome).toBe('foreign');
      advance(100);
    }
    expect(store.calls.getToken).toBe(0);
    await authenticator.reportFloods();
    expect(log.lines).toHaveLength(0);
    advance(60_000);
    await authenticator.reportFloods();
    const summaries = log.withMessage('foreign tokens refused');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.attributes).toMatchObject({
      clusterId: 'c-abc12',
      windowStart: '2026-11-26T12:00:00.000Z',
      windowEnd: '2026-11-26T12:01:00.000Z',
      total: 50,
      byKind: { 'serviceaccount-jwt': 50 },
      offenders: [{ kind: 'serviceaccount', subject: 'system:serviceaccount:cattle-system:cattle', count: 50 }],
    });
    expect(log.text()).not.toContain(SA_JWT);
    expect(metrics.total('ForeignTokens', { ClusterId: 'c-abc12' })).toBe(50);
  });

  it('records lastUsedAt at most once per interval per token', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 0, lastUsedIntervalSeconds: 60 });
    await authenticator.reviewToken('c-abc12', TOKEN);
    await authenticator.reviewToken('c-abc12', TOKEN);
    expect(store.uses).toHaveLength(1);
    advance(61_000);
    await authenticator.reviewToken('c-abc12', TOKEN);
    expect(store.uses).toHaveLength(2);
  });

  it('still accepts when recording lastUsedAt fails, and says why in the log', async () => {
    const { authenticator, store, log } = setup();
    store.failRecordUse = new Error('throttled');
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(log.withMessage('lastUsedAt not recorded')[0]!.attributes).toMatchObject({ tokenName: 'kubeconfig-u-alice' });
  });

  it('answers without waiting for a lastUsedAt write that never completes, and bounds such writes', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 0 });
    let started = 0;
    store.recordUse = () => {
      started += 1;
      return new Promise(() => undefined);
    };
    for (let i = 0; i < 40; i += 1) {
      store.putToken(tokenRecord({ name: `t-${i}` }));
      expect((await authenticator.reviewToken('c-abc12', `t-${i}:${DEFAULT_SECRET}`)).outcome).toBe('accepted');
    }
    expect(started).toBe(32);
  });

  it('settles once the lastUsedAt writes it started have finished', async () => {
    const { authenticator, store } = setup();
    let finish: () => void = () => undefined;
    store.recordUse = () => new Promise<void>((resolve) => (finish = resolve));
    await authenticator.reviewToken('c-abc12', TOKEN);
    let settled = false;
    const settling = authenticator.settle().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(settled).toBe(false);
    finish();
    await settling;
    expect(settled).toBe(true);
  });

  it('does not cache a store failure', async () => {
    const { authenticator, store } = setup();
    store.failWith = new StoreUnavailableError(new Error('down'));
    await expect(authenticator.reviewToken('c-abc12', TOKEN)).rejects.toBeInstanceOf(StoreUnavailableError);
    store.failWith = undefined;
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
  });

  it('counts every decision by outcome', async () => {
    const { authenticator, metrics } = setup();
    await authenticator.reviewToken('c-abc12', TOKEN);
    await authenticator.reviewToken('c-abc12', 'kubeconfig-u-alice:nope');
    await authenticator.reviewToken('c-abc12', 'garbage');
    expect(metrics.total('Reviews', { Outcome: 'accepted' })).toBe(1);
    expect(metrics.total('Reviews', { Outcome: 'refused' })).toBe(1);
    expect(metrics.total('Reviews', { Outcome: 'foreign' })).toBe(1);
  });
});

describe('issued caller credentials', () => {
  it('are stored as a salted SHA-256 (their secret is 256 random bits, not a password)', async () => {
    const { record } = await registeredCluster('c-light');
    expect(record.credentials[0]!.hash).toMatch(/^\$tgc-sha256\$/);
  });
});

describe('revocation latency', () => {
  it.each([0, 1_000, 5_000, 9_000, 9_999])(
    'refuses a token revoked in the table within one cache TTL, even when its decision was built %i ms after the row was read',
    async (decidedAfterMs) => {
      const { authenticator, store, advance } = setup({ cacheTtlSeconds: 10 });
      await authenticator.reviewToken('c-abc12', 'kubeconfig-u-alice:wrongsecret'); // reads and caches the row
      store.putToken(tokenRecord({ revoked: true })); // revoked just after the read
      advance(decidedAfterMs);
      const early = await authenticator.reviewToken('c-abc12', TOKEN); // built from the cached row
      expect(early.outcome).toBe('accepted');
      advance(10_001 - decidedAfterMs); // one TTL after the revoke
      expect(await authenticator.reviewToken('c-abc12', TOKEN)).toMatchObject({ outcome: 'refused', reason: 'token-revoked' });
    },
  );
});

describe('lastUsedAt in Lambda', () => {
  it('answers only once the lastUsedAt write completed', async () => {
    let finish: () => void = () => undefined;
    const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
    store.recordUse = () => new Promise<void>((resolve) => (finish = resolve));
    const { authenticator } = authenticatorFixture({ store, sleep: () => new Promise(() => undefined) });
    let answered = false;
    const review = authenticator.reviewToken('c-abc12', TOKEN).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(answered).toBe(false);
    finish();
    await review;
    expect(answered).toBe(true);
  });

  it('answers once the wait budget passed when the write does not complete, waiting for exactly that budget', async () => {
    const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
    store.recordUse = () => new Promise<void>(() => undefined);
    const waits: number[] = [];
    const { authenticator } = authenticatorFixture({ store, options: { usageWriteWaitMs: 150 }, sleep: async (ms) => void waits.push(ms) });
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    expect(waits).toEqual([150]);
  });

  it('does not wait at all with a budget of 0 (the write runs in the background)', async () => {
    const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
    store.recordUse = () => new Promise<void>(() => undefined);
    const { authenticator } = authenticatorFixture({ store, options: { usageWriteWaitMs: 0 }, sleep: () => new Promise(() => undefined) });
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
  });
});
