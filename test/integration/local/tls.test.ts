import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalPki } from '../../../functions/adapters/tls/local-pki.ts';
import { startLocalServer, type LocalServer } from '../../../functions/entry/local/server.ts';

const pki = createLocalPki({ serverNames: ['127.0.0.1'], clientIds: ['c-1'], validDays: 1, now: new Date(), randomBytes });
const untrusted = createLocalPki({ serverNames: ['127.0.0.1'], clientIds: ['c-1'], validDays: 1, now: new Date(), randomBytes });

function post(url: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/clusters/c-1/authenticate`, { method: 'POST', ca: pki['ca.pem'], ...client }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

describe('the local server over TLS', () => {
  let server: LocalServer | undefined;
  const events: APIGatewayProxyEventV2[] = [];
  const start = (clientCaPem?: string) =>
    startLocalServer({
      handler: async (event) => {
        events.push(event);
        return { statusCode: 200, body: 'ok' };
      },
      tls: { certificatePem: pki['server.pem'] as string, keyPem: pki['server-key.pem'] as string, ...(clientCaPem ? { clientCaPem } : {}) },
    });

  afterEach(async () => {
    await server?.close();
    events.length = 0;
  });

  it('serves HTTPS and, without a client CA, passes no client certificate on', async () => {
    server = await start();
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await post(server.url)).toEqual({ status: 200, body: 'ok' });
    expect(events[0]?.requestContext.authentication).toBeUndefined();
  });

  it('with mutual TLS, describes the verified client certificate as API Gateway does', async () => {
    server = await start(pki['ca.pem']);
    expect((await post(server.url, { cert: pki['client-c-1.pem'] as string, key: pki['client-c-1-key.pem'] as string })).status).toBe(200);
    const clientCert = events[0]?.requestContext.authentication?.clientCert;
    expect(clientCert).toMatchObject({ subjectDN: 'CN=c-1,O=tokengate', issuerDN: 'CN=tokengate local CA,O=tokengate', clientCertPem: pki['client-c-1.pem'] });
    expect(clientCert?.serialNumber).toMatch(/^[0-9A-F]+$/);
  });

  it('with mutual TLS, answers a missing or untrusted client certificate 403 without calling the handler', async () => {
    server = await start(pki['ca.pem']);
    expect(await post(server.url)).toEqual({ status: 403, body: '{"message":"Forbidden"}' });
    const foreign = await post(server.url, { cert: untrusted['client-c-1.pem'] as string, key: untrusted['client-c-1-key.pem'] as string });
    expect(foreign.status).toBe(403);
    expect(events).toEqual([]);
  });
});
