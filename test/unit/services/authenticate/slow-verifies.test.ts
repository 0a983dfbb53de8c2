import { describe, expect, it } from 'vitest';
import vectors from '../../../fixtures/hash-vectors.json' with { type: 'json' };
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';

const scrypt = vectors.vectors.find((vector) => vector.format === 'scrypt')!;
const NAME = 'kubeconfig-u-alice';
const RIGHT = `${NAME}:${scrypt.secret}`;
const wrong = (i: number) => `${NAME}:${'w'.repeat(53)}${i % 10}`;

function scryptStore(): FakeTokenStore {
  return new FakeTokenStore().putToken(tokenRecord({ hash: scrypt.hash }));
}

describe('tokens with a slow ($1 scrypt) hash', () => {
  it('store a $3 verifier tied to the source hash after the first successful verify', async () => {
    const store = scryptStore();
    const { authenticator } = authenticatorFixture({ store });
    expect((await authenticator.reviewToken('c-abc12', RIGHT)).outcome).toBe('accepted');
    expect(store.calls.recordVerifier).toBe(1);
    expect(store.tokens.get(`c-abc12/${NAME}`)!.verifier).toMatchObject({ hash: expect.stringMatching(/^\$3:1:/) });
  });

  it('cost no slow verify afterwards in any container, right or wrong secret: no per-name budget is spent', async () => {
    const store = scryptStore();
    await authenticatorFixture({ store }).authenticator.reviewToken('c-abc12', RIGHT);
    // another container, with a budget of one slow verify per second: it needs none
    const { authenticator } = authenticatorFixture({ store, options: { slowVerifiesPerTokenPerSecond: 1, cacheTtlSeconds: 0 } });
    const outcomes = [];
    for (let i = 0; i < 20; i += 1) outcomes.push((await authenticator.reviewToken('c-abc12', wrong(i))).outcome === 'refused' ? 'mismatch' : 'accepted');
    expect(new Set(outcomes)).toEqual(new Set(['mismatch']));
    expect(await authenticator.reviewToken('c-abc12', RIGHT)).toMatchObject({ outcome: 'accepted' });
  });

  it('are verified against the source hash again once it changes (a stale verifier is ignored)', async () => {
    const store = scryptStore();
    await authenticatorFixture({ store }).authenticator.reviewToken('c-abc12', RIGHT);
    const other = vectors.vectors.filter((vector) => vector.format === 'scrypt')[1]!;
    store.putToken({ ...store.tokens.get(`c-abc12/${NAME}`)!, hash: other.hash }); // rewritten by sync, verifier kept
    const { authenticator } = authenticatorFixture({ store });
    expect(await authenticator.reviewToken('c-abc12', RIGHT)).toMatchObject({ outcome: 'refused', reason: 'secret-mismatch' });
    expect((await authenticator.reviewToken('c-abc12', `${NAME}:${other.secret}`)).outcome).toBe('accepted');
  });

  it('refuse past the per-name verify budget with status.error, and let the owner in once the flood stops', async () => {
    const { authenticator, advance, log } = authenticatorFixture({ store: scryptStore(), options: { slowVerifiesPerTokenPerSecond: 1 } });
    const reasons = [];
    for (let i = 0; i < 6; i += 1) {
      const decision = await authenticator.reviewToken('c-abc12', wrong(i));
      reasons.push(decision.outcome === 'refused' ? decision.reason : decision.outcome);
    }
    expect(reasons).toEqual(['secret-mismatch', 'secret-mismatch', 'verify-throttled', 'verify-throttled', 'verify-throttled', 'verify-throttled']);
    expect(await authenticator.reviewToken('c-abc12', RIGHT)).toMatchObject({ outcome: 'refused', reason: 'verify-throttled' });
    advance(1_000);
    expect((await authenticator.reviewToken('c-abc12', RIGHT)).outcome).toBe('accepted');
    expect(log.withMessage('token verifies throttled')).toHaveLength(1);
  });
});
