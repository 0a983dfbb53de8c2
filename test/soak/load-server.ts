/**
 * The server side of the load run, in its own process so that its RSS is its own: the local stack (real
 * handler, local HTTP server, embedded DynamoDB) filled with the hostile-input world. Talks to its parent
 * over IPC: sends `{ type: 'ready', … }`, answers `{ type: 'rss' }` with its memory, exits on `{ type: 'stop' }`.
 */
import { silentLog } from '../../functions/core/ports/telemetry.ts';
import { buildWorld } from '../support/hostile.ts';
import { startLocalStack } from '../support/local-stack.ts';

const world = await buildWorld();
const stack = await startLocalStack({ cacheTtlSeconds: 10, log: silentLog });
for (const row of world.clusters) await stack.store.createCluster(row);
await stack.store.createRecords(world.tokens);

const send = (message: object) => process.send?.(message);
process.on('message', async (message: { type: string }) => {
  if (message.type === 'rss') send({ type: 'rss', rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
  if (message.type === 'stop') {
    await stack.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({
  type: 'ready',
  apiUrl: stack.apiUrl,
  authorization: world.authorization,
  valid: Object.fromEntries(Object.entries(world.valid).map(([clusterId, tokens]) => [clusterId, [...tokens.keys()]])),
});
