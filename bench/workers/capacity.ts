// Issue 13, target 3: the capacity a sync and a review consume, as DynamoDB Local reports it
// (ReturnConsumedCapacity on every call, added up by an SDK middleware; the product's code unchanged).
import { DynamoDbAdminStore } from '../../functions/adapters/dynamodb/admin-store.ts';
import { createDocumentClient } from '../../functions/adapters/dynamodb/client.ts';
import { DynamoDbReviewStore } from '../../functions/adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../functions/adapters/dynamodb/table-operations.ts';
import { FileKubeconfigStore } from '../../functions/adapters/kubeconfig/kubeconfig-store.ts';
import { clusterSourceOpener } from '../../functions/adapters/kubernetes/cluster-opener.ts';
import { handlerFromEnvironment } from '../../functions/entry/sync/handler.ts';
import type { SyncSummary } from '../../functions/services/sync/sync.ts';
import { registeredCluster } from '../../test/support/clusters.ts';
import { meterCapacity, type Consumed } from '../lib/capacity.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { benchTable, REGION } from '../lib/seed.ts';
import type { KubeClustersReady } from './kube-clusters.ts';

export interface CapacityRun {
  wallMs: number;
  summary: SyncSummary;
  consumed: Consumed;
}

const endpoint = process.env.BENCH_DYNAMODB_ENDPOINT as string;
const clusters = JSON.parse(process.env.BENCH_CLUSTERS_READY as string) as KubeClustersReady['clusters'];
const tableName = 'bench-capacity';

try {
  const admin = await benchTable(endpoint, tableName);
  for (const cluster of clusters) {
    const { record } = await registeredCluster(cluster.clusterId);
    await admin.store.createCluster({ ...record, access: { kind: 'file', path: cluster.kubeconfigPath } });
  }
  admin.close();

  // the sync function's own client settings (entry/sync/handler.ts), metered
  const client = createDocumentClient({ region: REGION, endpoint, localCredentials: true, connectionTimeoutMs: 2000, requestTimeoutMs: 10_000, maxAttempts: 8 });
  const meter = meterCapacity(client);
  const operations = new TableOperations(client, tableName);
  const store = new DynamoDbAdminStore(operations);
  const reviews = new DynamoDbReviewStore(operations, 10_000);
  const openSource = clusterSourceOpener([new FileKubeconfigStore()], { pageSize: 500, callTimeoutMs: 120_000 });
  const environment = { TABLE_NAME: tableName, AWS_REGION: REGION, DYNAMODB_ENDPOINT: endpoint, CLUSTER_SECRET_PREFIX: 'tokengate/bench/clusters/' };
  const handlers = new Map<string, ReturnType<typeof handlerFromEnvironment>>();
  const handlerWith = (fullResyncSeconds: string) => {
    let handler = handlers.get(fullResyncSeconds);
    if (!handler) {
      handler = handlerFromEnvironment({ ...environment, SYNC_FULL_RESYNC_SECONDS: fullResyncSeconds, WRITE_BACK_MAX_PATCHES: '0' }, { store, openSource });
      handlers.set(fullResyncSeconds, handler);
    }
    return handler;
  };

  serveCommands(
    { tableName },
    {
      /** One scheduled run; `fullResyncSeconds: '0'` reads every cluster's rows as before the fingerprint. */
      async sync(payload: { fullResyncSeconds: string }): Promise<CapacityRun> {
        meter.take();
        const began = performance.now();
        const summary = await handlerWith(payload.fullResyncSeconds)({ source: 'aws.events' }, { getRemainingTimeInMillis: () => 300_000 });
        return { wallMs: performance.now() - began, summary, consumed: meter.take() };
      },
      /** Reading all of one cluster's rows, as a full resync does (one consistent Query, paged). */
      async readAllRows(payload: { clusterId: string }): Promise<{ consumed: Consumed; rows: number }> {
        meter.take();
        const state = await store.readClusterState(payload.clusterId);
        return { consumed: meter.take(), rows: state.tokens.length + state.users.length + state.secrets.length + state.usage.length };
      },
      /** One uncached review's read: the review store's GetItem of a token row. */
      async reviewRead(payload: { clusterId: string }): Promise<{ consumed: Consumed; bytes: number; groups: number }> {
        const state = await store.readClusterState(payload.clusterId);
        const sample = state.tokens[0];
        if (!sample) throw new Error('no token row to read');
        meter.take();
        const token = await reviews.getToken(payload.clusterId, sample.name);
        const consumed = meter.take();
        return { consumed, bytes: Buffer.byteLength(JSON.stringify(token)), groups: token?.user?.groups.length ?? 0 };
      },
    },
  );
} catch (error) {
  failToStart(error);
}
