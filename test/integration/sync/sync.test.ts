/**
 * The sync over real sockets: three test kube-apiservers (HTTPS, RBAC, paging, faults) and a local
 * DynamoDB (embedded, or TOKENGATE_TEST_DYNAMODB_ENDPOINT), read back through the authenticate handler.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerFromEnvironment as authenticateFromEnvironment } from '../../../functions/entry/authenticate/handler.ts';
import { partitionOf } from '../../../functions/adapters/dynamodb/rows.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { clusterSourceOpener } from '../../../functions/adapters/kubernetes/cluster-opener.ts';
import { FileKubeconfigStore } from '../../../functions/adapters/kubeconfig/kubeconfig-store.ts';
import { DEFAULT_SYNC_OPTIONS } from '../../../functions/entry/sync/config.ts';
import { createSyncer, type SyncOptions, type SyncStore, type SyncSummary } from '../../../functions/services/sync/sync.ts';
import { registeredCluster } from '../../support/clusters.ts';
import { httpEvent, tokenReviewBody } from '../../support/events.ts';
import { HASH_C, HASH_D, SECRET_C, SECRET_D } from '../../support/fake-cluster-source.ts';
import {
  clusterAuthToken,
  clusterUserAttribute,
  hashSecret,
  startKubeApiServer,
  SYNC_READER_ROLE,
  type TestKubeApiServer,
} from '../../support/kube-apiserver.ts';
import { openSyncTable, syncStoreMethods, type SyncTable } from '../../support/sync-table.ts';

const SYNC_ROLE = SYNC_READER_ROLE;
const SYNC_TOKEN = 'tokengate-sync-reader-token';
const NO_PATCH_TOKEN = 'tokengate-sync-no-patch-token';

interface TestCluster {
  id: string;
  server: TestKubeApiServer;
  credential: string;
  tokens: number;
}

/** Several thousand tokens over three clusters; every third token has its hash only in its Secret (Rancher 2.13). */
const SIZES = { 'c-int-a': 3000, 'c-int-b': 2000, 'c-int-c': 2000 } as const;
const USERS_PER_CLUSTER = 200;

let table: SyncTable;
let dir: string;
const clusters: TestCluster[] = [];
let authenticate: ReturnType<typeof authenticateFromEnvironment>;
let clock = () => new Date();

const tokenName = (index: number) => `kubeconfig-u-t${String(index).padStart(5, '0')}`;
const userOf = (index: number) => `u-user${String(index % USERS_PER_CLUSTER).padStart(3, '0')}`;
const inSecret = (index: number) => index % 3 === 0;

function seed(server: TestKubeApiServer, count: number): void {
  server.upsertAll(
    'clusteruserattributes',
    Array.from({ length: USERS_PER_CLUSTER }, (_, index) =>
      clusterUserAttribute({ name: userOf(index), groups: [`openldap_group://cn=team${index % 7},dc=example,dc=org`], lastRefresh: '2026-01-01T00:00:00Z' }),
    ),
  );
  server.upsertAll(
    'clusterauthtokens',
    Array.from({ length: count }, (_, index) =>
      clusterAuthToken({ name: tokenName(index), userName: userOf(index), hash: inSecret(index) ? '' : HASH_D }),
    ),
  );
  server.upsertAll(
    'secrets',
    Array.from({ length: count }, (_, index) => index).filter(inSecret).map((index) => hashSecret(tokenName(index), HASH_C)),
  );
}

function syncer(options: Partial<SyncOptions> = {}, store: SyncStore = table.store, log = new CapturingLog(), metrics = new CapturingMetrics()) {
  return createSyncer({
    store,
    openSource: clusterSourceOpener([new FileKubeconfigStore()], { retryBaseDelayMs: 5, requestTimeoutMs: 5000 }),
    log,
    metrics,
    now: () => clock(),
    elapsed: () => performance.now(),
    newRunId: () => randomUUID(),
    options: { ...DEFAULT_SYNC_OPTIONS, ...options, writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, ...options.writeBack } },
  });
}

async function reviewAt(cluster: TestCluster, token: string) {
  const reply = await authenticate(
    httpEvent({ path: `/v1/clusters/${cluster.id}/authenticate`, headers: { authorization: `Bearer ${cluster.credential}` }, body: tokenReviewBody(token) }),
  );
  expect(reply.statusCode).toBe(200);
  return JSON.parse(String(reply.body)) as { status: { authenticated: boolean; user?: { username: string; groups?: string[] }; error?: string } };
}

function cluster(id: string): TestCluster {
  const found = clusters.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no test cluster ${id}`);
  return found;
}

beforeAll(async () => {
  table = await openSyncTable('sync-int');
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-sync-int-'));
  for (const [id, count] of Object.entries(SIZES)) {
    const server = await startKubeApiServer({
      users: {
        [SYNC_TOKEN]: { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_ROLE },
        [NO_PATCH_TOKEN]: {
          username: 'system:serviceaccount:cattle-system:tokengate-sync-readonly',
          rules: [
            { resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list'] },
            { resources: ['secrets'], verbs: ['get'] },
            { resources: ['daemonsets'], verbs: ['get'], resourceNames: ['kube-api-auth'] },
          ],
        },
      },
    });
    seed(server, count);
    const file = path.join(dir, `${id}.yaml`);
    await writeFile(file, server.kubeconfig({ token: SYNC_TOKEN }));
    const { record, credential } = await registeredCluster(id);
    await table.store.createCluster({ ...record, access: { kind: 'file', path: file } });
    clusters.push({ id, server, credential, tokens: count });
  }
  authenticate = authenticateFromEnvironment({ TABLE_NAME: table.tableName, CACHE_TTL_SECONDS: '0' }, { store: table.reviews, log: new CapturingLog(), metrics: new CapturingMetrics() });
}, 120_000);

afterAll(async () => {
  await Promise.all(clusters.map((entry) => entry.server.close()));
  await table?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('sync over real sockets', () => {
  it('mirrors three clusters with thousands of tokens on the first sync', async () => {
    const summary = await syncer().syncAll();

    expect(summary.ok).toBe(3);
    for (const entry of clusters) {
      const rows = await table.store.readClusterState(entry.id);
      expect(rows.tokens).toHaveLength(entry.tokens);
      expect(rows.users).toHaveLength(USERS_PER_CLUSTER);
      expect(rows.secrets).toHaveLength(Math.ceil(entry.tokens / 3));
      expect(rows.tokens.every((row) => row.hash === (inSecret(Number(row.name.slice(-5))) ? HASH_C : HASH_D))).toBe(true);
    }
    const a = cluster('c-int-a');
    expect((await reviewAt(a, `${tokenName(1)}:${SECRET_D}`)).status).toMatchObject({
      authenticated: true,
      user: { username: userOf(1), groups: ['openldap_group://cn=team1,dc=example,dc=org'] },
    });
    // the Rancher 2.13 layout: the token's hash is only in its Secret
    expect((await reviewAt(a, `${tokenName(3)}:${SECRET_C}`)).status).toMatchObject({ authenticated: true, user: { username: userOf(3) } });
    expect((await reviewAt(a, `${tokenName(3)}:${SECRET_D}`)).status.authenticated).toBe(false);
    // no cross-cluster replay: cluster b's token is unknown at cluster a's endpoint and vice versa
    expect((await reviewAt(cluster('c-int-b'), `${tokenName(2999)}:${SECRET_D}`)).status.authenticated).toBe(false);
  });

  it('reads no row, writes nothing and reads no Secret on a second sync of unchanged clusters', async () => {
    table.calls.length = 0;
    for (const entry of clusters) entry.server.resetLog();

    const summary = await syncer().syncAll();

    expect(summary.clusters.map((result) => [result.outcome, result.unchanged, result.writes, result.deletes, result.secretReads])).toEqual([
      ['ok', true, 0, 0, 0],
      ['ok', true, 0, 0, 0],
      ['ok', true, 0, 0, 0],
    ]);
    for (const entry of clusters) {
      expect(table.writes(partitionOf(entry.id))).toEqual([]);
      expect(entry.server.countRequests({ resource: 'secrets' })).toBe(0);
    }
    // the listings matched the stored fingerprints: no lease, no outcome, and only the registry was queried
    expect(table.writes()).toHaveLength(0);
    expect(table.calls.map((call) => call.command)).toEqual(['QueryCommand']);
  });

  it('refuses, after the next sync, tokens disabled, deleted or expired in the cluster, and users disabled there', async () => {
    const b = cluster('c-int-b');
    b.server.mutate('clusterauthtokens', tokenName(10), { enabled: false });
    b.server.remove('clusterauthtokens', tokenName(11));
    b.server.mutate('clusterauthtokens', tokenName(13), { expiresAt: '2020-01-01T00:00:00Z' });
    b.server.mutate('clusteruserattributes', userOf(14), { enabled: false });
    expect((await reviewAt(b, `${tokenName(10)}:${SECRET_D}`)).status.authenticated).toBe(true);

    const summary = await syncer().syncAll({ clusterIds: ['c-int-b'] });

    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', deletes: 1 });
    expect((await reviewAt(b, `${tokenName(10)}:${SECRET_D}`)).status).toMatchObject({ authenticated: false, error: 'token disabled' });
    expect((await reviewAt(b, `${tokenName(11)}:${SECRET_D}`)).status).toEqual({ authenticated: false, user: {} });
    expect((await reviewAt(b, `${tokenName(13)}:${SECRET_D}`)).status).toMatchObject({ authenticated: false, error: 'token expired' });
    expect((await reviewAt(b, `${tokenName(14)}:${SECRET_D}`)).status).toMatchObject({ authenticated: false, error: 'user disabled' });
    expect((await reviewAt(b, `${tokenName(16)}:${SECRET_D}`)).status.authenticated).toBe(true);
  });

  it('loses nothing when the connection is cut in the middle of a listing, and catches up afterwards', async () => {
    const c = cluster('c-int-c');
    const before = await table.store.readClusterState('c-int-c');
    c.server.remove('clusterauthtokens', tokenName(20));
    // every try of the second page is cut half way: the adapter's retries run out
    c.server.cutNext({ match: /clusterauthtokens\?.*continue=/, times: 50 });

    const failed = await syncer().syncAll();

    const byId = Object.fromEntries(failed.clusters.map((result) => [result.clusterId, result]));
    expect(byId['c-int-c']).toMatchObject({ outcome: 'failed', writes: 0, deletes: 0 });
    expect(byId['c-int-c']?.error).toMatch(/^cluster c-int-c: /);
    expect(byId['c-int-a']?.outcome).toBe('ok');
    expect(await table.store.readClusterState('c-int-c')).toEqual(before);
    expect((await table.store.readCluster('c-int-c'))?.lastSync).toMatchObject({ outcome: 'failed' });

    c.server.clearFaults();
    const recovered = await syncer().syncAll({ clusterIds: ['c-int-c'] });
    expect(recovered.clusters[0]).toMatchObject({ outcome: 'ok', deletes: 1 });
    expect((await reviewAt(c, `${tokenName(20)}:${SECRET_D}`)).status.authenticated).toBe(false);
  });

  it('recovers from 410 Expired in the middle of a listing by listing again from the start', async () => {
    const a = cluster('c-int-a');
    a.server.mutate('clusterauthtokens', tokenName(2998), { enabled: false });
    a.server.resetLog();
    // the continue token of the first page has expired by the time the second page is asked for
    a.server.failNext({ status: 410, match: /clusterauthtokens\?.*continue=/ });

    const summary = await syncer().syncAll({ clusterIds: ['c-int-a'] });

    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', writes: 1 });
    const fresh = a.server.requests.filter((request) => request.resource === 'clusterauthtokens' && request.verb === 'list' && !('continue' in request.query));
    expect(fresh).toHaveLength(2);
    expect((await reviewAt(a, `${tokenName(2998)}:${SECRET_D}`)).status.authenticated).toBe(false);
  });

  it('retries throttled DynamoDB writes (unprocessed batch items and throttling errors) until the mirror is complete', async () => {
    const a = cluster('c-int-a');
    for (let index = 3000; index < 3100; index += 1) a.server.upsert('clusterauthtokens', clusterAuthToken({ name: tokenName(index), userName: userOf(index), hash: HASH_D }));
    for (let index = 100; index < 110; index += 1) a.server.mutate('clusterauthtokens', tokenName(index), { enabled: false });
    for (let index = 200; index < 205; index += 1) a.server.remove('clusterauthtokens', tokenName(index));
    table.leaveUnprocessed(3);
    table.throttle('PutItemCommand', 4);
    table.throttle('DeleteItemCommand', 2);

    const summary = await syncer().syncAll({ clusterIds: ['c-int-a'] });

    // 100 new and 10 changed token rows; 5 token rows and the 2 Secret rows among them deleted
    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', writes: 110, deletes: 7, conflicts: 0 });
    expect(table.injected).toMatchObject({ throttled: 6, unprocessed: 3 });
    const rows = await table.store.readClusterState('c-int-a');
    expect(rows.tokens).toHaveLength(3100 - 5);
    expect(rows.tokens.filter((row) => !row.enabled).map((row) => row.name)).toContain(tokenName(105));
    a.server.resetLog();
    expect((await syncer().syncAll({ clusterIds: ['c-int-a'] })).clusters[0]).toMatchObject({ writes: 0, deletes: 0 });
  });

  it('converges when two syncs overlap and one of them dies half way', async () => {
    const b = cluster('c-int-b');
    for (let index = 2000; index < 2400; index += 1) b.server.upsert('clusterauthtokens', clusterAuthToken({ name: tokenName(index), userName: userOf(index), hash: HASH_D }));
    for (let index = 30; index < 40; index += 1) b.server.remove('clusterauthtokens', tokenName(index));

    // a run that is killed after its first batch of new rows, its lease left behind; while it holds the
    // cluster a second run starts and finds it busy
    let batches = 0;
    let overlapping: Promise<SyncSummary> | undefined;
    const dying: SyncStore = {
      ...syncStoreMethods(table.store),
      createRecords: async (records) => {
        batches += 1;
        if (batches === 1) {
          overlapping = syncer().syncAll({ clusterIds: ['c-int-b'] });
          await overlapping;
        }
        if (batches > 1) throw new Error('killed');
        await table.store.createRecords(records);
      },
      finishSync: async () => true,
    };
    const killed = await syncer({ batchChunk: 100 }, dying).syncAll({ clusterIds: ['c-int-b'] });
    expect(killed.clusters[0]).toMatchObject({ outcome: 'failed', writes: 100, error: 'Error: killed' });
    expect((await overlapping)?.clusters[0]?.outcome).toBe('busy');
    expect((await syncer().syncAll({ clusterIds: ['c-int-b'] })).clusters[0]?.outcome).toBe('busy');

    // once the dead run's lease has lapsed, the next run takes the cluster over and converges
    const later = new Date(Date.now() + DEFAULT_SYNC_OPTIONS.clusterTimeoutMs + DEFAULT_SYNC_OPTIONS.leaseMarginMs + 1000);
    clock = () => later;
    try {
      const converged = await syncer().syncAll({ clusterIds: ['c-int-b'] });
      expect(converged.clusters[0]?.outcome).toBe('ok');
      const rows = await table.store.readClusterState('c-int-b');
      expect(rows.tokens.map((row) => row.name).sort()).toEqual(b.server.list('clusterauthtokens').map((object) => object.metadata.name).sort());
      expect((await syncer().syncAll({ clusterIds: ['c-int-b'] })).clusters[0]).toMatchObject({ outcome: 'ok', writes: 0, deletes: 0 });
    } finally {
      clock = () => new Date();
    }
  });

  it('keeps a revoke that lands between the read of the rows and their rewrite', async () => {
    const c = cluster('c-int-c');
    c.server.mutate('clusterauthtokens', tokenName(50), { expiresAt: '2099-01-01T00:00:00Z' });
    const racing: SyncStore = {
      ...syncStoreMethods(table.store),
      readClusterState: async (clusterId) => {
        const rows = await table.store.readClusterState(clusterId);
        await table.store.revokeToken(clusterId, tokenName(50), new Date());
        return rows;
      },
    };
    const summary = await syncer({}, racing).syncAll({ clusterIds: ['c-int-c'] });
    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', conflicts: 1 });
    expect((await reviewAt(c, `${tokenName(50)}:${SECRET_D}`)).status).toMatchObject({ authenticated: false, error: 'token revoked' });
    await syncer().syncAll({ clusterIds: ['c-int-c'] });
    expect((await reviewAt(c, `${tokenName(50)}:${SECRET_D}`)).status).toMatchObject({ authenticated: false, error: 'token revoked' });
  });

  it('writes lastUsedAt back with merge patches, at most the per-run cap, and reports a forbidden patch once', async () => {
    const a = cluster('c-int-a');
    const usedAt = new Date(Date.now() - 10 * 60_000);
    for (let index = 400; index < 430; index += 1) await table.reviews.recordUse('c-int-a', tokenName(index), usedAt, usedAt);
    a.server.resetLog();
    // write-back rides on full reconciles: an unchanged cluster skips it until its fingerprint ages out
    const capped = { fullResyncMs: 0, writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, maxPatches: 20, concurrency: 4 } };

    const first = await syncer(capped).syncAll({ clusterIds: ['c-int-a'] });

    expect(first.clusters[0]?.writeBack).toMatchObject({ lastUsedPatched: 20, deferred: 10, failed: 0 });
    expect(a.server.patches).toHaveLength(20);
    expect(a.server.patches[0]).toMatchObject({
      resource: 'clusterauthtokens',
      contentType: 'application/merge-patch+json',
      patch: { lastUsedAt: usedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    });
    // the patches change only lastUsedAt: no row is rewritten for them
    expect(first.clusters[0]).toMatchObject({ writes: 0 });
    const second = await syncer(capped).syncAll({ clusterIds: ['c-int-a'] });
    expect(second.clusters[0]?.writeBack).toMatchObject({ lastUsedPatched: 10, deferred: 0 });
    expect(second.clusters[0]).toMatchObject({ writes: 0 });

    // a reader Role without patch: reported once for the cluster, the sync itself succeeds
    for (let index = 500; index < 520; index += 1) await table.reviews.recordUse('c-int-a', tokenName(index), usedAt, usedAt);
    const file = path.join(dir, 'c-int-a.yaml');
    await writeFile(file, a.server.kubeconfig({ token: NO_PATCH_TOKEN }));
    try {
      const log = new CapturingLog();
      const forbidden = await syncer(capped, table.store, log).syncAll({ clusterIds: ['c-int-a'] });
      expect(forbidden.clusters[0]).toMatchObject({ outcome: 'ok', writeBack: { forbidden: ['clusterauthtokens'], lastUsedPatched: 0 } });
      expect(log.lines).toHaveLength(1);
      expect(a.server.countRequests({ method: 'PATCH', status: 403 })).toBeLessThanOrEqual(capped.writeBack.concurrency);
    } finally {
      await writeFile(file, a.server.kubeconfig({ token: SYNC_TOKEN }));
    }
  });

  it("marks a user's attribute needsRefresh once Rancher's debounce has passed since the user's last refresh and a use", async () => {
    const c = cluster('c-int-c');
    // tokens 5 and 205 belong to user 5, refreshed long ago (seed: 2026-01-01)
    await table.reviews.recordUse('c-int-c', tokenName(205), new Date(), new Date());
    c.server.resetLog();

    const summary = await syncer({ fullResyncMs: 0, writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, refreshDebounceSeconds: 600 } }).syncAll({
      clusterIds: ['c-int-c'],
    });

    expect(summary.clusters[0]?.writeBack.needsRefreshPatched).toBe(1);
    expect(c.server.patches.filter((patch) => patch.resource === 'clusteruserattributes')).toEqual([
      expect.objectContaining({ name: userOf(205), contentType: 'application/merge-patch+json', patch: { needsRefresh: true } }),
    ]);
    expect(c.server.get('clusteruserattributes', userOf(205))?.needsRefresh).toBe(true);
  });
});
