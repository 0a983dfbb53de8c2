// The product's local mode in its own process: embedded DynamoDB, table, and the authenticate handler
// behind the local HTTP server, exactly as `tokengate serve` starts it. Its log goes to the parent.
import { startLocalApi } from '../../functions/entry/local/stack.ts';
import { silentLog } from '../../functions/core/ports/telemetry.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { REGION } from '../lib/seed.ts';

try {
  // BENCH_SILENT_LOG=1: the diagnostic variant without the per-review log line.
  const silent = process.env.BENCH_SILENT_LOG === '1' ? { log: silentLog } : {};
  const api = await startLocalApi({ tableName: 'bench-http', region: REGION, cacheTtlSeconds: 10, ...silent });
  serveCommands({ apiUrl: api.apiUrl, dynamoEndpoint: api.dynamoEndpoint, tableName: 'bench-http' }, {});
} catch (error) {
  failToStart(error);
}
