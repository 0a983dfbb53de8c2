import { describe, expect, it } from 'vitest';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { FakeTokenStore } from '../../../support/fakes.ts';
import { boundServiceAccountJwt, legacyServiceAccountJwt, oidcJwt } from '../../../support/jwts.ts';

const START_S = Date.parse('2026-11-26T12:00:00Z') / 1000;

function setup(store = new FakeTokenStore()) {
  return authenticatorFixture({ store, options: { foreignSummaryIntervalSeconds: 60 } });
}

const podToken = (pod: string, iat = START_S - 60, namespace = 'payments') =>
  boundServiceAccountJwt({ namespace, serviceAccount: 'ledger', pod, podUid: `uid-${pod}`, node: 'worker-3', iat });

describe('flood report', () => {
  it('reports a window when the next call of any kind comes after its end, without a new foreign token', async () => {
    const { authenticator, log, store, advance } = setup();
    for (let i = 0; i < 30; i += 1) await authenticator.reviewToken('c-abc12', podToken('ledger-7d9f8b6c5-x2x9q').token);
    advance(30_000);
    await authenticator.reportFloods();
    expect(log.withMessage('foreign tokens refused')).toHaveLength(0); // the window is still open
    advance(30_000);
    await authenticator.reportFloods(); // no foreign token since: the flood stopped
    const [line, ...more] = log.withMessage('foreign tokens refused');
    expect(more).toEqual([]);
    expect(line!.attributes).toMatchObject({
      clusterId: 'c-abc12',
      windowStart: '2026-11-26T12:00:00.000Z',
      windowEnd: '2026-11-26T12:01:00.000Z',
      windowSeconds: 60,
      total: 30,
      offenders: [
        {
          workload: 'payments/ledger (pod ledger-7d9f8b6c5-x2x9q)',
          pod: 'ledger-7d9f8b6c5-x2x9q',
          podUid: 'uid-ledger-7d9f8b6c5-x2x9q',
          node: 'worker-3',
          count: 30,
          expired: 0,
          state: 'unexpired',
        },
      ],
      untracked: 0,
    });
    expect(store.floodWindows.map(({ window }) => [window.clusterId, window.total])).toEqual([['c-abc12', 30]]);
  });

  it('names the senders of each cluster in a line of its own: bound pods, legacy Secrets, OIDC subjects, expired or not', async () => {
    const { authenticator, log, advance } = setup();
    for (let i = 0; i < 3; i += 1) await authenticator.reviewToken('c-abc12', podToken('stale-0', START_S - 7200).token);
    await authenticator.reviewToken('c-abc12', legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' }).token);
    await authenticator.reviewToken('c-other', oidcJwt({ issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ', iat: START_S - 7200, exp: START_S - 3600 }).token);
    advance(60_000);
    await authenticator.reportFloods();
    const lines = Object.fromEntries(log.withMessage('foreign tokens refused').map((line) => [line.attributes.clusterId, line.attributes]));
    expect(lines['c-abc12']).toMatchObject({
      total: 4,
      byKind: { 'serviceaccount-jwt': 4 },
      offenders: [
        { workload: 'payments/ledger (pod stale-0)', count: 3, expired: 3, state: 'expired', likely: expect.stringContaining('token expired') },
        { workload: 'ci/deployer (secret deployer-token-x7k2p)', kind: 'legacy-serviceaccount', count: 1, state: 'no-exp' },
      ],
    });
    expect(lines['c-other']).toMatchObject({ total: 1, byKind: { jwt: 1 }, offenders: [{ kind: 'oidc', issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ', state: 'expired' }] });
  });

  it('bounds the senders it counts per cluster per window: past 100, a sender is only counted in the total, and 10 are named', async () => {
    const { authenticator, log, advance } = setup();
    for (let i = 0; i < 100; i += 1) await authenticator.reviewToken('c-abc12', podToken(`pod-${i}`).token);
    for (let i = 0; i < 50; i += 1) await authenticator.reviewToken('c-abc12', podToken('pod-late').token);
    await authenticator.reviewToken('c-abc12', podToken('pod-0').token);
    advance(60_000);
    await authenticator.reportFloods();
    const [line] = log.withMessage('foreign tokens refused');
    const offenders = line!.attributes.offenders as { workload: string; count: number }[];
    expect(offenders).toHaveLength(10);
    expect(offenders[0]).toMatchObject({ workload: 'payments/ledger (pod pod-0)', count: 2 });
    expect(offenders.map((offender) => offender.workload)).not.toContain('payments/ledger (pod pod-late)');
    expect(line!.attributes).toMatchObject({ total: 151, untracked: 151 - 11 });
  });

  it('counts at most 250 clusters per window, and says once that further ones are left to the metric', async () => {
    const { authenticator, log, store, metrics, advance } = setup();
    for (let i = 0; i < 260; i += 1) await authenticator.reviewToken(`c-${i}`, podToken('pod-0').token);
    await authenticator.reviewToken('c-259', podToken('pod-0').token);
    expect(log.withMessage('flood report full')).toHaveLength(1);
    expect(metrics.total('ForeignTokens', { ClusterId: 'c-259' })).toBe(2);
    advance(60_000);
    await authenticator.reportFloods();
    await authenticator.settle(); // the rows past the write budget finish in the background, none is dropped
    expect(store.floodWindows).toHaveLength(250);
  });

  it('writes one row per cluster per window however many tokens came, and none for a window without foreign tokens', async () => {
    const { authenticator, store, advance } = setup();
    for (let i = 0; i < 500; i += 1) {
      await authenticator.reviewToken(i % 2 === 0 ? 'c-abc12' : 'c-other', podToken(`pod-${i % 7}`).token);
      await authenticator.reportFloods();
    }
    expect(store.calls.recordFloodWindow).toBe(0);
    advance(60_000);
    await authenticator.reportFloods();
    await authenticator.reportFloods();
    expect(store.floodWindows.map(({ window }) => [window.clusterId, window.total]).sort()).toEqual([['c-abc12', 250], ['c-other', 250]]);
    expect(new Set(store.floodWindows.map(({ writer }) => writer)).size).toBe(1);
    advance(120_000);
    await authenticator.reportFloods();
    expect(store.calls.recordFloodWindow).toBe(2);
  });

  it('reports every open window at once when told it is the last call (a shutdown)', async () => {
    const { authenticator, store, log } = setup();
    await authenticator.reviewToken('c-abc12', podToken('pod-0').token);
    await authenticator.reportFloods(true);
    expect(log.withMessage('foreign tokens refused')).toHaveLength(1);
    expect(store.floodWindows[0]!.window).toMatchObject({ windowStart: '2026-11-26T12:00:00.000Z', windowEnd: '2026-11-26T12:00:00.000Z', total: 1 });
  });

  it('still reports in the log, and fails nothing, when the row cannot be written', async () => {
    const store = new FakeTokenStore();
    store.failRecordFloodWindow = new Error('AccessDeniedException: not authorized to perform dynamodb:UpdateItem');
    const { authenticator, log, advance } = setup(store);
    await authenticator.reviewToken('c-abc12', podToken('pod-0').token);
    advance(60_000);
    await expect(authenticator.reportFloods()).resolves.toBeUndefined();
    expect(log.withMessage('foreign tokens refused')).toHaveLength(1);
    expect(log.withMessage('flood report not recorded')[0]!.attributes).toMatchObject({ clusterId: 'c-abc12', windowStart: '2026-11-26T12:00:00.000Z' });
  });

  it('logs and stores claims only: no token, no signature, no encoded payload in any line or row', async () => {
    const { authenticator, log, store, advance } = setup();
    const tokens = [
      podToken('ledger-7d9f8b6c5-x2x9q'),
      legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' }),
      oidcJwt({ issuer: 'https://dex.example.org', subject: 'CiRhbGljZQ', iat: START_S, exp: START_S + 600 }),
    ];
    for (const { token } of tokens) await authenticator.reviewToken('c-abc12', token);
    await authenticator.reviewToken('c-abc12', 'opaque-secret-looking-string-0123456789');
    advance(60_000);
    await authenticator.reportFloods();
    const written = `${log.text()}\n${JSON.stringify(store.floodWindows)}`;
    expect(log.withMessage('foreign tokens refused')).toHaveLength(1);
    for (const { token, signature } of tokens) {
      const [header, payload] = token.split('.');
      for (const part of [token, signature, header!, payload!]) expect(written).not.toContain(part);
    }
    expect(written).not.toContain('opaque-secret-looking-string');
  });
});
