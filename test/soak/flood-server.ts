/**
 * The server side of the "legitimate traffic under flood" soak run, in its own process so that the CPU it
 * reports is the server's alone: the real authenticate handler (as a Lambda container builds it) behind the
 * local HTTP server, on the embedded DynamoDB, filled with the hostile-input world plus tokens no container
 * has seen yet, and each cluster's name filter as sync writes it. One warm container runs for the whole run;
 * `fresh` starts another container (a new handler with empty caches and budgets, behind its own server),
 * as a Lambda cold start or scale-out would. IPC: `ready` first; then `fresh`, `close`, `revoke`, `stats`,
 * `stop`, each answered with a message of the same type.
 */
import type { FloodRecorder } from '../../functions/core/ports/flood-store.ts';
import { DynamoDbAdminStore } from '../../functions/adapters/dynamodb/admin-store.ts';
import { createDocumentClient } from '../../functions/adapters/dynamodb/client.ts';
import { DynamoDbReviewStore } from '../../functions/adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../functions/adapters/dynamodb/table-operations.ts';
import { noMetrics, silentLog } from '../../functions/core/ports/telemetry.ts';
import type { TokenStore } from '../../functions/core/ports/token-store.ts';
import { handlerFromEnvironment } from '../../functions/entry/authenticate/handler.ts';
import { startLocalServer, type LocalServer } from '../../functions/entry/local/server.ts';
import { includeNames } from '../../functions/services/mirror/name-filter.ts';
import { buildWorld, CLUSTER_A, CLUSTER_B } from '../support/hostile.ts';
import { tokenRecord } from '../support/fakes.ts';
import { freshTable, startTestDynamoDb } from '../support/test-dynamodb.ts';

/** Short, so that the run measures the revocation window within its time bound. */
const CACHE_TTL_SECONDS = 2;
/** Rancher-layout `$1` scrypt (N=2^15, r=8, p=1) of "e"×54 (test/fixtures/hash-vectors.json). */
const SCRYPT_HASH = '$1:0a1b2c3d4e5f6071:15:8:1:fA4r7r50txEoKObSEozk7lBAlU0tx0bC9jgJUeGyydRETVqAaOgCcIgnxm4ZvVWgrdOXXZouXiYaSk4l+vIqxA';
const FIRST_SEEN = 400;
const SCRYPT_FIRST_SEEN = 40;

const world = await buildWorld(new Date());
const dynamo = await startTestDynamoDb();
const tableName = await freshTable(dynamo.endpoint, 'tg-flood-soak');
const operations = new TableOperations(createDocumentClient({ region: 'us-east-1', endpoint: dynamo.endpoint, localCredentials: true }), tableName);
const admin = new DynamoDbAdminStore(operations);
const reviews = new DynamoDbReviewStore(operations, 1000);

// Cluster A: the world's tokens, FIRST_SEEN more `$3` tokens ("d"×54) and SCRYPT_FIRST_SEEN `$1` ones ("e"×54),
// none reviewed before the run. Cluster B: the world's tokens and the `$1` name its flood aims at.
const firstSeen = Array.from({ length: FIRST_SEEN }, (_, index) => `kubeconfig-u-new${index}`);
const scryptFirstSeen = Array.from({ length: SCRYPT_FIRST_SEEN }, (_, index) => `token-scrypt${index}`);
const tokens = [
  ...world.tokens,
  ...firstSeen.map((name) => tokenRecord({ clusterId: CLUSTER_A, name })),
  ...scryptFirstSeen.map((name) => tokenRecord({ clusterId: CLUSTER_A, name, hash: SCRYPT_HASH })),
  tokenRecord({ clusterId: CLUSTER_B, name: 'token-scryptb', hash: SCRYPT_HASH }),
];
for (const cluster of world.clusters) await admin.createCluster(cluster);
await admin.createRecords(tokens);
for (const cluster of world.clusters) {
  const names = tokens.filter((token) => token.clusterId === cluster.clusterId).map((token) => token.name);
  await includeNames(admin, cluster.clusterId, [], { names });
}

const counts = { requests: 0, tokenReads: 0, filterReads: 0 };
const counting: TokenStore & FloodRecorder = {
  getToken: (clusterId, name) => ((counts.tokenReads += 1), reviews.getToken(clusterId, name)),
  getNameFilter: (clusterId) => ((counts.filterReads += 1), reviews.getNameFilter(clusterId)),
  getCluster: (clusterId) => reviews.getCluster(clusterId),
  recordUse: (clusterId, name, at, notBefore) => reviews.recordUse(clusterId, name, at, notBefore),
  recordVerifier: (clusterId, name, verifier) => reviews.recordVerifier(clusterId, name, verifier),
  recordFloodWindow: (window, writer) => reviews.recordFloodWindow(window, writer),
};

/** A container: a handler built as a Lambda cold start builds it, behind its own local server. */
async function container(): Promise<LocalServer> {
  const handler = handlerFromEnvironment(
    { TABLE_NAME: tableName, DYNAMODB_ENDPOINT: dynamo.endpoint, CACHE_TTL_SECONDS: String(CACHE_TTL_SECONDS) },
    { store: counting, log: silentLog, metrics: noMetrics },
  );
  return startLocalServer({
    handler: (event) => {
      counts.requests += 1;
      return handler(event);
    },
  });
}

const warm = await container();
const fresh = new Map<string, LocalServer>();

process.on('message', async (message: { type: string; id?: number; url?: string; clusterId?: string; name?: string }) => {
  const send = (reply: object) => process.send?.({ ...reply, id: message.id });
  switch (message.type) {
    case 'fresh': {
      const server = await container();
      fresh.set(server.url, server);
      send({ type: 'fresh', url: server.url });
      break;
    }
    case 'close': {
      await fresh.get(message.url ?? '')?.close();
      fresh.delete(message.url ?? '');
      send({ type: 'close' });
      break;
    }
    case 'revoke': {
      await admin.revokeToken(message.clusterId ?? '', message.name ?? '', new Date());
      send({ type: 'revoke' });
      break;
    }
    case 'stats': {
      const cpu = process.cpuUsage();
      send({ type: 'stats', cpuMs: (cpu.user + cpu.system) / 1000, ...counts });
      break;
    }
    case 'stop': {
      for (const server of fresh.values()) await server.close();
      await warm.close();
      await dynamo.close();
      process.exit(0);
    }
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({
  type: 'ready',
  warmUrl: warm.url,
  port: warm.port,
  authorization: world.authorization,
  firstSeen,
  scryptFirstSeen,
});
