import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClusterConfigError,
  ClusterForbiddenError,
  ClusterListingError,
  ClusterUnreachableError,
  type ClusterSource,
} from '../../../functions/core/ports/cluster-source.ts';
import {
  createKubernetesClusterSource,
  type KubernetesClusterSourceOptions,
} from '../../../functions/adapters/kubernetes/downstream-source.ts';
import {
  clusterAuthToken,
  hashSecret,
  startKubeApiServer,
  SYNC_READER_ROLE,
  type TestKubeApiServer,
} from '../../support/kube-apiserver.ts';

const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures', 'rancher');

const SYNC_ROLE = SYNC_READER_ROLE;
const SYNC_TOKEN = 'kubeconfig-u-sync:syncsecretvaluethatmustneverbeprinted';
const READ_ONLY_TOKEN = 'read-only-token-value';
const WRONG_TOKEN = 'wrong-token-value-that-must-not-leak';

const SHA3_OF_C54 =
  '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';

let server: TestKubeApiServer;

function source(overrides: Partial<KubernetesClusterSourceOptions> & { token?: string } = {}): ClusterSource {
  const { token = SYNC_TOKEN, ...options } = overrides;
  return createKubernetesClusterSource({
    clusterId: 'c-test1',
    kubeconfig: server.kubeconfig({ token }),
    retryBaseDelayMs: 5,
    ...options,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

function tokenNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `kubeconfig-u-n${String(i).padStart(5, '0')}`);
}

beforeAll(async () => {
  server = await startKubeApiServer({
    users: {
      [SYNC_TOKEN]: { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_ROLE },
      [READ_ONLY_TOKEN]: {
        username: 'system:serviceaccount:cattle-system:reader',
        rules: [{ resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list'] }],
      },
    },
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  server.clear();
  server.clearFaults();
  server.loadKubectlList('clusterauthtokens', await readFile(path.join(fixtures, 'clusterauthtokens.yaml'), 'utf8'));
  server.loadKubectlList('clusteruserattributes', await readFile(path.join(fixtures, 'clusteruserattributes.yaml'), 'utf8'));
  server.loadKubectlList('secrets', await readFile(path.join(fixtures, 'secrets.yaml'), 'utf8'));
  server.resetLog();
});

describe('listing', () => {
  it('reads several thousand tokens in pages of 500 with continue tokens', async () => {
    const names = tokenNames(2_345);
    server.upsertAll('clusterauthtokens', names.map((name) => clusterAuthToken({ name, userName: 'u-bulk' })));
    server.resetLog();

    const listing = await source().listTokens();

    expect(listing.items).toHaveLength(names.length + 3);
    expect(listing.items.filter((t) => t.userName === 'u-bulk').map((t) => t.name)).toEqual(names);
    expect(listing.rejected).toEqual([]);
    expect(listing.resourceVersion).toBe(server.currentResourceVersion);
    const pages = server.requests.filter((r) => r.verb === 'list');
    expect(pages.map((r) => r.query.limit)).toEqual(['500', '500', '500', '500', '500']);
    expect(pages.filter((r) => r.query.continue !== undefined)).toHaveLength(4);
  });

  it('reads user attributes with Go zero values for omitted fields', async () => {
    const listing = await source().listUserAttributes();

    expect(listing.items.map((a) => [a.name, a.groups.length, a.enabled, a.needsRefresh])).toEqual([
      ['u-abc12xyz', 2, true, false],
      ['user-gc4s9', 0, true, true],
    ]);
  });

  it('reports an invalid object by name and still lists the others', async () => {
    server.upsert('clusterauthtokens', { metadata: { name: 'kubeconfig-u-broken' }, userName: 'u-x', enabled: 'sometimes' });

    const listing = await source().listTokens();

    expect(listing.items.map((t) => t.name)).toEqual(['kubeconfig-u-abc12xyz', 'kubeconfig-user-gc4s9.c-cn2rq', 'token-5hq2k']);
    expect(listing.rejected).toEqual([{ name: 'kubeconfig-u-broken', problems: [expect.stringMatching(/^enabled: /)] }]);
  });

  it('restarts the listing from scratch when the continue token expired', async () => {
    server.expireNext({ match: 'continue=' });
    let createdBetweenPages = false;
    const firstPageServed = server.waitForRequest((r) => r.verb === 'list').then(() => {
      server.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-zz-created-mid-listing', userName: 'u-late' }));
      createdBetweenPages = true;
    });

    const listing = await source({ pageSize: 2 }).listTokens();
    await firstPageServed;

    expect(createdBetweenPages).toBe(true);
    expect(listing.items.map((t) => t.name)).toEqual([
      'kubeconfig-u-abc12xyz',
      'kubeconfig-u-zz-created-mid-listing',
      'kubeconfig-user-gc4s9.c-cn2rq',
      'token-5hq2k',
    ]);
    expect(server.countRequests({ verb: 'list', status: 410 })).toBe(1);
    const firstPages = server.requests.filter((r) => r.verb === 'list' && r.query.continue === undefined);
    expect(firstPages).toHaveLength(2);
  });

  it('gives up with a ClusterListingError after a bounded number of 410 restarts', async () => {
    server.expireNext({ match: 'continue=', times: Infinity });

    const error = await rejectionOf(source({ pageSize: 2, maxListRestarts: 2 }).listTokens());

    expect(error).toBeInstanceOf(ClusterListingError);
    expect((error as ClusterListingError).status).toBe(410);
    expect(error.message).toMatch(/^cluster c-test1: /);
    expect(server.countRequests({ verb: 'list', status: 410 })).toBe(3);
  });
});

describe('failures', () => {
  it('retries a 500 and then succeeds', async () => {
    server.failNext({ match: '/clusterauthtokens', times: 2 });

    const listing = await source().listTokens();

    expect(listing.items).toHaveLength(3);
    expect(server.countRequests({ verb: 'list', status: 500 })).toBe(2);
    expect(server.countRequests({ verb: 'list', status: 200 })).toBe(1);
  });

  it('reports the cluster unreachable when 5xx persists past the retries', async () => {
    server.failNext({ match: '/clusterauthtokens', times: Infinity, status: 503 });

    const error = await rejectionOf(source({ maxAttempts: 3 }).listTokens());

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('server-error');
    expect(error.message).toContain('503');
    expect(server.countRequests({ verb: 'list' })).toBe(3);
  });

  it('retries a page whose connection was cut mid-body and lists everything', async () => {
    server.cutNext({ match: 'continue=' });

    const listing = await source({ pageSize: 2 }).listTokens();

    expect(listing.items.map((t) => t.name)).toEqual(['kubeconfig-u-abc12xyz', 'kubeconfig-user-gc4s9.c-cn2rq', 'token-5hq2k']);
    const cut = server.requests.filter((r) => r.fault === 'cut');
    expect(cut).toHaveLength(1);
    expect(server.requests.filter((r) => r.query.continue === cut[0]?.query.continue)).toHaveLength(2);
  });

  it('reports a cut connection that keeps happening as unreachable, never as a short listing', async () => {
    server.cutNext({ match: '/clusterauthtokens', times: Infinity, fraction: 0.9 });

    const error = await rejectionOf(source({ maxAttempts: 2 }).listTokens());

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('network');
  });

  it('refuses a wrong token with a ClusterForbiddenError 401 at once, without retrying or leaking it', async () => {
    const error = await rejectionOf(source({ token: WRONG_TOKEN }).listTokens());

    expect(error).toBeInstanceOf(ClusterForbiddenError);
    expect((error as ClusterForbiddenError).status).toBe(401);
    expect(server.requests).toHaveLength(1);
    expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain(WRONG_TOKEN);
  });

  it('times out a request that never gets an answer and retries it', async () => {
    server.hangNext({ match: '/clusterauthtokens' });

    // generous, so that the retry's fresh TLS connection fits in it on a loaded machine
    const listing = await source({ requestTimeoutMs: 1_500 }).listTokens();

    expect(listing.items).toHaveLength(3);
    expect(server.requests.map((r) => r.fault ?? 'none')).toEqual(['hang', 'none']);
  });

  it('reports requests that keep timing out as unreachable with reason timeout', async () => {
    server.hangNext({ match: '/clusterauthtokens', times: Infinity });

    const error = await rejectionOf(source({ requestTimeoutMs: 100, maxAttempts: 2 }).listTokens());

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('timeout');
    expect(server.countRequests({ verb: 'list' })).toBe(2);
  });

  it('stops as soon as the caller’s deadline is aborted, even with a request in flight', async () => {
    server.hangNext({ match: '/clusterauthtokens', times: Infinity });
    const deadline = new AbortController();
    void server.waitForRequest((r) => r.verb === 'list').then(() => deadline.abort());

    const error = await rejectionOf(source({ requestTimeoutMs: 60_000, callTimeoutMs: 60_000 }).listTokens({ signal: deadline.signal }));

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('deadline');
    expect(server.countRequests({ verb: 'list' })).toBe(1);
  });

  it('ends a call that outlives its own deadline, retries included', async () => {
    server.failNext({ match: '/clusterauthtokens', times: Infinity });

    // the first 500 arrives well within the deadline; the deadline then ends the 30 s+ backoff
    const error = await rejectionOf(source({ callTimeoutMs: 1_500, retryBaseDelayMs: 60_000, maxAttempts: 5 }).listTokens());

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('deadline');
    expect(server.countRequests({ verb: 'list' })).toBe(1);
  });

  it('reports a closed port as unreachable', async () => {
    const gone = await startKubeApiServer();
    const kubeconfig = gone.kubeconfig({ token: SYNC_TOKEN });
    await gone.close();

    const error = await rejectionOf(
      createKubernetesClusterSource({ clusterId: 'c-gone', kubeconfig, retryBaseDelayMs: 5, maxAttempts: 2 }).listTokens(),
    );

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('network');
    expect(error.message).toMatch(/^cluster c-gone: .*ECONNREFUSED/);
  });

  it('reports a 404 (Rancher’s resources not served at that URL) as a listing error without retrying', async () => {
    const kubeconfig = server.kubeconfig({ token: SYNC_TOKEN }).replace(server.url, `${server.url}/k8s/clusters/c-missing`);

    const error = await rejectionOf(createKubernetesClusterSource({ clusterId: 'c-test1', kubeconfig }).listTokens());

    expect(error).toBeInstanceOf(ClusterListingError);
    expect((error as ClusterListingError).status).toBe(404);
    expect(server.requests.map((r) => r.path)).toEqual(['/k8s/clusters/c-missing/apis/cluster.cattle.io/v3/namespaces/cattle-system/clusterauthtokens']);
  });
});

describe('hash Secrets', () => {
  it('reads the named hash Secrets with one get each and no list', async () => {
    server.upsert('secrets', hashSecret('kubeconfig-u-second', SHA3_OF_C54));

    const reads = await source().readHashSecrets([
      'kubeconfig-user-gc4s9.c-cn2rq',
      'kubeconfig-u-second',
      'kubeconfig-u-without-secret',
      'cattle-credentials-7e1c2f0',
      'kubeconfig-u-second',
    ]);

    expect(reads.found.map((s) => [s.name, s.hash]).sort()).toEqual([
      ['kubeconfig-u-second', SHA3_OF_C54],
      ['kubeconfig-user-gc4s9.c-cn2rq', SHA3_OF_C54],
    ]);
    expect(reads.missing.sort()).toEqual(['cattle-credentials-7e1c2f0', 'kubeconfig-u-without-secret']);
    expect(reads.rejected).toEqual([]);
    expect(server.countRequests({ resource: 'secrets', verb: 'get' })).toBe(4);
    expect(server.countRequests({ resource: 'secrets', verb: 'list' })).toBe(0);
  });

  it('reads a thousand hash Secrets with bounded concurrency', async () => {
    const names = tokenNames(1_000);
    server.upsertAll('secrets', names.map((name) => hashSecret(name, SHA3_OF_C54)));
    server.resetLog();

    const reads = await source({ secretReadConcurrency: 4 }).readHashSecrets(names);

    expect(reads.found).toHaveLength(1_000);
    expect(server.countRequests({ resource: 'secrets', verb: 'get', status: 200 })).toBe(1_000);
  });

  it('fails the whole read with ClusterForbiddenError when the Role lacks get on secrets', async () => {
    const error = await rejectionOf(source({ token: READ_ONLY_TOKEN }).readHashSecrets(['a', 'b', 'c', 'd']));

    expect(error).toBeInstanceOf(ClusterForbiddenError);
    expect((error as ClusterForbiddenError).status).toBe(403);
  });
});

describe('write-back', () => {
  it('merge-patches lastUsedAt with second precision', async () => {
    const outcome = await source().patchTokenLastUsed('kubeconfig-u-abc12xyz', new Date('2026-11-26T05:06:07.891Z'));

    expect(outcome).toBe('patched');
    expect(server.patches).toEqual([
      expect.objectContaining({
        resource: 'clusterauthtokens',
        name: 'kubeconfig-u-abc12xyz',
        contentType: 'application/merge-patch+json',
        patch: { lastUsedAt: '2026-11-26T05:06:07Z' },
      }),
    ]);
    expect(server.get('clusterauthtokens', 'kubeconfig-u-abc12xyz')?.lastUsedAt).toBe('2026-11-26T05:06:07Z');
  });

  it('sets needsRefresh on a user attribute', async () => {
    const outcome = await source().patchUserNeedsRefresh('u-abc12xyz');

    expect(outcome).toBe('patched');
    expect(server.get('clusteruserattributes', 'u-abc12xyz')?.needsRefresh).toBe(true);
    expect(server.patches.map((p) => p.patch)).toEqual([{ needsRefresh: true }]);
  });

  it('answers not-found for an object deleted since the listing', async () => {
    await expect(source().patchTokenLastUsed('kubeconfig-u-deleted', new Date())).resolves.toBe('not-found');
  });

  it('reports a forbidden patch as ClusterForbiddenError 403', async () => {
    const error = await rejectionOf(source({ token: READ_ONLY_TOKEN }).patchUserNeedsRefresh('u-abc12xyz'));

    expect(error).toBeInstanceOf(ClusterForbiddenError);
    expect(server.patches).toEqual([]);
  });
});

describe('kubeconfig', () => {
  it('refuses an unparseable kubeconfig without quoting it', () => {
    const broken = `apiVersion: v1\nusers:\n- name: x\n  user:\n    token: ${SYNC_TOKEN}\n  : [\n`;

    let error: unknown;
    try {
      createKubernetesClusterSource({ clusterId: 'c-bad', kubeconfig: broken });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ClusterConfigError);
    expect(String(error)).not.toContain(SYNC_TOKEN);
  });

  it('refuses a context the kubeconfig does not have', () => {
    expect(() =>
      createKubernetesClusterSource({ clusterId: 'c-test1', kubeconfig: server.kubeconfig(), context: 'elsewhere' }),
    ).toThrow(ClusterConfigError);
  });

  it('uses the named context of a kubeconfig with several', async () => {
    const other = await startKubeApiServer({ users: { [SYNC_TOKEN]: { username: 'sync', rules: SYNC_ROLE } } });
    try {
      other.upsert('clusterauthtokens', clusterAuthToken({ name: 'kubeconfig-u-only-on-other', userName: 'u-o' }));
      const merged = mergeKubeconfigs(server.kubeconfig({ token: SYNC_TOKEN, contextName: 'first' }), other.kubeconfig({ token: SYNC_TOKEN, contextName: 'second' }));

      const listing = await createKubernetesClusterSource({ clusterId: 'c-second', kubeconfig: merged, context: 'second' }).listTokens();

      expect(listing.items.map((t) => t.name)).toEqual(['kubeconfig-u-only-on-other']);
    } finally {
      await other.close();
    }
  });
});

/** Joins two single-context kubeconfigs from `TestKubeApiServer.kubeconfig` (current-context: the first). */
function mergeKubeconfigs(first: string, second: string): string {
  const section = (doc: string, name: string) => {
    const match = new RegExp(`^${name}:\\n((?:- .*\\n|  .*\\n)+)`, 'm').exec(doc);
    return match?.[1] ?? '';
  };
  const current = /^current-context: (.*)$/m.exec(first)?.[1] ?? '';
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters:\n${section(first, 'clusters')}${section(second, 'clusters')}`.trimEnd(),
    `users:\n${section(first, 'users')}${section(second, 'users')}`.trimEnd(),
    `contexts:\n${section(first, 'contexts')}${section(second, 'contexts')}`.trimEnd(),
    `current-context: ${current}`,
    '',
  ].join('\n');
}
