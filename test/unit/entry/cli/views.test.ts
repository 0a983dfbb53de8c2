import { describe, expect, it } from 'vitest';
import { describeDecision } from '../../../../functions/entry/cli/commands/review.ts';
import { tokenView, tokenViews } from '../../../../functions/entry/cli/commands/tokens.ts';
import { formatTable } from '../../../../functions/entry/cli/lib/output.ts';
import type { TokenRecord } from '../../../../functions/core/records.ts';

const now = new Date('2026-11-26T00:00:00Z');
const row = (overrides: Partial<TokenRecord> = {}): TokenRecord => ({
    kind: 'token',
    clusterId: 'c-1',
    name: 't',
    origin: 'rancher',
    userName: 'u-a',
    enabled: true,
    hash: '$3:1:salt:hash',
    user: { enabled: true, groups: ['g'], extraByProvider: {} },
    ...overrides,
  });

describe('tokenView', () => {
  it.each([
    [{}, 'active'],
    [{ enabled: false, revoked: true }, 'disabled'],
    [{ revoked: true }, 'revoked'],
    [{ user: undefined }, 'user-missing'],
    [{ user: { enabled: false, groups: [], extraByProvider: {} } }, 'user-disabled'],
    [{ expiresAt: 'soon' }, 'expiry-unreadable'],
    [{ expiresAt: '2026-11-25T23:59:59Z' }, 'expired'],
    [{ expiresAt: '2026-11-26T00:00:00Z' }, 'active'],
    [{ hash: undefined }, 'no-hash'],
  ] as Array<[Partial<TokenRecord>, string]>)('shows %j as %s, in the review’s check order', (overrides, state) => {
    expect(tokenView(row(overrides), undefined, now).state).toBe(state);
  });

  it('never carries the hash', () => {
    expect(JSON.stringify(tokenView(row(), '2026-11-25T00:00:00Z', now))).not.toContain('$3:');
  });
});

describe('tokenViews', () => {
  const revocation = (name: string) => ({ kind: 'revocation' as const, clusterId: 'c-1', name, hashFingerprint: 'f', revokedAt: '2026-11-25T00:00:00.000Z' });

  it('lists a revocation without a token row once, as revoked with its token absent, and one with a row only through the row', () => {
    const views = tokenViews({ tokens: [{ ...row({ name: 'b', revoked: true }), version: 1 }], usage: [], revocations: [revocation('b'), revocation('a')] }, now);
    expect(views.map((view) => [view.name, view.state, view.tokenAbsent])).toEqual([
      ['a', 'revoked', true],
      ['b', 'revoked', false],
    ]);
  });

  it('names the origin of a revocation recorded before revocations kept it as unknown, with no user', () => {
    expect(tokenViews({ tokens: [], usage: [], revocations: [revocation('a')] }, now)[0]).toMatchObject({ origin: 'unknown', userName: '', enabled: false, revoked: true });
  });
});

describe('describeDecision', () => {
  it('names the user, groups and extras of an accepted token', () => {
    expect(
      describeDecision({ outcome: 'accepted', tokenName: 't', user: { username: 'u-a', uid: 'u-a', groups: ['g1', 'g2'], extra: { username: ['alice'] } } }),
    ).toBe('accepted: token t authenticates as u-a\ngroups: g1, g2\nextra username: alice\n');
  });

  it('gives the reason of a refusal', () => {
    expect(describeDecision({ outcome: 'refused', tokenName: 't', reason: 'token-not-found' })).toBe('refused: token not found (token-not-found); token t\n');
  });

  it("names a foreign JWT's issuer and subject", () => {
    expect(
      describeDecision({ outcome: 'foreign', foreign: { kind: 'serviceaccount-jwt', issuer: 'https://kubernetes.default.svc', subject: 'system:serviceaccount:ns:sa' } }),
    ).toContain('foreign: not a Rancher token (serviceaccount-jwt; iss https://kubernetes.default.svc, sub system:serviceaccount:ns:sa)');
  });
});

describe('formatTable', () => {
  it('aligns columns and does not pad the last one', () => {
    expect(formatTable(['NAME', 'STATE'], [['a-long-name', 'active'], ['b', 'revoked']])).toBe(
      'NAME         STATE\na-long-name  active\nb            revoked\n',
    );
  });
});
