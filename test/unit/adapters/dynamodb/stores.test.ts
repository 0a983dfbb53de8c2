import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../../functions/adapters/dynamodb/client.ts';
import { DynamoDbMirrorStore } from '../../../../functions/adapters/dynamodb/mirror-store.ts';
import { DynamoDbReviewStore } from '../../../../functions/adapters/dynamodb/review-store.ts';
import { itemOf } from '../../../../functions/adapters/dynamodb/rows.ts';
import { TableOperations } from '../../../../functions/adapters/dynamodb/table-operations.ts';
import { MalformedRecordError, StoreUnavailableError } from '../../../../functions/core/errors.ts';
import { tokenRecord } from '../../../support/fakes.ts';

const client = createDocumentClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' , localCredentials: true});
const sdk = mockClient(DynamoDBDocumentClient);
const operations = new TableOperations(client, 'tokengate', async () => undefined);
const store = new DynamoDbReviewStore(operations, 1000);
const mirror = new DynamoDbMirrorStore(operations);

beforeEach(() => sdk.reset());

describe('DynamoDbReviewStore', () => {
  it('reads a token row of the cluster partition with one eventually consistent GetItem (0.5 RCU up to 4 KB)', async () => {
    sdk.on(GetCommand).resolves({ Item: itemOf(tokenRecord(), 1) });
    const row = await store.getToken('c-abc12', 'kubeconfig-u-alice');
    expect(row?.userName).toBe('u-alice');
    expect(sdk.commandCalls(GetCommand)).toHaveLength(1);
    expect(sdk.commandCalls(GetCommand)[0]!.args[0].input).toEqual({
      TableName: 'tokengate',
      Key: { pk: 'C#c-abc12', sk: 'TOKEN#kubeconfig-u-alice' },
      ConsistentRead: false,
    });
  });

  it('returns undefined for a missing token', async () => {
    sdk.on(GetCommand).resolves({});
    expect(await store.getToken('c-abc12', 'nope')).toBeUndefined();
  });

  it('turns a failing read into StoreUnavailableError', async () => {
    sdk.on(GetCommand).rejects(new Error('socket hang up'));
    await expect(store.getToken('c-abc12', 'x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getCluster('c-abc12')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses to use a malformed row and names it', async () => {
    sdk.on(GetCommand).resolves({ Item: { pk: 'C#c-abc12', sk: 'TOKEN#x', kind: 'token', enabled: 'yes' } });
    await expect(store.getToken('c-abc12', 'x')).rejects.toThrow(MalformedRecordError);
    await expect(store.getToken('c-abc12', 'x')).rejects.toThrow('C#c-abc12/TOKEN#x');
  });

  it('records use conditionally and treats a lost race as done', async () => {
    sdk.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    await expect(
      store.recordUse('c-abc12', 'kubeconfig-u-alice', new Date('2026-11-26T12:00:00Z'), new Date('2026-11-26T11:59:00Z')),
    ).resolves.toBeUndefined();
    const input = sdk.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-alice' });
    expect(input.ConditionExpression).toContain('lastUsedAt < :notBefore');
  });

  it('records use by writing only lastUsedAt, the one attribute its IAM role may write besides the key', async () => {
    sdk.on(UpdateCommand).resolves({});
    await store.recordUse('c-abc12', 'kubeconfig-u-alice', new Date('2026-11-26T12:00:00Z'), new Date('2026-11-26T11:59:00Z'));
    const input = sdk.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.UpdateExpression).toBe('SET lastUsedAt = :at');
    expect(input.ExpressionAttributeNames).toBeUndefined();
    expect(Object.keys(input.ExpressionAttributeValues!).sort()).toEqual([':at', ':notBefore']);
    expect(input.ReturnValues).toBeUndefined(); // NONE: the role allows no other
  });
});

describe('DynamoDbReviewStore: the flood report', () => {
  const window = {
    clusterId: 'c-abc12',
    windowStart: '2026-11-26T12:00:00.000Z',
    windowEnd: '2026-11-26T12:01:00.000Z',
    total: 3,
    byKind: { 'serviceaccount-jwt': 3 },
    offenders: [{ kind: 'bound-serviceaccount' as const, workload: 'payments/ledger (pod ledger-0)', count: 3, expired: 3, namespace: 'payments', serviceAccount: 'ledger', pod: 'ledger-0' }],
    untracked: 0,
  };

  it('writes a window with one UpdateItem of only flood and ttl, in the F# partition, under the writer, reading nothing back', async () => {
    sdk.on(UpdateCommand).resolves({});
    await store.recordFloodWindow(window, '9f2c4e1a7b30');
    const calls = sdk.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.Key).toEqual({ pk: 'F#c-abc12', sk: 'W#2026-11-26T12:00:00.000Z#9f2c4e1a7b30' });
    expect(input.UpdateExpression).toBe('SET #flood = :flood, #ttl = :ttl');
    expect(Object.values(input.ExpressionAttributeNames!).sort()).toEqual(['flood', 'ttl']);
    expect(input.ExpressionAttributeValues![':flood']).toEqual(window);
    // removed by DynamoDB's TTL seven days after the window ended
    expect(input.ExpressionAttributeValues![':ttl']).toBe(Date.parse(window.windowEnd) / 1000 + 7 * 86_400);
    expect(input.ReturnValues).toBeUndefined();
    expect(input.ConditionExpression).toBeUndefined();
  });
});

describe('DynamoDbMirrorStore', () => {
  it('resends unprocessed batch items until all are written', async () => {
    const items = Array.from({ length: 30 }, (_, i) => tokenRecord({ name: `t-${i}` }));
    let throttledOnce = false;
    sdk.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      const requests = input.RequestItems.tokengate!;
      if (!throttledOnce && requests.length > 2) {
        throttledOnce = true;
        return { UnprocessedItems: { tokengate: requests.slice(0, 2) } };
      }
      return {};
    });
    await mirror.createRecords(items);
    const sizes = sdk.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems!.tokengate!.length);
    expect(sizes).toEqual([25, 2, 5]);
  });

  it('gives up on a batch that stays unprocessed instead of looping forever', async () => {
    sdk.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({
      UnprocessedItems: input.RequestItems,
    }));
    await expect(mirror.createRecords([tokenRecord()])).rejects.toThrow('unprocessed');
  });

  it('writes a replaced record one revision past the one it expects, and only if that one is still stored', async () => {
    sdk.on(PutCommand).resolves({});
    expect(await mirror.replaceIfVersion(tokenRecord({ enabled: false }), 4)).toBe(true);
    const input = sdk.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toMatchObject({ pk: 'C#c-abc12', sk: 'TOKEN#kubeconfig-u-alice', enabled: false, rev: 5 });
    expect(input.ConditionExpression).toBe('rev = :expectedRev');
    expect(input.ExpressionAttributeValues).toEqual({ ':expectedRev': 4 });
  });

  it('creates new records at revision 0', async () => {
    sdk.on(BatchWriteCommand).resolves({});
    await mirror.createRecords([tokenRecord()]);
    const [request] = sdk.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.tokengate!;
    expect(request?.PutRequest?.Item).toMatchObject({ sk: 'TOKEN#kubeconfig-u-alice', rev: 0 });
  });

  it('reads a cluster partition into records with their versions, usage by token name', async () => {
    sdk.on(QueryCommand).resolves({
      Items: [
        itemOf(tokenRecord(), 3),
        { pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-alice', kind: 'used', lastUsedAt: '2026-11-26T00:00:00Z' },
        { pk: 'C#c-abc12', sk: 'OTHER#x', kind: 'other' },
      ],
    });
    const state = await mirror.readClusterState('c-abc12');
    expect(state.tokens).toEqual([{ ...tokenRecord(), version: 3 }]);
    expect(state.usage).toEqual([{ kind: 'usage', clusterId: 'c-abc12', name: 'kubeconfig-u-alice', lastUsedAt: '2026-11-26T00:00:00Z' }]);
    expect(state.users).toEqual([]);
  });

  it('reads a usage row by its USED# sort key, with or without a kind attribute', async () => {
    sdk.on(QueryCommand).resolves({
      Items: [
        { pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-alice', lastUsedAt: '2026-11-26T00:00:00Z' },
        { pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-bob', kind: 'used', lastUsedAt: '2026-11-25T00:00:00Z' },
      ],
    });
    const state = await mirror.readClusterState('c-abc12');
    expect(state.usage).toEqual([
      { kind: 'usage', clusterId: 'c-abc12', name: 'kubeconfig-u-alice', lastUsedAt: '2026-11-26T00:00:00Z' },
      { kind: 'usage', clusterId: 'c-abc12', name: 'kubeconfig-u-bob', lastUsedAt: '2026-11-25T00:00:00Z' },
    ]);
  });
});
