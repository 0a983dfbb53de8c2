/**
 * End to end through the local mode: the local API server (the authenticate handler over the embedded
 * DynamoDB, or DynamoDB Local) and the CLI, with a test kube-apiserver as the downstream cluster.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import {
  clusterAuthToken,
  clusterUserAttribute,
  hashSecret,
  startKubeApiServer,
  SYNC_READER_ROLE,
  type TestKubeApiServer,
} from '../../support/kube-apiserver.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const SYNC_ROLE = SYNC_READER_ROLE;
const READER_TOKEN = 'e2e-sync-reader-token';
const TOKEN = `kubeconfig-u-e2e01:${SECRET_D}`;

let stack: LocalStack;
let server: TestKubeApiServer;
let dir: string;
let kubeconfigFile: string;
let env: Record<string, string>;

interface ReviewReply {
  status: { authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string };
}

async function reviewAt(clusterId: string, credential: string, token: string): Promise<ReviewReply> {
  const response = await stack.review(clusterId, credential, token);
  expect(response.status).toBe(200);
  return (await response.json()) as ReviewReply;
}

beforeAll(async () => {
  stack = await startLocalStack();
  server = await startKubeApiServer({ users: { [READER_TOKEN]: { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_ROLE } } });
  server.upsert('clusteruserattributes', clusterUserAttribute({ name: 'u-e2e01', groups: ['openldap_group://cn=ops,dc=example,dc=org'] }));
  server.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-e2e01', userName: 'u-e2e01' }));
  server.upsert('secrets', hashSecret('kubeconfig-u-e2e01', HASH_D));
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-e2e-'));
  kubeconfigFile = path.join(dir, 'reader.kubeconfig');
  await writeFile(kubeconfigFile, server.kubeconfig({ token: READER_TOKEN, contextName: 'tokengate-sync' }));
  env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
});

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('register a cluster, sync, review (local mode)', () => {
  let credential: string;

  it('registers a cluster with its kubeconfig as a file reference, never its content', async () => {
    const added = await runCli(['clusters', 'add', 'c-e2e', '--kubeconfig', kubeconfigFile, '--context', 'tokengate-sync'], { env });
    expect(added.stderr).toContain('registered cluster c-e2e');
    expect(added.code).toBe(0);
    credential = added.stdout.trim();
    const row = await stack.store.readCluster('c-e2e');
    expect(row?.access).toEqual({ kind: 'file', path: kubeconfigFile, context: 'tokengate-sync' });
    expect(JSON.stringify(row)).not.toContain(READER_TOKEN);
  });

  it('refuses a kubeconfig without the named context, and registers nothing', async () => {
    const added = await runCli(['clusters', 'add', 'c-e2e-bad', '--kubeconfig', kubeconfigFile, '--context', 'nope'], { env });
    expect(added.code).toBe(1);
    expect(added.stderr).toContain('the kubeconfig has no context "nope"');
    expect(await stack.store.readCluster('c-e2e-bad')).toBeUndefined();
  });

  it('accepts the token after `tokengate sync`, and shows the sync in `clusters list`', async () => {
    expect((await reviewAt('c-e2e', credential, TOKEN)).status.authenticated).toBe(false);

    const synced = await runCli(['sync'], { env });
    expect(synced.stderr).toBe('');
    expect(synced.code).toBe(0);
    expect(synced.stdout).toMatch(/^c-e2e\s+ok\s+2\s+3\s+0\s+0\s/m);

    const reply = await reviewAt('c-e2e', credential, TOKEN);
    expect(reply.status).toMatchObject({ authenticated: true, user: { username: 'u-e2e01', groups: ['openldap_group://cn=ops,dc=example,dc=org'] } });

    const listed = await runCli(['clusters', 'list', '-o', 'json'], { env });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        clusterId: 'c-e2e',
        source: 'downstream',
        kubeconfig: `file:${kubeconfigFile} (context tokengate-sync)`,
        lastSync: expect.objectContaining({ outcome: 'ok', objects: 2, writes: 3, deletes: 0 }),
      }),
    ]);
    const table = await runCli(['clusters', 'list'], { env });
    expect(table.stdout).toMatch(/^CLUSTER\s+SOURCE\s+CREATED\s+CREDENTIALS\s+LAST SYNC\s+RESULT\s+ERROR\n/);
    expect(table.stdout).toMatch(/^c-e2e\s+downstream\s/m);
    const wide = await runCli(['clusters', 'list', '-o', 'wide'], { env });
    expect(wide.stdout).toMatch(/^c-e2e\s+downstream\s/m);
    expect(wide.stdout).toMatch(/KUBECONFIG\s+LAST SYNC\s+RESULT\s+OBJECTS\s+WRITES\s+DELETES\s+DURATION\s+LAST SUCCESS\s+WARNINGS\s+ERROR/);
  });

  it('refuses the token after it is disabled in the cluster and synced again', async () => {
    server.mutate('clusterauthtokens', 'kubeconfig-u-e2e01', { enabled: false });
    const synced = await runCli(['sync', 'c-e2e'], { env });
    expect(synced.code).toBe(0);
    const reply = await reviewAt('c-e2e', credential, TOKEN);
    expect(reply.status).toMatchObject({ authenticated: false, error: 'token disabled' });
  });

  it('past SYNC_FAN_OUT_CLUSTERS hands the clusters to the in-process dispatcher and still shows each one\'s result', async () => {
    const added = await runCli(['clusters', 'add', 'c-e2e-two', '--kubeconfig', kubeconfigFile, '--context', 'tokengate-sync'], { env });
    expect(added.code).toBe(0);
    const synced = await runCli(['sync', '-o', 'json'], { env: { ...env, SYNC_FAN_OUT_CLUSTERS: '1' } });
    expect(synced.code).toBe(0);
    const summary = JSON.parse(synced.stdout) as { dispatched: number; ok: number; clusters: { clusterId: string; outcome: string }[] };
    expect(summary.dispatched).toBe(2);
    expect(summary.clusters.map((result) => [result.clusterId, result.outcome]).sort()).toEqual([
      ['c-e2e', 'ok'],
      ['c-e2e-two', 'ok'],
    ]);
    expect((await stack.store.readClusterState('c-e2e-two')).tokens.map((token) => token.name)).toEqual(['kubeconfig-u-e2e01']);
  });

  it('reports an unreachable cluster, keeps its rows, and exits 1', async () => {
    await server.close();
    const synced = await runCli(['sync', 'c-e2e', '--timeout', '5s'], { env });
    expect(synced.code).toBe(1);
    expect(synced.stdout).toMatch(/^c-e2e\s+failed\s.*cluster c-e2e: /m);
    expect((await stack.store.readClusterState('c-e2e')).tokens).toHaveLength(1);
    const listed = JSON.parse((await runCli(['clusters', 'list', '-o', 'json'], { env })).stdout) as { lastSync: { outcome: string } }[];
    expect(listed[0]?.lastSync.outcome).toBe('failed');
  });
});
