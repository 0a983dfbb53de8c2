import https from 'node:https';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClusterForbiddenError,
  ClusterListingError,
  ClusterUnreachableError,
} from '../../../../functions/core/ports/cluster-source.ts';
import {
  KubernetesRestClient,
  resourcePath,
  type ItemVerdict,
  type KubernetesRestClientOptions,
} from '../../../../functions/adapters/kubernetes/rest-client.ts';
import {
  hashSecret,
  startKubeApiServer,
  SYNC_READER_ROLE,
  testCertificates,
  type TestKubeApiServer,
} from '../../../support/kube-apiserver.ts';

const SYNC_TOKEN = 'kubeconfig-u-sync:syncsecretvaluethatmustneverbeprinted';
const TOKEN_KIND = 'authn.management.cattle.io/kind';

let server: TestKubeApiServer;

function client(overrides: Partial<KubernetesRestClientOptions> = {}): KubernetesRestClient {
  return new KubernetesRestClient({ clusterId: 'c-rest', kubeconfig: server.kubeconfig(), retryBaseDelayMs: 5, ...overrides });
}

function secretsIn(namespace: string, name?: string): string {
  return resourcePath({ version: 'v1', namespace, plural: 'secrets', ...(name === undefined ? {} : { name }) });
}

/** A Secret like those Rancher's management cluster keeps in cattle-tokens, found by a label. */
function labelledSecret(name: string, namespace: string, kind: string) {
  return { ...hashSecret(name, 'h', namespace), metadata: { name, namespace, labels: { [TOKEN_KIND]: kind } } };
}

/** Keeps every object's name. */
function nameOf(raw: unknown): ItemVerdict<string, never> {
  return { ok: true, value: (raw as { metadata: { name: string } }).metadata.name };
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

beforeAll(async () => {
  server = await startKubeApiServer({
    users: { [SYNC_TOKEN]: { username: 'system:serviceaccount:cattle-system:tokengate-sync', rules: SYNC_READER_ROLE } },
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.clear();
  server.clearFaults();
  server.resetLog();
});

describe('resourcePath', () => {
  it('builds core, grouped and cluster-scoped paths with encoded segments', () => {
    expect(resourcePath({ version: 'v1', namespace: 'cattle-system', plural: 'secrets', name: 'a/b' })).toBe(
      '/api/v1/namespaces/cattle-system/secrets/a%2Fb',
    );
    expect(resourcePath({ group: 'cluster.cattle.io', version: 'v3', namespace: 'cattle-system', plural: 'clusterauthtokens' })).toBe(
      '/apis/cluster.cattle.io/v3/namespaces/cattle-system/clusterauthtokens',
    );
    expect(resourcePath({ group: 'management.cattle.io', version: 'v3', plural: 'tokens', name: 'token-x' })).toBe(
      '/apis/management.cattle.io/v3/tokens/token-x',
    );
  });
});

describe('list', () => {
  it('lists by labelSelector over several pages and returns the list’s resourceVersion', async () => {
    for (let i = 0; i < 5; i++) server.upsert('secrets', labelledSecret(`token-${i}`, 'cattle-tokens', 'session'));
    server.upsert('secrets', labelledSecret('other-kind', 'cattle-tokens', 'other'));
    server.upsert('secrets', hashSecret('unlabelled', 'h', 'cattle-tokens'));
    server.upsert('secrets', labelledSecret('other-namespace', 'cattle-system', 'session'));
    server.resetLog();

    const query = { labelSelector: `${TOKEN_KIND}=session` };
    const listing = await client().list(secretsIn('cattle-tokens'), { query, pageSize: 2, parseItem: nameOf });

    expect(listing.items).toEqual(['token-0', 'token-1', 'token-2', 'token-3', 'token-4']);
    expect(listing.resourceVersion).toBe(server.currentResourceVersion);
    expect(server.requests.map((r) => [r.path, r.query.labelSelector, r.query.limit, r.query.continue === undefined])).toEqual([
      ['/api/v1/namespaces/cattle-tokens/secrets', `${TOKEN_KIND}=session`, '2', true],
      ['/api/v1/namespaces/cattle-tokens/secrets', `${TOKEN_KIND}=session`, '2', false],
      ['/api/v1/namespaces/cattle-tokens/secrets', `${TOKEN_KIND}=session`, '2', false],
    ]);
  });

  it('keeps, rejects or skips each item as parseItem decides', async () => {
    for (const name of ['keep-a', 'reject-b', 'skip-c', 'keep-d']) server.upsert('secrets', hashSecret(name, 'h'));

    const listing = await client().list(secretsIn('cattle-system'), {
      parseItem: (raw): ItemVerdict<string, { name: string }> => {
        const name = (raw as { metadata: { name: string } }).metadata.name;
        if (name.startsWith('skip')) return null;
        return name.startsWith('reject') ? { ok: false, rejected: { name } } : { ok: true, value: name };
      },
    });

    expect(listing.items).toEqual(['keep-a', 'keep-d']);
    expect(listing.rejected).toEqual([{ name: 'reject-b' }]);
  });

  it('reports a list the Role does not grant as ClusterForbiddenError 403 with the apiserver’s reason', async () => {
    const syncClient = client({ kubeconfig: server.kubeconfig({ token: SYNC_TOKEN }) });

    const error = await rejectionOf(syncClient.list(secretsIn('cattle-system'), { parseItem: nameOf }));

    expect(error).toBeInstanceOf(ClusterForbiddenError);
    expect((error as ClusterForbiddenError).status).toBe(403);
    expect(error.message).toContain('cannot list resource "secrets"');
    expect(error.message).not.toContain(SYNC_TOKEN);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a response larger than maxResponseBytes without retrying it', async () => {
    for (let i = 0; i < 20; i++) server.upsert('secrets', hashSecret(`bulky-${i}`, 'h'.repeat(200)));

    const error = await rejectionOf(client({ maxResponseBytes: 2_000 }).list(secretsIn('cattle-system'), { parseItem: nameOf }));

    expect(error).toBeInstanceOf(ClusterListingError);
    expect(error.message).toContain('exceeds 2000 bytes');
    expect(server.requests).toHaveLength(1);
  });
});

describe('get and mergePatch', () => {
  it('gets an object as parsed JSON, and undefined when it does not exist', async () => {
    server.upsert('secrets', hashSecret('present', 'h'));
    const rest = client();

    await expect(rest.get(secretsIn('cattle-system', 'present'))).resolves.toMatchObject({ kind: 'Secret', metadata: { name: 'present' } });
    await expect(rest.get(secretsIn('cattle-system', 'absent'))).resolves.toBeUndefined();
  });

  it('merge-patches an object, and answers not-found for a missing one', async () => {
    server.upsert('secrets', hashSecret('present', 'h'));
    const rest = client();

    await expect(rest.mergePatch(secretsIn('cattle-system', 'present'), { metadata: { labels: { seen: 'yes' } } })).resolves.toBe('patched');
    await expect(rest.mergePatch(secretsIn('cattle-system', 'absent'), { metadata: { labels: { seen: 'yes' } } })).resolves.toBe('not-found');
    expect(server.patches).toEqual([expect.objectContaining({ name: 'present', contentType: 'application/merge-patch+json' })]);
  });
});

describe('deadline and signal', () => {
  it('sends nothing for a call whose signal is already aborted', async () => {
    const error = await rejectionOf(client().get(secretsIn('cattle-system', 'x'), { signal: AbortSignal.abort() }));

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('deadline');
    expect(server.requests).toHaveLength(0);
  });

  it('ends a call in flight as soon as its signal aborts', async () => {
    server.hangNext({ times: Infinity });
    const caller = new AbortController();
    void server.waitForRequest(() => true).then(() => caller.abort());
    const started = performance.now();

    const error = await rejectionOf(client({ requestTimeoutMs: 60_000 }).get(secretsIn('cattle-system', 'x'), { signal: caller.signal }));

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect(error.message).toBe('cluster c-rest: aborted by the caller’s deadline');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(1);
  });

  it('gives a batch of requests one deadline between them', async () => {
    for (const name of ['a', 'b', 'c']) server.upsert('secrets', hashSecret(name, 'h'));
    server.delayNext(500, { times: Infinity });

    const read: string[] = [];
    const error = await rejectionOf(
      client({ requestTimeoutMs: 60_000 }).batch({ timeoutMs: 1_200 }, async (requests) => {
        for (const name of ['a', 'b', 'c']) {
          await requests.get(secretsIn('cattle-system', name));
          read.push(name);
        }
      }),
    );

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect(error.message).toBe('cluster c-rest: the call did not finish within 1200 ms');
    // each request fits in the deadline; the three together do not
    expect(read[0]).toBe('a');
    expect(read.length).toBeLessThan(3);
  });
});

describe('retries', () => {
  let scripted: ScriptedServer;

  beforeAll(async () => {
    scripted = await startScriptedServer();
  });

  afterAll(async () => {
    await scripted.close();
  });

  const scriptedClient = (overrides: Partial<KubernetesRestClientOptions> = {}) =>
    new KubernetesRestClient({ clusterId: 'c-scripted', kubeconfig: scripted.kubeconfig, retryBaseDelayMs: 5, ...overrides });

  it('waits at least a Retry-After of up to 5 s before the next try', async () => {
    const arrivals = scripted.answer([
      (res) => status(res, 429, { 'Retry-After': '1' }),
      (res) => status(res, 200),
    ]);

    await expect(scriptedClient().get('/api/v1/namespaces/default/secrets/x')).resolves.toMatchObject({ code: 200 });

    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('ignores a longer Retry-After and backs off as usual', async () => {
    const arrivals = scripted.answer([
      (res) => status(res, 503, { 'Retry-After': '3600' }),
      (res) => status(res, 200),
    ]);

    await expect(scriptedClient().get('/api/v1/namespaces/default/secrets/x')).resolves.toMatchObject({ code: 200 });

    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeLessThan(3_000);
  });

  it('tries a 429 maxAttempts times, then reports the cluster unreachable', async () => {
    const arrivals = scripted.answer([(res) => status(res, 429), (res) => status(res, 429), (res) => status(res, 429), (res) => status(res, 200)]);

    const error = await rejectionOf(scriptedClient({ maxAttempts: 3 }).get('/api/v1/namespaces/default/secrets/x'));

    expect(error).toBeInstanceOf(ClusterUnreachableError);
    expect((error as ClusterUnreachableError).reason).toBe('server-error');
    expect(error.message).toMatch(/^cluster c-scripted: GET \/api\/v1\/namespaces\/default\/secrets\/x failed after 3 attempt\(s\): 429/);
    expect(arrivals).toHaveLength(3);
  });
});

interface ScriptedServer {
  kubeconfig: string;
  /** Answers the next requests in order; returns the arrival times (performance.now()) of the requests. */
  answer(script: Array<(res: ServerResponse) => void>): number[];
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', code, message: `scripted ${code}` }));
}

/** An HTTPS server that answers from a script, for what the test apiserver cannot do (Retry-After, 429). */
async function startScriptedServer(): Promise<ScriptedServer> {
  const certs = await testCertificates();
  let script: Array<(res: ServerResponse) => void> = [];
  let arrivals: number[] = [];
  const httpsServer = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (_req, res) => {
    arrivals.push(performance.now());
    const next = script.shift();
    if (next === undefined) status(res, 500);
    else next(res);
  });
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const address = httpsServer.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: scripted',
    '  cluster:',
    `    server: https://127.0.0.1:${address.port}`,
    `    certificate-authority-data: ${Buffer.from(certs.caPem).toString('base64')}`,
    'users:',
    '- name: scripted',
    '  user:',
    '    token: scripted-token',
    'contexts:',
    '- name: scripted',
    '  context: { cluster: scripted, user: scripted }',
    'current-context: scripted',
    '',
  ].join('\n');
  return {
    kubeconfig,
    answer(next) {
      script = [...next];
      arrivals = [];
      return arrivals;
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpsServer.closeAllConnections();
        httpsServer.close(() => resolve());
      }),
  };
}
