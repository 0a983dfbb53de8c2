/**
 * The three rows of the setups table (docs/rancher.md, docs/register-a-cluster.md), end to end through the local
 * server, following the documented steps with the CLI: register the cluster, sync, build the apiserver's webhook
 * kubeconfig with `tokengate webhook-config --credential-file`, and review a token the way the apiserver then
 * does (POST to the kubeconfig's `server` with the bearer read from its `tokenFile`). Real sockets: the test
 * Kubernetes API servers (a downstream cluster, Rancher's management cluster), the local API over the embedded
 * DynamoDB.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import { clusterAuthToken, clusterUserAttribute, hashSecret, startKubeApiServer, SYNC_READER_ROLE, type TestKubeApiServer } from '../../support/kube-apiserver.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import {
  managementCluster,
  rancherUser,
  startRancherManagementApiServer,
  userAttribute,
  v3Token,
  type RancherManagementApiServer,
} from '../../support/rancher-management-apiserver.ts';

const REGISTERED = 'c-m-regist01'; // row 1
const PROVISIONED = 'c-m-provis01'; // row 2
const PROVISIONED_ACE_ON = 'c-m-provis02'; // row 3

let stack: LocalStack;
let downstream: TestKubeApiServer;
let rancher: RancherManagementApiServer;
let dir: string;
let env: Record<string, string>;

async function cli(args: string[]) {
  return runCli(args, { env });
}

/** `clusters add … > <id>.credential`, then `webhook-config <id> --url … --credential-file <that file>`. */
async function register(clusterId: string, addArgs: string[]): Promise<string> {
  const added = await cli(['clusters', 'add', clusterId, ...addArgs]);
  expect(added.code, added.stderr).toBe(0);
  const credentialFile = path.join(dir, `${clusterId}.credential`);
  await writeFile(credentialFile, added.stdout, { mode: 0o600 });
  const webhook = await cli(['webhook-config', clusterId, '--url', stack.apiUrl, '--credential-file', credentialFile]);
  expect(webhook.code, webhook.stderr).toBe(0);
  return webhook.stdout;
}

/** What kube-apiserver does with `--authentication-token-webhook-config-file` and `--authentication-token-webhook-version=v1`. */
async function apiserverReview(webhookKubeconfig: string, token: string): Promise<{ authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string }> {
  const config = parse(webhookKubeconfig) as { clusters: { cluster: { server: string } }[]; users: { user: { tokenFile: string } }[] };
  const bearer = (await readFile(config.users[0]!.user.tokenFile, 'utf8')).trim();
  const response = await fetch(config.clusters[0]!.cluster.server, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: { token, audiences: ['https://kubernetes.default.svc'] }, status: { user: {} } }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: { authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string } }).status;
}

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-setups-'));
  env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };

  // row 1: a registered cluster with ACE on: Rancher's copies in cattle-system, kube-api-auth deployed (and idle)
  downstream = await startKubeApiServer({ users: { 'row1-reader': { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_READER_ROLE } } });
  downstream.upsert('clusteruserattributes', clusterUserAttribute({ name: 'u-row1', groups: ['github_org://acme'] }));
  downstream.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-row1', userName: 'u-row1' }));
  downstream.upsert('secrets', hashSecret('kubeconfig-u-row1', HASH_D));
  await writeFile(path.join(dir, 'row1.kubeconfig'), downstream.kubeconfig({ token: 'row1-reader' }));

  // rows 2 and 3: Rancher's management cluster
  rancher = await startRancherManagementApiServer();
  rancher.addUser('rancher-reader', {
    username: 'system:serviceaccount:cattle-system:tokengate-rancher-reader',
    rules: [
      { resources: ['tokens', 'users', 'userattributes', 'clusters'], verbs: ['get', 'list', 'watch'] },
      { resources: ['secrets'], verbs: ['get', 'list', 'watch'], namespace: 'cattle-tokens' },
    ],
  });
  rancher.upsertAll('clusters', [managementCluster(PROVISIONED, false), managementCluster(PROVISIONED_ACE_ON, true)]);
  rancher.upsert('users', rancherUser('u-row2'));
  rancher.upsert('userattributes', userAttribute('u-row2', { github: ['github_org://acme'] }));
  rancher.upsertAll('tokens', [
    v3Token({ name: 'kubeconfig-u-row2', userId: 'u-row2', token: HASH_D, hashed: true, clusterName: PROVISIONED }),
    // what "Download KubeConfig" makes with ACE off: unscoped
    v3Token({ name: 'kubeconfig-u-row2-unscoped', userId: 'u-row2', token: HASH_D, hashed: true }),
    v3Token({ name: 'kubeconfig-u-row3', userId: 'u-row2', token: HASH_D, hashed: true, clusterName: PROVISIONED_ACE_ON }),
  ]);
  await writeFile(path.join(dir, 'rancher-reader.kubeconfig'), rancher.kubeconfig({ token: 'rancher-reader' }));
});

afterAll(async () => {
  await downstream?.close();
  await rancher?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('setups row 1: a registered cluster, ACE on, tokens from its cattle-system', () => {
  it("accepts the user's ACE token at the apiserver's webhook once registered and synced", async () => {
    const webhook = await register(REGISTERED, ['--kubeconfig', path.join(dir, 'row1.kubeconfig')]);
    // before its first sync the cluster has no name filter yet: an unknown name is read, and refused aloud
    expect(await apiserverReview(webhook, `kubeconfig-u-row1:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token not found' });
    const synced = await cli(['sync', REGISTERED]);
    expect(synced.code, synced.stdout + synced.stderr).toBe(0);
    expect(await apiserverReview(webhook, `kubeconfig-u-row1:${SECRET_D}`)).toMatchObject({
      authenticated: true,
      user: { username: 'u-row1', groups: ['github_org://acme'] },
    });
    expect(await apiserverReview(webhook, `kubeconfig-u-row1:${'x'.repeat(54)}`)).toMatchObject({ authenticated: false });
  });
});

describe("setups row 2: a Rancher-provisioned cluster, ACE off, tokens from Rancher's management cluster", () => {
  it('accepts a token scoped to the cluster at the webhook, and refuses the unscoped one Download KubeConfig makes', async () => {
    expect((await cli(['rancher', 'set', '--kubeconfig', path.join(dir, 'rancher-reader.kubeconfig')])).code).toBe(0);
    const webhook = await register(PROVISIONED, ['--source', 'rancher']);
    const synced = await cli(['sync', PROVISIONED]);
    expect(synced.code, synced.stdout + synced.stderr).toBe(0);
    expect(await apiserverReview(webhook, `kubeconfig-u-row2:${SECRET_D}`)).toMatchObject({
      authenticated: true,
      user: { username: 'u-row2', groups: ['github_org://acme'] },
    });
    expect(await apiserverReview(webhook, `kubeconfig-u-row2-unscoped:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    // a token scoped to another cluster is no good here either
    expect(await apiserverReview(webhook, `kubeconfig-u-row3:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
  });
});

describe('setups row 3: a Rancher-provisioned cluster with ACE on', () => {
  it('syncs, but every sync says its apiservers never ask tokengate and how to switch', async () => {
    await register(PROVISIONED_ACE_ON, ['--source', 'rancher']);
    const synced = await cli(['sync', PROVISIONED_ACE_ON]);
    expect(synced.code).toBe(0);
    expect(synced.stderr).toContain(`cluster ${PROVISIONED_ACE_ON}: ACE is on for ${PROVISIONED_ACE_ON} in Rancher. If Rancher provisioned this cluster, its apiservers ask kube-api-auth, not tokengate`);
    expect(synced.stderr).toContain('switch "Authorized Endpoint" off for it in Rancher (docs/rancher.md, setups row 2)');
    const listed = JSON.parse((await cli(['clusters', 'list', '-o', 'json'])).stdout) as { clusterId: string; source: string }[];
    expect(listed.map(({ clusterId, source }) => [clusterId, source])).toEqual([
      [PROVISIONED, 'rancher'],
      [PROVISIONED_ACE_ON, 'rancher'],
      [REGISTERED, 'downstream'],
    ]);
  });
});
