// The product's local mode in its own process: embedded DynamoDB, table, and the authenticate handler
// behind the local HTTP server, exactly as `tokengate serve` starts it. Its log goes to the parent.
import { startLocalApi } from '../../functions/local/stack.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { REGION } from '../lib/seed.ts';

try {
  const api = await startLocalApi({ tableName: 'bench-http', region: REGION, cacheTtlSeconds: 10 });
  serveCommands({ apiUrl: api.apiUrl, dynamoEndpoint: api.dynamoEndpoint, tableName: 'bench-http' }, {});
} catch (error) {
  failToStart(error);
}
