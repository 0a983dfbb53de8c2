import { METHODS, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { includeNames } from '../../../functions/services/mirror/name-filter.ts';
import { CapturingLog } from '../../support/fakes.ts';
import { buildWorld, requestArbitrary, runs, violations, type HostileRequest, type World } from '../../support/hostile.ts';
import { startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import { soakReport } from '../../support/soak-report.ts';

/**
 * The hostile-input properties end to end: real HTTP to the local server (the same event translation and
 * handler as in AWS) over a real local DynamoDB, with each cluster's name filter written as sync writes it. What Node's HTTP client cannot send (raw non-ASCII in a
 * path or header) is percent-encoded or dropped first, and the oracle sees exactly what was sent.
 */

let world: World;
let stack: LocalStack;
const log = new CapturingLog();
const tally = { cases: 0, accepted: 0, statuses: new Map<number, number>() };

beforeAll(async () => {
  world = await buildWorld();
  stack = await startLocalStack({ cacheTtlSeconds: 2, log });
  for (const row of world.clusters) await stack.store.createCluster(row);
  await stack.store.createRecords(world.tokens);
  // each cluster's name filter, as sync or import writes it: made-up names take the filter's path
  for (const row of world.clusters) {
    await includeNames(stack.store, row.clusterId, [], { names: world.tokens.filter((token) => token.clusterId === row.clusterId).map((token) => token.name) });
  }
});

afterAll(async () => {
  await stack?.close();
  const statuses = [...tally.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`hostile input (HTTP, local server): ${tally.cases} cases, ${tally.accepted} accepted; statuses ${statuses}`);
  soakReport({ section: 'properties: HTTP local server', cases: tally.cases, errors: 0, wrongAccepts: 0 });
});

/** What Node's client will put on the wire for this request (and what the oracle must judge). */
function sendable(request: HostileRequest): HostileRequest {
  const path = request.path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '').trim()]));
  // Node's HTTP parser itself answers 400 (no body) to a method it does not know, before any of our code:
  // that is the local server's transport, not our contract (API Gateway fronts the function in AWS).
  const upper = request.method.toUpperCase();
  const method = !METHODS.includes(upper) || upper === 'CONNECT' || upper === 'HEAD' ? 'PUT' : upper;
  return { ...request, path, headers, method };
}

function send(request: HostileRequest): Promise<{ statusCode: number; contentType: string | undefined; body: string }> {
  const url = new URL(stack.apiUrl);
  const payload = request.body === undefined ? undefined : Buffer.from(request.body, request.isBase64Encoded ? 'base64' : 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers: { ...request.headers, ...(payload ? { 'content-length': payload.length } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the local server under hostile input', () => {
  it('answers only documented shapes over HTTP, accepts exactly the valid pairs and leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world).map(sendable), async (request) => {
        const before = log.lines.length;
        const reply = await send(request);
        const logText = log.lines.slice(before).map((line) => JSON.stringify(line)).join('\n');
        log.lines.length = 0;
        tally.cases += 1;
        tally.statuses.set(reply.statusCode, (tally.statuses.get(reply.statusCode) ?? 0) + 1);
        if (reply.body.includes('"authenticated":true')) tally.accepted += 1;
        // Throttles may refuse a valid pair under this many made-up names; they may never admit one.
        expect(violations(world, request, reply, logText, false)).toEqual([]);
      }),
      { numRuns: runs(100, 5_000) },
    );
    expect(stack.handlerErrors).toEqual([]);
    expect(tally.accepted).toBeGreaterThan(0);
  }, 600_000);
});
