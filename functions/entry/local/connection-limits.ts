import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What one client may hold of the local server. The webhook's callers are kube-apiservers: a review is a
 * few KiB answered in milliseconds, the apiserver's client gives each request 30 s and reuses keep-alive
 * connections. Node's defaults (no connection cap, 300 s per request, 60 s for headers) let idle or
 * slow clients hold sockets and file descriptors until every new client is refused.
 */
export interface ConnectionLimits {
  /** Open connections at once; past it new ones are closed at once (an apiserver retries a reset). */
  maxConnections: number;
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs: number;
  /** The request's headers must have arrived within this. */
  headersTimeoutMs: number;
  /** The whole request, body included, within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is kept this long after a response. */
  keepAliveTimeoutMs: number;
}

export const APISERVER_CLIENT_LIMITS: ConnectionLimits = {
  maxConnections: 4096,
  idleTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
};

/** Applies the limits to a server before it listens. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
  });
}
