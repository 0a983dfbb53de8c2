import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerFromEnvironment } from '../../../functions/entry/authenticate/handler.ts';
import { startLocalServer, type LocalServer } from '../../../functions/entry/local/server.ts';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/client.ts';
import { DynamoDbAdminStore } from '../../../functions/adapters/dynamodb/admin-store.ts';
import { DynamoDbReviewStore } from '../../../functions/adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../../functions/adapters/dynamodb/table-operations.ts';
import type { FloodRecorder } from '../../../functions/core/ports/flood-store.ts';
import type { TokenStore } from '../../../functions/core/ports/token-store.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { buildWorld, CLUSTER_A, type World } from '../../support/hostile.ts';
import { soakReport } from '../../support/soak-report.ts';
import { freshTable, startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

/**
 * The caller-check budget end to end: real HTTP through the local server, the real handler wiring and a
 * real local DynamoDB, with default budgets and caching off (so nothing is answered from a cache). A flood of wrong credentials (with the real credential's id,
 * the only kind that costs an argon2 verify) is answered 401 at the budget's cost, while the real
 * apiserver's reviews keep succeeding.
 */

let db: TestDynamoDb;
let server: LocalServer;
let world: World;
const reads = { getCluster: 0, getToken: 0 };
const log = new CapturingLog();

beforeAll(async () => {
  db = await startTestDynamoDb();
  const tableName = await freshTable(db.endpoint, 'flood');
  world = await buildWorld();
  const operations = new TableOperations(createDocumentClient({ region: 'us-east-1', endpoint: db.endpoint , localCredentials: true}), tableName);
  const store = new DynamoDbAdminStore(operations);
  const reviews = new DynamoDbReviewStore(operations, 1000);
  for (const cluster of world.clusters) await store.createCluster(cluster);
  await store.createRecords(world.tokens);
  const counting: TokenStore & FloodRecorder = {
    getCluster: (clusterId) => ((reads.getCluster += 1), reviews.getCluster(clusterId)),
    getToken: (clusterId, name) => ((reads.getToken += 1), reviews.getToken(clusterId, name)),
    getNameFilter: (clusterId) => reviews.getNameFilter(clusterId),
    recordUse: (clusterId, name, at, notBefore) => reviews.recordUse(clusterId, name, at, notBefore),
    recordVerifier: (clusterId, name, verifier) => reviews.recordVerifier(clusterId, name, verifier),
    recordFloodWindow: (window, writer) => reviews.recordFloodWindow(window, writer),
  };
  const handler = handlerFromEnvironment({ TABLE_NAME: tableName, DYNAMODB_ENDPOINT: db.endpoint, CACHE_TTL_SECONDS: '0' }, { store: counting, log, metrics: new CapturingMetrics() });
  server = await startLocalServer({ handler });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function review(authorization: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/clusters/${CLUSTER_A}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ kind: 'TokenReview', spec: { token: `kubeconfig-u-alice:${'d'.repeat(54)}` } }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('a flood of wrong caller credentials over HTTP (default budgets, no cache)', () => {
  it('costs at most 5 registry reads and verifies per second, and the real apiserver keeps being answered', async () => {
    const real = world.authorization[CLUSTER_A]!;
    expect(await review(real)).toBe(200);
    const before = reads.getCluster;
    const [prefix, id] = real.slice('Bearer '.length).split('_');
    const started = performance.now();
    const statuses = new Map<number, number>();
    let realOk = 0;
    for (let wave = 0; wave < 6; wave += 1) {
      const wrong = Array.from({ length: 50 }, () => `Bearer ${prefix}_${id}_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`);
      const results = await Promise.all([...wrong.map(review), review(real)]);
      for (const status of results.slice(0, -1)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (results.at(-1) === 200) realOk += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const spent = reads.getCluster - before;
    console.log(`caller flood over HTTP: 300 wrong credentials in ${seconds.toFixed(1)} s → ${spent} registry reads (budget 5/s, plus 6 for the real credential); statuses ${JSON.stringify(Object.fromEntries(statuses))}; real apiserver 200 in ${realOk}/6 waves`);
    soakReport({ section: 'abuse: wrong-credential flood (HTTP)', requests: 306, errors: 0, wrongAccepts: 0, note: `${spent} registry reads in ${seconds.toFixed(1)} s` });
    // Each wrong secret is verified (401) within the per-credential-id budget; past it the check answers
    // 500 without a hash, which the apiserver retries: never a 401 a correct secret could have got.
    expect((statuses.get(401) ?? 0) + (statuses.get(500) ?? 0)).toBe(300);
    expect(statuses.get(401) ?? 0).toBeLessThanOrEqual(5 * (Math.floor(seconds) + 2));
    expect(realOk).toBe(6);
    // 5 per second for the unverified ones, plus one registry read per review of the real (remembered) credential.
    expect(spent).toBeLessThanOrEqual(5 * (Math.floor(seconds) + 2) + 6);
    expect(log.text()).not.toContain(real.slice('Bearer '.length));
  });
});
