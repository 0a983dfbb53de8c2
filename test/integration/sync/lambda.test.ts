/**
 * The sync Lambda as composed for AWS: kubeconfigs from Secrets Manager (mocked at the SDK), the real
 * Kubernetes adapter against a test apiserver over HTTPS, and a local DynamoDB.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerFromEnvironment } from '../../../functions/entry/sync/handler.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { HASH_D } from '../../support/fake-cluster-source.ts';
import { clusterAuthToken, clusterUserAttribute, startKubeApiServer, type TestKubeApiServer } from '../../support/kube-apiserver.ts';
import { openSyncTable, type SyncTable } from '../../support/sync-table.ts';

const READER_TOKEN = 'lambda-sync-reader-token-never-logged';
const PREFIX = 'tokengate/test/clusters/';

let table: SyncTable;
let server: TestKubeApiServer;
const secretsManager = mockClient(SecretsManagerClient);

beforeAll(async () => {
  table = await openSyncTable('sync-lambda');
  server = await startKubeApiServer({
    users: {
      [READER_TOKEN]: {
        username: 'system:serviceaccount:cattle-system:tokengate-sync',
        rules: [
          { resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list', 'patch'] },
          { resources: ['secrets'], verbs: ['get'] },
          { resources: ['daemonsets'], verbs: ['get'], resourceNames: ['kube-api-auth'] },
        ],
      },
    },
  });
  server.upsert('clusteruserattributes', clusterUserAttribute({ name: 'u-lambda' }));
  server.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-lambda', userName: 'u-lambda', hash: HASH_D }));
  secretsManager.on(GetSecretValueCommand, { SecretId: `${PREFIX}c-aws` }).resolves({ SecretString: server.kubeconfig({ token: READER_TOKEN }) });
  await table.addCluster('c-aws', { kind: 'secretsmanager', secretId: `${PREFIX}c-aws` });
  await table.addCluster('c-local-only', { kind: 'file', path: '/etc/tokengate/c-local-only.yaml' });
});

afterAll(async () => {
  secretsManager.restore();
  await server?.close();
  await table?.close();
});

describe('sync Lambda composition', () => {
  it("syncs a cluster with the kubeconfig from its secret, fails a file-referenced one, and logs neither's credentials", async () => {
    const log = new CapturingLog();
    const metrics = new CapturingMetrics();
    const handler = handlerFromEnvironment(
      { TABLE_NAME: table.tableName, AWS_REGION: 'eu-west-1', CLUSTER_SECRET_PREFIX: PREFIX },
      { store: table.store, log, metrics },
    );

    const summary = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }, { getRemainingTimeInMillis: () => 300_000 });

    const byId = Object.fromEntries(summary.clusters.map((result) => [result.clusterId, result]));
    expect(byId['c-aws']).toMatchObject({ outcome: 'ok', objects: 2, writes: 2 });
    expect(byId['c-local-only']).toMatchObject({ outcome: 'failed', error: expect.stringContaining('only from the local CLI') });
    expect((await table.store.readClusterState('c-aws')).tokens.map((row) => row.name)).toEqual(['kubeconfig-u-lambda']);
    expect(metrics.total('SyncFailures', { ClusterId: 'c-local-only' })).toBe(1);
    expect(metrics.flushes).toBe(1);
    expect(log.text()).not.toContain(READER_TOKEN);
    expect(log.text()).not.toContain(HASH_D);

    // a warm container does not read the secret again on the next tick
    await handler({}, { getRemainingTimeInMillis: () => 300_000 });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});
