import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import pRetry from 'p-retry';
import { ConflictError } from '../../core/errors.ts';
import type { TableItem, TableKey } from './rows.ts';

/** BatchWriteItem's limit per call. */
const BATCH_SIZE = 25;
/** Rounds of resending a batch's unprocessed items before giving up. */
const MAX_BATCH_ROUNDS = 8;

/** A batch write still had unprocessed items after its rounds of resending. */
class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
}

/**
 * The DynamoDB calls the stores share, on one table: reads, paged queries, conditional writes and
 * batched writes. Conditions that fail become `false` or a `ConflictError`; every other SDK error is
 * the caller's to handle, since each store has its own error policy.
 */
export class TableOperations {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    /** Waits between batch rounds; injected by tests. */
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** One item by key, read consistently unless `consistent` is false (half the read capacity). */
  async get(key: TableKey, signal?: AbortSignal, consistent = true): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: consistent }),
      signal ? { abortSignal: signal } : {},
    );
    return result.Item;
  }

  /** Every item of a partition, page by page, read consistently. */
  queryPartition(pk: string, projection?: string): Promise<Record<string, unknown>[]> {
    return this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ...(projection ? { ProjectionExpression: projection } : {}),
    });
  }

  /** The items of a partition whose sort key is at or after `fromSk`, in sort-key order, page by page, read consistently. */
  queryFrom(pk: string, fromSk: string): Promise<Record<string, unknown>[]> {
    return this.queryAll({ KeyConditionExpression: 'pk = :pk AND sk >= :from', ExpressionAttributeValues: { ':pk': pk, ':from': fromSk } });
  }

  /** Every page of one consistent Query of this table. */
  private async queryAll(query: Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeValues' | 'ProjectionExpression'>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ TableName: this.tableName, ...query, ConsistentRead: true, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** Puts an item that must not exist yet; `ConflictError` with `conflictMessage` if it does. */
  async putNew(item: TableItem, conflictMessage: string): Promise<void> {
    if (!(await this.conditional(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })))) {
      throw new ConflictError(conflictMessage);
    }
  }

  /** Puts an item that must not exist yet; false if it does. */
  putIfAbsent(item: TableItem): Promise<boolean> {
    return this.conditional(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  /** An unconditional put of one item. */
  async put(item: TableItem): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** A put conditional on the stored `rev` (see {@link revCondition}); false when it changed or vanished. */
  putIfRev(item: TableItem, expectedRev: number): Promise<boolean> {
    return this.conditional(new PutCommand({ TableName: this.tableName, Item: item, ...revCondition(expectedRev) }));
  }

  /** A delete conditional on the stored `rev`; false when it changed or is already gone. */
  deleteIfRev(key: TableKey, expectedRev: number): Promise<boolean> {
    return this.conditional(new DeleteCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ...revCondition(expectedRev) }));
  }

  /** An update of one item; false when its condition did not hold. */
  update(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>, signal?: AbortSignal): Promise<boolean> {
    return this.conditional(new UpdateCommand({ TableName: this.tableName, ...input }), signal);
  }

  /** An unconditional delete of one item. */
  async delete(key: TableKey): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
  }

  /**
   * Unconditional puts and deletes in batches of 25, resending unprocessed items with exponential
   * backoff (DynamoDB answers throttling of a batch with unprocessed items rather than an error).
   */
  async batchWrite(puts: TableItem[], deletes: TableKey[]): Promise<void> {
    const requests = [
      ...puts.map((item) => ({ PutRequest: { Item: item } })),
      ...deletes.map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } })),
    ];
    for (let start = 0; start < requests.length; start += BATCH_SIZE) {
      let pending = requests.slice(start, start + BATCH_SIZE);
      await pRetry(
        async () => {
          const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
          pending = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
          if (pending.length > 0) throw new UnprocessedItemsError(`${pending.length} writes still unprocessed`);
        },
        {
          retries: MAX_BATCH_ROUNDS - 1,
          // only unprocessed items are resent here; the SDK already retried the call's own errors
          shouldRetry: ({ error }) => error instanceof UnprocessedItemsError,
          minTimeout: 0,
          maxTimeout: 0,
          onFailedAttempt: async ({ attemptNumber }) => {
            if (attemptNumber < MAX_BATCH_ROUNDS) await this.sleep(Math.min(50 * 2 ** attemptNumber, 2000) * (0.5 + Math.random() / 2));
          },
        },
      ).catch((error: unknown) => {
        if (error instanceof UnprocessedItemsError) throw new Error(`${pending.length} writes still unprocessed after ${MAX_BATCH_ROUNDS} attempts`);
        throw error;
      });
    }
  }

  /** Sends a conditional write; false when its condition did not hold. */
  private async conditional(command: PutCommand | DeleteCommand | UpdateCommand, signal?: AbortSignal): Promise<boolean> {
    try {
      // the document client's send() is overloaded per command class; each of these is one of them
      const send = this.client.send.bind(this.client) as (
        command: PutCommand | DeleteCommand | UpdateCommand,
        options: { abortSignal?: AbortSignal },
      ) => Promise<unknown>;
      await send(command, signal ? { abortSignal: signal } : {});
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** The row exists and its `rev` is `expectedRev` (rows written before `rev` existed count as 0). */
function revCondition(expectedRev: number) {
  return {
    ConditionExpression:
      expectedRev === 0 ? 'attribute_exists(pk) AND (attribute_not_exists(rev) OR rev = :expectedRev)' : 'rev = :expectedRev',
    ExpressionAttributeValues: { ':expectedRev': expectedRev },
  };
}
