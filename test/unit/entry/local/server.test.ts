import { request } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { requestTime, startLocalServer, toApiGatewayEvent, type LocalServer } from '../../../../functions/entry/local/server.ts';

const context = { now: new Date('2026-11-26T04:46:07.123Z'), requestId: 'req-1' };
const info = (overrides: Partial<Parameters<typeof toApiGatewayEvent>[0]> = {}) => ({
  method: 'POST',
  url: '/v1/clusters/c-1/authenticate',
  headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', 'user-agent': 'kube-apiserver/v1.32.0' },
  httpVersion: '1.1',
  remoteAddress: '127.0.0.1',
  ...overrides,
});

describe('toApiGatewayEvent', () => {
  it('builds the payload-2.0 event API Gateway sends for the authenticate route', () => {
    const event = toApiGatewayEvent(info(), Buffer.from('{"kind":"TokenReview"}'), context);
    expect(event).toEqual({
      version: '2.0',
      routeKey: 'POST /v1/clusters/{clusterId}/authenticate',
      rawPath: '/v1/clusters/c-1/authenticate',
      rawQueryString: '',
      headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', 'user-agent': 'kube-apiserver/v1.32.0' },
      pathParameters: { clusterId: 'c-1' },
      requestContext: {
        accountId: 'local',
        apiId: 'local',
        domainName: '127.0.0.1:8080',
        domainPrefix: '127',
        http: { method: 'POST', path: '/v1/clusters/c-1/authenticate', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'kube-apiserver/v1.32.0' },
        requestId: 'req-1',
        routeKey: 'POST /v1/clusters/{clusterId}/authenticate',
        stage: '$default',
        time: '26/Nov/2026:04:46:07 +0000',
        timeEpoch: Date.parse('2026-11-26T04:46:07.123Z'),
      },
      body: '{"kind":"TokenReview"}',
      isBase64Encoded: false,
    });
  });

  it('lower-cases header names, joins repeated headers with commas and moves cookies out', () => {
    const event = toApigw({ headers: { Authorization: 'Bearer x', 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'], cookie: 'a=1; b=2' } as never });
    expect(event.headers).toEqual({ authorization: 'Bearer x', 'x-forwarded-for': '1.1.1.1,2.2.2.2' });
    expect(event.cookies).toEqual(['a=1', 'b=2']);
  });

  it('splits the query string off the path', () => {
    const event = toApigw({ method: 'GET', url: '/healthz?verbose=1&x=a&x=b' });
    expect(event).toMatchObject({ rawPath: '/healthz', rawQueryString: 'verbose=1&x=a&x=b', routeKey: 'GET /healthz', queryStringParameters: { verbose: '1', x: 'a,b' } });
  });

  it('uses $default for paths no route matches, and still passes them on', () => {
    expect(toApigw({ method: 'GET', url: '/v1/clusters/c-1/authenticate' }).routeKey).toBe('$default');
    expect(toApigw({ url: '/nope' }).rawPath).toBe('/nope');
  });

  it('passes a body that is not UTF-8 as base64', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const event = toApiGatewayEvent(info(), bytes, context);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body as string, 'base64')).toEqual(bytes);
  });

  it('leaves the body out when there is none', () => {
    expect(toApiGatewayEvent(info(), Buffer.alloc(0), context)).not.toHaveProperty('body');
  });

  it('formats requestContext.time as API Gateway does', () => {
    expect(requestTime(new Date('2027-01-05T09:08:07Z'))).toBe('05/Jan/2027:09:08:07 +0000');
  });
});

function toApigw(overrides: Partial<Parameters<typeof toApiGatewayEvent>[0]>): APIGatewayProxyEventV2 {
  return toApiGatewayEvent(info(overrides), Buffer.alloc(0), context);
}

describe('startLocalServer', () => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('hands each request to the handler and writes its status, headers and body back', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    server = await startLocalServer({
      handler: async (event) => {
        events.push(event);
        return { statusCode: 201, headers: { 'Content-Type': 'application/json', 'X-Thing': 'y' }, body: '{"ok":true}' };
      },
    });
    const response = await fetch(`${server.url}/v1/clusters/c-9/authenticate`, { method: 'POST', body: '{"a":1}', headers: { 'X-Custom': 'v' } });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-thing')).toBe('y');
    expect(response.headers.get('apigw-requestid')).toBe(events[0]?.requestContext.requestId);
    expect(await response.json()).toEqual({ ok: true });
    expect(events[0]).toMatchObject({ body: '{"a":1}', pathParameters: { clusterId: 'c-9' }, headers: { 'x-custom': 'v' } });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('decodes a base64 reply body', async () => {
    server = await startLocalServer({ handler: async () => ({ statusCode: 200, body: Buffer.from([1, 2, 3]).toString('base64'), isBase64Encoded: true }) });
    expect(new Uint8Array(await (await fetch(server.url)).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses a chunked body over 64 KiB with 413 while streaming, without calling the handler', async () => {
    let calls = 0;
    server = await startLocalServer({ handler: async () => ((calls += 1), { statusCode: 200, body: '' }) });
    const { status, body } = await chunkedPost(server.port, 70 * 1024);
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 413, message: 'request body exceeds 65536 bytes' } });
    expect(calls).toBe(0);
  });

  it('accepts a body of exactly 64 KiB', async () => {
    let length = 0;
    server = await startLocalServer({ handler: async (event) => ((length = event.body?.length ?? 0), { statusCode: 200, body: '' }) });
    const { status } = await chunkedPost(server.port, 64 * 1024);
    expect(status).toBe(200);
    expect(length).toBe(64 * 1024);
  });

  it('answers 500 when the handler throws, and reports the error', async () => {
    const reported: unknown[] = [];
    server = await startLocalServer({ handler: async () => Promise.reject(new Error('boom')), onHandlerError: (error) => reported.push(error) });
    const response = await fetch(server.url);
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: 500, message: 'internal error' } });
    expect(reported).toEqual([new Error('boom')]);
  });

  it('closes while a keep-alive connection is open', async () => {
    server = await startLocalServer({ handler: async () => ({ statusCode: 200, body: 'x' }) });
    await (await fetch(server.url, { keepalive: true })).text();
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(fetch(server.url)).rejects.toThrow();
  });
});

/** POSTs `size` bytes in 8 KiB chunks without a Content-Length, as a streaming client would. */
function chunkedPost(port: number, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/clusters/c-1/authenticate' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(8 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('startLocalServer with a client that goes away', () => {
  it('does not report an upload cut short as a handler failure', async () => {
    const reported: unknown[] = [];
    let calls = 0;
    const server = await startLocalServer({ handler: async () => ((calls += 1), { statusCode: 200, body: '' }), onHandlerError: (error) => reported.push(error) });
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/v1/clusters/c-1/authenticate', headers: { 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write('{"partial":');
      setTimeout(() => {
        req.destroy();
        setTimeout(resolve, 100);
      }, 50);
    });
    await server.close();
    expect(calls).toBe(0);
    expect(reported).toEqual([]);
  });
});
