/**
 * The management source end to end, over real sockets: a test apiserver serving Rancher's management kinds
 * (as Rancher stores them), the local API server over the embedded DynamoDB, and the CLI
 * (`rancher set`, `clusters add --source rancher`, `sync`). Setups table row 2 (docs/rancher.md): a
 * Rancher-provisioned cluster with ACE off, whose tokens come from Rancher's local cluster.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_C, HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import {
  extTokenSecret,
  managementCluster,
  rancherUser,
  startRancherManagementApiServer,
  userAttribute,
  v3Token,
  type RancherManagementApiServer,
} from '../../support/rancher-management-apiserver.ts';

const READER = 'rancher-reader-token';
/** A v3 token stored unhashed (Rancher's token-hashing off): this string is a working Rancher credential. */
const PLAINTEXT = randomBytes(40).toString('base64url').slice(0, 54);
const CLUSTER = 'c-m-prov1234';

let stack: LocalStack;
let rancher: RancherManagementApiServer;
let dir: string;
let env: Record<string, string>;
let credential: string;
const outputs: string[] = [];

async function cli(args: string[]) {
  const run = await runCli(args, { env });
  outputs.push(run.stdout, run.stderr);
  return run;
}

async function review(token: string): Promise<{ authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string }> {
  const response = await stack.review(CLUSTER, credential, token);
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: { authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string } }).status;
}

async function everyRow(): Promise<string> {
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  const { createDocumentClient } = await import('../../../functions/adapters/dynamodb/client.ts');
  const client = createDocumentClient({ region: 'us-east-1', endpoint: stack.dynamoEndpoint, localCredentials: true, connectionTimeoutMs: 2000, requestTimeoutMs: 5000, maxAttempts: 2 });
  const items = (await client.send(new ScanCommand({ TableName: stack.tableName }))).Items ?? [];
  client.destroy();
  // the state snapshot is gzip'd: unzip it too, so the check covers it
  const { gunzipSync } = await import('node:zlib');
  const zipped = Buffer.concat(items.filter((item) => item.data instanceof Uint8Array).map((item) => Buffer.from(item.data as Uint8Array)));
  return JSON.stringify(items) + (zipped.length > 0 ? gunzipSync(zipped).toString('utf8') : '');
}

beforeAll(async () => {
  stack = await startLocalStack();
  rancher = await startRancherManagementApiServer();
  rancher.addUser(READER, {
    username: 'system:serviceaccount:cattle-system:tokengate-rancher-reader',
    rules: [
      { resources: ['tokens', 'users', 'userattributes', 'clusters'], verbs: ['get', 'list', 'watch'] },
      { resources: ['secrets'], verbs: ['get', 'list', 'watch'], namespace: 'cattle-tokens' },
    ],
  });
  rancher.upsertAll('clusters', [managementCluster(CLUSTER, false), managementCluster('c-m-notours', false)]);
  rancher.upsertAll('users', [rancherUser('u-alice'), rancherUser('u-bob', false), rancherUser('u-carol', true), rancherUser('u-noattr')]);
  rancher.upsertAll('userattributes', [
    userAttribute('u-alice', { openldap: ['openldap_group://cn=ops,dc=example,dc=org'], github: ['github_org://acme', 'github_team://acme/admins'] }, {
      openldap: { principalid: ['openldap_user://uid=alice'], username: ['alice'] },
    }),
    userAttribute('u-bob'),
    userAttribute('u-carol', { local: ['system:masters', 'local://g-devs'] }),
  ]);
  rancher.upsertAll('tokens', [
    v3Token({ name: 'kubeconfig-u-alice', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: CLUSTER }),
    v3Token({ name: 'token-plain', userId: 'u-carol', token: PLAINTEXT, clusterName: CLUSTER }),
    v3Token({ name: 'token-sha256', userId: 'u-alice', token: HASH_C, hashed: true, clusterName: CLUSTER }),
    v3Token({ name: 'token-unscoped', userId: 'u-alice', token: HASH_D, hashed: true }),
    v3Token({ name: 'token-login', userId: 'u-alice', token: HASH_D, hashed: true, kind: 'session' }),
    v3Token({ name: 'token-bob', userId: 'u-bob', token: HASH_D, hashed: true, clusterName: CLUSTER }),
    v3Token({ name: 'token-off', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: CLUSTER, enabled: false }),
    v3Token({ name: 'token-old', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: CLUSTER, ttl: 1000, expiresAt: '2020-01-01T00:00:01Z' }),
    v3Token({ name: 'token-noattr', userId: 'u-noattr', token: HASH_D, hashed: true, clusterName: CLUSTER }),
    v3Token({ name: 'token-elsewhere', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: 'c-m-notours' }),
  ]);
  rancher.upsertAll('secrets', [
    extTokenSecret({ name: 'token-ext01', userId: 'u-alice', hash: HASH_D, cluster: CLUSTER, ttl: -1 }),
    extTokenSecret({ name: 'token-ext02', userId: 'u-alice', hash: HASH_D, cluster: CLUSTER, ttl: 1000, creationTimestamp: '2020-01-01T00:00:00Z' }),
    extTokenSecret({ name: 'token-ext03', userId: 'u-alice', hash: HASH_D, cluster: CLUSTER, enabled: false }),
    extTokenSecret({ name: 'token-ext04', userId: 'u-alice', hash: HASH_D, cluster: CLUSTER, ttl: -1 }),
    extTokenSecret({ name: 'token-ext05', userId: 'u-alice', hash: HASH_D, cluster: CLUSTER, ttl: -1 }),
  ]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-rancher-'));
  const kubeconfig = path.join(dir, 'rancher.kubeconfig');
  await writeFile(kubeconfig, rancher.kubeconfig({ token: READER, contextName: 'local' }));
  env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
  expect((await cli(['rancher', 'set', '--kubeconfig', kubeconfig, '--context', 'local'])).code).toBe(0);
  const added = await cli(['clusters', 'add', CLUSTER, '--source', 'rancher']);
  expect(added.code).toBe(0);
  credential = added.stdout.trim();
});

afterAll(async () => {
  await rancher?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("management source: tokens derived from Rancher's local cluster", () => {
  it('shows where the management kubeconfig is, never its token', async () => {
    const shown = await cli(['rancher', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('rancher.kubeconfig (context local)');
    expect(shown.stdout).not.toContain(READER);
  });

  it('mirrors scoped v3 ($3 and plaintext) and ext tokens, with username = userId and sorted groups from GroupPrincipals', async () => {
    const synced = await cli(['sync']);
    expect(synced.code).toBe(0);
    expect(synced.stderr).toContain("read Rancher's management cluster (full)");

    expect(await review(`kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({
      authenticated: true,
      user: { username: 'u-alice', groups: ['github_org://acme', 'github_team://acme/admins', 'openldap_group://cn=ops,dc=example,dc=org'] },
    });
    expect(await review(`token-plain:${PLAINTEXT}`)).toMatchObject({ authenticated: true, user: { username: 'u-carol', groups: ['local://g-devs'] } });
    expect(await review(`ext/token-ext01:${SECRET_D}`)).toMatchObject({ authenticated: true, user: { username: 'u-alice' } });
  });

  it('skips $2-hashed v3 tokens and tokens without a UserAttribute, and says why', async () => {
    const report = outputs.join('\n');
    expect(report).toContain("token/token-sha256: hashed with $2 (SHA-256): Rancher's ACE does not sync such tokens");
    expect(report).toContain('token/token-noattr: user u-noattr has no UserAttribute in Rancher');
    expect(await review(`token-sha256:${'c'.repeat(54)}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(`token-noattr:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
  });

  it('refuses unscoped and login tokens, and ignores tokens of a cluster that is not registered', async () => {
    expect(await review(`token-unscoped:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(`token-login:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(`token-elsewhere:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect((await stack.store.readClusterState('c-m-notours')).tokens).toEqual([]);
  });

  it('refuses a disabled user, a disabled token (v3 and ext), and expired tokens (v3 expiresAt, ext creation + ttl)', async () => {
    expect(await review(`token-bob:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'user disabled' });
    expect(await review(`token-off:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token disabled' });
    expect(await review(`ext/token-ext03:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token disabled' });
    expect(await review(`token-old:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token expired' });
    expect(await review(`ext/token-ext02:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token expired' });
  });

  it('reads almost nothing and writes nothing on a second run when Rancher did not change', async () => {
    rancher.resetLog();
    const before = (await stack.store.readClusterState(CLUSTER)).tokens.map((token) => [token.name, token.version]);
    const run = await cli(['sync', '-o', 'json']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { management: { mode: string; objects: number }; clusters: { writes: number; deletes: number; unchanged?: boolean }[] };
    expect(summary.management).toMatchObject({ mode: 'watch', objects: 0 });
    // the derived records match the cluster's fingerprint: its rows are not even read
    expect(summary.clusters[0]).toMatchObject({ writes: 0, deletes: 0, unchanged: true });
    expect(rancher.served({ verb: 'list' }).requests).toBe(0);
    expect(rancher.served().requests).toBe(5);
    expect(rancher.served().bytes).toBeLessThan(2000);
    expect((await stack.store.readClusterState(CLUSTER)).tokens.map((token) => [token.name, token.version])).toEqual(before);
  });

  it('refuses a token deleted and one disabled in Rancher after the next sync, v3 and ext (read from the watch)', async () => {
    expect(await review(`ext/token-ext04:${SECRET_D}`)).toMatchObject({ authenticated: true });
    expect(await review(`ext/token-ext05:${SECRET_D}`)).toMatchObject({ authenticated: true });
    rancher.remove('tokens', 'token-plain');
    rancher.mutate('tokens', 'kubeconfig-u-alice', { enabled: false });
    rancher.remove('secrets', 'token-ext04', 'cattle-tokens');
    rancher.mutate('secrets', 'token-ext05', { data: { enabled: Buffer.from('false').toString('base64') } }, 'cattle-tokens');
    rancher.resetLog();
    expect((await cli(['sync'])).code).toBe(0);
    expect(rancher.served({ verb: 'list' }).requests).toBe(0);
    expect(await review(`token-plain:${PLAINTEXT}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(`kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token disabled' });
    expect(await review(`ext/token-ext04:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(`ext/token-ext05:${SECRET_D}`)).toMatchObject({ authenticated: false, error: 'token disabled' });
  });

  it('lists again in full when the stored version has expired (410 Gone), and converges', async () => {
    rancher.mutate('tokens', 'kubeconfig-u-alice', { enabled: true });
    rancher.compact();
    rancher.resetLog();
    const run = await cli(['sync', '-o', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).management.mode).toBe('full');
    expect(rancher.served({ verb: 'list' }).requests).toBe(5);
    expect(await review(`kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });

  it('keeps every row when a listing fails part-way, and the sync says so', async () => {
    rancher.compact();
    rancher.failNext({ match: /GET \/apis\/management\.cattle\.io\/v3\/users\?/, times: 10, status: 503 });
    const before = await stack.store.readClusterState(CLUSTER);
    const run = await cli(['sync']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain("reading Rancher's management cluster failed");
    expect(await stack.store.readClusterState(CLUSTER)).toEqual(before);
    expect(await review(`ext/token-ext01:${SECRET_D}`)).toMatchObject({ authenticated: true });
    rancher.clearFaults();
  });

  it('stops serving a cluster Rancher no longer knows (fail closed)', async () => {
    rancher.remove('clusters', CLUSTER);
    const run = await cli(['sync']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain(`cluster ${CLUSTER} does not exist in Rancher`);
    expect(await review(`ext/token-ext01:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    rancher.upsert('clusters', managementCluster(CLUSTER, false));
    expect((await cli(['sync'])).code).toBe(0);
    expect(await review(`ext/token-ext01:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });

  it('never lets the plaintext of a v3 token into a row, the stored state, a report or an error', async () => {
    rancher.upsert('tokens', v3Token({ name: 'token-plain2', userId: 'u-carol', token: PLAINTEXT, clusterName: CLUSTER }));
    const run = await cli(['sync', '-o', 'json']);
    outputs.push(run.stdout, run.stderr);
    expect(await review(`token-plain2:${PLAINTEXT}`)).toMatchObject({ authenticated: true });
    expect(await everyRow()).not.toContain(PLAINTEXT);
    expect(outputs.join('\n')).not.toContain(PLAINTEXT);
    expect(stack.handlerErrors).toEqual([]);
  });
});
