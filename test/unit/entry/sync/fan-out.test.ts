import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterUnreachableError } from '../../../../functions/core/ports/cluster-source.ts';
import { handlerFromEnvironment, type SyncOverrides } from '../../../../functions/entry/sync/handler.ts';
import { workerHandlerFromEnvironment } from '../../../../functions/entry/sync/worker.ts';
import { reviewToken } from '../../../../functions/services/review-token.ts';
import { CapturingLog, CapturingMetrics } from '../../../support/fakes.ts';
import { cat, cua, FakeClusterSource, HASH_D, SECRET_D } from '../../../support/fake-cluster-source.ts';
import { openSyncTable, type SyncTable } from '../../../support/sync-table.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/test-dynamodb.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tokengate-test-sync';
const CLUSTERS = ['c-one', 'c-two', 'c-three'];
const sqs = mockClient(SQSClient);

let dynamo: TestDynamoDb;
let table: SyncTable;
let log: CapturingLog;
let sources: Map<string, FakeClusterSource>;

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo.close();
  sqs.restore();
});

beforeEach(async () => {
  sqs.reset();
  table = await openSyncTable('sync-fan-out', { dynamo });
  log = new CapturingLog();
  sources = new Map();
  for (const clusterId of CLUSTERS) {
    await table.addCluster(clusterId);
    sources.set(clusterId, new FakeClusterSource(clusterId).addUser(cua({ name: 'u-alice' })).addToken(cat({ name: `token-${clusterId}`, userName: 'u-alice', hash: HASH_D })));
  }
});

afterEach(async () => {
  await table.close();
});

function environment(extra: Record<string, string> = {}) {
  return { TABLE_NAME: table.tableName, CLUSTER_SECRET_PREFIX: 'tokengate/test/clusters/', SYNC_CLUSTER_TIMEOUT_SECONDS: '5', SYNC_FAN_OUT_CLUSTERS: '2', ...extra };
}

function overrides(): SyncOverrides {
  return {
    store: table.store,
    log,
    metrics: new CapturingMetrics(),
    openSource: async (cluster) => {
      const source = sources.get(cluster.clusterId);
      if (!source) throw new ClusterUnreachableError(cluster.clusterId, 'network', 'unknown');
      return source;
    },
  };
}

async function served(clusterId: string): Promise<boolean> {
  const decision = await reviewToken(table.reviews, clusterId, `token-${clusterId}:${SECRET_D}`, { now: new Date(), allowSystemGroups: false });
  return decision.outcome === 'accepted';
}

function sqsEvent(bodies: string[]) {
  return { Records: bodies.map((body, index) => ({ messageId: `m-${index}`, body, eventSource: 'aws:sqs', attributes: {}, messageAttributes: {} })) };
}

describe('a scheduled run past SYNC_FAN_OUT_CLUSTERS', () => {
  it('locally (no queue) hands each cluster to the in-process dispatcher, which syncs it through the worker path', async () => {
    const summary = await handlerFromEnvironment(environment(), overrides())({ source: 'aws.events' });

    expect(summary).toMatchObject({ dispatched: 3, clusters: [], ok: 0, failed: 0 });
    for (const clusterId of CLUSTERS) expect(await served(clusterId)).toBe(true);
    expect(log.lines.filter((line) => line.message === 'cluster synced').map((line) => line.attributes.clusterId)).toEqual(expect.arrayContaining(CLUSTERS));
  });

  it('in AWS sends one unit per cluster to the sync queue; the worker, given those messages, syncs them and settles every message', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const summary = await handlerFromEnvironment(environment({ SYNC_QUEUE_URL: QUEUE_URL }), overrides())({ source: 'aws.events' });

    expect(summary).toMatchObject({ dispatched: 3, clusters: [] });
    for (const clusterId of CLUSTERS) expect(await served(clusterId)).toBe(false);
    const bodies = sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => entry.MessageBody ?? ''));
    expect(bodies.map((body) => JSON.parse(body).clusterId).sort()).toEqual([...CLUSTERS].sort());

    const worker = workerHandlerFromEnvironment(environment(), overrides());
    const reply = await worker(sqsEvent(bodies), { getRemainingTimeInMillis: () => 60_000 });

    expect(reply).toEqual({ batchItemFailures: [] });
    for (const clusterId of CLUSTERS) expect(await served(clusterId)).toBe(true);
  });

  it('reports the clusters it could not hand over as failed, for the next tick to sync', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '2', Code: 'InternalError', SenderFault: false }] });
    const summary = await handlerFromEnvironment(environment({ SYNC_QUEUE_URL: QUEUE_URL }), overrides())({ source: 'aws.events' });

    expect(summary).toMatchObject({ dispatched: 2, failed: 1 });
    // the registry lists clusters by id: c-one, c-three, c-two; entry 2 of the batch is c-two
    expect(summary.clusters).toEqual([expect.objectContaining({ clusterId: 'c-two', outcome: 'failed', error: 'not dispatched: SQS refused the message: InternalError' })]);
  });

  it('at or under the threshold, or for named clusters, syncs them itself', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const handler = handlerFromEnvironment(environment({ SYNC_QUEUE_URL: QUEUE_URL, SYNC_FAN_OUT_CLUSTERS: '3' }), overrides());
    expect(await handler({ source: 'aws.events' })).toMatchObject({ dispatched: 0, ok: 3 });
    const named = handlerFromEnvironment(environment({ SYNC_QUEUE_URL: QUEUE_URL, SYNC_FAN_OUT_CLUSTERS: '1' }), overrides());
    expect(await named({ clusters: CLUSTERS })).toMatchObject({ dispatched: 0, ok: 3 });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('the sync worker', () => {
  it('hands back for redelivery a message that is not a cluster unit, and syncs a cluster named twice in a batch once', async () => {
    const worker = workerHandlerFromEnvironment(environment(), overrides());
    const unit = JSON.stringify({ clusterId: 'c-one', runId: 'run-1' });

    const reply = await worker(sqsEvent([unit, 'not json', JSON.stringify({ clusterId: 'NOT A LABEL', runId: 'r' }), unit]), { getRemainingTimeInMillis: () => 60_000 });

    expect(reply).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }] });
    expect(sources.get('c-one')?.calls.listTokens).toBe(1);
    expect(await served('c-one')).toBe(true);
  });

  it('does not redeliver a unit whose cluster failed to sync (the failure is recorded; the next tick retries it)', async () => {
    sources.get('c-two')!.failListing = new ClusterUnreachableError('c-two', 'network', 'connection refused');
    const worker = workerHandlerFromEnvironment(environment(), overrides());

    const reply = await worker(sqsEvent([JSON.stringify({ clusterId: 'c-two', runId: 'run-1' })]), { getRemainingTimeInMillis: () => 60_000 });

    expect(reply).toEqual({ batchItemFailures: [] });
    expect((await table.store.readCluster('c-two'))?.lastSync).toMatchObject({ outcome: 'failed' });
  });

  it('fails the whole batch when an event is not from SQS', async () => {
    const worker = workerHandlerFromEnvironment(environment(), overrides());
    await expect(worker({ source: 'aws.events' })).rejects.toThrow(/not an SQS event/);
  });
});
