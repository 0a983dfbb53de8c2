import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoDbClientOptions {
  region: string;
  /** A local DynamoDB (embedded, dynalite, DynamoDB Local); absent: AWS itself. */
  endpoint?: string;
  /** Per-attempt timeouts: a stuck connection must fail fast enough to retry inside the deadline. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

/**
 * Builds the document client every component uses. Against a local endpoint without AWS credentials in
 * the environment it signs with placeholder credentials, which local DynamoDB implementations accept.
 */
export function createDocumentClient(options: DynamoDbClientOptions): DynamoDBDocumentClient {
  const local = options.endpoint !== undefined;
  const hasCredentials = process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
  const client = new DynamoDBClient({
    region: options.region,
    ...(local ? { endpoint: options.endpoint } : {}),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 250,
      requestTimeout: options.requestTimeoutMs ?? 500,
      // Without this, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes and the
      // attempt keeps waiting: a hung connection then eats the whole deadline instead of being retried.
      throwOnRequestTimeout: true,
    },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
