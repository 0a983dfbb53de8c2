import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/client.ts';
import { ConflictError, DynamoDbStore } from '../../../functions/adapters/dynamodb/store.ts';
import { keys } from '../../../functions/adapters/dynamodb/table.ts';
import { TTL_ATTRIBUTE } from '../../../functions/adapters/dynamodb/table-admin.ts';
import { registeredCluster } from '../../support/clusters.ts';
import { tokenRow } from '../../support/fakes.ts';
import { freshTable, localClient, startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

/**
 * The store's conditional semantics on a real DynamoDB implementation over a socket: dynalite in
 * `npm test`, the official DynamoDB Local in `npm run test:ddb-local` (TOKENGATE_TEST_DYNAMODB_ENDPOINT).
 * Both must agree; where only DynamoDB Local can show a behaviour we rely on (TTL), the test says so.
 */

const onDynamoDbLocal = Boolean(process.env.TOKENGATE_TEST_DYNAMODB_ENDPOINT);
let db: TestDynamoDb;
let tableName: string;
let store: DynamoDbStore;

beforeAll(async () => {
  db = await startTestDynamoDb();
  tableName = await freshTable(db.endpoint, 'store');
  store = new DynamoDbStore(createDocumentClient({ region: 'us-east-1', endpoint: db.endpoint }), { tableName, deadlineMs: 5000 });
});
afterAll(async () => {
  console.log(`store contract ran on ${db?.kind === 'external' ? `DynamoDB Local (${db.endpoint})` : 'dynalite'}`);
  await db?.close();
});

describe(`DynamoDbStore on ${onDynamoDbLocal ? 'DynamoDB Local' : 'dynalite'}`, () => {
  it('registers a cluster once and refuses a second registration of the same id', async () => {
    const { row } = await registeredCluster('c-emu01');
    await store.createCluster(row);
    await expect(store.createCluster(row)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.getCluster('c-emu01'))?.credentials).toHaveLength(1);
  });

  it('refuses a credential rotation based on a stale read (rev changed in between)', async () => {
    const { row } = await registeredCluster('c-emu02');
    await store.createCluster(row);
    const read = (await store.readCluster('c-emu02'))!;
    await store.replaceCredentials('c-emu02', read.credentials, read.rev);
    await expect(store.replaceCredentials('c-emu02', read.credentials, read.rev)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.readCluster('c-emu02'))?.rev).toBe(read.rev + 1);
  });

  it('keeps a sync lease taken between the read and the credential rotation', async () => {
    const { row } = await registeredCluster('c-emu09');
    await store.createCluster(row);
    const read = (await store.readCluster('c-emu09'))!;
    expect(await store.acquireSyncLease('c-emu09', { owner: 'run-1', expiresAtMs: Date.now() + 60_000 }, Date.now())).toBe(true);
    await store.replaceCredentials('c-emu09', [...read.credentials], read.rev);
    expect((await store.readCluster('c-emu09'))?.syncLease).toMatchObject({ owner: 'run-1' });
  });

  it('replaces and deletes rows only at the expected rev, so a revoke between read and write survives', async () => {
    const row = tokenRow({ clusterId: 'c-emu03', name: 'token-rev01', rev: 1 });
    await store.batchWrite([row], []);
    expect(await store.revokeToken('c-emu03', 'token-rev01', new Date())).toBe(true); // rev 1 → 2
    expect(await store.replaceRowIfRev({ ...row, rev: 2 }, 1)).toBe(false);
    expect(await store.deleteRowIfRev(keys.token('c-emu03', 'token-rev01'), 1)).toBe(false);
    expect((await store.getToken('c-emu03', 'token-rev01'))?.revoked).toBe(true);
    expect(await store.deleteRowIfRev(keys.token('c-emu03', 'token-rev01'), 2)).toBe(true);
    expect(await store.getToken('c-emu03', 'token-rev01')).toBeUndefined();
    expect(await store.revokeToken('c-emu03', 'token-rev01', new Date())).toBe(false);
  });

  it('records lastUsedAt at most once per interval, whoever writes', async () => {
    const at = new Date('2026-11-26T12:00:00Z');
    await store.recordUse('c-emu04', 'token-use01', at, new Date(at.getTime() - 60_000));
    const later = new Date(at.getTime() + 30_000);
    await store.recordUse('c-emu04', 'token-use01', later, new Date(later.getTime() - 60_000)); // inside the interval: no write
    expect((await store.readClusterRows('c-emu04')).used).toEqual([expect.objectContaining({ lastUsedAt: at.toISOString() })]);
    const much = new Date(at.getTime() + 61_000);
    await store.recordUse('c-emu04', 'token-use01', much, new Date(much.getTime() - 60_000));
    expect((await store.readClusterRows('c-emu04')).used[0]?.lastUsedAt).toBe(much.toISOString());
  });

  it('writes, reads back and removes a cluster partition of more than one batch', async () => {
    const { row } = await registeredCluster('c-emu05');
    await store.createCluster(row);
    const tokens = Array.from({ length: 60 }, (_, i) => tokenRow({ clusterId: 'c-emu05', name: `token-${String(i).padStart(3, '0')}` }));
    await store.batchWrite(tokens, []);
    expect((await store.readClusterRows('c-emu05')).tokens).toHaveLength(60);
    expect(await store.deleteCluster('c-emu05')).toBe(60);
    expect((await store.readClusterRows('c-emu05')).tokens).toHaveLength(0);
    expect(await store.getCluster('c-emu05')).toBeUndefined();
  });

  // dynalite has no UpdateTimeToLive (SPEC §5): only DynamoDB Local can show that the table we create
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
