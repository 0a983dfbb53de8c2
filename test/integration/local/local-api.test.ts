import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLog } from '../../support/fakes.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
const RANCHER_FILES = ['rancher/clusterauthtokens.yaml', 'rancher/clusteruserattributes.yaml', 'rancher/secrets.yaml'].map(fixture);

/** Rancher's public vectors (docs/reference.md, "Rancher's objects") behind the fixtures' tokens. */
const ON_TOKEN = `kubeconfig-u-abc12xyz:${'d'.repeat(54)}`;
const IN_SECRET = `kubeconfig-user-gc4s9.c-cn2rq:${'c'.repeat(54)}`;
const DISABLED = `token-5hq2k:${'c'.repeat(54)}`;
const SERVICE_ACCOUNT_JWT =
  'eyJhbGciOiJSUzI1NiJ9.' +
  Buffer.from(JSON.stringify({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:cattle-system:cattle' })).toString('base64url') +
  '.c2lnbmF0dXJl';

describe('the local API over HTTP, filled by the CLI', () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  const log = new CapturingLog();
  const credentials: Record<string, string> = {};
  const cli = (...argv: string[]) => runCli(argv, { env });
  const status = async (response: Response) => ({ code: response.status, body: (await response.json()) as Record<string, any> });

  beforeAll(async () => {
    // A budget of wrong-credential checks per second is part of the API; these tests send several at once.
    stack = await startLocalStack({ cacheTtlSeconds: 0, log, environment: { CALLER_CHECKS_PER_SECOND: '1000' } });
    env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    for (const clusterId of ['c-a', 'c-b']) {
      const added = await cli('clusters', 'add', clusterId);
      expect(added.code).toBe(0);
      credentials[clusterId] = added.stdout.trim();
    }
    const imported = await cli('import', 'c-a', ...RANCHER_FILES);
    expect(imported.stdout).toBe('created 6, updated 0, unchanged 0, deleted 0\n');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('answers GET /healthz without a credential', async () => {
    const response = await fetch(`${stack.apiUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('accepts a Rancher $3 token imported from kubectl -o yaml, in the v1 it was asked in', async () => {
    const { code, body } = await status(await stack.review('c-a', credentials['c-a'], ON_TOKEN, 'authentication.k8s.io/v1'));
    expect(code).toBe(200);
    expect(body).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        authenticated: true,
        user: {
          username: 'u-abc12xyz',
          uid: 'u-abc12xyz',
          groups: ['openldap_group://cn=admins,dc=example,dc=org', 'openldap_group://cn=developers,dc=example,dc=org'],
          extra: { principalid: ['openldap_user://uid=alice,ou=users,dc=example,dc=org'], username: ['alice'] },
        },
      },
    });
  });

  it('accepts an ext/ token whose hash is in its Secret (Rancher 2.13), answering v1beta1 to v1beta1', async () => {
    const { body } = await status(await stack.review('c-a', credentials['c-a'], `ext/${IN_SECRET}`, 'authentication.k8s.io/v1beta1'));
    expect(body.apiVersion).toBe('authentication.k8s.io/v1beta1');
    expect(body.status).toMatchObject({ authenticated: true, user: { username: 'user-gc4s9' } });
  });

  it('answers v1beta1 when the request has no apiVersion', async () => {
    const response = await fetch(`${stack.apiUrl}/v1/clusters/c-a/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credentials['c-a']}` },
      body: JSON.stringify({ kind: 'TokenReview', spec: { token: ON_TOKEN } }),
    });
    expect(((await response.json()) as { apiVersion: string }).apiVersion).toBe('authentication.k8s.io/v1beta1');
  });

  it('imports kubectl -o json too', async () => {
    expect((await cli('import', 'c-a', fixture('import/clusterauthtokens.json'))).stdout).toBe('created 1, updated 0, unchanged 6, deleted 0\n');
    const { body } = await status(await stack.review('c-a', credentials['c-a'], `kubeconfig-u-abc12xyz.c-legacy:${'c'.repeat(54)}`));
    expect(body.status.authenticated).toBe(true);
  });

  it('imports from standard input, as piped from kubectl, and --dry-run writes nothing', async () => {
    const piped = (await import('node:fs')).readFileSync(fixture('import/after-removal.yaml'), 'utf8');
    await stack.addCluster('c-pipe');
    const before = await stack.store.readClusterState('c-pipe');
    const dry = await runCli(['import', 'c-pipe', '-', '--dry-run'], { env, stdin: piped });
    expect(dry.stdout).toBe('dry run, would have: created 2, updated 0, unchanged 0, deleted 0\n');
    expect(await stack.store.readClusterState('c-pipe')).toEqual(before);
    const real = await runCli(['import', 'c-pipe', '-'], { env, stdin: piped });
    expect(real.stdout).toBe('created 2, updated 0, unchanged 0, deleted 0\n');
    expect((await stack.store.readClusterState('c-pipe')).tokens.map((token) => token.name)).toEqual(['kubeconfig-u-abc12xyz']);
  });

  it('refuses a disabled token with a reason, and a ServiceAccount JWT silently', async () => {
    expect((await status(await stack.review('c-a', credentials['c-a'], DISABLED))).body.status).toEqual({
      authenticated: false,
      user: {},
      error: 'token disabled',
    });
    expect((await status(await stack.review('c-a', credentials['c-a'], SERVICE_ACCOUNT_JWT))).body.status).toEqual({ authenticated: false, user: {} });
  });

  it("refuses a token of cluster c-a at cluster c-b's endpoint (no cross-cluster replay)", async () => {
    const { code, body } = await status(await stack.review('c-b', credentials['c-b'], ON_TOKEN));
    expect(code).toBe(200);
    expect(body.status).toEqual({ authenticated: false, user: {}, error: 'token not found' });
  });

  it('answers 401 without a credential, with a wrong one, with another cluster’s, and for an unknown cluster', async () => {
    const wrong = `tgc_${'a'.repeat(10)}_${'B'.repeat(43)}`;
    expect((await stack.review('c-a', undefined, ON_TOKEN)).status).toBe(401);
    expect((await stack.review('c-a', wrong, ON_TOKEN)).status).toBe(401);
    expect((await stack.review('c-a', credentials['c-b'], ON_TOKEN)).status).toBe(401);
    expect((await stack.review('c-unknown', credentials['c-a'], ON_TOKEN)).status).toBe(401);
    expect((await stack.review('Not_A_Cluster', credentials['c-a'], ON_TOKEN)).status).toBe(401);
  });

  it('answers 400 for a body that is not JSON, not a TokenReview, or of another apiVersion', async () => {
    const post = (body: string) =>
      fetch(`${stack.apiUrl}/v1/clusters/c-a/authenticate`, { method: 'POST', headers: { authorization: `Bearer ${credentials['c-a']}` }, body });
    expect((await post('not json')).status).toBe(400);
    expect((await post(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SubjectAccessReview', spec: { token: ON_TOKEN } }))).status).toBe(400);
    expect((await post(JSON.stringify({ apiVersion: 'authentication.k8s.io/v2', kind: 'TokenReview', spec: { token: ON_TOKEN } }))).status).toBe(400);
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const response = await fetch(`${stack.apiUrl}/v1/clusters/c-a/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credentials['c-a']}` },
      body: JSON.stringify({ kind: 'TokenReview', spec: { token: 'x'.repeat(100 * 1024) } }),
    });
    expect(response.status).toBe(413);
  });

  it('applies tokens revoke at once with a cache TTL of 0, and a later import keeps the revocation', async () => {
    const created = await cli('tokens', 'create', 'c-a', '--user', 'ci-bot', '--group', 'deployers');
    const native = created.stdout.trim();
    const name = native.split(':')[0] as string;
    expect((await status(await stack.review('c-a', credentials['c-a'], native))).body.status.authenticated).toBe(true);
    expect((await cli('tokens', 'revoke', 'c-a', name)).code).toBe(0);
    expect((await status(await stack.review('c-a', credentials['c-a'], native))).body.status.error).toBe('token revoked');

    expect((await status(await stack.review('c-a', credentials['c-a'], IN_SECRET))).body.status.authenticated).toBe(true);
    expect((await cli('tokens', 'revoke', 'c-a', 'kubeconfig-user-gc4s9.c-cn2rq')).code).toBe(0);
    const changed = (await import('node:fs')).readFileSync(RANCHER_FILES[0] as string, 'utf8').replace('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z');
    const reimport = await runCli(['import', 'c-a', 'changed.yaml'], { env, files: { 'changed.yaml': changed } });
    expect(reimport.stdout).toContain('updated 1');
    expect((await status(await stack.review('c-a', credentials['c-a'], IN_SECRET))).body.status.error).toBe('token revoked');
  });

  it('keeps the previous credential valid during a rotation’s grace, and ends it with --grace 0', async () => {
    const original = (await cli('clusters', 'add', 'c-rot')).stdout.trim();
    const rotated = await cli('clusters', 'rotate-credential', 'c-rot', '--grace', '1h');
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain('stays valid for 1h');
    const next = rotated.stdout.trim();
    expect((await stack.review('c-rot', original, ON_TOKEN)).status).toBe(200);
    expect((await stack.review('c-rot', next, ON_TOKEN)).status).toBe(200);

    const last = (await cli('clusters', 'rotate-credential', 'c-rot', '--grace', '0')).stdout.trim();
    expect((await stack.review('c-rot', original, ON_TOKEN)).status).toBe(401);
    expect((await stack.review('c-rot', next, ON_TOKEN)).status).toBe(401);
    expect((await stack.review('c-rot', last, ON_TOKEN)).status).toBe(200);
  });

  it('with --prune removes the rows of objects gone from Rancher, and keeps native tokens', async () => {
    const credential = (await cli('clusters', 'add', 'c-prune')).stdout.trim();
    await cli('import', 'c-prune', ...RANCHER_FILES);
    const native = (await cli('tokens', 'create', 'c-prune', '--user', 'ops', '--name', 'tg-keep1')).stdout.trim();
    const pruned = await cli('import', 'c-prune', '--prune', fixture('import/after-removal.yaml'));
    expect(pruned.stdout).toBe('created 0, updated 1, unchanged 1, deleted 4\n');
    const rows = await stack.store.readClusterState('c-prune');
    expect(rows.tokens.map((token) => token.name).sort()).toEqual(['kubeconfig-u-abc12xyz', 'tg-keep1']);
    expect(rows.users.map((user) => user.userId)).toEqual(['u-abc12xyz']);
    expect(rows.secrets).toEqual([]);
    expect((await status(await stack.review('c-prune', credential, native))).body.status.authenticated).toBe(true);
  });

  it('reports invalid objects by name and writes nothing, not even the valid ones', async () => {
    const before = await stack.store.readClusterState('c-b');
    const result = await cli('import', 'c-b', fixture('import/invalid.yaml'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('2 invalid objects, nothing imported');
    expect(result.stderr).toMatch(/ClusterAuthToken kubeconfig-u-broken1 \(.*invalid\.yaml\): enabled/);
    expect(result.stderr).toMatch(/ClusterUserAttribute u-broken2 \(.*invalid\.yaml\): groups/);
    expect(result.stderr).toContain('warning: skipping ConfigMap v1 cattle-settings');
    expect(await stack.store.readClusterState('c-b')).toEqual(before);
  });

  it('lists tokens with their state and last use, never a hash', async () => {
    const listed = await cli('tokens', 'list', 'c-a', '-o', 'json');
    const views = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    const byName = new Map(views.map((view) => [view.name, view]));
    expect(byName.get('kubeconfig-u-abc12xyz')).toMatchObject({ origin: 'rancher', state: 'active', lastUsedAt: expect.any(String) });
    expect(byName.get('token-5hq2k')).toMatchObject({ state: 'disabled' });
    expect(listed.stdout).not.toMatch(/\$3:|\$2:|\$argon2id/);
  });

  it('explains a decision with tokengate review, reading the token from stdin', async () => {
    const accepted = await runCli(['review', 'c-a', '-'], { env, stdin: `${ON_TOKEN}\n` });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain('accepted: token kubeconfig-u-abc12xyz authenticates as u-abc12xyz');
    const refused = await cli('review', 'c-a', DISABLED);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('refused: token disabled (token-disabled); token token-5hq2k, user u-abc12xyz\n');
    expect(refused.stdout + refused.stderr).not.toContain('c'.repeat(54));
  });

  it('never logged a token, a secret, a hash or a credential', () => {
    const text = log.text();
    expect(log.lines.length).toBeGreaterThan(0);
    for (const secret of ['d'.repeat(54), 'c'.repeat(54), 'uFrxm43ggfw', 'GepdvExsvzA', 'jwvzsLqh6Rg', '$argon2id', SERVICE_ACCOUNT_JWT]) {
      expect(text).not.toContain(secret);
    }
    for (const credential of Object.values(credentials)) expect(text).not.toContain(credential.slice(16));
    expect(stack.handlerErrors).toEqual([]);
  });

  it('refuses to issue a native token in a cluster that is not registered, or under a taken name', async () => {
    const unregistered = await cli('tokens', 'create', 'c-nowhere', '--user', 'alice');
    expect(unregistered).toMatchObject({ code: 1, stdout: '' });
    expect(unregistered.stderr).toBe('tokengate tokens create: cluster c-nowhere is not registered (tokengate clusters add c-nowhere)\n');
    const taken = await cli('tokens', 'create', 'c-a', '--user', 'alice', '--name', 'kubeconfig-u-abc12xyz');
    expect(taken).toMatchObject({ code: 1, stdout: '' });
    expect(taken.stderr).toContain('a token named kubeconfig-u-abc12xyz already exists in cluster c-a');
    expect((await stack.store.readClusterState('c-a')).tokens.find((token) => token.name === 'kubeconfig-u-abc12xyz')?.origin).toBe('rancher');
  });

  it('lists the registered clusters with credential ids only', async () => {
    const listed = await cli('clusters', 'list', '-o', 'json');
    const clusters = JSON.parse(listed.stdout) as Array<{ clusterId: string; credentials: Array<Record<string, unknown>> }>;
    expect(clusters.map((cluster) => cluster.clusterId)).toEqual(expect.arrayContaining(['c-a', 'c-b']));
    expect(clusters[0]?.credentials[0]).not.toHaveProperty('hash');
    expect(listed.stdout).not.toContain('$argon2id');
  });

  it('removes a cluster with all its rows; its apiservers get 401 from then on', async () => {
    const credential = (await cli('clusters', 'add', 'c-gone')).stdout.trim();
    await cli('import', 'c-gone', ...RANCHER_FILES);
    expect((await stack.review('c-gone', credential, ON_TOKEN)).status).toBe(200);
    const removed = await cli('clusters', 'remove', 'c-gone');
    expect(removed).toMatchObject({ code: 0, stderr: 'removed cluster c-gone and 8 rows\n' }); // 6 imported + 1 usage row + the name filter
    expect(await stack.store.readClusterState('c-gone')).toEqual({ tokens: [], users: [], secrets: [], usage: [] });
    expect((await stack.review('c-gone', credential, ON_TOKEN)).status).toBe(401);
    expect((await cli('clusters', 'remove', 'c-gone')).code).toBe(1);
  });
});

async function authenticated(response: Promise<Response>): Promise<boolean> {
  return ((await (await response).json()) as { status: { authenticated: boolean } }).status.authenticated;
}

describe('the local API with a decision cache', () => {
  let stack: LocalStack;
  afterAll(async () => {
    await stack?.close();
  });

  it('keeps accepting a revoked token until the cache TTL ends (what --cache-ttl 0 avoids)', async () => {
    stack = await startLocalStack({ cacheTtlSeconds: 60 });
    const env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    const credential = await stack.addCluster('c-cache');
    await runCli(['import', 'c-cache', ...RANCHER_FILES], { env });
    expect(await authenticated(stack.review('c-cache', credential, ON_TOKEN))).toBe(true);
    await runCli(['tokens', 'revoke', 'c-cache', 'kubeconfig-u-abc12xyz'], { env });
    expect(await authenticated(stack.review('c-cache', credential, ON_TOKEN))).toBe(true);
    expect((await runCli(['review', 'c-cache', ON_TOKEN], { env })).stdout).toContain('token revoked');
  });
});
