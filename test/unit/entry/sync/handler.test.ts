import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/entry/config.ts';
import { ClusterUnreachableError } from '../../../../functions/core/ports/cluster-source.ts';
import { handlerFromEnvironment, InvalidSyncEventError, type SyncHandler } from '../../../../functions/entry/sync/handler.ts';
import { CapturingLog, CapturingMetrics } from '../../../support/fakes.ts';
import { cat, cua, FakeClusterSource, HASH_D } from '../../../support/fake-cluster-source.ts';
import { openSyncTable, type SyncTable } from '../../../support/sync-table.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/test-dynamodb.ts';

let dynamo: TestDynamoDb;
let table: SyncTable;
let log: CapturingLog;
let metrics: CapturingMetrics;
let sources: Map<string, FakeClusterSource>;
let handler: SyncHandler;

const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-26T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/tokengate-prod-sync'],
  detail: {},
};

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  table = await openSyncTable('sync-handler', { dynamo });
  log = new CapturingLog();
  metrics = new CapturingMetrics();
  sources = new Map();
  for (const clusterId of ['c-one', 'c-two']) {
    await table.addCluster(clusterId);
    sources.set(clusterId, new FakeClusterSource(clusterId).addUser(cua({ name: 'u-alice' })).addToken(cat({ name: 'token-a', hash: HASH_D })));
  }
  handler = handlerFromEnvironment(
    { TABLE_NAME: table.tableName, CLUSTER_SECRET_PREFIX: 'tokengate/test/clusters/', SYNC_CLUSTER_TIMEOUT_SECONDS: '5' },
    {
      store: table.store,
      log,
      metrics,
      openSource: async (cluster) => {
        const source = sources.get(cluster.clusterId);
        if (!source) throw new ClusterUnreachableError(cluster.clusterId, 'network', 'unknown');
        return source;
      },
    },
  );
});

afterEach(async () => {
  await table.close();
});

describe('sync handler', () => {
  it('syncs every registered cluster on a schedule tick and returns the summary', async () => {
    const summary = await handler(SCHEDULED_EVENT);
    expect(summary).toMatchObject({ ok: 2, failed: 0, busy: 0, skipped: 0, unknown: [] });
    expect(summary.clusters.map((result) => result.clusterId).sort()).toEqual(['c-one', 'c-two']);
    expect(metrics.flushes).toBe(1);
    expect(log.withMessage('sync run finished')).toHaveLength(1);
  });

  it('syncs only the clusters named in the event', async () => {
    const summary = await handler({ clusters: ['c-two'] });
    expect(summary.clusters.map((result) => result.clusterId)).toEqual(['c-two']);
    expect(sources.get('c-one')!.calls.listTokens).toBe(0);
  });

  it('rejects an event that names an invalid cluster id, and still flushes metrics', async () => {
    await expect(handler({ clusters: ['Not A Cluster'] })).rejects.toBeInstanceOf(InvalidSyncEventError);
    expect(metrics.flushes).toBe(1);
    expect(sources.get('c-one')!.calls.listTokens).toBe(0);
  });

  it("stops clusters at the invocation's deadline, keeping time to record their outcome", async () => {
    sources.get('c-one')!.hangListings = true;
    const summary = await handler({ clusters: ['c-one'] }, { getRemainingTimeInMillis: () => 16_000 });
    expect(summary.clusters[0]).toMatchObject({ outcome: 'failed', error: 'the sync run reached its deadline' });
    expect((await table.store.readCluster('c-one'))?.lastSync).toMatchObject({ outcome: 'failed' });
  });

  it('refuses to start without the secret prefix, naming the problem', () => {
    expect(() => handlerFromEnvironment({ TABLE_NAME: 'x' })).toThrow(ConfigError);
    expect(() => handlerFromEnvironment({ TABLE_NAME: 'x' })).toThrow(/CLUSTER_SECRET_PREFIX/);
  });
});
