import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { APISERVER_CLIENT_LIMITS, type ConnectionLimits } from '../../../functions/entry/local/connection-limits.ts';
import { startLocalServer, type LocalServer } from '../../../functions/entry/local/server.ts';

/**
 * The local server under idle sockets and slow clients, on loopback only and bounded in count and time:
 * the real clients (a keep-alive agent, as an apiserver's) keep being answered, and the hostile sockets
 * are cut by the limits.
 */

const answer = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
const sockets: Socket[] = [];
let server: LocalServer | undefined;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

async function serve(limits: Partial<ConnectionLimits>): Promise<{ port: number }> {
  server = await startLocalServer({ handler: answer, limits: { ...APISERVER_CLIENT_LIMITS, ...limits } });
  return { port: server.port };
}

/** Opens `count` sockets that connect and then say nothing; resolves once all are connected or refused. */
async function idleSockets(port: number, count: number): Promise<{ closed: () => number }> {
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => resolve());
          socket.on('error', () => resolve());
          socket.on('close', () => {
            closed += 1;
            resolve();
          });
          sockets.push(socket);
        }),
    ),
  );
  return { closed: () => closed };
}

/** POSTs a review through a keep-alive agent, as an apiserver's client does. */
function post(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/clusters/c-1/authenticate', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"x"}}');
  });
}

const until = async (condition: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
};

describe('local server under connection floods', () => {
  it('keeps answering a keep-alive client while thousands of idle sockets are held, and closes the idle ones', async () => {
    const { port } = await serve({ idleTimeoutMs: 1500 });
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    expect(await post(port, agent)).toBe(200);
    const idle = await idleSockets(port, 3000);
    const statuses = await Promise.all(Array.from({ length: 40 }, () => post(port, agent)));
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(await until(() => idle.closed() === 3000, 8000)).toBe(true);
    agent.destroy();
  }, 30_000);

  it('refuses connections past the cap at once instead of running out of file descriptors, and serves again below it', async () => {
    const { port } = await serve({ maxConnections: 500 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await post(port, agent)).toBe(200);
    const flood = await idleSockets(port, 1500);
    // everything over the cap (the agent's connection counts) is closed by the server without waiting
    expect(await until(() => flood.closed() >= 1000, 5000)).toBe(true);
    expect(await post(port, agent)).toBe(200);
    agent.destroy();
  }, 30_000);

  it('cuts a client that sends its headers too slowly, and one that drips its body', async () => {
    const { port } = await serve({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 10_000 });
    const started = Date.now();
    const slowHeaders = connect(port, '127.0.0.1');
    const slowBody = connect(port, '127.0.0.1');
    sockets.push(slowHeaders, slowBody);
    const closedAt = (socket: Socket) => new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    const headersClosed = closedAt(slowHeaders);
    const bodyClosed = closedAt(slowBody);
    slowHeaders.on('error', () => undefined);
    slowBody.on('error', () => undefined);
    slowHeaders.write('POST /v1/clusters/c-1/authenticate HTTP/1.1\r\nHost: x\r\n');
    slowBody.write('POST /v1/clusters/c-1/authenticate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => {
      slowHeaders.write('X-Slow: 1\r\n');
      slowBody.write('a');
    }, 200);
    try {
      // Node's defaults would let both hang on for 60 s and 300 s
      expect(await headersClosed).toBeLessThan(5000);
      expect(await bodyClosed).toBeLessThan(6000);
    } finally {
      clearInterval(drip);
    }
  }, 30_000);

  it('is sized for apiserver clients by default: a capped number of connections and timeouts of seconds', () => {
    expect(APISERVER_CLIENT_LIMITS.maxConnections).toBeLessThanOrEqual(4096);
    expect(APISERVER_CLIENT_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(APISERVER_CLIENT_LIMITS.requestTimeoutMs).toBeLessThan(30_000);
    expect(APISERVER_CLIENT_LIMITS.idleTimeoutMs).toBeLessThanOrEqual(15_000);
  });
});
