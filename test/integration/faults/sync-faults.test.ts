import { report } from '../../support/verbose.ts';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/client.ts';
import { DynamoDbAdminStore } from '../../../functions/adapters/dynamodb/admin-store.ts';
import { DynamoDbReviewStore } from '../../../functions/adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../../functions/adapters/dynamodb/table-operations.ts';
import { reviewToken } from '../../../functions/services/review-token.ts';
import { DEFAULT_SYNC_OPTIONS } from '../../../functions/entry/sync/config.ts';
import { createSyncer, type SyncOptions, type SyncRequest } from '../../../functions/services/sync/sync.ts';
import { registeredCluster } from '../../support/clusters.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { cat, cua, FakeClusterSource, HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { soakReport } from '../../support/soak-report.ts';
import { freshTable, startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

/**
 * Sync against a DynamoDB that fails half way through a run (TCP fault proxy in front of a real local
 * DynamoDB): an outage mid-sync and a run cut by its deadline (a Lambda timeout). Whatever the run got
 * done, no row of a token still in the cluster is lost, no token removed by an earlier run comes back,
 * a revoke made meanwhile survives, and the next healthy run converges to the exact mirror.
 */

let db: TestDynamoDb;
let proxy: FaultProxy;
let tableName: string;
/** Through the proxy: what sync uses. */
let faulty: DynamoDbAdminStore;
/** Straight to the DynamoDB: what the test reads the truth with. */
let direct: DynamoDbAdminStore;
let directReviews: DynamoDbReviewStore;
const log = new CapturingLog();
const outcomes: string[] = [];
let clock = Date.parse('2026-11-26T12:00:00Z');

const name = (i: number) => `kubeconfig-u-t${String(i).padStart(4, '0')}`;

beforeAll(async () => {
  db = await startTestDynamoDb();
  tableName = await freshTable(db.endpoint, 'sync-faults');
  proxy = await startFaultProxy(db.endpoint);
  faulty = new DynamoDbAdminStore(
    new TableOperations(
      createDocumentClient({ region: 'us-east-1', endpoint: proxy.endpoint, localCredentials: true, connectionTimeoutMs: 500, requestTimeoutMs: 1000, maxAttempts: 2 }),
      tableName,
      (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
    ),
  );
  const directOperations = new TableOperations(createDocumentClient({ region: 'us-east-1', endpoint: db.endpoint, localCredentials: true, requestTimeoutMs: 5000 }), tableName);
  direct = new DynamoDbAdminStore(directOperations);
  directReviews = new DynamoDbReviewStore(directOperations, 5000);
});

afterAll(async () => {
  await proxy?.close();
  await db?.close();
  report(`sync faults (${db?.kind}): proxy ${proxy ? Object.entries(proxy.counts).map(([k, v]) => `${k}=${v}`).join(' ') : ''}; runs ${outcomes.join(', ')}`);
  soakReport({ section: `faults: sync mid-run (${db?.kind})`, cases: outcomes.length, faults: proxy ? proxy.counts.requests - proxy.counts.pass : 0, errors: 0, wrongAccepts: 0, note: 'no row lost or resurrected; converged' });
});

function syncer(source: FakeClusterSource, options: Partial<SyncOptions> = {}) {
  return createSyncer({
    store: faulty,
    openSource: async () => source,
    log,
    metrics: new CapturingMetrics(),
    now: () => new Date(clock),
    elapsed: () => performance.now(),
    newRunId: () => randomUUID(),
    // small batches so that a fault lands in the middle of the writes; a short lease so the next run may start
    options: { ...DEFAULT_SYNC_OPTIONS, batchChunk: 25, writeConcurrency: 4, leaseMarginMs: 0, ...options, writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, maxPatches: 0 } },
  });
}

async function run(source: FakeClusterSource, label: string, request: SyncRequest = {}, options: Partial<SyncOptions> = {}) {
  const summary = await syncer(source, options).syncAll({ clusterIds: [source.clusterId], ...request });
  const result = summary.clusters[0]!;
  outcomes.push(`${label}: ${result.outcome}`);
  return result;
}

async function tableNames(clusterId: string): Promise<Map<string, { enabled: boolean; revoked?: boolean }>> {
  const rows = await direct.readClusterState(clusterId);
  return new Map(rows.tokens.map((row) => [row.name, { enabled: row.enabled, revoked: row.revoked }]));
}

async function decide(clusterId: string, i: number) {
  return reviewToken(directReviews, clusterId, `${name(i)}:${SECRET_D}`, { now: new Date('2026-11-26T12:00:00Z'), allowSystemGroups: false });
}

/** A registered cluster with `count` tokens, mirrored once (healthy), then tokens [0, removed) deleted and mirrored again. */
async function mirroredCluster(clusterId: string, count: number, removed: number): Promise<FakeClusterSource> {
  const { record } = await registeredCluster(clusterId);
  await direct.createCluster(record);
  const source = new FakeClusterSource(clusterId).addUser(cua({ name: 'u-alice' }));
  for (let i = 0; i < count; i += 1) source.addToken(cat({ name: name(i), hash: HASH_D }));
  proxy.set({ kind: 'pass' });
  expect((await run(source, 'initial')).outcome).toBe('ok');
  for (let i = 0; i < removed; i += 1) source.tokens.delete(name(i));
  expect((await run(source, 'removal')).outcome).toBe('ok');
  expect((await tableNames(clusterId)).size).toBe(count - removed);
  return source;
}

/** Changes for the faulty run: new tokens, disabled ones, deleted ones. */
function change(source: FakeClusterSource, from: number): { added: number[]; disabled: number[]; deleted: number[] } {
  const added = Array.from({ length: 100 }, (_, k) => from + k);
  const disabled = Array.from({ length: 40 }, (_, k) => 100 + k);
  const deleted = Array.from({ length: 20 }, (_, k) => 200 + k);
  for (const i of added) source.addToken(cat({ name: name(i), hash: HASH_D }));
  for (const i of disabled) source.addToken(cat({ name: name(i), hash: HASH_D, enabled: false, resourceVersion: '2' }));
  for (const i of deleted) source.tokens.delete(name(i));
  return { added, disabled, deleted };
}

async function expectNothingLostNorResurrected(clusterId: string, source: FakeClusterSource, before: Map<string, unknown>, removedEarlier: number) {
  const after = await tableNames(clusterId);
  for (const tokenName of before.keys()) {
    if (source.tokens.has(tokenName)) expect(after.has(tokenName), `${tokenName} lost`).toBe(true);
  }
  for (let i = 0; i < removedEarlier; i += 1) expect(after.has(name(i)), `${name(i)} resurrected`).toBe(false);
}

/** How many of the run's changes reached the table: a cut "in the middle" has done some, not all. */
async function progress(clusterId: string, changes: { added: number[]; disabled: number[]; deleted: number[] }): Promise<number> {
  const rows = await tableNames(clusterId);
  return (
    changes.added.filter((i) => rows.has(name(i))).length +
    changes.disabled.filter((i) => rows.get(name(i))?.enabled === false).length +
    changes.deleted.filter((i) => !rows.has(name(i))).length
  );
}

async function expectExactMirror(clusterId: string, source: FakeClusterSource) {
  const after = await tableNames(clusterId);
  expect([...after.keys()].sort()).toEqual([...source.tokens.keys()].sort());
  for (const [tokenName, token] of source.tokens) expect(after.get(tokenName)?.enabled, tokenName).toBe(token.enabled);
}

describe('sync against a DynamoDB failing half way through a run', () => {
  it('loses no row and resurrects none when DynamoDB goes away mid-sync, and the next run converges', async () => {
    const source = await mirroredCluster('c-outage', 300, 50);
    const before = await tableNames('c-outage');
    const changes = change(source, 300);
    const { added, disabled, deleted } = changes;

    const start = proxy.counts.requests;
    proxy.setPolicy((n) => (n - start > 8 ? { kind: 'reset' } : { kind: 'pass' })); // healthy for the first requests, then gone
    const cut = await run(source, 'outage');
    expect(cut.outcome).toBe('failed');
    proxy.set({ kind: 'pass' });
    const done = await progress('c-outage', changes);
    report(`outage mid-sync: ${done} of 160 changes reached the table before the store went away`);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(160);
    await expectNothingLostNorResurrected('c-outage', source, before, 50);

    // The cut run could not release its lease (the store was gone): the next tick finds the cluster busy,
    // and the one after the lease ends (cluster timeout + margin) mirrors it.
    expect((await run(source, 'right after outage')).outcome).toBe('busy');
    clock += DEFAULT_SYNC_OPTIONS.clusterTimeoutMs + 1;
    expect((await run(source, 'after the lease')).outcome).toBe('ok');
    await expectExactMirror('c-outage', source);
    expect((await decide('c-outage', added[0]!)).outcome).toBe('accepted');
    expect(await decide('c-outage', disabled[0]!)).toMatchObject({ outcome: 'refused', reason: 'token-disabled' });
    expect(await decide('c-outage', deleted[0]!)).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
    expect(await decide('c-outage', 0)).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
  });

  it('loses no row, resurrects none and keeps a revoke when a run is cut by its deadline (Lambda timeout), and the next run converges', async () => {
    const source = await mirroredCluster('c-timeout', 300, 50);
    const before = await tableNames('c-timeout');
    const changes = change(source, 300);

    proxy.set({ kind: 'slow', delayMs: 100 }); // every answer slow: the run's deadline falls in the middle of its writes
    const cut = await run(source, 'deadline', {}, { clusterTimeoutMs: 1200 });
    expect(cut.outcome).toBe('failed');
    expect(cut.error ?? '').toMatch(/time|abort|deadline/i);
    proxy.set({ kind: 'pass' });
    const done = await progress('c-timeout', changes);
    report(`deadline mid-sync: ${done} of 160 changes reached the table before the run was cut`);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(160);
    await expectNothingLostNorResurrected('c-timeout', source, before, 50);

    // an operator revokes a token before the next run; sync must keep the mark
    expect(await direct.revokeToken('c-timeout', name(150), new Date('2026-11-26T12:00:00Z'))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the cut run's lease (no margin) has ended

    expect((await run(source, 'after deadline')).outcome).toBe('ok');
    await expectExactMirror('c-timeout', source);
    expect((await tableNames('c-timeout')).get(name(150))?.revoked).toBe(true);
    expect(await decide('c-timeout', 150)).toMatchObject({ outcome: 'refused', reason: 'token-revoked' });
    expect(await decide('c-timeout', 0)).toMatchObject({ outcome: 'refused', reason: 'token-not-found' });
  });
});
