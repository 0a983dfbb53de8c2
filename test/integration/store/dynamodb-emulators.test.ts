import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/client.ts';
import { DynamoDbAdminStore } from '../../../functions/adapters/dynamodb/admin-store.ts';
import { DynamoDbReviewStore } from '../../../functions/adapters/dynamodb/review-store.ts';
import { TTL_ATTRIBUTE } from '../../../functions/adapters/dynamodb/rows.ts';
import { TableOperations } from '../../../functions/adapters/dynamodb/table-operations.ts';
import { ConflictError } from '../../../functions/core/errors.ts';
import { registeredCluster } from '../../support/clusters.ts';
import { tokenRecord } from '../../support/fakes.ts';
import { freshTable, localClient, startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

/**
 * The store's conditional semantics on a real DynamoDB implementation over a socket: dynalite in
 * `npm test`, the official DynamoDB Local in `npm run test:ddb-local` (TOKENGATE_TEST_DYNAMODB_ENDPOINT).
 * Both must agree; where only DynamoDB Local can show a behaviour we rely on (TTL), the test says so.
 */

const onDynamoDbLocal = Boolean(process.env.TOKENGATE_TEST_DYNAMODB_ENDPOINT);
let db: TestDynamoDb;
let tableName: string;
let store: DynamoDbAdminStore;
let reviews: DynamoDbReviewStore;

beforeAll(async () => {
  db = await startTestDynamoDb();
  tableName = await freshTable(db.endpoint, 'store');
  const operations = new TableOperations(createDocumentClient({ region: 'us-east-1', endpoint: db.endpoint , localCredentials: true}), tableName);
  store = new DynamoDbAdminStore(operations);
  reviews = new DynamoDbReviewStore(operations, 5000);
});
afterAll(async () => {
  console.log(`store contract ran on ${db?.kind === 'external' ? `DynamoDB Local (${db.endpoint})` : 'dynalite'}`);
  await db?.close();
});

describe(`the DynamoDB stores on ${onDynamoDbLocal ? 'DynamoDB Local' : 'dynalite'}`, () => {
  it('registers a cluster once and refuses a second registration of the same id', async () => {
    const { record } = await registeredCluster('c-emu01');
    await store.createCluster(record);
    await expect(store.createCluster(record)).rejects.toBeInstanceOf(ConflictError);
    expect((await reviews.getCluster('c-emu01'))?.credentials).toHaveLength(1);
  });

  it('refuses a credential rotation based on a stale read (version changed in between)', async () => {
    const { record } = await registeredCluster('c-emu02');
    await store.createCluster(record);
    const read = (await store.readCluster('c-emu02'))!;
    await store.replaceCredentials('c-emu02', read.credentials, read.version);
    await expect(store.replaceCredentials('c-emu02', read.credentials, read.version)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.readCluster('c-emu02'))?.version).toBe(read.version + 1);
  });

  it('keeps a sync lease taken between the read and the credential rotation', async () => {
    const { record } = await registeredCluster('c-emu09');
    await store.createCluster(record);
    const read = (await store.readCluster('c-emu09'))!;
    expect(await store.acquireSyncLease('c-emu09', { owner: 'run-1', expiresAtMs: Date.now() + 60_000 }, Date.now())).toBe(true);
    await store.replaceCredentials('c-emu09', [...read.credentials], read.version);
    expect((await store.readCluster('c-emu09'))?.syncLease).toMatchObject({ owner: 'run-1' });
  });

  it('replaces and deletes records only at the expected version, so a revoke between read and write survives', async () => {
    const record = tokenRecord({ clusterId: 'c-emu03', name: 'token-rev01' });
    const ref = { kind: 'token', clusterId: 'c-emu03', name: 'token-rev01' } as const;
    await store.createRecords([record]);
    expect(await store.revokeToken('c-emu03', 'token-rev01', new Date())).toBe(true); // version 0 → 1
    expect(await store.replaceIfVersion(record, 0)).toBe(false);
    expect(await store.deleteIfVersion(ref, 0)).toBe(false);
    expect((await reviews.getToken('c-emu03', 'token-rev01'))?.revoked).toBe(true);
    expect(await store.deleteIfVersion(ref, 1)).toBe(true);
    expect(await reviews.getToken('c-emu03', 'token-rev01')).toBeUndefined();
    expect(await store.revokeToken('c-emu03', 'token-rev01', new Date())).toBe(false);
  });

  it('records lastUsedAt at most once per interval, whoever writes', async () => {
    const at = new Date('2026-11-26T12:00:00Z');
    await reviews.recordUse('c-emu04', 'token-use01', at, new Date(at.getTime() - 60_000));
    const later = new Date(at.getTime() + 30_000);
    await reviews.recordUse('c-emu04', 'token-use01', later, new Date(later.getTime() - 60_000)); // inside the interval: no write
    expect((await store.readClusterState('c-emu04')).usage).toEqual([expect.objectContaining({ lastUsedAt: at.toISOString() })]);
    const much = new Date(at.getTime() + 61_000);
    await reviews.recordUse('c-emu04', 'token-use01', much, new Date(much.getTime() - 60_000));
    expect((await store.readClusterState('c-emu04')).usage[0]?.lastUsedAt).toBe(much.toISOString());
  });

  it('writes, reads back and removes a cluster partition of more than one batch', async () => {
    const { record } = await registeredCluster('c-emu05');
    await store.createCluster(record);
    const tokens = Array.from({ length: 60 }, (_, i) => tokenRecord({ clusterId: 'c-emu05', name: `token-${String(i).padStart(3, '0')}` }));
    await store.createRecords(tokens);
    expect((await store.readClusterState('c-emu05')).tokens).toHaveLength(60);
    expect(await store.deleteCluster('c-emu05')).toBe(60);
    expect((await store.readClusterState('c-emu05')).tokens).toHaveLength(0);
    expect(await reviews.getCluster('c-emu05')).toBeUndefined();
  });

  // dynalite has no UpdateTimeToLive (docs/reference.md, "Local DynamoDB"): only DynamoDB Local can show that the table we create
  // expires the rows of expired tokens (sync writes `ttl` = expiry + 1 day), as DynamoDB will.
  it.runIf(onDynamoDbLocal)('creates the table with TTL enabled on the ttl attribute (DynamoDB Local only)', async () => {
    const client = localClient(db.endpoint);
    try {
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: TTL_ATTRIBUTE, TimeToLiveStatus: 'ENABLED' });
    } finally {
      client.destroy();
    }
  });
});
