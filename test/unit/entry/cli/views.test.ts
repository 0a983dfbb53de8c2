import { describe, expect, it } from 'vitest';
import { describeReview, reviewView } from '../../../../functions/entry/cli/commands/review.ts';
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

describe('describeReview', () => {
  it('names the user, groups and extras of an accepted token', () => {
    expect(
      describeReview({ decision: { outcome: 'accepted', tokenName: 't', user: { username: 'u-a', uid: 'u-a', groups: ['g1', 'g2'], extra: { username: ['alice'] } } } }),
    ).toBe('accepted: token t authenticates as u-a\ngroups: g1, g2\nextra username: alice\n');
  });

  it('gives the reason of a refusal', () => {
    expect(describeReview({ decision: { outcome: 'refused', tokenName: 't', userName: 'u-a', reason: 'token-disabled' } })).toBe('refused: token disabled (token-disabled); token t, user u-a\n');
  });

  it('tells a name outside the filter, a row gone from under the filter, and a cluster without a filter apart', () => {
    const outside = describeReview({ decision: { outcome: 'refused', tokenName: 't', reason: 'name-unknown' }, nameFilter: 'lacks-name' });
    const gone = describeReview({ decision: { outcome: 'refused', tokenName: 't', reason: 'token-not-found' }, nameFilter: 'holds-name' });
    const unfiltered = describeReview({ decision: { outcome: 'refused', tokenName: 't', reason: 'token-not-found-unfiltered' }, nameFilter: 'none' });
    expect(outside).toBe("refused: no such token (not in the cluster's name filter: the apiserver gets a silent refusal, which it caches) (name-unknown); token t\n");
    expect(gone).toContain("its name is in the cluster's name filter but its row is gone");
    expect(gone).toContain('(token-not-found)');
    expect(unfiltered).toContain('the cluster has no usable name filter');
    expect(unfiltered).toContain('note: the cluster has no name filter yet: it gets one at its first sync or import');
    expect(new Set([outside, gone, unfiltered]).size).toBe(3);
  });

  it('says when the table holds a row the filter lacks (the webhook refuses it unread)', () => {
    const text = describeReview({ decision: { outcome: 'refused', tokenName: 't', reason: 'name-unknown' }, nameFilter: 'lacks-name', rowOutsideFilter: true });
    expect(text).toContain("note: the table holds a row named t, but the cluster's name filter lacks it");
  });

  it("names a foreign token's sender as the flood report does", () => {
    const text = describeReview({
      decision: { outcome: 'foreign', foreign: { kind: 'serviceaccount-jwt' } },
      sender: {
        kind: 'bound-serviceaccount',
        workload: 'ns/sa (pod p-1)',
        podUid: 'uid-1',
        node: 'node-1',
        issuer: 'https://kubernetes.default.svc',
        expiresAt: '2026-11-26T11:00:00.000Z',
        state: 'expired',
        likely: 'token expired: …',
      },
    });
    expect(text).toContain('foreign: not a Rancher token (serviceaccount-jwt); the webhook refuses it silently');
    expect(text).toContain('sender: ns/sa (pod p-1)\nkind: bound-serviceaccount\npod uid: uid-1\nnode: node-1\nissuer: https://kubernetes.default.svc\n');
    expect(text).toContain('expires: 2026-11-26T11:00:00.000Z (expired)\nlikely: token expired: …\n');
  });
});

describe('reviewView', () => {
  it('gives each refusal its reason, whether the apiserver caches it, and what the name filter said', () => {
    expect(reviewView({ decision: { outcome: 'refused', tokenName: 't', reason: 'name-unknown' }, nameFilter: 'lacks-name' })).toEqual({
      outcome: 'refused',
      tokenName: 't',
      reason: 'name-unknown',
      message: 'token not found',
      silent: true,
      nameFilter: 'lacks-name',
    });
    expect(reviewView({ decision: { outcome: 'refused', tokenName: 't', reason: 'token-not-found-unfiltered' }, nameFilter: 'none' })).toMatchObject({
      reason: 'token-not-found-unfiltered',
      silent: false,
      nameFilter: 'none',
    });
  });
});

describe('formatTable', () => {
  it('aligns columns and does not pad the last one', () => {
    expect(formatTable(['NAME', 'STATE'], [['a-long-name', 'active'], ['b', 'revoked']])).toBe(
      'NAME         STATE\na-long-name  active\nb            revoked\n',
    );
  });
});
