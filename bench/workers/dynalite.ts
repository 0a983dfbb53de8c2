// A local DynamoDB in its own process (the product's embedded dynalite), so that a scenario's store
// does not share the event loop of the code under measurement, as DynamoDB would not in AWS.
import { startEmbeddedDynamoDb } from '../../functions/adapters/dynamodb/embedded.ts';
import { failToStart, serveCommands } from '../lib/child.ts';

try {
  const store = await startEmbeddedDynamoDb();
  serveCommands({ endpoint: store.endpoint }, {});
} catch (error) {
  failToStart(error);
}
