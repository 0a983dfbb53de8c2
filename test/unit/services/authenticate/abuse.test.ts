import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuthenticatorOptions } from '../../../../functions/services/authenticate/authenticator.ts';
import { makeHandler } from '../../../../functions/entry/authenticate/handler.ts';
import { issueCredential } from '../../../../functions/core/caller-credential.ts';
import { OverloadedError, UnauthorizedError } from '../../../../functions/core/errors.ts';
import type { ClusterRecord } from '../../../../functions/core/records.ts';
import { noMetrics, silentLog, type Log, type MetricsSink } from '../../../../functions/core/ports/telemetry.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { registeredCluster } from '../../../support/clusters.ts';
import { soakReport } from '../../../support/soak-report.ts';
import { httpEvent, tokenReviewBody } from '../../../support/events.ts';
import { CapturingLog, CapturingMetrics, DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';

const TOKEN = `kubeconfig-u-alice:${DEFAULT_SECRET}`;
const START = Date.parse('2026-11-26T12:00:00Z');
const RANCHER_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

let cluster: Awaited<ReturnType<typeof registeredCluster>>;
beforeAll(async () => {
  cluster = await registeredCluster();
});

function setup(options: Partial<AuthenticatorOptions> = {}, sinks: { log?: Log; metrics?: MetricsSink } = {}) {
  const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
  return authenticatorFixture({ store, options, startMs: START, ...sinks });
}

/** A Rancher-shaped token for a made-up name: what a flood of unknown names looks like. */
function randomRancherToken(): string {
  const pick = (n: number) => [...randomBytes(n)].map((b) => RANCHER_ALPHABET[b % RANCHER_ALPHABET.length]).join('');
  return `kubeconfig-u-${pick(8)}:${pick(54)}`;
}

/** The same credential id as the cluster's, with another secret: the only kind of wrong credential that costs a hash. */
function sameIdWrongSecret(credential: string): string {
  const [prefix, id] = credential.split('_');
  return `Bearer ${prefix}_${id}_${randomBytes(32).toString('base64url')}`;
}

describe('a caller without a valid credential', () => {
  it('costs at most the per-second budget of hash verifies per credential id, and answers the rest 500 (retried), never 401 unverified', async () => {
    const { authenticator, store, metrics, advance } = setup({ callerChecksPerSecond: 5 });
    const outcomes = new Map<string, number>();
    for (let second = 0; second < 3; second += 1) {
      for (let i = 0; i < 300; i += 1) {
        await authenticator.checkCaller('c-abc12', sameIdWrongSecret(cluster.credential)).catch((error: unknown) => {
          expect(error).toSatisfy((e) => e instanceof UnauthorizedError || e instanceof OverloadedError);
          const name = (error as Error).name;
          outcomes.set(name, (outcomes.get(name) ?? 0) + 1);
        });
      }
      advance(1_000);
    }
    expect(metrics.total('CallerVerifies')).toBe(15);
    expect(outcomes.get('UnauthorizedError')).toBe(15); // each verified and wrong
    expect(outcomes.get('OverloadedError')).toBe(885); // not verified: 500, so a correct secret among them is retried
    expect(store.calls.getCluster).toBe(1); // the registry row is cached for the TTL
    console.log(`caller flood: 900 wrong secrets for the real id → ${metrics.total('CallerVerifies')} verifies (≤ 5/s), ${store.calls.getCluster} registry read`);
    soakReport({ section: 'abuse: wrong-credential flood', requests: 900, errors: 0, wrongAccepts: 0, note: `${metrics.total('CallerVerifies')} verifies in 3 s (budget 5/s per credential id)` });
  });

  it('repeating one wrong credential costs one check per cache TTL', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 10 });
    const wrong = sameIdWrongSecret(cluster.credential);
    for (let i = 0; i < 100; i += 1) await expect(authenticator.checkCaller('c-abc12', wrong)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(store.calls.getCluster).toBe(1);
  });

  it('cannot buy unbounded registry reads by cycling made-up cluster ids', async () => {
    const { authenticator, store, advance } = setup({ callerChecksPerSecond: 5, callerChecksPerSecondTotal: 50 });
    for (let second = 0; second < 2; second += 1) {
      for (let i = 0; i < 2_000; i += 1) {
        const { credential } = await issueCredentialFast();
        await expect(authenticator.checkCaller(`c-fake${second}x${i}`, `Bearer ${credential}`)).rejects.toSatisfy(
          (error) => error instanceof UnauthorizedError || error instanceof OverloadedError,
        );
      }
      advance(1_000);
    }
    expect(store.calls.getCluster).toBeLessThanOrEqual(100);
    console.log(`cluster-id flood: 4000 made-up cluster ids → ${store.calls.getCluster} registry reads (≤ 50/s)`);
  });

  it('does not lock out the real apiserver of a warm container while wrong credentials flood it', async () => {
    const { authenticator, advance } = setup({ callerChecksPerSecond: 5, cacheTtlSeconds: 10 });
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    for (let round = 0; round < 5; round += 1) {
      for (let i = 0; i < 50; i += 1) await authenticator.checkCaller('c-abc12', sameIdWrongSecret(cluster.credential)).catch(() => undefined);
      advance(10_001); // the cached check of the real credential has expired
      for (let i = 0; i < 50; i += 1) await authenticator.checkCaller('c-abc12', sameIdWrongSecret(cluster.credential)).catch(() => undefined);
      await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).resolves.toBeUndefined();
    }
  });

  it('does not throttle the real apiserver when caching is off (CACHE_TTL_SECONDS=0)', async () => {
    const { authenticator, store } = setup({ callerChecksPerSecond: 5, cacheTtlSeconds: 0 });
    for (let i = 0; i < 100; i += 1) await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).resolves.toBeUndefined();
    expect(store.calls.getCluster).toBe(100); // TTL 0: the registry is read every time, so a removal is seen at once
  });

  it('verifies a burst of concurrent checks of the real credential once, so a cold container does not throttle its own apiserver', async () => {
    const { authenticator, store } = setup({ callerChecksPerSecond: 1 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => authenticator.checkCaller('c-abc12', cluster.authorization)));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(store.calls.getCluster).toBe(1);
  });

  it('stops accepting a verified credential as soon as it is removed from the registry', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 10 });
    await authenticator.checkCaller('c-abc12', cluster.authorization);
    const other = await registeredCluster();
    store.putCluster({ ...cluster.record, credentials: other.record.credentials });
    advance(10_001);
    await expect(authenticator.checkCaller('c-abc12', cluster.authorization)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

/** A credential of the right shape for an unknown cluster; argon2 hashing is skipped, nothing reads it. */
async function issueCredentialFast() {
  return { credential: `tgc_${'a'.repeat(10)}_${randomBytes(32).toString('base64url')}` };
}

describe('caller credential rotation', () => {
  async function rotated(graceSeconds: number): Promise<{ oldAuth: string; newAuth: string; before: ClusterRecord; after: ClusterRecord }> {
    const old = await registeredCluster('c-rot01', new Date(START - 86_400_000));
    const next = await issueCredential(randomBytes, new Date(START));
    const [oldRecord] = old.record.credentials;
    const after: ClusterRecord = {
      ...old.record,
      credentials: [{ ...oldRecord!, notAfter: new Date(START + graceSeconds * 1000).toISOString() }, next.record],
    };
    return { oldAuth: old.authorization, newAuth: `Bearer ${next.credential}`, before: old.record, after };
  }

  it('accepts old and new credentials during the grace period and only the new one after it, with no gap', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 10 });
    const { oldAuth, newAuth, before, after } = await rotated(60);
    store.putCluster(before);
    await expect(authenticator.checkCaller('c-rot01', oldAuth)).resolves.toBeUndefined();
    store.putCluster(after); // `clusters rotate-credential` wrote the new credential and the old one's notAfter
    const timeline: string[] = [];
    for (let t = 0; t <= 80; t += 5) {
      const oldOk = await authenticator.checkCaller('c-rot01', oldAuth).then(() => true, () => false);
      const newOk = await authenticator.checkCaller('c-rot01', newAuth).then(() => true, () => false);
      timeline.push(`${t}s:${oldOk ? 'old' : '-'}/${newOk ? 'new' : '-'}`);
      expect(newOk).toBe(true); // never a gap: the new credential works from the moment it is written
      expect(oldOk).toBe(t < 60); // the old one works exactly until notAfter, cached or not
      advance(5_000);
    }
    console.log(`rotation timeline: ${timeline.join(' ')}`);
  });

  it('ends a cached acceptance of the old credential at its notAfter, not a cache TTL later', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 60 });
    const { oldAuth, after } = await rotated(3);
    store.putCluster(after);
    await expect(authenticator.checkCaller('c-rot01', oldAuth)).resolves.toBeUndefined();
    advance(3_000);
    await expect(authenticator.checkCaller('c-rot01', oldAuth)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('answers 200 to old and new credentials through the handler during the grace period, 401 to the old one after', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 0 });
    const { oldAuth, newAuth, after } = await rotated(30);
    store.putCluster(after).putToken(tokenRecord({ clusterId: 'c-rot01' }));
    const log = new CapturingLog();
    const handler = makeHandler({ authenticator, log, metrics: new CapturingMetrics() });
    const call = (authorization: string) =>
      handler(httpEvent({ path: '/v1/clusters/c-rot01/authenticate', headers: { authorization }, body: tokenReviewBody(TOKEN) }));
    expect((await call(oldAuth)).statusCode).toBe(200);
    expect((await call(newAuth)).statusCode).toBe(200);
    advance(31_000);
    expect((await call(oldAuth)).statusCode).toBe(401);
    expect((await call(newAuth)).statusCode).toBe(200);
  });
});

describe('a flood of Rancher-shaped tokens for unknown names', () => {
  it('reads the store for at most the unknown-name budget per second, and refuses the rest without caching', async () => {
    const { authenticator, store, advance } = setup({ unknownNameLookupsPerSecond: 20, unknownNameLookupsPerSecondTotal: 100 });
    const outcomes = new Map<string, number>();
    for (let second = 0; second < 5; second += 1) {
      for (let i = 0; i < 1_000; i += 1) {
        const decision = await authenticator.reviewToken('c-abc12', randomRancherToken());
        const label = decision.outcome === 'refused' ? decision.reason : decision.outcome;
        outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      }
      advance(1_000);
    }
    // burst of 40, then 20 per second: 40 + 4 × 20
    expect(store.calls.getToken).toBeLessThanOrEqual(40 + 4 * 20);
    expect(outcomes.get('accepted')).toBeUndefined();
    expect(outcomes.get('token-not-found')).toBe(store.calls.getToken);
    expect(outcomes.get('lookup-throttled')).toBe(5_000 - store.calls.getToken);
    console.log(`unknown-name flood: 5000 tokens in 5 s → ${store.calls.getToken} store reads; ${JSON.stringify(Object.fromEntries(outcomes))}`);
    soakReport({ section: 'abuse: unknown-name flood', requests: 5000, errors: 0, wrongAccepts: 0, note: `${store.calls.getToken} store reads in 5 s (20/s, burst 40)` });
  });

  it('keeps accepting tokens known to exist while the budget is spent, cached or not', async () => {
    const { authenticator, store, advance } = setup({ cacheTtlSeconds: 10, unknownNameLookupsPerSecond: 5 });
    expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 200; i += 1) await authenticator.reviewToken('c-abc12', randomRancherToken());
      advance(10_001);
      for (let i = 0; i < 200; i += 1) await authenticator.reviewToken('c-abc12', randomRancherToken());
      const before = store.calls.getToken;
      expect((await authenticator.reviewToken('c-abc12', TOKEN)).outcome).toBe('accepted');
      expect(store.calls.getToken).toBe(before + 1); // re-read after the TTL, so a revocation is still seen
    }
  });

  it('answers a throttled lookup with a reason the apiserver neither caches nor retries, and reads it later', async () => {
    const { authenticator, store, log, advance } = setup({ unknownNameLookupsPerSecond: 1, unknownNameLookupsPerSecondTotal: 1 });
    store.putToken(tokenRecord({ name: 'kubeconfig-u-bob' }));
    await authenticator.reviewToken('c-abc12', randomRancherToken());
    const bob = `kubeconfig-u-bob:${DEFAULT_SECRET}`;
    expect(await authenticator.reviewToken('c-abc12', bob)).toMatchObject({ outcome: 'refused', reason: 'lookup-throttled' });
    advance(1_000);
    expect((await authenticator.reviewToken('c-abc12', bob)).outcome).toBe('accepted');
    expect(log.withMessage('unknown token lookups throttled').length).toBeLessThanOrEqual(1);
    expect(log.text()).not.toContain(DEFAULT_SECRET);
  });

  it('tells the apiserver with status.error (so it neither caches nor retries), through the handler', async () => {
    // per cluster: 1/s with a burst of 2; per container: 2/s
    const { authenticator, log } = setup({ unknownNameLookupsPerSecond: 1, unknownNameLookupsPerSecondTotal: 2 });
    const handler = makeHandler({ authenticator, log, metrics: new CapturingMetrics() });
    const call = async () => {
      const result = await handler(httpEvent({ path: '/v1/clusters/c-abc12/authenticate', headers: { authorization: cluster.authorization }, body: tokenReviewBody(randomRancherToken()) }));
      return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') };
    };
    const replies = [await call(), await call(), await call()];
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect(replies.map((reply) => reply.body.status.error)).toEqual(['token not found', 'token not found', 'too many unknown tokens, try again later']);
    expect(replies.every((reply) => reply.body.status.authenticated === false)).toBe(true);
  });

  it('gives each cluster its own budget, within a container-wide one', async () => {
    const { authenticator, store } = setup({ unknownNameLookupsPerSecond: 10, unknownNameLookupsPerSecondTotal: 100 });
    for (let i = 0; i < 500; i += 1) await authenticator.reviewToken('c-abc12', randomRancherToken());
    expect(store.calls.getToken).toBe(20);
    for (let i = 0; i < 500; i += 1) await authenticator.reviewToken('c-other', randomRancherToken());
    expect(store.calls.getToken).toBe(40);
    for (let c = 0; c < 20; c += 1) for (let i = 0; i < 50; i += 1) await authenticator.reviewToken(`c-x${c}`, randomRancherToken());
    expect(store.calls.getToken).toBe(100);
  });

  it('reads a name once for a burst of concurrent reviews, and spends the budget once', async () => {
    const { authenticator, store } = setup({ unknownNameLookupsPerSecond: 1, unknownNameLookupsPerSecondTotal: 1 });
    store.putToken(tokenRecord({ name: 'kubeconfig-u-new' }));
    const decisions = await Promise.all(Array.from({ length: 20 }, () => authenticator.reviewToken('c-abc12', `kubeconfig-u-new:${DEFAULT_SECRET}`)));
    expect(decisions.map((decision) => decision.outcome)).toEqual(Array(20).fill('accepted'));
    expect(store.calls.getToken).toBe(1);
  });

  it('reads a name once per cache TTL however many secrets are tried with it', async () => {
    const { authenticator, store } = setup({ cacheTtlSeconds: 10 });
    for (let i = 0; i < 200; i += 1) {
      const secret = randomRancherToken().split(':')[1]!;
      expect((await authenticator.reviewToken('c-abc12', `kubeconfig-u-nobody:${secret}`)).outcome).toBe('refused');
      expect((await authenticator.reviewToken('c-abc12', `kubeconfig-u-alice:${secret}`)).outcome).toBe('refused');
    }
    expect(store.calls.getToken).toBe(2);
  });
});

describe('cluster ids that name Object.prototype members', () => {
  it('summarises foreign tokens of a cluster called "constructor" without touching Object', async () => {
    const { authenticator, log, advance } = setup({ foreignSummaryIntervalSeconds: 1 });
    await authenticator.reviewToken('constructor', 'not-a-rancher-token');
    advance(1_000);
    await authenticator.reviewToken('constructor', 'not-a-rancher-token');
    advance(1_000);
    await authenticator.reportFloods();
    expect((Object as unknown as Record<string, unknown>).opaque).toBeUndefined();
    expect(log.withMessage('foreign tokens refused').map((line) => line.attributes)).toMatchObject([
      { clusterId: 'constructor', total: 1, byKind: { opaque: 1 } },
      { clusterId: 'constructor', total: 1, byKind: { opaque: 1 } },
    ]);
  });
});

describe('cache memory under a flood of distinct tokens', () => {
  it('stays bounded: heap after 30 000 distinct tokens is within a few MB of heap after 5 000', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The capturing fakes keep every line; a container's real log and metrics do not.
    const { authenticator, advance } = setup(
      { cacheMaxEntries: 1_000, unknownNameLookupsPerSecond: 1_000_000, unknownNameLookupsPerSecondTotal: 1_000_000 },
      { log: silentLog, metrics: noMetrics },
    );
    const flood = async (count: number) => {
      for (let i = 0; i < count; i += 1) {
        await authenticator.reviewToken('c-abc12', randomRancherToken()); // unknown names: rows + decisions caches
        await authenticator.reviewToken('c-abc12', `kubeconfig-u-alice:${randomRancherToken().split(':')[1]}`); // known name, wrong secrets
        if (i % 1000 === 0) advance(1);
      }
    };
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    await flood(5_000);
    const settled = heap();
    await flood(25_000);
    const after = heap();
    const growthMb = (after - settled) / 1024 / 1024;
    soakReport({ section: 'abuse: cache memory', requests: 60_000, errors: 0, wrongAccepts: 0, note: `heap growth ${growthMb.toFixed(1)} MB over 50k distinct tokens (bound 8 MB)` });
    console.log(`cache memory: heap ${(settled / 1048576).toFixed(1)} MB after 10k reviews, ${(after / 1048576).toFixed(1)} MB after 60k (growth ${growthMb.toFixed(1)} MB, bound 8 MB)`);
    // Unbounded caches would hold 50 000 more entries (decision + row + key ≈ 0.5 KB each ≈ 25 MB).
    expect(growthMb).toBeLessThan(8);
  }, 120_000);
});
