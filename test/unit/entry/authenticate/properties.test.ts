import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthenticatorOptions } from '../../../../functions/services/authenticate/authenticator.ts';
import { makeHandler, type AuthenticateHandler } from '../../../../functions/entry/authenticate/handler.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { httpEvent } from '../../../support/events.ts';
import { type CapturingLog, FakeTokenStore } from '../../../support/fakes.ts';
import { soakReport } from '../../../support/soak-report.ts';
import { buildWorld, expectedUser, requestArbitrary, runs, violations, type HostileRequest, type World } from '../../../support/hostile.ts';

/**
 * Property-based hostile input against the handler (API Gateway events in, replies out) over a fake store:
 * whatever arrives, the handler answers one of the documented shapes, accepts only exact valid
 * (cluster, token) pairs, and never echoes or logs a secret. Budgets: small here, large with SOAK=1.
 */

let world: World;
const tally = { cases: 0, accepted: 0, statuses: new Map<number, number>() };

beforeAll(async () => {
  world = await buildWorld();
});

afterAll(() => {
  const statuses = [...tally.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`hostile input (handler): ${tally.cases} cases, ${tally.accepted} accepted; statuses ${statuses}`);
  soakReport({ section: 'properties: handler', cases: tally.cases, errors: 0, wrongAccepts: 0 });
});

function setup(options: Partial<AuthenticatorOptions>, clockStepMs: number) {
  const store = new FakeTokenStore();
  for (const row of world.clusters) store.putCluster(row);
  for (const row of world.tokens) store.putToken(row);
  const { log, metrics, authenticator, advance } = authenticatorFixture({ store, options });
  const handler = makeHandler({ authenticator, log, metrics });
  const tick = () => advance(clockStepMs);
  return { store, log, handler, tick };
}

async function exercise(handler: AuthenticateHandler, log: CapturingLog, request: HostileRequest, mustAccept: boolean): Promise<string[]> {
  const before = log.lines.length;
  const result = await handler(
    httpEvent({ method: request.method, path: request.path, headers: request.headers, body: request.body, isBase64Encoded: request.isBase64Encoded }),
  );
  const logText = log.lines.slice(before).map((line) => JSON.stringify(line)).join('\n');
  const reply = { statusCode: result.statusCode ?? 0, contentType: result.headers?.['content-type'] as string | undefined, body: result.body ?? '' };
  tally.cases += 1;
  tally.statuses.set(reply.statusCode, (tally.statuses.get(reply.statusCode) ?? 0) + 1);
  if (reply.body.includes('"authenticated":true')) tally.accepted += 1;
  log.lines.length = 0; // keep memory flat over long runs; this case's lines were checked above
  return violations(world, request, reply, logText, mustAccept);
}

describe('authenticate handler under hostile input', () => {
  it('answers only documented shapes, accepts exactly the valid pairs and leaks nothing (warm container, default budgets)', async () => {
    const { handler, log, tick } = setup({}, 250);
    // Warm: each cluster's apiserver has been verified once, as in any running container.
    for (const request of warmUp()) expect(await exercise(handler, log, request, true)).toEqual([]);
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world), async (request) => {
        tick();
        expect(await exercise(handler, log, request, true)).toEqual([]);
      }),
      { numRuns: runs(400, 20_000) },
    );
  }, 600_000);

  it('never accepts wrongly with caching off and budgets of one per second (throttles may refuse, never admit)', async () => {
    const { handler, log, tick } = setup(
      { cacheTtlSeconds: 0, callerChecksPerSecond: 1, callerChecksPerSecondTotal: 1, unknownNameLookupsPerSecond: 1, unknownNameLookupsPerSecondTotal: 1 },
      37,
    );
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world), async (request) => {
        tick();
        expect(await exercise(handler, log, request, false)).toEqual([]);
      }),
      { numRuns: runs(300, 10_000) },
    );
  }, 600_000);

  it('the oracle is not vacuous: the generator produces valid pairs and the handler accepts them', async () => {
    const sample = fc.sample(requestArbitrary(world), { numRuns: 500, seed: 42 });
    const valid = sample.filter((request) => expectedUser(world, request) !== undefined);
    expect(valid.length).toBeGreaterThan(25);
    const { handler, log, tick } = setup({}, 250);
    for (const request of [...warmUp(), ...valid]) {
      tick();
      expect(await exercise(handler, log, request, true)).toEqual([]); // mustAccept: each valid pair is accepted
    }
  });
});

function warmUp(): HostileRequest[] {
  return Object.entries(world.valid).map(([clusterId, tokens]) => {
    const token = [...tokens.keys()][0]!;
    return {
      method: 'POST',
      path: `/v1/clusters/${clusterId}/authenticate`,
      headers: { authorization: world.authorization[clusterId]!, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
      isBase64Encoded: false,
      review: { token, apiVersion: 'authentication.k8s.io/v1' },
      secrets: [],
    };
  });
}
