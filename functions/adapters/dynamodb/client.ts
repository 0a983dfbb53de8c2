import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoDbClientOptions {
  region: string;
  /** A local DynamoDB (embedded, dynalite, DynamoDB Local); absent: AWS itself. */
  endpoint?: string;
  /** Sign with placeholder credentials (a local DynamoDB and no AWS credentials configured), which local implementations accept. */
  localCredentials?: boolean;
  /** Per-attempt timeouts: a stuck connection must fail fast enough to retry inside the deadline. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

/** Builds the document client every component uses. */
export function createDocumentClient(options: DynamoDbClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.localCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
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
