import { describe, expect, it } from 'vitest';
import { describeDecision } from '../../../../functions/entry/cli/commands/review.ts';
import { tokenView } from '../../../../functions/entry/cli/commands/tokens.ts';
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
