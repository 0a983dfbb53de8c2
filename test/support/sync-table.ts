import { randomBytes } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { issueCredential } from '../../functions/core/caller-credential.ts';
import { createDocumentClient } from '../../functions/adapters/dynamodb/client.ts';
import { DynamoDbAdminStore } from '../../functions/adapters/dynamodb/admin-store.ts';
import { DynamoDbReviewStore } from '../../functions/adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../functions/adapters/dynamodb/table-operations.ts';
import type { SyncStore } from '../../functions/core/ports/mirror-store.ts';
import { newCluster, type ClusterAccess, type ClusterRecord } from '../../functions/core/records.ts';
import { freshTable, localClient, startTestDynamoDb, type TestDynamoDb } from './test-dynamodb.ts';

/**
 * A token table for sync tests: the embedded DynamoDB, or the store named by
 * `TOKENGATE_TEST_DYNAMODB_ENDPOINT` (e.g. the official DynamoDB Local, shared by several suites, hence
 * a unique table name per table). Every SDK call is recorded, and faults can be injected at the SDK.
 */
export interface SyncTable {
  endpoint: string;
  tableName: string;
  store: DynamoDbAdminStore;
  /** The review path's reads and usage writes on the same table. */
  reviews: DynamoDbReviewStore;
  client: DynamoDBDocumentClient;
  /** Every command the store's client sent (low-level names, e.g. UpdateItemCommand), in order; SDK retries are one entry. */
  calls: SdkCall[];
  /** Write commands (Put/Update/Delete/BatchWrite) since `calls` was last cleared, optionally only for one partition. */
  writes(partition?: string): SdkCall[];
  /**
   * Throws `name` (e.g. ProvisionedThroughputExceededException) from the next `times` sends of `command`
   * (the low-level name, e.g. PutItemCommand), below the SDK's retries.
   */
  throttle(command: string, times: number, name?: string): void;
  /** The next `times` BatchWriteItem calls process only their first half and return the rest as UnprocessedItems. */
  leaveUnprocessed(times: number): void;
  /** How many faults were injected so far. */
  injected: { throttled: number; unprocessed: number };
  /** Registers a cluster (a registry row with one caller credential), optionally with a kubeconfig reference. */
  addCluster(clusterId: string, access?: ClusterAccess): Promise<ClusterRecord>;
  close(): Promise<void>;
}

export interface SdkCall {
  command: string;
  input: Record<string, unknown>;
}

const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/**
 * Opens a fresh, uniquely named table; `label` names the suite in the table name. Give `dynamo` to share
 * one store among many tables (it is then not closed with the table).
 */
export async function openSyncTable(label: string, options: { maxAttempts?: number; dynamo?: TestDynamoDb } = {}): Promise<SyncTable> {
  const owned = options.dynamo ? undefined : await startTestDynamoDb();
  const { endpoint } = options.dynamo ?? (owned as TestDynamoDb);
  const tableName = await freshTable(endpoint, `tg-${label}`);
  const admin = localClient(endpoint);

  const client = createDocumentClient({
    localCredentials: true,
    region: 'us-east-1',
    endpoint,
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 10_000,
    maxAttempts: options.maxAttempts ?? 8,
  });
  const calls: SdkCall[] = [];
  const injected = { throttled: 0, unprocessed: 0 };
  const throttles: { command: string; remaining: number; name: string }[] = [];
  let unprocessedRemaining = 0;

  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ command: String(context.commandName), input: structuredClone(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: 'initialize', name: 'tokengateTestRecorder', priority: 'high' },
  );
  // below the retry middleware (finalizeRequest), so the SDK's own retries see these faults
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const throttle = throttles.find((entry) => entry.command === command && entry.remaining > 0);
      if (throttle) {
        throttle.remaining -= 1;
        injected.throttled += 1;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput (injected)'), {
          name: throttle.name,
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'deserialize', name: 'tokengateTestThrottle', priority: 'high' },
  );
  // before serialization (the input is already marshalled), as DynamoDB answers a throttled batch
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (String(context.commandName) !== 'BatchWriteItemCommand' || unprocessedRemaining === 0) return next(args);
      const input = args.input as { RequestItems: Record<string, unknown[]> };
      const requests = input.RequestItems[tableName] ?? [];
      if (requests.length < 2) return next(args);
      unprocessedRemaining -= 1;
      injected.unprocessed += 1;
      const half = Math.ceil(requests.length / 2);
      const result = await next({ ...args, input: { ...input, RequestItems: { [tableName]: requests.slice(0, half) } } });
      (result.output as { UnprocessedItems?: unknown }).UnprocessedItems = { [tableName]: requests.slice(half) };
      return result;
    },
    { step: 'serialize', name: 'tokengateTestUnprocessed', priority: 'high' },
  );

  const operations = new TableOperations(client, tableName, (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))));
  const store = new DynamoDbAdminStore(operations);
  const reviews = new DynamoDbReviewStore(operations, 10_000);

  return {
    endpoint,
    tableName,
    store,
    reviews,
    client,
    calls,
    injected,
    writes(partition) {
      return calls.filter((call) => {
        if (!WRITE_COMMANDS.has(call.command)) return false;
        if (partition === undefined) return true;
        const text = JSON.stringify(call.input);
        return text.includes(`"pk":"${partition}"`) || text.includes(`"pk":{"S":"${partition}"}`);
      });
    },
    throttle(command, times, name = 'ProvisionedThroughputExceededException') {
      throttles.push({ command, remaining: times, name });
    },
    leaveUnprocessed(times) {
      unprocessedRemaining += times;
    },
    async addCluster(clusterId, access) {
      const now = new Date();
      const { record } = await issueCredential(randomBytes, now);
      const cluster = newCluster(clusterId, record, now, access);
      await store.createCluster(cluster);
      return cluster;
    },
    async close() {
      try {
        await admin.send(new DeleteTableCommand({ TableName: tableName }));
      } catch {
        // the store may already be gone
      }
      admin.destroy();
      client.destroy();
      await owned?.close();
    },
  };
}

/** The store's sync methods as a plain object, so a test can spread it and replace one of them. */
export function syncStoreMethods(store: SyncStore): SyncStore {
  return {
    listClusters: () => store.listClusters(),
    readClusterState: (clusterId) => store.readClusterState(clusterId),
    createRecords: (records) => store.createRecords(records),
    replaceIfVersion: (record, version) => store.replaceIfVersion(record, version),
    deleteIfVersion: (ref, version) => store.deleteIfVersion(ref, version),
    deleteRecords: (refs) => store.deleteRecords(refs),
    readNameFilter: (clusterId) => store.readNameFilter(clusterId),
    writeNameFilter: (filter, expected) => store.writeNameFilter(filter, expected),
    acquireSyncLease: (clusterId, lease, nowMs) => store.acquireSyncLease(clusterId, lease, nowMs),
    finishSync: (clusterId, owner, lastSync, fingerprint) => store.finishSync(clusterId, owner, lastSync, fingerprint),
  };
}
