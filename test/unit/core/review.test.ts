import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import vectors from '../../fixtures/hash-vectors.json' with { type: 'json' };
import { issueVerifier } from '../../../functions/core/hash.ts';
import { needsSlowVerify, review } from '../../../functions/core/review.ts';
import { DEFAULT_SECRET, tokenRecord } from '../../support/fakes.ts';

const context = { now: new Date('2026-11-26T12:00:00Z'), allowSystemGroups: false };
const token = { name: 'kubeconfig-u-alice', secret: DEFAULT_SECRET };

describe('review (pure decision)', () => {
  it('refuses a name that found no record as token-not-found', async () => {
    expect(await review(token, undefined, context)).toEqual({ outcome: 'refused', tokenName: 'kubeconfig-u-alice', reason: 'token-not-found' });
  });

  it("names the record's user on a refusal after the token was found", async () => {
    expect(await review(token, tokenRecord({ enabled: false }), context)).toEqual({
      outcome: 'refused',
      tokenName: 'kubeconfig-u-alice',
      userName: 'u-alice',
      reason: 'token-disabled',
    });
  });

  it('carries the expiry of an accepted token so a cached acceptance can end with it', async () => {
    const decision = await review(token, tokenRecord({ expiresAt: '2026-11-27T00:00:00Z' }), context);
    expect(decision).toMatchObject({ outcome: 'accepted', expiresAtMs: Date.parse('2026-11-27T00:00:00Z') });
  });

  it('verifies the secret against the record, not just its presence', async () => {
    expect(await review({ ...token, secret: 'c'.repeat(54) }, tokenRecord(), context)).toMatchObject({ reason: 'secret-mismatch' });
  });
});

describe('review with a stored verifier', () => {
  const scrypt = vectors.vectors.find((vector) => vector.format === 'scrypt')!;
  const context = { now: new Date('2026-11-26T12:00:00Z'), allowSystemGroups: false };
  const token = (secret: string) => ({ name: 'kubeconfig-u-alice', secret });

  it('decides with the verifier of the current hash and needs no slow verify', async () => {
    const record = tokenRecord({ hash: scrypt.hash, verifier: issueVerifier(scrypt.hash, scrypt.secret, randomBytes) });
    expect(needsSlowVerify(record, context.now)).toBe(false);
    const decision = await review(token(scrypt.secret), record, context);
    expect(decision).toMatchObject({ outcome: 'accepted' });
    expect(decision).not.toHaveProperty('verifierWanted');
    expect(await review(token('wrong'), record, context)).toMatchObject({ outcome: 'refused', reason: 'secret-mismatch' });
  });

  it('ignores a verifier of another hash (the row was rewritten) and asks for a new one', async () => {
    const stale = issueVerifier(scrypt.hash, 'the-old-secret', randomBytes);
    const record = tokenRecord({ hash: scrypt.hash, verifier: { ...stale, source: 'digest-of-an-older-hash' } });
    expect(needsSlowVerify(record, context.now)).toBe(true);
    expect(await review(token('the-old-secret'), record, context)).toMatchObject({ outcome: 'refused', reason: 'secret-mismatch' });
    expect(await review(token(scrypt.secret), record, context)).toMatchObject({ outcome: 'accepted', verifierWanted: true });
  });

  it('needs no slow verify for a token refused before its secret is looked at', () => {
    expect(needsSlowVerify(tokenRecord({ hash: scrypt.hash, enabled: false }), context.now)).toBe(false);
    expect(needsSlowVerify(tokenRecord(), context.now)).toBe(false); // $3: fast already
  });
});
