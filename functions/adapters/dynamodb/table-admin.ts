import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TTL_ATTRIBUTE } from './rows.ts';

/** How long `ensureTable` waits for a new table to become ACTIVE (DynamoDB takes seconds; local stores none). */
const TABLE_WAIT_SECONDS = 120;

/**
 * Creates the token table if it does not exist and waits until it is active. The key schema matches
 * `infra/` (pk/sk strings, on-demand). Returns true when it created the table. Local stores without
 * UpdateTimeToLive (dynalite) still get a working table; expiry is enforced by the review anyway.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  let created = false;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
      created = true;
    } catch (createError) {
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  }
  // the SDK's waiter: throws when the table is not ACTIVE in time, instead of carrying on with a table that is not there
  await waitUntilTableExists({ client, maxWaitTime: TABLE_WAIT_SECONDS, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  if (created) {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        }),
      );
    } catch {
      // dynalite does not implement UpdateTimeToLive; the table works without it (docs/reference.md, "Local DynamoDB").
    }
  }
  return created;
}
