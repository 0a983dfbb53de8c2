/**
 * The sync Lambda as composed for AWS with the management source (setups row 2): Rancher's kubeconfig from
 * Secrets Manager (mocked at the SDK), the real management adapter against the test management apiserver over
 * HTTPS, and a local DynamoDB. What the scheduled function logs must never hold a v3 token's plaintext.
 */
import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCredential } from '../../../functions/core/caller-credential.ts';
import { newCluster } from '../../../functions/core/records.ts';
import { handlerFromEnvironment, syncManagementStore } from '../../../functions/entry/sync/handler.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import {
  managementCluster,
  rancherUser,
  startRancherManagementApiServer,
  userAttribute,
  v3Token,
  type RancherManagementApiServer,
} from '../../support/rancher-management-apiserver.ts';
import { openSyncTable, type SyncTable } from '../../support/sync-table.ts';

const READER_TOKEN = 'lambda-rancher-reader-token-never-logged';
const PREFIX = 'tokengate/test/clusters/';
const CLUSTER = 'c-m-lambda12';
/** Rancher's token-hashing off: the v3 `token` field is this working credential's secret. */
const PLAINTEXT = randomBytes(40).toString('base64url').slice(0, 54);

let table: SyncTable;
let rancher: RancherManagementApiServer;
const secretsManager = mockClient(SecretsManagerClient);

beforeAll(async () => {
  table = await openSyncTable('sync-lambda-rancher');
  rancher = await startRancherManagementApiServer();
  rancher.addUser(READER_TOKEN, {
    username: 'system:serviceaccount:cattle-system:tokengate-rancher-reader',
    rules: [
      { resources: ['tokens', 'users', 'userattributes', 'clusters'], verbs: ['get', 'list', 'watch'] },
      { resources: ['secrets'], verbs: ['get', 'list', 'watch'], namespace: 'cattle-tokens' },
    ],
  });
  rancher.upsert('clusters', managementCluster(CLUSTER, false));
  rancher.upsert('users', rancherUser('u-lambda'));
  rancher.upsert('userattributes', userAttribute('u-lambda', { local: ['local://g-ops'] }));
  rancher.upsert('tokens', v3Token({ name: 'token-lambda', userId: 'u-lambda', token: PLAINTEXT, clusterName: CLUSTER }));
  // an unusable one, so the run also logs a skipped token's reason
  rancher.upsert('tokens', v3Token({ name: 'token-orphan', userId: 'u-gone', token: PLAINTEXT, clusterName: CLUSTER }));
  secretsManager.on(GetSecretValueCommand, { SecretId: `${PREFIX}rancher` }).resolves({ SecretString: rancher.kubeconfig({ token: READER_TOKEN }) });
  const management = syncManagementStore({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: table.endpoint, TABLE_NAME: table.tableName });
  await management.writeRancherSource({ kind: 'rancher-source', access: { kind: 'secretsmanager', secretId: `${PREFIX}rancher` }, writeBack: false, updatedAt: new Date().toISOString() });
  const { record } = await issueCredential(randomBytes, new Date());
  await table.store.createCluster({ ...newCluster(CLUSTER, record, new Date()), source: 'rancher' });
});

afterAll(async () => {
  secretsManager.restore();
  await rancher?.close();
  await table?.close();
});

describe('sync Lambda composition, management source', () => {
  it("mirrors a plaintext v3 token from Rancher's kubeconfig in Secrets Manager, and logs neither the plaintext nor the reader's token", async () => {
    const log = new CapturingLog();
    const metrics = new CapturingMetrics();
    const handler = handlerFromEnvironment(
      { TABLE_NAME: table.tableName, AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: table.endpoint, CLUSTER_SECRET_PREFIX: PREFIX },
      { store: table.store, log, metrics },
    );

    const summary = await handler({}, { getRemainingTimeInMillis: () => 300_000 });

    expect(summary.clusters).toEqual([expect.objectContaining({ clusterId: CLUSTER, outcome: 'ok' })]);
    const tokens = (await table.store.readClusterState(CLUSTER)).tokens;
    expect(tokens.map((token) => token.name)).toEqual(['token-lambda']);
    expect(tokens[0]?.hash).toMatch(/^\$3:1:/);
    expect(log.text()).toContain('token-orphan');
    expect(log.text()).not.toContain(PLAINTEXT);
    expect(log.text()).not.toContain(READER_TOKEN);
    expect(JSON.stringify(summary)).not.toContain(PLAINTEXT);
  });
});
