import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a local DynamoDB that injects the faults a real one shows: throttling and 5xx
 * answers, connection resets, connections that hang, slow answers and answers cut half way. The fault is
 * chosen per request (each chunk a client sends starts or continues one request; SDK requests are small
 * enough to arrive whole), so keep-alive connections see faults come and go just as real ones do.
 */

export type Fault =
  | { kind: 'pass' }
  /** An HTTP answer from "DynamoDB": throttling (400 + ThrottlingException) or a 5xx. */
  | { kind: 'throttle' }
  | { kind: 'status'; status: 500 | 502 | 503 | 504 }
  /** TCP RST on the client's connection. */
  | { kind: 'reset' }
  /** Swallow the request; never answer (until the client gives up). */
  | { kind: 'hang' }
  /** Forward, but hold the answer back this long. */
  | { kind: 'slow'; delayMs: number }
  /** Forward, pass the first bytes of the answer, then cut the connection. */
  | { kind: 'cut' };

export type FaultPolicy = (requestNumber: number) => Fault;

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: use as the DynamoDB endpoint. */
  endpoint: string;
  /** Sets how the next requests are treated. */
  setPolicy(policy: FaultPolicy): void;
  /** Shorthand: every request gets this fault (`pass` = healthy). */
  set(fault: Fault): void;
  /** Requests seen and faults injected, by kind. */
  readonly counts: Record<Fault['kind'], number> & { requests: number };
  close(): Promise<void>;
}

const THROTTLE_BODY = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
  message: 'Rate of requests exceeds the allowed throughput.',
});
const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function httpAnswer(status: number, body: string): string {
  const text = status === 400 ? 'Bad Request' : STATUS_TEXT[status] ?? 'Error';
  return [
    `HTTP/1.1 ${status} ${text}`,
    'Content-Type: application/x-amz-json-1.0',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'x-amzn-RequestId: fault-proxy',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port } = new URL(target);
  let policy: FaultPolicy = () => ({ kind: 'pass' });
  const counts = { requests: 0, pass: 0, throttle: 0, status: 0, reset: 0, hang: 0, slow: 0, cut: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let upstream: Socket | undefined;
    /** What the answer to the request in flight on this connection should suffer. */
    let answerFault: Fault = { kind: 'pass' };

    const connectUpstream = (): Socket => {
      const socket = createConnection({ host: hostname, port: Number(port) });
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
      });
      socket.on('error', () => client.destroy());
      socket.on('data', (chunk: Buffer) => {
        const fault = answerFault;
        if (fault.kind === 'slow') {
          socket.pause();
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!client.destroyed) client.write(chunk);
            socket.resume();
          }, fault.delayMs);
          timers.add(timer);
        } else if (fault.kind === 'cut') {
          client.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))));
          client.destroy();
        } else {
          client.write(chunk);
        }
      });
      return socket;
    };

    client.on('data', (chunk: Buffer) => {
      // A chunk starting with an HTTP method is a new request; anything else continues the current one.
      const startsRequest = /^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(chunk.subarray(0, 64).toString('latin1'));
      if (startsRequest) {
        counts.requests += 1;
        answerFault = policy(counts.requests);
        counts[answerFault.kind] += 1;
      }
      const fault = answerFault;
      switch (fault.kind) {
        case 'throttle':
          if (startsRequest) client.end(httpAnswer(400, THROTTLE_BODY));
          return;
        case 'status':
          if (startsRequest) client.end(httpAnswer(fault.status, JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: 'injected' })));
          return;
        case 'reset':
          client.resetAndDestroy();
          upstream?.destroy();
          return;
        case 'hang':
          return;
        default:
          upstream ??= connectUpstream();
          upstream.write(chunk);
      }
    });
    client.on('close', () => upstream?.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    counts,
    setPolicy(next) {
      policy = next;
    },
    set(fault) {
      policy = () => fault;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
