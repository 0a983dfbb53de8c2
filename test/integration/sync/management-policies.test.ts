/**
 * The management source's policies over real sockets (the test management apiserver, the local API over the
 * embedded DynamoDB, the CLI): `--accept-unscoped-tokens` per cluster, `rancher set --write-back` (lastUsedAt
 * back to v3 tokens and ext token Secrets), `$1`-hashed tokens skipped, `clusters list` naming each cluster's
 * source, and setups row 3 (a Rancher-source cluster whose ACE is on in Rancher) reported with its fix.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import {
  extTokenSecret,
  managementCluster,
  rancherUser,
  startRancherManagementApiServer,
  userAttribute,
  v3Token,
  type Grant,
  type RancherManagementApiServer,
} from '../../support/rancher-management-apiserver.ts';

const READER = 'rancher-policy-reader';
const WRITER = 'rancher-policy-writer';
const OPEN = 'c-m-open1234'; // --accept-unscoped-tokens
const STRICT = 'c-m-strict12'; // ACE's rule: scoped tokens only
const ACE_ON = 'c-m-aceon123'; // Rancher-provisioned with ACE on: setups row 3
const HOUR = 3_600_000;
/** A `$1` (scrypt) hash in Rancher's legacy format, from test/fixtures/hash-vectors.json. */
const HASH_SCRYPT = '$1:0a1b2c3d4e5f6071:15:8:1:fA4r7r50txEoKObSEozk7lBAlU0tx0bC9jgJUeGyydRETVqAaOgCcIgnxm4ZvVWgrdOXXZouXiYaSk4l+vIqxA';

let stack: LocalStack;
let rancher: RancherManagementApiServer;
let dir: string;
let env: Record<string, string>;
const credentials: Record<string, string> = {};
const started = new Date();

const READ_RULES: Grant['rules'] = [
  { resources: ['tokens', 'users', 'userattributes', 'clusters'], verbs: ['get', 'list', 'watch'] },
  { resources: ['secrets'], verbs: ['get', 'list', 'watch'], namespace: 'cattle-tokens' },
];

async function cli(args: string[], now?: Date) {
  return runCli(args, { env, ...(now ? { now } : {}) });
}

async function review(clusterId: string, token: string): Promise<{ authenticated: boolean; user?: { username: string }; error?: string }> {
  const response = await stack.review(clusterId, credentials[clusterId], token);
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: { authenticated: boolean; user?: { username: string }; error?: string } }).status;
}

/** Usage is written by the review path; wait until the table holds it for every name. */
async function usageOf(clusterId: string, names: string[]): Promise<Map<string, string>> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const usage = new Map((await stack.store.readClusterState(clusterId)).usage.map((entry) => [entry.name, entry.lastUsedAt]));
    if (names.every((name) => usage.has(name))) return usage;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no usage recorded for ${names.join(', ')}`);
}

const toSeconds = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

beforeAll(async () => {
  stack = await startLocalStack();
  rancher = await startRancherManagementApiServer();
  rancher.addUser(READER, { username: 'system:serviceaccount:cattle-system:tokengate-rancher-reader', rules: READ_RULES });
  // the reader plus the optional write-back binding of infra/kubernetes/rancher-reader.yaml
  rancher.addUser(WRITER, {
    username: 'system:serviceaccount:cattle-system:tokengate-rancher-reader',
    rules: [...READ_RULES, { resources: ['tokens'], verbs: ['patch'] }, { resources: ['secrets'], verbs: ['patch'], namespace: 'cattle-tokens' }],
  });
  rancher.upsertAll('clusters', [managementCluster(OPEN, false), managementCluster(STRICT, false), managementCluster(ACE_ON, true)]);
  rancher.upsertAll('users', [rancherUser('u-alice'), rancherUser('u-dave')]);
  rancher.upsertAll('userattributes', [userAttribute('u-alice', { github: ['github_org://acme'] }), userAttribute('u-dave')]);
  const inAnHour = new Date(started.getTime() + HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');
  rancher.upsertAll('tokens', [
    // unscoped API keys and login tokens of u-alice
    v3Token({ name: 'token-apikey', userId: 'u-alice', token: HASH_D, hashed: true }),
    v3Token({ name: 'token-session', userId: 'u-alice', token: HASH_D, hashed: true, kind: 'session' }),
    v3Token({ name: 'token-scoped-strict', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: STRICT }),
    // a v3 token hashed with Rancher's legacy scrypt ($1): Rancher's ACE skips it, so do we
    v3Token({ name: 'token-scrypt', userId: 'u-alice', token: HASH_SCRYPT, hashed: true, clusterName: OPEN }),
    // write-back candidates, all scoped to OPEN
    v3Token({ name: 'wb-never', userId: 'u-dave', token: HASH_D, hashed: true, clusterName: OPEN }),
    v3Token({ name: 'wb-old', userId: 'u-dave', token: HASH_D, hashed: true, clusterName: OPEN, lastUsedAt: '2026-01-01T00:00:00Z' }),
    v3Token({ name: 'wb-rancher-newer', userId: 'u-dave', token: HASH_D, hashed: true, clusterName: OPEN, lastUsedAt: '2099-01-01T00:00:00Z' }),
    v3Token({ name: 'wb-expiring', userId: 'u-dave', token: HASH_D, hashed: true, clusterName: OPEN, ttl: HOUR, expiresAt: inAnHour }),
    v3Token({ name: 'token-aceon', userId: 'u-alice', token: HASH_D, hashed: true, clusterName: ACE_ON }),
  ]);
  rancher.upsertAll('secrets', [
    extTokenSecret({ name: 'token-extapikey', userId: 'u-alice', hash: HASH_D, ttl: -1 }),
    extTokenSecret({ name: 'token-extsession', userId: 'u-alice', hash: HASH_D, kind: 'session', ttl: -1 }),
    extTokenSecret({ name: 'wb-ext', userId: 'u-dave', hash: HASH_D, cluster: OPEN, ttl: -1 }),
    extTokenSecret({ name: 'wb-ext-expiring', userId: 'u-dave', hash: HASH_D, cluster: OPEN, ttl: HOUR, creationTimestamp: started.toISOString().replace(/\.\d{3}Z$/, 'Z') }),
  ]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-rancher-policy-'));
  await writeFile(path.join(dir, 'reader.kubeconfig'), rancher.kubeconfig({ token: READER }));
  await writeFile(path.join(dir, 'writer.kubeconfig'), rancher.kubeconfig({ token: WRITER }));
  env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
  expect((await cli(['rancher', 'set', '--kubeconfig', path.join(dir, 'reader.kubeconfig')])).code).toBe(0);
  for (const [clusterId, extra] of [[OPEN, ['--accept-unscoped-tokens']], [STRICT, []], [ACE_ON, []]] as const) {
    const added = await cli(['clusters', 'add', clusterId, '--source', 'rancher', ...extra]);
    expect(added.code).toBe(0);
    credentials[clusterId] = added.stdout.trim();
  }
});

afterAll(async () => {
  await rancher?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('--accept-unscoped-tokens', () => {
  it("accepts a user's unscoped non-login tokens (v3 and ext) only at the cluster registered with the policy", async () => {
    expect((await cli(['sync'])).code).toBe(0);
    expect(await review(OPEN, `token-apikey:${SECRET_D}`)).toMatchObject({ authenticated: true, user: { username: 'u-alice' } });
    expect(await review(OPEN, `ext/token-extapikey:${SECRET_D}`)).toMatchObject({ authenticated: true, user: { username: 'u-alice' } });
    expect(await review(STRICT, `token-apikey:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(STRICT, `ext/token-extapikey:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    // the policy-less cluster still takes the token scoped to it
    expect(await review(STRICT, `token-scoped-strict:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });

  it('never accepts login (session) tokens, nor a token scoped to another cluster, even with the policy on', async () => {
    expect(await review(OPEN, `token-session:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(OPEN, `ext/token-extsession:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
    expect(await review(OPEN, `token-scoped-strict:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
  });
});

describe('$1-hashed v3 tokens', () => {
  it('are skipped with the reason in the sync report, and refused', async () => {
    const run = await cli(['sync', OPEN]);
    expect(run.stderr).toMatch(/cluster c-m-open1234: not mirrored: token\/token-scrypt: hashed with \$1 [^\n]*Rancher's ACE does not sync such tokens/);
    expect(await review(OPEN, `token-scrypt:${SECRET_D}`)).toEqual({ authenticated: false, user: {} });
  });
});

describe('clusters list', () => {
  it('names each cluster\'s source in the table, -o wide, -o json and -o yaml', async () => {
    const json = JSON.parse((await cli(['clusters', 'list', '-o', 'json'])).stdout) as { clusterId: string; source: string; acceptUnscopedTokens?: boolean }[];
    expect(json.map(({ clusterId, source, acceptUnscopedTokens }) => ({ clusterId, source, acceptUnscopedTokens }))).toEqual([
      { clusterId: ACE_ON, source: 'rancher', acceptUnscopedTokens: false },
      { clusterId: OPEN, source: 'rancher', acceptUnscopedTokens: true },
      { clusterId: STRICT, source: 'rancher', acceptUnscopedTokens: false },
    ]);
    expect(parse((await cli(['clusters', 'list', '-o', 'yaml'])).stdout)).toEqual(json);
    const table = (await cli(['clusters', 'list'])).stdout;
    expect(table).toMatch(/^CLUSTER\s+SOURCE\s+CREATED/);
    expect(table).toMatch(new RegExp(`^${OPEN}\\s+rancher\\+unscoped\\s`, 'm'));
    expect(table).toMatch(new RegExp(`^${STRICT}\\s+rancher\\s`, 'm'));
    expect((await cli(['clusters', 'list', '-o', 'wide'])).stdout).toMatch(new RegExp(`^${OPEN}\\s+rancher\\+unscoped\\s`, 'm'));
  });
});

describe('setups row 3: a Rancher-source cluster whose ACE is on in Rancher', () => {
  it('syncs, and says plainly that a provisioned cluster never asks tokengate and how to switch', async () => {
    const run = await cli(['sync', ACE_ON, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`cluster ${ACE_ON}: ACE is on for ${ACE_ON} in Rancher. If Rancher provisioned this cluster, its apiservers ask kube-api-auth, not tokengate`);
    expect(run.stderr).toContain('switch "Authorized Endpoint" off for it in Rancher');
    expect(JSON.parse(run.stdout).clusters[0].warnings).toEqual([expect.stringContaining('--source downstream is the usual setup')]);
    // the tokens are what Rancher's own ACE would accept, so serving them is never a wrong accept
    expect(await review(ACE_ON, `token-aceon:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });

  it('keeps the warning on the cluster\'s last sync, shown by clusters list -o wide, -o json and -o yaml, also after a no-change resync', async () => {
    const run = JSON.parse((await cli(['sync', ACE_ON, '-o', 'json'])).stdout) as { clusters: { unchanged?: boolean }[] };
    // nothing changed since the full run before: the outcome write is skipped, and the full run's warning stays
    expect(run.clusters[0]?.unchanged).toBe(true);
    type Listed = { clusterId: string; lastSync?: { warnings?: number; firstWarning?: string } };
    const json = JSON.parse((await cli(['clusters', 'list', '-o', 'json'])).stdout) as Listed[];
    const aceOn = json.find((view) => view.clusterId === ACE_ON);
    expect(aceOn?.lastSync).toMatchObject({ warnings: 1, firstWarning: expect.stringContaining(`ACE is on for ${ACE_ON} in Rancher.`) });
    expect(aceOn?.lastSync?.firstWarning?.length).toBeLessThanOrEqual(512);
    expect(json.find((view) => view.clusterId === STRICT)?.lastSync).not.toHaveProperty('warnings');
    expect(parse((await cli(['clusters', 'list', '-o', 'yaml'])).stdout)).toEqual(json);
    const wide = (await cli(['clusters', 'list', '-o', 'wide'])).stdout;
    expect(wide).toMatch(/\sWARNINGS\s/);
    expect(wide).toMatch(new RegExp(`^${ACE_ON}\\s.*\\s1: ACE is on for ${ACE_ON} in Rancher\\.`, 'm'));
    expect(wide).toMatch(new RegExp(`^${STRICT}\\s.*\\s-\\s+$`, 'm'));
    expect((await cli(['clusters', 'list'])).stdout).not.toContain('ACE is on');
  });

  it('clears the stored warning once ACE is switched off in Rancher, at the next run (a change in warnings is not a no-change resync)', async () => {
    rancher.upsert('clusters', managementCluster(ACE_ON, false));
    const run = JSON.parse((await cli(['sync', ACE_ON, '-o', 'json'])).stdout) as { clusters: { unchanged?: boolean; warnings: string[] }[] };
    expect(run.clusters[0]).toMatchObject({ warnings: [] });
    expect(run.clusters[0]?.unchanged).toBeUndefined();
    const json = JSON.parse((await cli(['clusters', 'list', '-o', 'json'])).stdout) as { clusterId: string; lastSync?: object }[];
    expect(json.find((view) => view.clusterId === ACE_ON)?.lastSync).not.toHaveProperty('warnings');
    expect(json.find((view) => view.clusterId === ACE_ON)?.lastSync).not.toHaveProperty('firstWarning');
  });
});

describe('write-back to Rancher (rancher set --write-back)', () => {
  const used = ['wb-never', 'wb-old', 'wb-rancher-newer', 'wb-expiring', 'wb-ext', 'wb-ext-expiring'];

  it('writes nothing back without --write-back', async () => {
    for (const name of used) {
      expect(await review(OPEN, `${name.startsWith('wb-ext') ? 'ext/' : ''}${name}:${SECRET_D}`)).toMatchObject({ authenticated: true });
    }
    await usageOf(OPEN, used);
    rancher.patches.length = 0;
    expect((await cli(['sync', OPEN])).code).toBe(0);
    expect(rancher.patches).toEqual([]);
  });

  it('patches lastUsedAt (add when absent, replace when present) and the ext Secret, only when newer and not expired', async () => {
    const usage = await usageOf(OPEN, used);
    expect((await cli(['rancher', 'set', '--kubeconfig', path.join(dir, 'writer.kubeconfig'), '--write-back'])).code).toBe(0);
    rancher.patches.length = 0;
    // two hours on: the two expiring tokens have expired by then
    const run = await cli(['sync', OPEN, '-o', 'json'], new Date(started.getTime() + 2 * HOUR));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).clusters[0].writeBack).toMatchObject({ lastUsedPatched: 5, failed: 0, forbidden: [] });

    const byName = new Map(rancher.patches.map((patch) => [patch.name, patch]));
    // the two unscoped keys were used at OPEN (policy on) in the first test: theirs go back too
    expect([...byName.keys()].sort()).toEqual(['token-apikey', 'token-extapikey', 'wb-ext', 'wb-never', 'wb-old']);
    expect(byName.get('wb-never')).toMatchObject({
      resource: 'tokens',
      contentType: 'application/json-patch+json',
      body: [{ op: 'add', path: '/lastUsedAt', value: toSeconds(usage.get('wb-never')!) }],
    });
    expect(byName.get('wb-old')).toMatchObject({
      resource: 'tokens',
      contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/lastUsedAt', value: toSeconds(usage.get('wb-old')!) }],
    });
    expect(byName.get('wb-ext')).toMatchObject({
      resource: 'secrets',
      namespace: 'cattle-tokens',
      contentType: 'application/merge-patch+json',
      body: { data: { 'last-used-at': b64(toSeconds(usage.get('wb-ext')!)) } },
    });
    expect(rancher.get('tokens', 'wb-never')).toMatchObject({ lastUsedAt: toSeconds(usage.get('wb-never')!) });
    expect(rancher.get('tokens', 'wb-old')).toMatchObject({ lastUsedAt: toSeconds(usage.get('wb-old')!) });
    expect(rancher.get('tokens', 'wb-rancher-newer')).toMatchObject({ lastUsedAt: '2099-01-01T00:00:00Z' });
    expect(rancher.get('secrets', 'wb-ext', 'cattle-tokens')).toMatchObject({ data: { 'last-used-at': b64(toSeconds(usage.get('wb-ext')!)) } });
  });

  it('does not patch again once Rancher has the time', async () => {
    rancher.patches.length = 0;
    expect((await cli(['sync', OPEN], new Date(started.getTime() + 2 * HOUR))).code).toBe(0);
    expect(rancher.patches).toEqual([]);
  });

  it('without the write-back RBAC, reports it and still syncs', async () => {
    rancher.mutate('tokens', 'wb-old', { lastUsedAt: '2026-01-01T00:00:00Z' });
    expect((await cli(['rancher', 'set', '--kubeconfig', path.join(dir, 'reader.kubeconfig'), '--write-back'])).code).toBe(0);
    rancher.patches.length = 0;
    const run = await cli(['sync', OPEN, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).clusters[0]).toMatchObject({ outcome: 'ok', writeBack: { lastUsedPatched: 0, forbidden: ['tokens'] } });
    expect(run.stderr).toContain(`cluster ${OPEN}: Rancher's reader may not patch its tokens (the optional tokengate-rancher-writeback objects`);
    expect(rancher.patches).toEqual([]);
    expect(await review(OPEN, `wb-old:${SECRET_D}`)).toMatchObject({ authenticated: true });
  });
});
