import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEmbeddedDynamoDb } from '../../functions/adapters/dynamodb/embedded.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/table-admin.ts';

/**
 * The DynamoDB the integration tests use: the one named by `TOKENGATE_TEST_DYNAMODB_ENDPOINT` (e.g. the
 * official DynamoDB Local started by `scripts/ddb-local.sh run`), else an embedded dynalite of its own.
 * Each caller gets its own table, so suites can share one DynamoDB Local.
 */
export interface TestDynamoDb {
  endpoint: string;
  /** 'external' when the endpoint came from the environment (DynamoDB Local in `npm run test:ddb-local`). */
  kind: 'external' | 'dynalite';
  close(): Promise<void>;
}

export const EXTERNAL_ENDPOINT_VARIABLE = 'TOKENGATE_TEST_DYNAMODB_ENDPOINT';

export async function startTestDynamoDb(): Promise<TestDynamoDb> {
  const external = process.env[EXTERNAL_ENDPOINT_VARIABLE];
  if (external) return { endpoint: external, kind: 'external', close: async () => undefined };
  const embedded = await startEmbeddedDynamoDb();
  return { endpoint: embedded.endpoint, kind: 'dynalite', close: () => embedded.close() };
}

/** A raw client for table administration against a local endpoint (placeholder credentials). */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** Creates a fresh, uniquely named table and returns its name. */
export async function freshTable(endpoint: string, prefix = 'tokengate-test'): Promise<string> {
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const client = localClient(endpoint);
  try {
    await ensureTable(client, tableName);
  } finally {
    client.destroy();
  }
  return tableName;
}
