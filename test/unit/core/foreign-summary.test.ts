import { describe, expect, it } from 'vitest';
import {
  countToken,
  expiryStateOf,
  likelyCauseOf,
  mergeFloodWindows,
  offenderKeyOf,
  offenderOf,
  tokenKeyOf,
  type FloodWindow,
} from '../../../functions/core/foreign-summary.ts';
import { parseToken, type ForeignToken } from '../../../functions/core/token-string.ts';
import { boundServiceAccountJwt, legacyServiceAccountJwt, oidcJwt, unboundServiceAccountJwt } from '../../support/jwts.ts';

const NOW_MS = Date.parse('2026-11-26T12:00:00Z');
const NOW_S = NOW_MS / 1000;

function foreign(token: string): ForeignToken {
  const parsed = parseToken(token);
  if (!('foreign' in parsed)) throw new Error('expected a foreign token');
  return parsed.foreign;
}

const bound = (iat: number) =>
  foreign(boundServiceAccountJwt({ namespace: 'payments', serviceAccount: 'ledger', pod: 'ledger-7d9f8b6c5-x2x9q', podUid: 'a3c1e2f4-1b2c-4d5e-8f90-123456789abc', node: 'worker-3', iat }).token);

describe('offenderOf', () => {
  it('names a bound ServiceAccount token by namespace/serviceaccount (pod …), with the pod uid and node', () => {
    expect(offenderOf(bound(NOW_S - 60))).toMatchObject({
      kind: 'bound-serviceaccount',
      workload: 'payments/ledger (pod ledger-7d9f8b6c5-x2x9q)',
      namespace: 'payments',
      serviceAccount: 'ledger',
      pod: 'ledger-7d9f8b6c5-x2x9q',
      podUid: 'a3c1e2f4-1b2c-4d5e-8f90-123456789abc',
      node: 'worker-3',
      issuer: 'https://kubernetes.default.svc.cluster.local',
    });
  });

  it('names a TokenRequest token bound to no pod (kubectl create token) by its account, not as a legacy token', () => {
    const token = foreign(unboundServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', iat: NOW_S }).token);
    expect(offenderOf(token)).toMatchObject({ kind: 'bound-serviceaccount', workload: 'ci/deployer (bound to no pod)' });
  });

  it('names a legacy Secret-based token by namespace/serviceaccount (secret …)', () => {
    const token = foreign(legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' }).token);
    expect(offenderOf(token)).toMatchObject({ kind: 'legacy-serviceaccount', workload: 'ci/deployer (secret deployer-token-x7k2p)', secret: 'deployer-token-x7k2p' });
    expect(expiryStateOf(countToken(undefined, token, NOW_MS))).toBe('no-exp');
  });

  it('names an OIDC token by its subject and issuer', () => {
    const token = foreign(oidcJwt({ issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ', iat: NOW_S - 600, exp: NOW_S + 600 }).token);
    expect(offenderOf(token)).toMatchObject({ kind: 'oidc', workload: 'CiRhbGljZQ (issuer https://dex.example.org)', issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ' });
  });

  it('names a string that is not a JWT as such, with nothing of the string itself', () => {
    expect(offenderOf(foreign('Bearer-junk-from-a-scanner'))).toEqual({ kind: 'opaque', workload: 'not a JWT', count: 0, expired: 0 });
  });
});

describe('countToken', () => {
  it('counts a bound token whose exp has passed as expired, and one whose exp has not as unexpired', () => {
    const expired = countToken(undefined, bound(NOW_S - 7200), NOW_MS);
    expect(expired).toMatchObject({ count: 1, expired: 1, latestExpiresAt: new Date((NOW_S - 7200 + 3607) * 1000).toISOString() });
    expect(expiryStateOf(expired)).toBe('expired');
    expect(likelyCauseOf(expired)).toContain('token expired');
    const fresh = countToken(undefined, bound(NOW_S - 60), NOW_MS);
    expect(fresh).toMatchObject({ count: 1, expired: 0 });
    expect(expiryStateOf(fresh)).toBe('unexpired');
    expect(likelyCauseOf(fresh)).toContain('pod or ServiceAccount was deleted');
  });

  it('keeps the latest exp of a sender and says mixed when only some of its tokens had expired', () => {
    const offender = countToken(countToken(undefined, bound(NOW_S - 7200), NOW_MS), bound(NOW_S - 60), NOW_MS);
    expect(offender).toMatchObject({ count: 2, expired: 1, latestExpiresAt: new Date((NOW_S - 60 + 3607) * 1000).toISOString() });
    expect(expiryStateOf(offender)).toBe('mixed');
  });

  it('survives an exp no date can hold (a forged claim): counted, not formatted', () => {
    const forged: ForeignToken = { ...bound(NOW_S), expiresAtMs: 1e300 };
    expect(countToken(undefined, forged, NOW_MS)).toMatchObject({ count: 1, expired: 0 });
    expect(countToken(undefined, forged, NOW_MS).latestExpiresAt).toBeUndefined();
  });

  it('counts two tokens of one pod under one key, and another pod of the same ServiceAccount under another', () => {
    const other = foreign(boundServiceAccountJwt({ namespace: 'payments', serviceAccount: 'ledger', pod: 'ledger-7d9f8b6c5-k8p2m', podUid: 'b4d2', iat: NOW_S }).token);
    expect(offenderKeyOf(offenderOf(bound(NOW_S - 7200)))).toBe(offenderKeyOf(offenderOf(bound(NOW_S))));
    expect(offenderKeyOf(offenderOf(other))).not.toBe(offenderKeyOf(offenderOf(bound(NOW_S))));
  });
});

describe('tokenKeyOf', () => {
  it('counts a token under the key its sender is merged by later, for every kind of sender', () => {
    const tokens = [
      bound(NOW_S),
      foreign(legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' }).token),
      foreign(oidcJwt({ issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ', iat: NOW_S, exp: NOW_S + 60 }).token),
      foreign('not-a-jwt'),
    ];
    for (const token of tokens) expect(tokenKeyOf(token)).toBe(offenderKeyOf(offenderOf(token)));
    expect(new Set(tokens.map(tokenKeyOf)).size).toBe(tokens.length);
  });
});

describe('mergeFloodWindows', () => {
  const window = (start: string, end: string, count: number, expired: number): FloodWindow => ({
    clusterId: 'c-abc12',
    windowStart: start,
    windowEnd: end,
    total: count + 1,
    byKind: { 'serviceaccount-jwt': count, opaque: 1 },
    offenders: [
      { ...countToken(undefined, bound(NOW_S), NOW_MS), count, expired },
      { kind: 'opaque', workload: 'not a JWT', count: 1, expired: 0 },
    ],
    untracked: 0,
  });

  it('adds up the windows of several containers and intervals per sender, spanning them all', () => {
    const merged = mergeFloodWindows([window('2026-11-26T12:00:00.000Z', '2026-11-26T12:01:00.000Z', 40, 40), window('2026-11-26T12:01:00.000Z', '2026-11-26T12:02:00.000Z', 2, 0)]);
    expect(merged).toMatchObject({ windowStart: '2026-11-26T12:00:00.000Z', windowEnd: '2026-11-26T12:02:00.000Z', total: 44, byKind: { 'serviceaccount-jwt': 42, opaque: 2 }, untracked: 0 });
    expect(merged!.offenders.map((offender) => [offender.workload, offender.count, offender.expired])).toEqual([
      ['payments/ledger (pod ledger-7d9f8b6c5-x2x9q)', 42, 40],
      ['not a JWT', 2, 0],
    ]);
  });

  it('names at most the top senders and counts the rest as untracked', () => {
    const merged = mergeFloodWindows([window('2026-11-26T12:00:00.000Z', '2026-11-26T12:01:00.000Z', 5, 0)], 1);
    expect(merged!.offenders).toHaveLength(1);
    expect(merged!.untracked).toBe(1);
  });

  it('has nothing to say about no windows', () => {
    expect(mergeFloodWindows([])).toBeUndefined();
  });
});
