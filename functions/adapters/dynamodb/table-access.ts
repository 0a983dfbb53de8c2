import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { createDocumentClient } from './client.ts';
import { DynamoDbAdminStore } from './admin-store.ts';
import { DynamoDbReviewStore } from './review-store.ts';
import { DynamoDbManagementStateStore } from './management-state-store.ts';
import { TableOperations } from './table-operations.ts';
import { ensureTable } from './table-admin.ts';

export interface TableLocation {
  tableName: string;
  region: string;
  /** A local DynamoDB; absent: AWS through the default credential chain. */
  endpoint?: string;
  /** Sign with placeholder credentials (a local DynamoDB, no AWS credentials configured). */
  localCredentials?: boolean;
}

/** The token table as the administrative tools see it. */
export interface TableAccess {
  location: TableLocation;
  /** The registry, native tokens and the mirror's reads and writes. */
  store: DynamoDbAdminStore;
  /** The review path's reads, with the administrative timeouts (for `tokengate review`). */
  reviews: DynamoDbReviewStore;
  /** The management source's registration and the sync's state of it (docs/rancher.md). */
  management: DynamoDbManagementStateStore;
  /** Creates the table if absent and waits until it is active; true when it created it. */
  ensureTable(): Promise<boolean>;
  /** Releases the client's sockets so the process can exit. */
  close(): void;
}

/**
 * Opens the table for administration (CLI, local server setup, tests). Timeouts are longer than the
 * review path's: an operator's command may wait a few seconds, a webhook review may not.
 */
export function openTable(location: TableLocation): TableAccess {
  const client = createDocumentClient({
    region: location.region,
    endpoint: location.endpoint,
    localCredentials: location.localCredentials ?? false,
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 10_000,
    maxAttempts: 4,
  });
  const operations = new TableOperations(client, location.tableName);
  return {
    location,
    store: new DynamoDbAdminStore(operations),
    reviews: new DynamoDbReviewStore(operations, 10_000),
    management: new DynamoDbManagementStateStore(operations),
    // The document client shares its base client's configuration and middleware, and passes commands
    // other than its own document commands through unchanged, so it can run the table-level ones.
    ensureTable: () => ensureTable(client as unknown as DynamoDBClient, location.tableName),
    close: () => client.destroy(),
  };
}


/** Opens the table for the length of one command and releases it afterwards. */
export async function withTable<T>(location: TableLocation, work: (table: TableAccess) => Promise<T>): Promise<T> {
  const table = openTable(location);
  try {
    return await work(table);
  } catch (error) {
    throw new TableError(location, error);
  } finally {
    table.close();
  }
}

/** A command failed while talking to the table; `describeError` words it using the location. */
export class TableError extends Error {
  override name = 'TableError';
  constructor(
    readonly location: TableLocation,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
