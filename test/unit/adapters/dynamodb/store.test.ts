import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../../functions/adapters/dynamodb/client.ts';
import { DynamoDbStore, MalformedRowError } from '../../../../functions/adapters/dynamodb/store.ts';
import { StoreUnavailableError } from '../../../../functions/core/errors.ts';
import { tokenRow } from '../../../support/fakes.ts';

const client = createDocumentClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' });
const sdk = mockClient(DynamoDBDocumentClient);
const store = new DynamoDbStore(client, { tableName: 'tokengate', sleep: async () => undefined });

beforeEach(() => sdk.reset());

describe('DynamoDbStore', () => {
  it('reads a token row of the cluster partition with one consistent GetItem', async () => {
    sdk.on(GetCommand).resolves({ Item: tokenRow() });
    const row = await store.getToken('c-abc12', 'kubeconfig-u-alice');
    expect(row?.userName).toBe('u-alice');
    expect(sdk.commandCalls(GetCommand)).toHaveLength(1);
    expect(sdk.commandCalls(GetCommand)[0]!.args[0].input).toEqual({
      TableName: 'tokengate',
      Key: { pk: 'C#c-abc12', sk: 'TOKEN#kubeconfig-u-alice' },
      ConsistentRead: true,
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
    await expect(store.getToken('c-abc12', 'x')).rejects.toThrow(MalformedRowError);
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

  it('resends unprocessed batch items until all are written', async () => {
    const items = Array.from({ length: 30 }, (_, i) => tokenRow({ name: `t-${i}` }));
    let throttledOnce = false;
    sdk.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      const requests = input.RequestItems.tokengate!;
      if (!throttledOnce && requests.length > 2) {
        throttledOnce = true;
        return { UnprocessedItems: { tokengate: requests.slice(0, 2) } };
      }
      return {};
    });
    await store.batchWrite(items, []);
    const sizes = sdk.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems!.tokengate!.length);
    expect(sizes).toEqual([25, 2, 5]);
  });

  it('gives up on a batch that stays unprocessed instead of looping forever', async () => {
    sdk.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({
      UnprocessedItems: input.RequestItems,
    }));
    await expect(store.batchWrite([tokenRow()], [])).rejects.toThrow('unprocessed');
  });
});
