// The sync scenario's measured process: the product's sync Lambda handler (its composition root with
// the local file kubeconfig store, as the CLI's local mode reads clusters) against local DynamoDB.
// Row writes are counted at the store port, independently of what the sync reports about itself.
import { handlerFromEnvironment, syncStore } from '../../functions/entry/sync/handler.ts';
import { clusterSourceOpener } from '../../functions/adapters/kubernetes/cluster-opener.ts';
import { FileKubeconfigStore } from '../../functions/adapters/kubeconfig/kubeconfig-store.ts';
import type { MirroredRecord } from '../../functions/core/records.ts';
import type { SyncStore, SyncSummary } from '../../functions/services/sync/sync.ts';
import { registeredCluster } from '../../test/support/clusters.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { benchTable, REGION } from '../lib/seed.ts';
import type { KubeClustersReady } from './kube-clusters.ts';

export interface SyncRun {
  wallMs: number;
  summary: SyncSummary;
  /** Row writes that reached the store port: batch puts and deletes, conditional replaces and deletes. */
  storeWrites: { batchPuts: number; batchDeletes: number; conditionalReplaces: number; conditionalDeletes: number };
}

const endpoint = process.env.BENCH_DYNAMODB_ENDPOINT as string;
const clusters = JSON.parse(process.env.BENCH_CLUSTERS_READY as string) as KubeClustersReady['clusters'];
const tableName = 'bench-sync';

try {
  const table = await benchTable(endpoint, tableName);
  // BENCH_SYNC_REGISTER=0: a second sync process on a table another one registered the clusters in
  for (const cluster of process.env.BENCH_SYNC_REGISTER === '0' ? [] : clusters) {
    const { record } = await registeredCluster(cluster.clusterId);
    await table.store.createCluster({ ...record, access: { kind: 'file', path: cluster.kubeconfigPath } });
  }
  table.close();

  const environment = {
    TABLE_NAME: tableName,
    AWS_REGION: REGION,
    DYNAMODB_ENDPOINT: endpoint,
    CLUSTER_SECRET_PREFIX: 'tokengate/bench/clusters/',
    // a scenario's own settings (e.g. the fleet's SYNC_CONCURRENCY), as the Lambda's environment would set them
    ...(JSON.parse(process.env.BENCH_SYNC_ENV ?? '{}') as Record<string, string>),
  };
  const store = syncStore({ TABLE_NAME: tableName, AWS_REGION: REGION, DYNAMODB_ENDPOINT: endpoint });
  const writes = { batchPuts: 0, batchDeletes: 0, conditionalReplaces: 0, conditionalDeletes: 0 };
  const counting: SyncStore = {
    listClusters: () => store.listClusters(),
    readClusterState: (clusterId) => store.readClusterState(clusterId),
    createRecords: (records) => {
      writes.batchPuts += records.length;
      return store.createRecords(records);
    },
    deleteRecords: (refs) => {
      writes.batchDeletes += refs.length;
      return store.deleteRecords(refs);
    },
    replaceIfVersion: (record, expectedVersion) => {
      writes.conditionalReplaces += 1;
      return store.replaceIfVersion(record, expectedVersion);
    },
    deleteIfVersion: (ref, expectedVersion) => {
      writes.conditionalDeletes += 1;
      return store.deleteIfVersion(ref, expectedVersion);
    },
    readNameFilter: (clusterId) => store.readNameFilter(clusterId),
    writeNameFilter: (filter, expected) => store.writeNameFilter(filter, expected),
    acquireSyncLease: (clusterId, lease, nowMs) => store.acquireSyncLease(clusterId, lease, nowMs),
    finishSync: (clusterId, owner, lastSync, fingerprint) => store.finishSync(clusterId, owner, lastSync, fingerprint),
  };
  // The settings the Lambda's composition root gives its opener (SYNC_PAGE_SIZE, SYNC_CLUSTER_TIMEOUT_SECONDS defaults).
  const openSource = clusterSourceOpener([new FileKubeconfigStore()], { pageSize: 500, callTimeoutMs: 120_000 });
  const handler = handlerFromEnvironment(environment, { store: counting, openSource });

  serveCommands(
    { tableName },
    {
      /** Diagnostic: the product's adapter lists every cluster's tokens and users (all clusters at once), no store. */
      async listOnly(): Promise<{ wallMs: number; objects: number }> {
        const registered = await store.listClusters();
        const began = performance.now();
        const counts = await Promise.all(
          registered.map(async (cluster) => {
            const source = await openSource(cluster, AbortSignal.timeout(120_000));
            const [tokens, users] = await Promise.all([source.listTokens(), source.listUserAttributes()]);
            return tokens.items.length + users.items.length;
          }),
        );
        return { wallMs: performance.now() - began, objects: counts.reduce((sum, count) => sum + count, 0) };
      },
      /**
       * Diagnostic: the rows the sync wrote, read back and written again into an empty table through the
       * store's own batch writer, one stream per cluster at once (as the sync's clusters run).
       */
      async bareWrites(): Promise<{ wallMs: number; rows: number }> {
        const registered = await store.listClusters();
        const copies = await Promise.all(
          registered.map(async (cluster) => {
            const rows = await store.readClusterState(cluster.clusterId);
            return [...rows.tokens, ...rows.users, ...rows.secrets] as MirroredRecord[];
          }),
        );
        const copyTable = await benchTable(endpoint, `${tableName}-bare`);
        const began = performance.now();
        await Promise.all(copies.map((rows) => copyTable.store.createRecords(rows)));
        const wallMs = performance.now() - began;
        copyTable.close();
        return { wallMs, rows: copies.reduce((sum, rows) => sum + rows.length, 0) };
      },
      async sync(): Promise<SyncRun> {
        for (const key of Object.keys(writes) as Array<keyof typeof writes>) writes[key] = 0;
        const began = performance.now();
        const summary = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { getRemainingTimeInMillis: () => 300_000 });
        return { wallMs: performance.now() - began, summary, storeWrites: { ...writes } };
      },
    },
  );
} catch (error) {
  failToStart(error);
}
