import { describe, expect, it } from 'vitest';
import { review } from '../../../functions/core/review.ts';
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
