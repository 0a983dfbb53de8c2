import { randomBytes } from 'node:crypto';
import type { FloodRecorder } from '../../../functions/core/ports/flood-store.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { missingNames, type NameFilter } from '../../../functions/core/name-filter.ts';
import { createNativeToken } from '../../../functions/core/native-token.ts';
import type { TokenStore } from '../../../functions/core/ports/token-store.ts';
import { DEFAULT_SYNC_OPTIONS } from '../../../functions/entry/sync/config.ts';
import { createToken } from '../../../functions/services/admin/create-token.ts';
import { importObjects } from '../../../functions/services/admin/import-objects.ts';
import { createAuthenticator } from '../../../functions/services/authenticate/authenticator.ts';
import { createSyncer, type SyncStore } from '../../../functions/services/sync/sync.ts';
import { ClusterUnreachableError } from '../../../functions/core/ports/cluster-source.ts';
import { defaultAuthenticatorOptions } from '../../support/authenticator.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { cat, cua, FakeClusterSource, HASH_D, SECRET_D } from '../../support/fake-cluster-source.ts';
import { openSyncTable, syncStoreMethods, type SyncTable } from '../../support/sync-table.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

const CLUSTER = 'c-names';
let dynamo: TestDynamoDb;
let table: SyncTable;
let source: FakeClusterSource;
let runs = 0;

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  table = await openSyncTable('names', { dynamo });
  await table.addCluster(CLUSTER);
  source = new FakeClusterSource(CLUSTER).addUser(cua({ name: 'u-alice' }));
  for (const name of ['kubeconfig-u-alice', 'token-one', 'token-two']) source.addToken(cat({ name, userName: 'u-alice', hash: HASH_D }));
});
afterEach(async () => {
  await table.close();
});

function sync(store: SyncStore = table.store) {
  return createSyncer({
    store,
    openSource: async (cluster) => {
      if (cluster.clusterId !== CLUSTER) throw new ClusterUnreachableError(cluster.clusterId, 'network', 'no such test cluster');
      return source;
    },
    log: new CapturingLog(),
    metrics: new CapturingMetrics(),
    now: () => new Date(),
    elapsed: () => performance.now(),
    newRunId: () => `run-${++runs}`,
    options: DEFAULT_SYNC_OPTIONS,
  }).syncAll();
}

async function filter(): Promise<NameFilter> {
  const stored = await table.store.readNameFilter(CLUSTER);
  if (!stored) throw new Error('no name filter stored');
  return stored;
}

async function tokenNames(): Promise<string[]> {
  return (await table.store.readClusterState(CLUSTER)).tokens.map((token) => token.name);
}

/** A fresh authenticate container over the real review store, counting token reads. */
function freshContainer() {
  const reads = { getToken: 0 };
  const store: TokenStore & FloodRecorder = {
    getToken: (clusterId, name) => ((reads.getToken += 1), table.reviews.getToken(clusterId, name)),
    getNameFilter: (clusterId) => table.reviews.getNameFilter(clusterId),
    getCluster: (clusterId) => table.reviews.getCluster(clusterId),
    recordUse: (clusterId, name, at, notBefore) => table.reviews.recordUse(clusterId, name, at, notBefore),
    recordVerifier: (clusterId, name, verifier) => table.reviews.recordVerifier(clusterId, name, verifier),
    recordFloodWindow: (window, writer) => table.reviews.recordFloodWindow(window, writer),
  };
  const authenticator = createAuthenticator({
    store,
    log: new CapturingLog(),
    metrics: new CapturingMetrics(),
    now: () => new Date(),
    elapsed: () => performance.now(),
    sleep: () => Promise.resolve(),
    randomBytes,
    options: defaultAuthenticatorOptions(),
  });
  return { authenticator, reads };
}

describe('the name filter kept by sync', () => {
  it('is built on the first sync with every token name, and the review refuses other names without reading them', async () => {
    expect((await sync()).ok).toBe(1);
    expect(missingNames(await filter(), await tokenNames())).toEqual([]);
    const { authenticator, reads } = freshContainer();
    expect(await authenticator.reviewToken(CLUSTER, `token-one:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    for (let index = 0; index < 200; index += 1) {
      expect(await authenticator.reviewToken(CLUSTER, `kubeconfig-u-x${index}q:${SECRET_D}`)).toMatchObject({ reason: 'name-unknown' });
    }
    expect(reads.getToken).toBe(1);
  });

  it('holds the names of tokens created in the cluster after the next sync, and drops those deleted there', async () => {
    await sync();
    source.addToken(cat({ name: 'token-new', userName: 'u-alice', hash: HASH_D }));
    source.tokens.delete('token-two');
    expect((await sync()).ok).toBe(1);
    const names = await tokenNames();
    expect(names.sort()).toEqual(['kubeconfig-u-alice', 'token-new', 'token-one']);
    expect(missingNames(await filter(), names)).toEqual([]);
    expect(missingNames(await filter(), ['token-two'])).toEqual(['token-two']);
    const { authenticator } = freshContainer();
    expect(await authenticator.reviewToken(CLUSTER, `token-new:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
    expect(await authenticator.reviewToken(CLUSTER, `token-two:${SECRET_D}`)).toMatchObject({ reason: 'name-unknown' });
  });

  it('writes nothing (the filter included) on a sync of an unchanged cluster', async () => {
    await sync();
    table.calls.length = 0;
    expect((await sync()).ok).toBe(1);
    expect(table.writes(`C#${CLUSTER}`)).toEqual([]);
  });

  it('creates no new token row when the filter cannot be written, applies the other changes, says why, and catches up on the next sync', async () => {
    await sync();
    source.addToken(cat({ name: 'token-late', userName: 'u-alice', hash: HASH_D }));
    source.addToken(cat({ name: 'token-one', userName: 'u-alice', hash: HASH_D, enabled: false, resourceVersion: '2' }));
    const failing: SyncStore = {
      ...syncStoreMethods(table.store),
      writeNameFilter: async () => {
        throw new Error('ProvisionedThroughputExceededException (injected)');
      },
    };
    const summary = await sync(failing);
    expect(summary.clusters[0]).toMatchObject({ outcome: 'failed' });
    expect(summary.clusters[0]?.error).toMatch(/name filter of cluster c-names was not written.*new tokens were not created/);
    const state = await table.store.readClusterState(CLUSTER);
    expect(state.tokens.map((token) => token.name)).not.toContain('token-late');
    expect(state.tokens.find((token) => token.name === 'token-one')).toMatchObject({ enabled: false });
    expect((await sync()).ok).toBe(1);
    expect(missingNames(await filter(), await tokenNames())).toEqual([]);
    expect(await tokenNames()).toContain('token-late');
  });

  it('keeps a token created by tokens create while a sync trims the filter (the trim lists the cluster again)', async () => {
    await sync();
    source.tokens.delete('token-two');
    const { record } = await createNativeToken({ clusterId: CLUSTER, name: 'tg-raced', userName: 'bob', groups: [], now: new Date() }, randomBytes);
    let raced = false;
    const racing: SyncStore = {
      ...syncStoreMethods(table.store),
      // the trim's write: another writer creates a token just before it, after the sync read the cluster
      writeNameFilter: async (next, expected) => {
        if (!raced) {
          raced = true;
          await createToken(table.store, record);
        }
        return table.store.writeNameFilter(next, expected);
      },
    };
    expect((await sync(racing)).ok).toBe(1);
    expect(raced).toBe(true);
    expect(missingNames(await filter(), await tokenNames())).toEqual([]);
    expect(await tokenNames()).toContain('tg-raced');
  });
});

describe('the name filter kept by import and tokens create', () => {
  it('builds the filter on an import and adds imported names to it', async () => {
    const sources = {
      tokens: [{ name: 'kubeconfig-u-imp', userName: 'u-alice', enabled: true, expiresAt: '', hash: HASH_D }],
      users: [{ name: 'u-alice', groups: [], enabled: true, extraByProvider: {}, lastRefresh: '', needsRefresh: false }],
      secrets: [],
    };
    await importObjects(table.store, CLUSTER, sources, { prune: false, dryRun: false });
    expect(missingNames(await filter(), ['kubeconfig-u-imp'])).toEqual([]);
    await importObjects(table.store, CLUSTER, { ...sources, tokens: [{ ...sources.tokens[0]!, name: 'kubeconfig-u-imp2' }] }, { prune: false, dryRun: false });
    expect(missingNames(await filter(), ['kubeconfig-u-imp', 'kubeconfig-u-imp2'])).toEqual([]);
    const { authenticator } = freshContainer();
    expect(await authenticator.reviewToken(CLUSTER, `kubeconfig-u-imp2:${SECRET_D}`)).toMatchObject({ outcome: 'accepted' });
  });

  it('adds a native token’s name before its row exists, so it is accepted at once by a fresh container', async () => {
    await sync();
    const { record, token } = await createNativeToken({ clusterId: CLUSTER, name: 'tg-fresh', userName: 'bob', groups: [], now: new Date() }, randomBytes);
    expect(await createToken(table.store, record)).toEqual({});
    expect(missingNames(await filter(), ['tg-fresh'])).toEqual([]);
    const { authenticator } = freshContainer();
    expect(await authenticator.reviewToken(CLUSTER, token)).toMatchObject({ outcome: 'accepted' });
  });

  it('leaves a cluster without a filter to the budgeted reads when a native token is created before its first sync, and the sync then builds it', async () => {
    const { record, token } = await createNativeToken({ clusterId: CLUSTER, name: 'tg-early', userName: 'bob', groups: [], now: new Date() }, randomBytes);
    await createToken(table.store, record);
    expect(await table.store.readNameFilter(CLUSTER)).toBeUndefined();
    expect(await freshContainer().authenticator.reviewToken(CLUSTER, token)).toMatchObject({ outcome: 'accepted' });
    await sync();
    expect(missingNames(await filter(), ['tg-early', 'token-one'])).toEqual([]);
    expect(await freshContainer().authenticator.reviewToken(CLUSTER, token)).toMatchObject({ outcome: 'accepted' });
  });
});
