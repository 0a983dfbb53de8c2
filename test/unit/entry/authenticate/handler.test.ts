import { beforeAll, describe, expect, it } from 'vitest';
import { handlerFromEnvironment, makeHandler } from '../../../../functions/entry/authenticate/handler.ts';
import { ConfigError } from '../../../../functions/entry/config.ts';
import { StoreUnavailableError } from '../../../../functions/core/errors.ts';
import { authenticatorFixture } from '../../../support/authenticator.ts';
import { registeredCluster } from '../../../support/clusters.ts';
import { httpEvent, tokenReviewBody } from '../../../support/events.ts';
import { CapturingLog, CapturingMetrics, DEFAULT_SECRET, FakeTokenStore, tokenRecord } from '../../../support/fakes.ts';
import { boundServiceAccountJwt } from '../../../support/jwts.ts';

const TOKEN = `kubeconfig-u-alice:${DEFAULT_SECRET}`;
const PATH = '/v1/clusters/c-abc12/authenticate';
let cluster: Awaited<ReturnType<typeof registeredCluster>>;

beforeAll(async () => {
  cluster = await registeredCluster();
});

function setup(clientCertRequired = false) {
  const { store, log, metrics, authenticator } = authenticatorFixture({
    store: new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord()),
  });
  return { store, log, metrics, handler: makeHandler({ authenticator, log, metrics, clientCertRequired }) };
}

function post(body: string, headers: Record<string, string> = { authorization: cluster.authorization }, path = PATH) {
  return httpEvent({ path, headers, body });
}

function parse(result: { body?: string }) {
  return JSON.parse(result.body ?? '');
}

describe('authenticate handler', () => {
  it('answers a valid token with an authenticated v1beta1 TokenReview', async () => {
    const { handler } = setup();
    const result = await handler(post(tokenReviewBody(TOKEN)));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(parse(result)).toEqual({
      apiVersion: 'authentication.k8s.io/v1beta1',
      kind: 'TokenReview',
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        authenticated: true,
        user: {
          username: 'u-alice',
          uid: 'u-alice',
          groups: ['openldap_group://cn=admins,dc=example,dc=org'],
          extra: { principalid: ['openldap_user://uid=alice,dc=example,dc=org'], username: ['alice'] },
        },
      },
    });
  });

  it('echoes v1 when the request is v1', async () => {
    const { handler } = setup();
    expect(parse(await handler(post(tokenReviewBody(TOKEN, 'authentication.k8s.io/v1')))).apiVersion).toBe(
      'authentication.k8s.io/v1',
    );
  });

  it('treats an absent apiVersion as v1beta1', async () => {
    const { handler } = setup();
    expect(parse(await handler(post(tokenReviewBody(TOKEN, undefined)))).apiVersion).toBe('authentication.k8s.io/v1beta1');
  });

  it('does not answer with audiences, so the apiserver assumes its own', async () => {
    const { handler } = setup();
    expect(parse(await handler(post(tokenReviewBody(TOKEN)))).status.audiences).toBeUndefined();
  });

  it('reads a base64-encoded body as API Gateway sends it', async () => {
    const { handler } = setup();
    const event = httpEvent({
      path: PATH,
      headers: { authorization: cluster.authorization },
      body: Buffer.from(tokenReviewBody(TOKEN)).toString('base64'),
      isBase64Encoded: true,
    });
    expect(parse(await handler(event)).status.authenticated).toBe(true);
  });

  it('refuses a foreign token with 200, authenticated false and no status.error', async () => {
    const { handler, store } = setup();
    const result = await handler(post(tokenReviewBody('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')));
    expect(result.statusCode).toBe(200);
    expect(parse(result).status).toEqual({ authenticated: false, user: {} });
    expect(store.calls.getToken).toBe(0);
  });

  it('refuses a Rancher token with 200, authenticated false and a short reason', async () => {
    const { handler } = setup();
    const result = await handler(post(tokenReviewBody('kubeconfig-u-alice:wrong')));
    expect(parse(result).status).toEqual({ authenticated: false, user: {}, error: 'invalid token secret' });
  });

  it.each([
    ['no credential', {}],
    ['a wrong credential', { authorization: 'Bearer tgc_aaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ])('answers 401 to a caller with %s', async (_label, headers) => {
    const { handler } = setup();
    const result = await handler(post(tokenReviewBody(TOKEN), headers));
    expect(result.statusCode).toBe(401);
    expect(parse(result)).toMatchObject({ error: { code: 401, message: expect.any(String) } });
  });

  it('answers 401 for an unknown or malformed cluster id', async () => {
    const { handler, store } = setup();
    expect((await handler(post(tokenReviewBody(TOKEN), undefined, '/v1/clusters/c-zzzzz/authenticate'))).statusCode).toBe(401);
    expect((await handler(post(tokenReviewBody(TOKEN), undefined, '/v1/clusters/..%2F..%2Fetc/authenticate'))).statusCode).toBe(401);
    expect(store.calls.getCluster).toBe(1);
  });

  it.each([
    ['not JSON', '{nope'],
    ['JSON but not an object', '"TokenReview"'],
    ['another kind', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SubjectAccessReview', spec: { token: 'x' } })],
    ['an unsupported apiVersion', JSON.stringify({ apiVersion: 'authentication.k8s.io/v2', kind: 'TokenReview', spec: { token: 'x' } })],
    ['no spec', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' })],
  ])('answers 400 to a body that is %s', async (_label, body) => {
    const { handler } = setup();
    expect((await handler(post(body))).statusCode).toBe(400);
  });

  it('answers 413 to a body over 64 KiB before checking anything else', async () => {
    const { handler, store } = setup();
    const result = await handler(post(tokenReviewBody('x'.repeat(70 * 1024)), {}));
    expect(result.statusCode).toBe(413);
    expect(store.calls.getCluster).toBe(0);
  });

  it('answers 500 when the store is unavailable, so the apiserver retries', async () => {
    const { handler, store, log } = setup();
    await handler(post(tokenReviewBody('warm:up'))); // caches the caller check
    store.failWith = new StoreUnavailableError(new Error('ECONNRESET'));
    const result = await handler(post(tokenReviewBody(TOKEN)));
    expect(result.statusCode).toBe(500);
    expect(result.headers?.['retry-after']).toBeUndefined();
    expect(log.withMessage('request failed')[0]!.attributes).toMatchObject({ status: 500, cause: 'Error: ECONNRESET' });
  });

  it('answers GET /healthz without a credential and without the store', async () => {
    const { handler, store } = setup();
    const result = await handler(httpEvent({ method: 'GET', path: '/healthz' }));
    expect(result.statusCode).toBe(200);
    expect(store.calls.getCluster + store.calls.getToken).toBe(0);
  });

  it('answers 404 to an unknown path and 405 to a wrong method', async () => {
    const { handler } = setup();
    expect((await handler(httpEvent({ path: '/v1/clusters/c-abc12/other' }))).statusCode).toBe(404);
    expect((await handler(httpEvent({ method: 'GET', path: PATH }))).statusCode).toBe(405);
  });

  it('never writes the token, the secret or the caller credential into any log line', async () => {
    const { handler, log } = setup();
    await handler(post(tokenReviewBody(TOKEN)));
    await handler(post(tokenReviewBody(`kubeconfig-u-alice:${'q'.repeat(54)}`)));
    await handler(post(tokenReviewBody(TOKEN), { authorization: `Bearer ${cluster.credential}x` }));
    await handler(post('{bad json'));
    const text = log.text();
    expect(text).not.toContain(DEFAULT_SECRET);
    expect(text).not.toContain('q'.repeat(54));
    expect(text).not.toContain(cluster.credential.slice(15));
  });

  it('flushes metrics once per invocation', async () => {
    const { handler, metrics } = setup();
    await handler(post(tokenReviewBody(TOKEN)));
    await handler(httpEvent({ method: 'GET', path: '/healthz' }));
    expect(metrics.flushes).toBe(2);
  });
});

describe('authenticate handler with mutual TLS', () => {
  function withCertificate(subjectDN: string | undefined) {
    const event = post(tokenReviewBody(TOKEN));
    if (subjectDN) {
      event.requestContext.authentication = {
        clientCert: {
          clientCertPem: '-----BEGIN CERTIFICATE-----',
          issuerDN: 'CN=tokengate-ca',
          serialNumber: '1',
          subjectDN,
          validity: { notBefore: 'Nov 1 00:00:00 2026 GMT', notAfter: 'Nov 1 00:00:00 2027 GMT' },
        },
      };
    }
    return event;
  }

  function mtlsHandler() {
    return setup(true);
  }

  it('accepts when the certificate names the cluster in the path', async () => {
    const { handler } = mtlsHandler();
    expect(parse(await handler(withCertificate('CN=c-abc12,O=tokengate'))).status.authenticated).toBe(true);
  });

  it("answers 401 to another cluster's certificate before reading the store", async () => {
    const { handler, store } = mtlsHandler();
    expect((await handler(withCertificate('CN=c-other,O=tokengate'))).statusCode).toBe(401);
    expect((await handler(withCertificate(undefined))).statusCode).toBe(401);
    expect(store.calls.getCluster + store.calls.getToken).toBe(0);
  });
});

describe('handlerFromEnvironment', () => {
  it('fails at cold start listing every configuration problem', () => {
    let error: unknown;
    try {
      handlerFromEnvironment({ CACHE_TTL_SECONDS: '-1', DYNAMODB_ENDPOINT: 'not a url', ALLOW_SYSTEM_GROUPS: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'ALLOW_SYSTEM_GROUPS',
      'CACHE_TTL_SECONDS',
      'DYNAMODB_ENDPOINT',
    ]);
  });
});

describe('the Lambda handler and best-effort writes', () => {
  it('returns only after the lastUsedAt write completed (within USAGE_WRITE_WAIT_MS), since Lambda freezes after the reply', async () => {
    const store = new FakeTokenStore().putCluster(cluster.record).putToken(tokenRecord());
    const write = store.recordUse.bind(store);
    store.recordUse = (...args) => new Promise<void>((resolve) => setTimeout(resolve, 20)).then(() => write(...args));
    const handler = handlerFromEnvironment({ USAGE_WRITE_WAIT_MS: '500' }, { store, log: new CapturingLog(), metrics: new CapturingMetrics() });
    const result = await handler(post(tokenReviewBody(TOKEN)));
    expect(parse(result).status.authenticated).toBe(true);
    expect(store.uses).toHaveLength(1);
  });
});

describe('the Lambda handler and the flood report', () => {
  it('reports an ended flood window on the next invocation of any kind (a health check), its row written before the reply', async () => {
    const store = new FakeTokenStore().putCluster(cluster.record);
    const write = store.recordFloodWindow.bind(store);
    store.recordFloodWindow = (...args) => new Promise<void>((resolve) => setTimeout(resolve, 20)).then(() => write(...args));
    const log = new CapturingLog();
    const handler = handlerFromEnvironment({ FOREIGN_SUMMARY_INTERVAL_SECONDS: '1', USAGE_WRITE_WAIT_MS: '500' }, { store, log, metrics: new CapturingMetrics() });
    const { token } = boundServiceAccountJwt({ namespace: 'payments', serviceAccount: 'ledger', pod: 'ledger-7d9f8b6c5-x2x9q', podUid: 'a3c1', iat: Math.floor(Date.now() / 1000) });
    expect(parse(await handler(post(tokenReviewBody(token)))).status.authenticated).toBe(false);
    expect(log.withMessage('foreign tokens refused')).toHaveLength(0);
    // no timer runs in Lambda: nothing is reported until an invocation comes after the window's end
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(log.withMessage('foreign tokens refused')).toHaveLength(0);
    expect((await handler(httpEvent({ method: 'GET', path: '/healthz' }))).statusCode).toBe(200);
    expect(log.withMessage('foreign tokens refused')[0]!.attributes).toMatchObject({ clusterId: 'c-abc12', total: 1, offenders: [{ workload: 'payments/ledger (pod ledger-7d9f8b6c5-x2x9q)' }] });
    expect(store.floodWindows).toHaveLength(1);
  });
});
