import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCredential } from '../../../../functions/core/caller-credential.ts';
import type { ClusterRecord } from '../../../../functions/core/records.ts';
import { makeHandler } from '../../../../functions/entry/authenticate/handler.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { registeredCluster } from '../../../support/clusters.ts';
import { httpEvent, tokenReviewBody } from '../../../support/events.ts';
import { DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';

const START = Date.parse('2026-11-26T12:00:00Z');
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A credential of the right shape with a random id: what an attacker who does not know the real id sends. */
function randomIdCredential(): string {
  const id = [...randomBytes(10)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('');
  return `Bearer tgc_${id}_${randomBytes(32).toString('base64url')}`;
}

function sameIdWrongSecret(authorization: string): string {
  const [prefix, id] = authorization.slice('Bearer '.length).split('_');
  return `Bearer ${prefix}_${id}_${randomBytes(32).toString('base64url')}`;
}

/** `clusters rotate-credential --grace 0`: the old credential ends now, the new one has never been verified anywhere. */
async function rotatedWithoutGrace(): Promise<{ record: ClusterRecord; authorization: string }> {
  const old = await registeredCluster('c-abc12', new Date(START - 86_400_000));
  const next = await issueCredential(randomBytes, new Date(START));
  const [oldRecord] = old.record.credentials;
  return {
    record: { ...old.record, credentials: [{ ...oldRecord!, notAfter: new Date(START).toISOString() }, next.record] },
    authorization: `Bearer ${next.credential}`,
  };
}

describe('the caller gate under a flood of wrong credentials', () => {
  let rotated: Awaited<ReturnType<typeof rotatedWithoutGrace>>;
  beforeAll(async () => {
    rotated = await rotatedWithoutGrace();
  });

  it.each([
    ['a fresh container', 0],
    ['a container whose cached registry row has expired', 10_001],
  ])('never refuses the real, not yet verified credential while random credential ids flood %s', async (_label, before) => {
    const { authenticator, metrics, advance } = authenticatorFixture({ store: new FakeTokenStore().putCluster(rotated.record) });
    if (before > 0) {
      await authenticator.checkCaller('c-abc12', randomIdCredential()).catch(() => undefined);
      advance(before);
    }
    const flood = Array.from({ length: 1_000 }, () => authenticator.checkCaller('c-abc12', randomIdCredential()).then(() => 'ok', (e: Error) => e.name));
    const real = Array.from({ length: 39 }, () => authenticator.checkCaller('c-abc12', rotated.authorization).then(() => 'ok', (e: Error) => e.message));
    expect(await Promise.all(real)).toEqual(Array(39).fill('ok'));
    expect((await Promise.all(flood)).filter((outcome) => outcome === 'ok')).toEqual([]);
    expect(metrics.total('CallerVerifies')).toBe(1); // the real one; random ids cost no hash
  });

  it('keeps the real credential verified for as long as it is used, even past an hour, while its id is flooded', async () => {
    const { authenticator, advance } = authenticatorFixture({ store: new FakeTokenStore().putCluster(rotated.record) });
    await authenticator.checkCaller('c-abc12', rotated.authorization);
    for (let step = 0; step < 2 * 360; step += 1) {
      advance(10_001);
      for (let i = 0; i < 10; i += 1) await authenticator.checkCaller('c-abc12', sameIdWrongSecret(rotated.authorization)).catch(() => undefined);
      await expect(authenticator.checkCaller('c-abc12', rotated.authorization)).resolves.toBeUndefined();
    }
  });

  it('answers an unverified correct credential caught in a flood of its own id with 500 (retried), never 401', async () => {
    const { authenticator } = authenticatorFixture({ store: new FakeTokenStore().putCluster(rotated.record), options: { callerChecksPerSecond: 2 } });
    for (let i = 0; i < 10; i += 1) await authenticator.checkCaller('c-abc12', sameIdWrongSecret(rotated.authorization)).catch(() => undefined);
    await expect(authenticator.checkCaller('c-abc12', rotated.authorization)).rejects.toMatchObject({ name: 'OverloadedError' });
  });

  it('writes one summary line per interval for a flood of refused caller checks, not a line per attempt', async () => {
    const cluster = await registeredCluster();
    const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
    const { authenticator, log, metrics, advance } = authenticatorFixture({ store, options: { foreignSummaryIntervalSeconds: 60 } });
    const handler = makeHandler({ authenticator, log, metrics });
    const call = (authorization: string) =>
      handler(httpEvent({ path: '/v1/clusters/c-abc12/authenticate', headers: { authorization }, body: tokenReviewBody(`kubeconfig-u-alice:${DEFAULT_SECRET}`) }));
    const statuses = new Set<number>();
    for (let i = 0; i < 500; i += 1) {
      statuses.add((await call(i % 2 ? randomIdCredential() : sameIdWrongSecret(cluster.authorization))).statusCode ?? 0);
      advance(10);
    }
    expect([...statuses].sort()).toEqual([401, 500]);
    advance(60_000);
    await call(randomIdCredential());
    const warnings = log.lines.filter((line) => line.level === 'warn' || line.level === 'error');
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(log.withMessage('caller checks refused').at(-1)!.attributes).toMatchObject({ total: 501 });
    expect(log.text()).not.toContain(cluster.credential.slice(15));
  });
});
