import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../../../../functions/core/errors.ts';
import { buildNameFilter, MAX_FILTER_NAMES } from '../../../../functions/core/name-filter.ts';
import type { Decision } from '../../../../functions/core/review.ts';
import { tokenReviewReply } from '../../../../functions/entry/authenticate/tokenreview.ts';
import type { AuthenticatorOptions } from '../../../../functions/services/authenticate/authenticator.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';

const CLUSTER = 'c-abc12';
const START = Date.parse('2026-11-26T12:00:00Z');
const RANCHER_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** Tokens of the cluster none of the containers below has seen before its first review of them. */
const VALID = Array.from({ length: 20 }, (_, index) => `kubeconfig-u-user${index}`);

/** A Rancher-shaped token for a made-up name: what a flood of unknown names looks like. */
function madeUpToken(): string {
  const pick = (n: number) => [...randomBytes(n)].map((b) => RANCHER_ALPHABET[b % RANCHER_ALPHABET.length]).join('');
  return `kubeconfig-u-${pick(8)}:${pick(54)}`;
}

/** A store whose cluster holds the valid tokens, with the name filter sync writes (unless told otherwise). */
function storeWithTokens(filter: 'synced' | 'none' = 'synced'): FakeTokenStore {
  const store = new FakeTokenStore();
  for (const name of VALID) store.putToken(tokenRecord({ name }));
  if (filter === 'synced') store.buildNameFilter(CLUSTER);
  return store;
}

/** Today's defaults: the unknown-name budget (20/s per cluster, burst 40) is what the flood used to spend. */
function container(store: FakeTokenStore, options: Partial<AuthenticatorOptions> = {}) {
  return authenticatorFixture({ store, options, startMs: START });
}

describe('a flood of unknown token names, with the cluster’s name filter', () => {
  it('never refuses a valid, first-seen token in a warm container, and costs no store read', async () => {
    const store = storeWithTokens();
    const { authenticator, advance } = container(store);
    const legitimate: Decision[] = [];
    let flood = 0;
    // 5,000 made-up names over 5 s (1,000/s), a first-seen valid token every 250 ms
    for (let step = 0; step < 5_000; step += 1) {
      if ((await authenticator.reviewToken(CLUSTER, madeUpToken())).outcome === 'refused') flood += 1;
      if (step % 250 === 249) legitimate.push(await authenticator.reviewToken(CLUSTER, `${VALID[legitimate.length]}:${DEFAULT_SECRET}`));
      advance(1);
    }
    expect(legitimate).toHaveLength(20);
    expect(legitimate.filter((decision) => decision.outcome !== 'accepted')).toEqual([]);
    // only the 20 valid names were read; the flood cost filter reads only, at most one per second
    expect(store.calls.getToken).toBe(20);
    expect(store.calls.getNameFilter).toBeLessThanOrEqual(6);
    expect(flood).toBe(5_000);
  });

  it('never refuses a valid, first-seen token in fresh containers (cold starts, scale-out) during the flood', async () => {
    const store = storeWithTokens();
    const refusals: Decision[] = [];
    for (const name of VALID) {
      const { authenticator } = container(store);
      for (let index = 0; index < 200; index += 1) await authenticator.reviewToken(CLUSTER, madeUpToken());
      const decision = await authenticator.reviewToken(CLUSTER, `${name}:${DEFAULT_SECRET}`);
      if (decision.outcome !== 'accepted') refusals.push(decision);
    }
    // before the filter: each container's 40-read burst went to the flood, and these were 'lookup-throttled'
    expect(refusals).toEqual([]);
    // one read per valid name, none for the 4,000 made-up ones
    expect(store.calls.getToken).toBe(VALID.length);
  });

  it('reads names the filter holds without any budget: a valid token is read even with the unknown-name budget at its smallest', async () => {
    const store = storeWithTokens();
    const { authenticator } = container(store, { unknownNameLookupsPerSecond: 1, unknownNameLookupsPerSecondTotal: 1 });
    for (let index = 0; index < 100; index += 1) await authenticator.reviewToken(CLUSTER, madeUpToken());
    for (const name of VALID) expect(await authenticator.reviewToken(CLUSTER, `${name}:${DEFAULT_SECRET}`)).toMatchObject({ outcome: 'accepted' });
  });

  it('reads the filter once for a burst of concurrent reviews in a fresh container, and not again within a second', async () => {
    const store = storeWithTokens();
    const { authenticator, advance } = container(store);
    const burst = await Promise.all(Array.from({ length: 200 }, () => authenticator.reviewToken(CLUSTER, madeUpToken())));
    expect(burst.every((decision) => decision.outcome === 'refused' && decision.reason === 'name-unknown')).toBe(true);
    expect(store.calls.getNameFilter).toBe(1);
    advance(900);
    await Promise.all(Array.from({ length: 200 }, () => authenticator.reviewToken(CLUSTER, madeUpToken())));
    expect(store.calls.getNameFilter).toBe(1);
    advance(200);
    await Promise.all(Array.from({ length: 200 }, () => authenticator.reviewToken(CLUSTER, madeUpToken())));
    expect(store.calls.getNameFilter).toBe(2);
    expect(store.calls.getToken).toBe(0);
  });

  it('answers a name outside the filter silently (no status.error, so the apiserver caches the refusal)', async () => {
    const { authenticator } = container(storeWithTokens());
    const decision = await authenticator.reviewToken(CLUSTER, madeUpToken());
    expect(tokenReviewReply('authentication.k8s.io/v1', decision)).toMatchObject({ status: { authenticated: false, user: {} } });
    expect((tokenReviewReply('authentication.k8s.io/v1', decision) as { status: object }).status).not.toHaveProperty('error');
  });

  it('logs a flood of unknown names as one line when it starts and one summary per interval, not a line each', async () => {
    const { authenticator, log, advance } = container(storeWithTokens());
    for (let index = 0; index < 3_000; index += 1) {
      await authenticator.reviewToken(CLUSTER, madeUpToken());
      advance(10);
    }
    const lines = log.withMessage('unknown token names refused');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(log.withMessage('token refused')).toEqual([]);
  });

  it('reads a name the filter holds but the table no longer has, and refuses it with status.error', async () => {
    const store = storeWithTokens();
    store.tokens.delete(`${CLUSTER}/${VALID[0]}`);
    const { authenticator } = container(store);
    const decision = await authenticator.reviewToken(CLUSTER, `${VALID[0]}:${DEFAULT_SECRET}`);
    expect(decision).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
    expect(tokenReviewReply('authentication.k8s.io/v1', decision)).toMatchObject({ status: { error: 'token not found' } });
    expect(store.calls.getToken).toBe(1);
  });
});

describe('a token created after a container read the filter', () => {
  it('is refused silently until the sync put it in the filter, then accepted within a second of that', async () => {
    const store = storeWithTokens();
    const { authenticator, advance } = container(store);
    await authenticator.reviewToken(CLUSTER, `${VALID[0]}:${DEFAULT_SECRET}`); // the container reads the filter
    store.putToken(tokenRecord({ name: 'kubeconfig-u-brandnew' })); // created in Rancher, not yet synced
    const brandNew = `kubeconfig-u-brandnew:${DEFAULT_SECRET}`;
    advance(5_000);
    expect(await authenticator.reviewToken(CLUSTER, brandNew)).toMatchObject({ outcome: 'refused', reason: 'name-unknown' });
    store.buildNameFilter(CLUSTER); // the sync ran
    advance(500);
    // the filter was re-read half a second ago (for the refusal above): at most one re-read per second
    expect(await authenticator.reviewToken(CLUSTER, brandNew)).toMatchObject({ outcome: 'refused', reason: 'name-unknown' });
    advance(600);
    expect(await authenticator.reviewToken(CLUSTER, brandNew)).toMatchObject({ outcome: 'accepted' });
  });
});

describe('a cluster without a usable name filter', () => {
  it('falls back to the budgeted reads when the cluster has no filter row (older table, before its first sync), refusing nothing wholesale', async () => {
    const store = storeWithTokens('none');
    const { authenticator } = container(store);
    expect(await authenticator.reviewToken(CLUSTER, `${VALID[0]}:${DEFAULT_SECRET}`)).toMatchObject({ outcome: 'accepted' });
    expect(await authenticator.reviewToken(CLUSTER, madeUpToken())).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
    const outcomes = new Set<string>();
    for (let index = 0; index < 100; index += 1) outcomes.add(((await authenticator.reviewToken(CLUSTER, madeUpToken())) as { reason?: string }).reason ?? '');
    expect([...outcomes].sort()).toEqual(['lookup-throttled', 'token-not-found']);
  });

  it('falls back to the budgeted reads for a cluster with more names than a filter row holds (overflow)', async () => {
    const store = storeWithTokens('none');
    store.nameFilters.set(CLUSTER, { ...buildNameFilter(CLUSTER, Buffer.alloc(16, 1), []), overflow: true });
    const { authenticator } = container(store);
    expect(await authenticator.reviewToken(CLUSTER, madeUpToken())).toMatchObject({ reason: 'token-not-found' });
    expect(await authenticator.reviewToken(CLUSTER, `${VALID[1]}:${DEFAULT_SECRET}`)).toMatchObject({ outcome: 'accepted' });
    expect(MAX_FILTER_NAMES).toBe(90_000);
  });

  it('falls back to the budgeted reads and says so when the filter row is unreadable', async () => {
    const store = storeWithTokens('none');
    store.getNameFilter = async () => {
      throw new MalformedRecordError('row C#c-abc12/NAMES is malformed: kind: Invalid input');
    };
    const { authenticator, log } = container(store);
    expect(await authenticator.reviewToken(CLUSTER, `${VALID[2]}:${DEFAULT_SECRET}`)).toMatchObject({ outcome: 'accepted' });
    expect(await authenticator.reviewToken(CLUSTER, madeUpToken())).toMatchObject({ reason: 'token-not-found' });
    expect(log.withMessage('name filter unreadable, reading unknown names within the budget')).toHaveLength(1);
  });
});

describe('a cold container’s first review', () => {
  it('has the name filter read beside the caller check’s registry read, not after it', async () => {
    const { registeredCluster } = await import('../../../support/clusters.ts');
    const cluster = await registeredCluster();
    const store = storeWithTokens().putCluster(cluster.record);
    const { authenticator } = container(store);
    const order: string[] = [];
    const getCluster = store.getCluster.bind(store);
    const getNameFilter = store.getNameFilter.bind(store);
    store.getCluster = async (clusterId) => {
      order.push('registry read started');
      const found = await getCluster(clusterId);
      order.push('registry read done');
      return found;
    };
    store.getNameFilter = (clusterId) => (order.push('filter read started'), getNameFilter(clusterId));

    await authenticator.checkCaller(CLUSTER, cluster.authorization);
    expect(order.indexOf('filter read started')).toBeGreaterThan(-1);
    expect(order.indexOf('filter read started')).toBeLessThan(order.indexOf('registry read done'));
    // the review that follows finds the filter read already: no second read
    expect(await authenticator.reviewToken(CLUSTER, `${VALID[0]}:${DEFAULT_SECRET}`)).toMatchObject({ outcome: 'accepted' });
    expect(store.calls.getNameFilter).toBe(1);
  });
});
