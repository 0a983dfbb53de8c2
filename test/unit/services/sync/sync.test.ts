import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../../functions/adapters/dynamodb/rows.ts';
import { reviewToken } from '../../../../functions/services/review-token.ts';
import { importObjects } from '../../../../functions/services/admin/import-objects.ts';
import { ClusterUnreachableError } from '../../../../functions/core/ports/cluster-source.ts';
import { DEFAULT_SYNC_OPTIONS } from '../../../../functions/entry/sync/config.ts';
import { LAST_SYNC_WARNING_MAX } from '../../../../functions/core/records.ts';
import { createSyncer, lastSyncWarnings, type SyncOptions, type SyncStore } from '../../../../functions/services/sync/sync.ts';
import { CapturingLog, CapturingMetrics } from '../../../support/fakes.ts';
import { cat, cua, FakeClusterSource, HASH_C, HASH_D, SECRET_C, SECRET_D } from '../../../support/fake-cluster-source.ts';
import { openSyncTable, syncStoreMethods, type SyncTable } from '../../../support/sync-table.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/test-dynamodb.ts';

let dynamo: TestDynamoDb;
let table: SyncTable;
let clock: Date;
let sources: Map<string, FakeClusterSource>;
let log: CapturingLog;
let metrics: CapturingMetrics;
let runs = 0;

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  table = await openSyncTable('sync-unit', { dynamo });
  clock = new Date('2026-11-26T12:00:00Z');
  sources = new Map();
  log = new CapturingLog();
  metrics = new CapturingMetrics();
});

afterEach(async () => {
  await table.close();
});

function syncer(options: Partial<SyncOptions> = {}, store: SyncStore = table.store) {
  return createSyncer({
    store,
    openSource: async (cluster) => {
      const source = sources.get(cluster.clusterId);
      if (!source) throw new ClusterUnreachableError(cluster.clusterId, 'network', 'no such test cluster');
      return source;
    },
    log,
    metrics,
    now: () => clock,
    elapsed: () => performance.now(),
    newRunId: () => `run-${++runs}`,
    options: { ...DEFAULT_SYNC_OPTIONS, ...options, writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, ...options.writeBack } },
  });
}

/** A cluster with alice (two tokens: own hash, and Rancher 2.13 hash-in-Secret) and bob (one token). */
async function standardCluster(clusterId = 'c-one'): Promise<FakeClusterSource> {
  await table.addCluster(clusterId);
  const source = new FakeClusterSource(clusterId)
    .addUser(cua({ name: 'u-alice' }))
    .addUser(cua({ name: 'u-bob', groups: ['openldap_group://cn=devs,dc=example,dc=org'] }))
    .addToken(cat({ name: 'kubeconfig-u-alice', userName: 'u-alice', hash: HASH_D }))
    .addToken(cat({ name: 'token-alice213', userName: 'u-alice', hash: '' }), HASH_D)
    .addToken(cat({ name: 'token-bob', userName: 'u-bob', hash: '' }), HASH_C);
  sources.set(clusterId, source);
  return source;
}

async function decide(clusterId: string, token: string) {
  return reviewToken(table.reviews, clusterId, token, { now: clock, allowSystemGroups: false });
}

describe('first sync', () => {
  it('mirrors tokens, users and Secret hashes so that reviews accept the right secrets', async () => {
    await standardCluster();
    const summary = await syncer().syncAll();

    expect(summary.clusters[0]).toMatchObject({ clusterId: 'c-one', outcome: 'ok', objects: 5, deletes: 0, rejected: [] });
    expect(await decide('c-one', `kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ outcome: 'accepted', user: { username: 'u-alice' } });
    expect(await decide('c-one', `token-alice213:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({
      outcome: 'accepted',
      user: { username: 'u-bob', groups: ['openldap_group://cn=devs,dc=example,dc=org'] },
    });
    expect(await decide('c-one', `token-bob:${SECRET_D}`)).toMatchObject({ outcome: 'refused', reason: 'secret-mismatch' });
  });

  it('reads only the Secrets of tokens without a hash of their own, with get, never list', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    expect(source.secretNamesRead.sort()).toEqual(['token-alice213', 'token-bob']);
  });

  it('records the outcome on the registry row and releases the lease', async () => {
    await standardCluster();
    await syncer().syncAll();
    const row = await table.store.readCluster('c-one');
    expect(row?.lastSync).toMatchObject({ outcome: 'ok', objects: 5, at: clock.toISOString() });
    expect(row?.lastSuccessfulSyncAt).toBe(clock.toISOString());
    expect(row?.syncLease).toBeUndefined();
  });
});

describe('a second sync of an unchanged cluster', () => {
  const queriesOf = (partition: string) =>
    table.calls.filter((call) => call.command === 'QueryCommand' && (call.input.ExpressionAttributeValues as Record<string, unknown>)[':pk'] === partition);

  it('reads none of its rows, writes nothing (no lease, no outcome) and reads no Secret', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    table.calls.length = 0;
    source.secretNamesRead.length = 0;

    const summary = await syncer().syncAll();

    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', unchanged: true, objects: 5, writes: 0, deletes: 0, secretReads: 0 });
    expect(summary).toMatchObject({ ok: 1, unchanged: 1 });
    expect(queriesOf(partitionOf('c-one'))).toEqual([]);
    expect(table.writes()).toEqual([]);
    expect(source.secretNamesRead).toEqual([]);
    expect(log.lines.some((line) => line.message === 'cluster unchanged: table not read')).toBe(true);
  });

  it('reads and plans in full once its fingerprint is older than the full-resync age', async () => {
    await standardCluster();
    await syncer({ fullResyncMs: 60_000 }).syncAll();
    clock = new Date(clock.getTime() + 60_000);
    table.calls.length = 0;

    const summary = await syncer({ fullResyncMs: 60_000 }).syncAll();

    expect(summary.clusters[0]?.unchanged).toBeUndefined();
    expect(queriesOf(partitionOf('c-one'))).toHaveLength(1);
    expect(table.writes(partitionOf('c-one'))).toEqual([]);
  });

  it('reads its rows again after any object changed, even one whose change derives nothing new', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    (source.users.get('u-bob') as { lastRefresh: string }).lastRefresh = '2026-11-26T11:00:00Z';
    table.calls.length = 0;

    const summary = await syncer().syncAll();

    expect(summary.clusters[0]?.unchanged).toBeUndefined();
    expect(queriesOf(partitionOf('c-one'))).toHaveLength(1);
  });

  it('reads its rows again after an import or a revoke wrote them outside sync, and honours the revoke', async () => {
    await standardCluster();
    await syncer().syncAll();
    // an import of a token the cluster does not have: the next sync must plan, and prune it
    await importObjects(table.store, 'c-one', { tokens: [cat({ name: 'token-imported', userName: 'u-bob', hash: HASH_C })], users: [], secrets: [] }, { prune: false, dryRun: false });
    expect(await decide('c-one', `token-imported:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
    table.calls.length = 0;
    expect((await syncer().syncAll()).clusters[0]?.unchanged).toBeUndefined();
    // the rows are read (a run that prunes reads them once more, to keep the name filter whole)
    expect(queriesOf(partitionOf('c-one')).length).toBeGreaterThanOrEqual(1);
    expect(await decide('c-one', `token-imported:${SECRET_C}`)).toMatchObject({ outcome: 'refused' });
    // the next one skips again
    expect((await syncer().syncAll()).clusters[0]?.unchanged).toBe(true);

    await table.store.revokeToken('c-one', 'token-bob', clock);
    const afterRevoke = await syncer().syncAll();
    expect(afterRevoke.clusters[0]?.unchanged).toBeUndefined();
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ outcome: 'refused', reason: 'token-revoked' });
  });

  it('never skips after a run that left something unresolved (a rejected object, a token without its Secret)', async () => {
    const source = await standardCluster();
    source.rejectedUsers = [{ name: 'u-broken', problems: ['spec: bad'] }];
    await syncer().syncAll();
    expect((await syncer().syncAll()).clusters[0]?.unchanged).toBeUndefined();
    expect((await table.store.readCluster('c-one'))?.mirrorFingerprint).toBeUndefined();

    source.rejectedUsers = [];
    source.addToken(cat({ name: 'token-nosecret', userName: 'u-bob', hash: '' }));
    await syncer().syncAll();
    expect((await syncer().syncAll()).clusters[0]?.unchanged).toBeUndefined();
    source.secrets.set('token-nosecret', HASH_C);
    await syncer().syncAll();
    expect(await decide('c-one', `token-nosecret:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
    expect((await syncer().syncAll()).clusters[0]?.unchanged).toBe(true);
  });

  it('with a full-resync age of 0 reads its rows every run, under the lease, as before', async () => {
    await standardCluster();
    await syncer({ fullResyncMs: 0 }).syncAll();
    table.calls.length = 0;

    await syncer({ fullResyncMs: 0 }).syncAll();

    expect(queriesOf(partitionOf('c-one'))).toHaveLength(1);
    expect(table.writes().map((call) => call.command)).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
  });
});

describe('changes in the cluster', () => {
  it('refuses a token after it is disabled, deleted or expired there', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    source.tokens.get('kubeconfig-u-alice')!.enabled = false;
    source.tokens.delete('token-bob');
    source.tokens.get('token-alice213')!.expiresAt = '2026-11-26T11:00:00Z';

    const summary = await syncer().syncAll();

    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', writes: 2 });
    expect(await decide('c-one', `kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ reason: 'token-disabled' });
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ reason: 'token-not-found' });
    expect(await decide('c-one', `token-alice213:${SECRET_D}`)).toMatchObject({ reason: 'token-expired' });
    const rows = await table.store.readClusterState('c-one');
    expect(rows.secrets.map((row) => row.name)).toEqual(['token-alice213']);
  });

  it('rewrites the tokens of a user whose attribute changed, without reading their Secrets again', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    source.secretNamesRead.length = 0;
    source.users.get('u-alice')!.groups = ['openldap_group://cn=auditors,dc=example,dc=org'];

    const summary = await syncer().syncAll();

    // the user row and alice's two tokens
    expect(summary.clusters[0]).toMatchObject({ writes: 3, deletes: 0 });
    expect(source.secretNamesRead).toEqual([]);
    expect(await decide('c-one', `token-alice213:${SECRET_D}`)).toMatchObject({
      outcome: 'accepted',
      user: { groups: ['openldap_group://cn=auditors,dc=example,dc=org'] },
    });
  });

  it('refuses every token of a user disabled in the cluster', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    source.users.get('u-alice')!.enabled = false;
    await syncer().syncAll();
    expect(await decide('c-one', `kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ reason: 'user-disabled' });
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
  });

  it('reads the Secret of a token that changed, and of one still without a stored Secret', async () => {
    const source = await standardCluster();
    source.addToken(cat({ name: 'token-late', userName: 'u-bob' })); // its Secret does not exist yet
    await syncer().syncAll();
    expect(await decide('c-one', `token-late:${SECRET_C}`)).toMatchObject({ reason: 'hash-missing' });
    source.secretNamesRead.length = 0;
    source.secrets.set('token-late', HASH_C);
    source.tokens.get('token-bob')!.enabled = false;

    await syncer().syncAll();

    expect(source.secretNamesRead.sort()).toEqual(['token-bob', 'token-late']);
    expect(await decide('c-one', `token-late:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
  });

  it('mirrors a token whose name was reused with a new secret', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    // Rancher deletes and recreates kubeconfig-u-… tokens under the same name: new object, new Secret
    source.tokens.set('token-bob', cat({ name: 'token-bob', userName: 'u-bob', uid: 'uid-new', expiresAt: '2027-01-01T00:00:00Z' }));
    source.secrets.set('token-bob', HASH_D);
    await syncer().syncAll();
    expect(await decide('c-one', `token-bob:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ reason: 'secret-mismatch' });
  });
});

describe('a cluster that fails', () => {
  it('keeps all its rows and records the error when a listing fails; other clusters are synced', async () => {
    const broken = await standardCluster('c-broken');
    await standardCluster('c-fine');
    await syncer().syncAll();
    const before = await table.store.readClusterState('c-broken');
    broken.tokens.clear();
    broken.failListing = new ClusterUnreachableError('c-broken', 'network', 'connection reset while listing clusterauthtokens');
    sources.get('c-fine')!.tokens.get('token-bob')!.enabled = false;

    const summary = await syncer().syncAll();

    const byId = Object.fromEntries(summary.clusters.map((result) => [result.clusterId, result]));
    expect(byId['c-broken']).toMatchObject({ outcome: 'failed', error: 'cluster c-broken: connection reset while listing clusterauthtokens' });
    expect(byId['c-fine']).toMatchObject({ outcome: 'ok', writes: 1 });
    expect(await table.store.readClusterState('c-broken')).toEqual(before);
    expect((await table.store.readCluster('c-broken'))?.lastSync).toMatchObject({ outcome: 'failed', error: expect.stringContaining('connection reset') });
    expect((await table.store.readCluster('c-broken'))?.lastSuccessfulSyncAt).toBe(clock.toISOString());
    expect(metrics.total('SyncFailures', { ClusterId: 'c-broken' })).toBe(1);
    expect(metrics.total('SyncFailures', { ClusterId: 'c-fine' })).toBe(0);
  });

  it('fails a cluster it cannot open without touching the others', async () => {
    await standardCluster('c-fine');
    await table.addCluster('c-nokube');
    const summary = await syncer().syncAll();
    expect(summary.clusters.find((result) => result.clusterId === 'c-nokube')).toMatchObject({ outcome: 'failed' });
    expect(summary.clusters.find((result) => result.clusterId === 'c-fine')).toMatchObject({ outcome: 'ok' });
  });

  it('stops a cluster at its own timeout without holding up the others', async () => {
    const slow = await standardCluster('c-slow');
    await standardCluster('c-fast');
    slow.hangListings = true;

    // generous, so that the healthy cluster finishes well inside it even on a loaded machine
    const summary = await syncer({ clusterTimeoutMs: 2500, concurrency: 1 }).syncAll();

    const byId = Object.fromEntries(summary.clusters.map((result) => [result.clusterId, result]));
    expect(byId['c-slow']).toMatchObject({ outcome: 'failed', error: 'cluster c-slow: sync timed out after 2.5 s' });
    expect(byId['c-fast']).toMatchObject({ outcome: 'ok' });
    expect(await table.store.readClusterState('c-slow')).toMatchObject({ tokens: [] });
  });

  it('keeps the rows of objects that fail validation and reports them by name', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    // the listing now rejects alice's attribute and bob's token, and bob's Secret would be unreadable
    source.users.delete('u-alice');
    source.rejectedUsers = [{ name: 'u-alice', problems: ['groups: expected array, received string'] }];
    source.tokens.delete('kubeconfig-u-alice');
    source.rejectedTokens = [{ name: 'kubeconfig-u-alice', problems: ['enabled: expected boolean, received string'] }];
    source.tokens.get('token-bob')!.enabled = false; // changed, so its Secret is read again…
    source.rejectedSecrets.add('token-bob'); // …and fails validation

    const summary = await syncer().syncAll();

    expect(summary.clusters[0]?.rejected.sort()).toEqual([
      'clusterauthtoken/kubeconfig-u-alice',
      'clusteruserattribute/u-alice',
      'secret/token-bob',
    ]);
    expect(await decide('c-one', `kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    expect(await decide('c-one', `token-alice213:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    // bob's token keeps its previous row (still enabled) until its Secret reads cleanly
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
    expect(log.withMessage('cluster synced')[1]?.attributes).toMatchObject({ rejectedCount: 3 });
  });
});

describe('concurrent writers', () => {
  it('never overwrites a revoke that lands between the read and the write, and keeps it afterwards', async () => {
    const source = await standardCluster();
    await syncer().syncAll();
    source.tokens.get('kubeconfig-u-alice')!.expiresAt = '2027-01-01T00:00:00Z';
    // the operator's revoke lands right after sync read the rows
    const store: SyncStore = {
      ...syncStoreMethods(table.store),
      readClusterState: async (clusterId) => {
        const rows = await table.store.readClusterState(clusterId);
        await table.store.revokeToken('c-one', 'kubeconfig-u-alice', clock);
        return rows;
      },
    };

    const first = await syncer({}, store).syncAll();
    expect(first.clusters[0]).toMatchObject({ outcome: 'ok', conflicts: 1, writes: 0 });
    expect(await decide('c-one', `kubeconfig-u-alice:${SECRET_D}`)).toMatchObject({ reason: 'token-revoked' });

    const second = await syncer().syncAll();
    expect(second.clusters[0]).toMatchObject({ writes: 1, conflicts: 0 });
    const row = (await table.store.readClusterState('c-one')).tokens.find((token) => token.name === 'kubeconfig-u-alice');
    expect(row).toMatchObject({ revoked: true, expiresAt: '2027-01-01T00:00:00Z' });
  });

  it('lets only one of two overlapping runs sync a cluster, and the other run reports it busy', async () => {
    await standardCluster();
    let second: Awaited<ReturnType<ReturnType<typeof syncer>['syncAll']>> | undefined;
    // the second run starts while the first is in the middle of the cluster
    const first = await syncer({}, {
      ...syncStoreMethods(table.store),
      readClusterState: async (clusterId) => {
        second = await syncer().syncAll();
        return table.store.readClusterState(clusterId);
      },
    }).syncAll();
    expect(first.clusters[0]?.outcome).toBe('ok');
    expect(second?.clusters[0]?.outcome).toBe('busy');
    expect(await decide('c-one', `token-bob:${SECRET_C}`)).toMatchObject({ outcome: 'accepted' });
  });

  it('takes over the lease of a run that died, once it has expired', async () => {
    await standardCluster();
    await table.store.acquireSyncLease('c-one', { owner: 'dead-run', expiresAtMs: clock.getTime() + 1000 }, clock.getTime());
    expect((await syncer().syncAll()).clusters[0]?.outcome).toBe('busy');
    clock = new Date(clock.getTime() + 2000);
    expect((await syncer().syncAll()).clusters[0]?.outcome).toBe('ok');
  });
});

describe('write-back', () => {
  async function usedAt(clusterId: string, name: string, at: Date) {
    await table.reviews.recordUse(clusterId, name, at, at);
  }

  it('patches lastUsedAt where the table saw a use over a minute after the cluster did', async () => {
    const source = await standardCluster();
    source.tokens.get('token-bob')!.lastUsedAt = '2026-11-26T11:59:30Z';
    await usedAt('c-one', 'kubeconfig-u-alice', new Date('2026-11-26T11:58:00.500Z'));
    await usedAt('c-one', 'token-bob', new Date('2026-11-26T11:59:50Z')); // within a minute: left alone

    const summary = await syncer().syncAll();

    expect(source.patches).toEqual([{ kind: 'lastUsedAt', name: 'kubeconfig-u-alice', value: '2026-11-26T11:58:00Z' }]);
    expect(summary.clusters[0]?.writeBack).toMatchObject({ lastUsedPatched: 1, deferred: 0 });
    // patched once: the next run finds the cluster up to date
    await syncer().syncAll();
    expect(source.patches).toHaveLength(1);
  });

  it('caps the patches per run, most overdue first, with bounded concurrency, and defers the rest', async () => {
    const source = await standardCluster();
    for (let i = 0; i < 12; i += 1) {
      source.addToken(cat({ name: `token-${String(i).padStart(2, '0')}`, userName: 'u-bob', hash: HASH_C }));
      await usedAt('c-one', `token-${String(i).padStart(2, '0')}`, new Date(Date.UTC(2026, 10, 26, 11, i)));
    }
    const summary = await syncer({ writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, maxPatches: 5, concurrency: 2 } }).syncAll();

    expect(source.patches.map((patch) => patch.name).sort()).toEqual(['token-07', 'token-08', 'token-09', 'token-10', 'token-11']);
    expect(source.maxPatchesInFlight).toBe(2);
    expect(summary.clusters[0]?.writeBack).toMatchObject({ lastUsedPatched: 5, deferred: 7 });
    await syncer({ writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, maxPatches: 5, concurrency: 2 } }).syncAll();
    expect(source.patches).toHaveLength(10);
  });

  it('reports a forbidden patch once for the cluster, not per token, and the sync still succeeds', async () => {
    const source = await standardCluster();
    for (const name of ['kubeconfig-u-alice', 'token-alice213', 'token-bob']) await usedAt('c-one', name, new Date('2026-11-26T11:00:00Z'));
    source.forbidPatches.add('lastUsedAt');

    const summary = await syncer({ writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, concurrency: 1 } }).syncAll();

    expect(summary.clusters[0]).toMatchObject({ outcome: 'ok', writeBack: { forbidden: ['clusterauthtokens'], lastUsedPatched: 0, deferred: 3 } });
    expect(source.calls.patches).toBe(1);
    expect(log.lines.filter((line) => JSON.stringify(line).includes('forbidden'))).toHaveLength(1);
  });

  it("sets needsRefresh once the user's refresh debounce has passed since a use, as kube-api-auth", async () => {
    const source = await standardCluster();
    source.users.get('u-alice')!.lastRefresh = '2026-11-26T11:00:00Z'; // an hour ago
    source.users.get('u-bob')!.lastRefresh = '2026-11-26T11:58:00Z'; // two minutes ago: debounce not passed
    await usedAt('c-one', 'token-alice213', new Date('2026-11-26T11:30:00Z'));
    await usedAt('c-one', 'token-bob', new Date('2026-11-26T11:59:00Z'));
    const options = { writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, refreshDebounceSeconds: 600 } };

    const summary = await syncer(options).syncAll();

    expect(source.patches.filter((patch) => patch.kind === 'needsRefresh')).toEqual([{ kind: 'needsRefresh', name: 'u-alice' }]);
    expect(summary.clusters[0]?.writeBack.needsRefreshPatched).toBe(1);
    await syncer(options).syncAll(); // alice is marked now: not again
    expect(source.patches.filter((patch) => patch.kind === 'needsRefresh')).toHaveLength(1);
  });

  it('never sets needsRefresh without a configured debounce, nor for a user not used since the refresh', async () => {
    const source = await standardCluster();
    source.users.get('u-alice')!.lastRefresh = '2026-11-26T11:00:00Z';
    source.users.get('u-bob')!.lastRefresh = '2026-11-26T11:00:00Z';
    await usedAt('c-one', 'token-alice213', new Date('2026-11-26T11:30:00Z'));
    await usedAt('c-one', 'token-bob', new Date('2026-11-26T10:30:00Z'));

    await syncer().syncAll();
    expect(source.patches.filter((patch) => patch.kind === 'needsRefresh')).toEqual([]);

    await syncer({ writeBack: { ...DEFAULT_SYNC_OPTIONS.writeBack, refreshDebounceSeconds: 600 } }).syncAll();
    expect(source.patches.filter((patch) => patch.kind === 'needsRefresh').map((patch) => patch.name)).toEqual(['u-alice']);
  });
});

describe('reporting', () => {
  it('emits exactly the sync metrics per cluster and one log line per cluster', async () => {
    await standardCluster('c-one');
    await standardCluster('c-two');
    await syncer().syncAll();
    const names = [...new Set(metrics.points.map((point) => point.name))].sort();
    expect(names).toEqual(['SyncAgeSeconds', 'SyncDeletes', 'SyncDurationMs', 'SyncFailures', 'SyncObjects', 'SyncWrites']);
    expect(metrics.points.every((point) => ['c-one', 'c-two'].includes(point.dimensions.ClusterId ?? ''))).toBe(true);
    expect(metrics.total('SyncObjects', { ClusterId: 'c-two' })).toBe(5);
    expect(log.withMessage('cluster synced').map((line) => line.attributes.clusterId).sort()).toEqual(['c-one', 'c-two']);
  });

  it('never logs a secret or a hash', async () => {
    const source = await standardCluster();
    source.rejectedSecrets.add('token-bob');
    await syncer().syncAll();
    const text = log.text();
    for (const secret of [SECRET_D, SECRET_C, HASH_D, HASH_C, 'uFrxm43ggfw', 'jwvzsLqh6Rg']) expect(text).not.toContain(secret);
  });

  it('syncs only the clusters asked for and names the unknown ones', async () => {
    await standardCluster('c-one');
    await standardCluster('c-two');
    const summary = await syncer().syncAll({ clusterIds: ['c-two', 'c-nope'] });
    expect(summary.clusters.map((result) => result.clusterId)).toEqual(['c-two']);
    expect(summary.unknown).toEqual(['c-nope']);
  });
});

describe('lastSyncWarnings', () => {
  it('keeps no warning fields for a run without warnings', () => {
    expect(lastSyncWarnings([])).toEqual({});
  });

  it('keeps the count and the first warning, cut to LAST_SYNC_WARNING_MAX characters', () => {
    const kept = lastSyncWarnings(['w'.repeat(LAST_SYNC_WARNING_MAX + 100), 'second']);
    expect(kept.warnings).toBe(2);
    expect(kept.firstWarning).toHaveLength(LAST_SYNC_WARNING_MAX);
    expect(kept.firstWarning?.endsWith('…')).toBe(true);
    expect(lastSyncWarnings(['short']).firstWarning).toBe('short');
  });
});
