/** Constants of the local mode that the CLI's messages also name; kept apart so that they load nothing. */

/** The embedded DynamoDB's default port: DynamoDB Local's, so an exported `DYNAMODB_ENDPOINT` stays valid. */
export const DEFAULT_DYNAMODB_PORT = 8000;

/** The embedded DynamoDB's default endpoint, as `tokengate serve` prints it. */
export const DEFAULT_DYNAMODB_ENDPOINT = `http://127.0.0.1:${DEFAULT_DYNAMODB_PORT}`;

/** The error type the local API answers a DynamoDB request with (a client given the API's port as `--endpoint`). */
export const NOT_DYNAMODB_ERROR = 'NotDynamoDbException';
