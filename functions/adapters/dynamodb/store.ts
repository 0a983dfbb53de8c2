import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { z } from 'zod';
import { StoreUnavailableError } from '../../core/errors.ts';
import {
  clusterRowSchema,
  keys,
  REGISTRY_PK,
  secretRowSchema,
  SK_PREFIX,
  tokenRowSchema,
  usedRowSchema,
  userRowSchema,
  type CallerCredential,
  type ClusterAccess,
  type ClusterRow,
  type LastSync,
  type SecretRow,
  type SyncLease,
  type TokenRow,
  type UsedRow,
  type UserRow,
} from './table.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';

/** All rows of one cluster's partition, by kind. */
export interface ClusterRows {
  tokens: TokenRow[];
  users: UserRow[];
  secrets: SecretRow[];
  used: UsedRow[];
}

export type TableKey = { pk: string; sk: string };
export type TableItem = TableKey & Record<string, unknown>;

/** BatchWriteItem's limit per call. */
const BATCH_SIZE = 25;
const MAX_BATCH_ROUNDS = 8;

export interface DynamoDbStoreOptions {
  tableName: string;
  /** Deadline of one review-path call, retries included. */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A registry row already exists (clusters add) or changed under us (credential rotation). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/**
 * The DynamoDB adapter of the token table: the review path (`TokenStore`) and the administrative
 * operations the CLI and sync use. Review-path calls run under a deadline and fail as
 * `StoreUnavailableError`; administrative calls let SDK errors through to their caller.
 */
export class DynamoDbStore implements TokenStore {
  private readonly tableName: string;
  private readonly deadlineMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: DynamoDbStoreOptions,
  ) {
    this.tableName = options.tableName;
    this.deadlineMs = options.deadlineMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get table(): string {
    return this.tableName;
  }

  async getToken(clusterId: string, name: string): Promise<TokenRow | undefined> {
    const item = await this.reviewPath(() =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.token(clusterId, name), ConsistentRead: true }), {
        abortSignal: AbortSignal.timeout(this.deadlineMs),
      }),
    );
    return item.Item ? parseRow(tokenRowSchema, item.Item) : undefined;
  }

  async getCluster(clusterId: string): Promise<ClusterRow | undefined> {
    const item = await this.reviewPath(() =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.cluster(clusterId), ConsistentRead: true }), {
        abortSignal: AbortSignal.timeout(this.deadlineMs),
      }),
    );
    return item.Item ? parseRow(clusterRowSchema, item.Item) : undefined;
  }

  async recordUse(clusterId: string, name: string, at: Date, notBefore: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.used(clusterId, name),
          UpdateExpression: 'SET #kind = :kind, lastUsedAt = :at',
          ExpressionAttributeNames: { '#kind': 'kind' },
          ConditionExpression: 'attribute_not_exists(lastUsedAt) OR lastUsedAt < :notBefore',
          ExpressionAttributeValues: { ':kind': 'used', ':at': at.toISOString(), ':notBefore': notBefore.toISOString() },
        }),
        { abortSignal: AbortSignal.timeout(this.deadlineMs) },
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return; // another container recorded it
      throw error;
    }
  }

  /** Registers a cluster; `ConflictError` if it already exists. */
  async createCluster(row: ClusterRow): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: row, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`cluster ${row.clusterId} already exists`);
      throw error;
    }
  }

  /**
   * Replaces a cluster's caller credentials if nobody changed them since they were read (`rev` matches).
   * Only `credentials` and `rev` are written, so a sync lease or outcome recorded meanwhile (which does not
   * bump `rev`) is kept rather than overwritten with the stale copy that was read.
   */
  async replaceCredentials(clusterId: string, credentials: CallerCredential[], expectedRev: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.cluster(clusterId),
          UpdateExpression: 'SET credentials = :credentials, rev = :next',
          ConditionExpression: 'rev = :rev',
          ExpressionAttributeValues: { ':credentials': credentials, ':rev': expectedRev, ':next': expectedRev + 1 },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`cluster ${clusterId} changed concurrently`);
      throw error;
    }
  }

  /** Reads a registry row directly (no deadline), for administration. */
  async readCluster(clusterId: string): Promise<ClusterRow | undefined> {
    const item = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.cluster(clusterId), ConsistentRead: true }),
    );
    return item.Item ? parseRow(clusterRowSchema, item.Item) : undefined;
  }

  async listClusters(): Promise<ClusterRow[]> {
    const items = await this.queryAll(REGISTRY_PK);
    return items.map((item) => parseRow(clusterRowSchema, item));
  }

  /** Every row of one cluster, by kind. */
  async readClusterRows(clusterId: string): Promise<ClusterRows> {
    const rows: ClusterRows = { tokens: [], users: [], secrets: [], used: [] };
    for (const item of await this.queryAll(keys.partition(clusterId))) {
      const sk = String(item.sk);
      if (sk.startsWith(SK_PREFIX.token)) rows.tokens.push(parseRow(tokenRowSchema, item));
      else if (sk.startsWith(SK_PREFIX.user)) rows.users.push(parseRow(userRowSchema, item));
      else if (sk.startsWith(SK_PREFIX.secret)) rows.secrets.push(parseRow(secretRowSchema, item));
      else if (sk.startsWith(SK_PREFIX.used)) rows.used.push(parseRow(usedRowSchema, item));
    }
    return rows;
  }

  /** Removes a cluster's rows, then its registry entry. */
  async deleteCluster(clusterId: string): Promise<number> {
    const items = await this.queryAll(keys.partition(clusterId), 'pk, sk');
    await this.batchWrite([], items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) })));
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: keys.cluster(clusterId) }));
    return items.length;
  }

  /** Creates a native token row; `ConflictError` if a token of that name exists in the cluster. */
  async createToken(row: TokenRow): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: row, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`token ${row.name} already exists`);
      throw error;
    }
  }

  /**
   * Marks a token revoked at once, whatever its origin. Sync keeps the mark, so a Rancher token stays
   * refused even while its ClusterAuthToken is still enabled. Returns false if no such token exists.
   */
  async revokeToken(clusterId: string, name: string, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.token(clusterId, name),
          UpdateExpression: 'SET revoked = :true, revokedAt = :at, rev = if_not_exists(rev, :zero) + :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': true, ':at': at.toISOString(), ':zero': 0, ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Replaces an existing row only if its `rev` is still `expectedRev` (the written item carries its own
   * next `rev`). False when the row changed or vanished since it was read — e.g. a `tokens revoke` in
   * between — so the caller leaves it to its next pass instead of overwriting the change.
   */
  async replaceRowIfRev(item: TableItem, expectedRev: number): Promise<boolean> {
    return this.conditional(
      new PutCommand({ TableName: this.tableName, Item: item, ...revCondition(expectedRev) }),
    );
  }

  /** Deletes a row only if its `rev` is still `expectedRev`; false when it changed or is already gone. */
  async deleteRowIfRev(key: TableKey, expectedRev: number): Promise<boolean> {
    return this.conditional(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ...revCondition(expectedRev) }),
    );
  }

  /**
   * Takes (or renews) a cluster's sync lease: succeeds when no lease is held, the held one has expired,
   * or `lease.owner` already holds it. Does not bump `rev`, which guards the caller credentials only.
   * False when another live owner holds it or the cluster is not registered.
   */
  async acquireSyncLease(clusterId: string, lease: SyncLease, nowMs: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.cluster(clusterId),
        UpdateExpression: 'SET syncLease = :lease',
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(syncLease) OR syncLease.expiresAtMs < :now OR syncLease.#owner = :owner)',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':lease': lease, ':now': nowMs, ':owner': lease.owner },
      }),
    );
  }

  /**
   * Records a sync's outcome and releases its lease in one write, only while `owner` still holds the
   * lease (a run that overran its lease must not overwrite its successor's record). A successful sync
   * also sets `lastSuccessfulSyncAt`. Returns false when the lease was lost.
   */
  async finishSync(clusterId: string, owner: string, lastSync: LastSync): Promise<boolean> {
    const ok = lastSync.outcome === 'ok';
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.cluster(clusterId),
        UpdateExpression: `SET lastSync = :lastSync${ok ? ', lastSuccessfulSyncAt = :at' : ''} REMOVE syncLease`,
        ConditionExpression: 'syncLease.#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':lastSync': lastSync, ':owner': owner, ...(ok ? { ':at': lastSync.at } : {}) },
      }),
    );
  }

  /** Records where sync finds the cluster's kubeconfig; false when the cluster is not registered. */
  async setClusterAccess(clusterId: string, access: ClusterAccess): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.cluster(clusterId),
        UpdateExpression: 'SET access = :access',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':access': access },
      }),
    );
  }

  /**
   * Unconditional puts and deletes in batches of 25, resending unprocessed items with exponential
   * backoff (throttling answers with unprocessed items rather than an error).
   */
  async batchWrite(puts: TableItem[], deletes: TableKey[]): Promise<void> {
    const requests = [
      ...puts.map((item) => ({ PutRequest: { Item: item } })),
      ...deletes.map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } })),
    ];
    for (let start = 0; start < requests.length; start += BATCH_SIZE) {
      let pending = requests.slice(start, start + BATCH_SIZE);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= MAX_BATCH_ROUNDS) throw new Error(`${pending.length} writes still unprocessed after ${round} attempts`);
        if (round > 0) await this.sleep(Math.min(50 * 2 ** round, 2000) * (0.5 + Math.random() / 2));
        const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
    }
  }

  /** Sends a conditional write; false when its condition did not hold. */
  private async conditional(command: PutCommand | DeleteCommand | UpdateCommand): Promise<boolean> {
    try {
      // the document client's send() is overloaded per command class; each of these is one of them
      const send = this.client.send.bind(this.client) as (command: PutCommand | DeleteCommand | UpdateCommand) => Promise<unknown>;
      await send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async queryAll(pk: string, projection?: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ...(projection ? { ProjectionExpression: projection } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private async reviewPath<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new StoreUnavailableError(error);
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

/** A row that does not match its schema is a defect in whoever wrote it: fail loudly, name the row. */
export class MalformedRowError extends Error {
  override name = 'MalformedRowError';
}

function parseRow<S extends z.ZodType>(schema: S, item: Record<string, unknown>): z.infer<S> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new MalformedRowError(`row ${String(item.pk)}/${String(item.sk)} is malformed: ${problems}`);
}
