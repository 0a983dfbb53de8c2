/**
 * Setups table row 1 (docs/rancher.md) when ACE is later switched off in Rancher: Rancher deletes the
 * kube-api-auth DaemonSet and stops updating cattle-system, so the downstream mirror must stop serving the
 * cluster's Rancher tokens and the sync must say why. Real sockets: a test kube-apiserver, the local API,
 * the embedded DynamoDB, the CLI.
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
  kubeApiAuthDaemonSet,
  startKubeApiServer,
  SYNC_READER_ROLE,
  type TestKubeApiServer,
} from '../../support/kube-apiserver.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const READER = 'ace-off-reader';
let stack: LocalStack;
let server: TestKubeApiServer;
let dir: string;
let env: Record<string, string>;
let credential: string;

async function reviewed(token: string) {
  const response = await stack.review('c-ace', credential, token);
  return ((await response.json()) as { status: { authenticated: boolean; error?: string } }).status;
}

beforeAll(async () => {
  stack = await startLocalStack();
  server = await startKubeApiServer({ users: { [READER]: { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_READER_ROLE } } });
  server.upsert('clusteruserattributes', clusterUserAttribute({ name: 'u-ace01' }));
  server.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-ace01', userName: 'u-ace01' }));
  server.upsert('secrets', hashSecret('kubeconfig-u-ace01', HASH_D));
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-ace-'));
  const file = path.join(dir, 'reader.kubeconfig');
  await writeFile(file, server.kubeconfig({ token: READER }));
  env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
  const added = await runCli(['clusters', 'add', 'c-ace', '--kubeconfig', file], { env });
  credential = added.stdout.trim();
  await stack.store.createToken({ kind: 'token', clusterId: 'c-ace', name: 'native-ops', origin: 'native', userName: 'ops', enabled: true, hash: HASH_D, user: { enabled: true, groups: [], extraByProvider: {} } });
});

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('downstream source when ACE is switched off in Rancher', () => {
  it('serves the cluster while the kube-api-auth DaemonSet exists (ACE on)', async () => {
    expect((await runCli(['sync'], { env })).code).toBe(0);
    expect(await reviewed(`kubeconfig-u-ace01:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });

  it('stops serving its Rancher tokens once the DaemonSet is gone, and the sync fails saying why', async () => {
    server.remove('daemonsets', 'kube-api-auth');
    const run = await runCli(['sync'], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ACE is off in Rancher (the kube-api-auth DaemonSet is gone from cattle-system)');
    expect(await reviewed(`kubeconfig-u-ace01:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    // tokengate's own tokens do not depend on Rancher's ACE
    expect(await reviewed(`native-ops:${SECRET_D}`)).toMatchObject({ authenticated: true });
    const listed = await runCli(['clusters', 'list', '-o', 'json'], { env });
    expect(listed.stdout).toContain('ACE is off in Rancher');
  });

  it('stays closed while the objects in cattle-system change, and is served again from a full listing once ACE is back', async () => {
    server.mutate('clusterauthtokens', 'kubeconfig-u-ace01', { enabled: true });
    expect((await runCli(['sync'], { env })).code).toBe(1);
    expect(await reviewed(`kubeconfig-u-ace01:${SECRET_D}`)).toMatchObject({ authenticated: false });
    server.upsert('daemonsets', kubeApiAuthDaemonSet());
    expect((await runCli(['sync'], { env })).code).toBe(0);
    expect(await reviewed(`kubeconfig-u-ace01:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });
});
