/**
 * Proves the test Kubernetes API server speaks the real protocol: the real `kubectl` (discovery, Table output,
 * chunked lists, auth errors, merge patch) works against it. The server runs in this process, so kubectl must be
 * run asynchronously (a synchronous child process would block the event loop that answers it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clusterAuthToken,
  startKubeApiServer,
  type TestKubeApiServer,
} from '../support/kube-apiserver.ts';

const execFileAsync = promisify(execFile);
const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'rancher');
const CATS = '/apis/cluster.cattle.io/v3/namespaces/cattle-system/clusterauthtokens';

const LIST_ONLY_TOKEN = 'list-only-token';

let server: TestKubeApiServer;
let home: string;

async function kubectl(args: string[], token?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfigPath = path.join(home, `kubeconfig-${token ?? 'admin'}`);
  await writeFile(kubeconfigPath, server.kubeconfig(token === undefined ? {} : { token }));
  try {
    const { stdout, stderr } = await execFileAsync('kubectl', args, {
      // HOME keeps kubectl's discovery cache out of the real home directory
      env: { ...process.env, HOME: home, KUBECONFIG: kubeconfigPath },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** A raw HTTPS GET trusting the server's CA; returns status and parsed JSON body. */
function rawGet(pathAndQuery: string, token = server.adminToken): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      `${server.url}${pathAndQuery}`,
      { ca: server.caPem, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

const generatedNames = Array.from({ length: 7 }, (_, i) => `kubeconfig-u-gen${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'tokengate-kubectl-'));
  server = await startKubeApiServer({
    users: {
      [LIST_ONLY_TOKEN]: {
        username: 'system:serviceaccount:cattle-system:reader',
        rules: [{ resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list'] }],
      },
    },
  });
});

afterAll(async () => {
  await server.close();
  await rm(home, { recursive: true, force: true });
});

beforeEach(async () => {
  server.clear();
  server.clearFaults();
  server.resetLog();
  server.loadKubectlList('clusterauthtokens', await readFile(path.join(fixtures, 'clusterauthtokens.yaml'), 'utf8'));
  server.loadKubectlList('clusteruserattributes', await readFile(path.join(fixtures, 'clusteruserattributes.yaml'), 'utf8'));
  server.loadKubectlList('secrets', await readFile(path.join(fixtures, 'secrets.yaml'), 'utf8'));
  for (const name of generatedNames) server.upsert('clusterauthtokens', clusterAuthToken({ name, userName: 'u-gen' }));
});

const allTokenNames = ['kubeconfig-u-abc12xyz', ...generatedNames, 'kubeconfig-user-gc4s9.c-cn2rq', 'token-5hq2k'];

describe('the test apiserver with the real kubectl', () => {
  it('lists clusterauthtokens as JSON with their Rancher fields at the top level', async () => {
    const result = await kubectl(['get', 'clusterauthtokens.cluster.cattle.io', '-n', 'cattle-system', '-o', 'json']);

    expect(result.stderr).toBe('');
    const list = JSON.parse(result.stdout) as { items: Array<{ metadata: { name: string }; userName: string; hash: string }> };
    expect(list.items.map((item) => item.metadata.name)).toEqual(allTokenNames);
    const layout213 = list.items.find((item) => item.metadata.name === 'kubeconfig-user-gc4s9.c-cn2rq');
    expect(layout213).toMatchObject({ userName: 'user-gc4s9', hash: '' });
  });

  it('serves a chunked listing across several pages of one consistent snapshot', async () => {
    const result = await kubectl(['get', 'clusterauthtokens.cluster.cattle.io', '-n', 'cattle-system', '--chunk-size=2', '-o', 'json']);

    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as { items: Array<{ metadata: { name: string } }> };
    expect(list.items.map((item) => item.metadata.name)).toEqual(allTokenNames);
    const pages = server.requests.filter((r) => r.verb === 'list' && r.resource === 'clusterauthtokens');
    expect(pages).toHaveLength(Math.ceil(allTokenNames.length / 2));
    expect(pages.every((page) => page.query.limit === '2')).toBe(true);
    expect(pages.slice(1).every((page) => page.query.continue !== undefined)).toBe(true);
  });

  it('prints the server-side table for secrets', async () => {
    const result = await kubectl(['get', 'secrets', '-n', 'cattle-system']);

    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['cattle-credentials-7e1c2f0', 'Opaque', '3'],
      ['kubeconfig-user-gc4s9.c-cn2rq', 'Opaque', '1'],
    ]);
  });

  it('refuses a wrong bearer token with 401 Unauthorized', async () => {
    const result = await kubectl(['get', 'clusterauthtokens.cluster.cattle.io', '-n', 'cattle-system'], 'wrong-token');

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('error: You must be logged in to the server');
    expect(server.countRequests({ status: 401 })).toBeGreaterThan(0);
    expect(server.countRequests({ status: 200 })).toBe(0);
  });

  it('forbids what the token’s role does not grant with 403 and the apiserver’s message', async () => {
    const listed = await kubectl(['get', 'clusterauthtokens.cluster.cattle.io', '-n', 'cattle-system', '-o', 'name'], LIST_ONLY_TOKEN);
    const secrets = await kubectl(['get', 'secrets', '-n', 'cattle-system'], LIST_ONLY_TOKEN);
    const patched = await kubectl(
      ['patch', 'clusterauthtokens.cluster.cattle.io', 'token-5hq2k', '-n', 'cattle-system', '--type', 'merge', '-p', '{"enabled":true}'],
      LIST_ONLY_TOKEN,
    );

    expect(listed.code).toBe(0);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain(
      'secrets is forbidden: User "system:serviceaccount:cattle-system:reader" cannot list resource "secrets" in API group "" in the namespace "cattle-system"',
    );
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('cannot patch resource "clusterauthtokens" in API group "cluster.cattle.io"');
    expect(server.get('clusterauthtokens', 'token-5hq2k')?.enabled).toBe(false);
    expect(server.patches).toEqual([]);
  });

  it('applies a merge patch from kubectl and bumps the resourceVersion', async () => {
    const before = server.get('clusterauthtokens', 'kubeconfig-u-abc12xyz');

    const result = await kubectl([
      'patch', 'clusterauthtokens.cluster.cattle.io', 'kubeconfig-u-abc12xyz', '-n', 'cattle-system',
      '--type', 'merge', '-p', '{"lastUsedAt":"2026-11-26T05:00:00Z"}',
    ]);

    expect(result.stdout.trim()).toBe('clusterauthtoken.cluster.cattle.io/kubeconfig-u-abc12xyz patched');
    const after = server.get('clusterauthtokens', 'kubeconfig-u-abc12xyz');
    expect(after?.lastUsedAt).toBe('2026-11-26T05:00:00Z');
    expect(after?.hash).toBe(before?.hash);
    expect(Number(after?.metadata.resourceVersion)).toBeGreaterThan(Number(before?.metadata.resourceVersion));
    expect(server.patches).toMatchObject([
      { resource: 'clusterauthtokens', name: 'kubeconfig-u-abc12xyz', contentType: 'application/merge-patch+json', patch: { lastUsedAt: '2026-11-26T05:00:00Z' } },
    ]);
  });
});

describe('the test apiserver protocol details', () => {
  it('answers 410 Expired with a Status when the continue token’s snapshot is gone', async () => {
    const first = await rawGet(`${CATS}?limit=3`);
    server.expireContinueTokens();

    const next = await rawGet(`${CATS}?limit=3&continue=${encodeURIComponent(first.body.metadata.continue)}`);

    expect(first.status).toBe(200);
    expect(next.status).toBe(410);
    expect(next.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
  });

  it('keeps serving the first page’s snapshot to continue tokens while objects change', async () => {
    const first = await rawGet(`${CATS}?limit=3`);
    server.upsert('clusterauthtokens', clusterAuthToken({ name: 'zz-created-after-first-page', userName: 'u-new' }));
    server.remove('clusterauthtokens', 'token-5hq2k');

    const rest = await rawGet(`${CATS}?limit=100&continue=${encodeURIComponent(first.body.metadata.continue)}`);

    const names = [...first.body.items, ...rest.body.items].map((item: { metadata: { name: string } }) => item.metadata.name);
    expect(names).toEqual(allTokenNames);
    expect(rest.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(first.body.metadata.remainingItemCount).toBe(allTokenNames.length - 3);
  });

  it('answers 401 with an Unauthorized Status body and never logs the caller as authenticated', async () => {
    const response = await rawGet(CATS, 'not-a-token');

    expect(response).toEqual({
      status: 401,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
    });
    expect(server.requests.at(-1)?.username).toBeUndefined();
  });

  it('injects a 500 only into matching requests and only as often as asked', async () => {
    server.failNext({ match: '/secrets', times: 1 });

    const tokens = await rawGet(CATS);
    const secretsFirst = await rawGet('/api/v1/namespaces/cattle-system/secrets');
    const secretsSecond = await rawGet('/api/v1/namespaces/cattle-system/secrets');

    expect([tokens.status, secretsFirst.status, secretsSecond.status]).toEqual([200, 500, 200]);
    expect(secretsFirst.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
  });

  it('answers a delayed request normally, only later', async () => {
    server.delayNext(50, { match: /^GET \/api\/v1\/.*secrets/ });
    const started = performance.now();

    const delayed = await rawGet('/api/v1/namespaces/cattle-system/secrets');
    const elapsedMs = performance.now() - started;
    const prompt = await rawGet('/api/v1/namespaces/cattle-system/secrets');

    expect([delayed.status, prompt.status]).toEqual([200, 200]);
    expect(delayed.body.items).toHaveLength(2);
    // a lower bound only: timers never fire early by more than clock rounding, however loaded the machine
    expect(elapsedMs).toBeGreaterThanOrEqual(45);
    expect(server.requests.map((r) => r.fault ?? 'none')).toEqual(['delay', 'none']);
    expect(server.requestSummary()).toEqual({ 'list secrets 200': 2 });
  });

  it('filters secrets by the type field selector and rejects unsupported field labels', async () => {
    server.upsert('secrets', {
      metadata: { name: 'tls-rancher-internal' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': '', 'tls.key': '' },
    });

    const opaque = await rawGet(`/api/v1/namespaces/cattle-system/secrets?fieldSelector=${encodeURIComponent('type=Opaque')}`);
    const unsupported = await rawGet(`${CATS}?fieldSelector=${encodeURIComponent('userName=u-abc12xyz')}`);

    expect(opaque.body.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual([
      'cattle-credentials-7e1c2f0',
      'kubeconfig-user-gc4s9.c-cn2rq',
    ]);
    expect(unsupported).toMatchObject({ status: 400, body: { reason: 'BadRequest', message: 'field label not supported: userName' } });
  });
});
