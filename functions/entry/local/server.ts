import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorBody } from '../authenticate/error-body.ts';
import { MAX_BODY_BYTES } from '../authenticate/http.ts';
import { APISERVER_CLIENT_LIMITS, applyConnectionLimits, type ConnectionLimits } from './connection-limits.ts';
import { checkClientCert, httpsServerOptions, type GatewayClientCert, type LocalTlsOptions } from './tls.ts';
import { NOT_DYNAMODB_ERROR } from './defaults.ts';

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The routes of serverless.yml's httpApi events; anything else becomes `$default`. */
const ROUTES: Array<{ method: string; pattern: RegExp; routeKey: string; parameter?: string }> = [
  { method: 'POST', pattern: /^\/v1\/clusters\/([^/]+)\/authenticate$/, routeKey: 'POST /v1/clusters/{clusterId}/authenticate', parameter: 'clusterId' },
  { method: 'GET', pattern: /^\/healthz$/, routeKey: 'GET /healthz' },
];

/** What `toApiGatewayEvent` needs of an incoming request (a subset of `IncomingMessage`). */
export interface RequestInfo {
  method: string;
  /** Path and query string as sent, e.g. `/v1/clusters/c-1/authenticate?x=1`. */
  url: string;
  headers: IncomingHttpHeaders;
  httpVersion: string;
  remoteAddress: string;
  /** The verified TLS client certificate, as API Gateway's mutual TLS passes it on. */
  clientCert?: GatewayClientCert;
}

export interface EventContext {
  now: Date;
  requestId: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Builds the API Gateway HTTP API payload-2.0 event that Lambda would receive for this request, so the
 * local server exercises exactly the handler code that runs in AWS. Headers are lower-cased (repeated
 * ones joined by commas, cookies moved to `cookies`); a body that is not UTF-8 text is passed base64
 * encoded with `isBase64Encoded`, as API Gateway does for binary payloads.
 */
export function toApiGatewayEvent(request: RequestInfo, body: Buffer, context: EventContext): APIGatewayProxyEventV2 {
  const questionMark = request.url.indexOf('?');
  const rawPath = questionMark === -1 ? request.url : request.url.slice(0, questionMark);
  const rawQueryString = questionMark === -1 ? '' : request.url.slice(questionMark + 1);
  const method = request.method.toUpperCase();

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((line) => line.split(/; */)).filter(Boolean);
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(',') : value;
  }

  const route = ROUTES.find((candidate) => candidate.method === method && candidate.pattern.test(rawPath));
  const parameterValue = route?.parameter ? route.pattern.exec(rawPath)?.[1] : undefined;

  let textBody: string | undefined;
  let isBase64Encoded = false;
  if (body.length > 0) {
    try {
      textBody = utf8.decode(body);
    } catch {
      textBody = body.toString('base64');
      isBase64Encoded = true;
    }
  }

  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    queryStringParameters[key] = key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
  }

  const routeKey = route?.routeKey ?? '$default';
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    ...(route?.parameter && parameterValue !== undefined ? { pathParameters: { [route.parameter]: decodeSafely(parameterValue) } } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.remoteAddress,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey,
      ...(request.clientCert ? { authentication: { clientCert: request.clientCert } } : {}),
      stage: '$default',
      time: requestTime(context.now),
      timeEpoch: context.now.getTime(),
    },
    ...(textBody !== undefined ? { body: textBody } : {}),
    isBase64Encoded,
  };
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time` layout: `26/Nov/2026:04:46:07 +0000`. */
export function requestTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}

/**
 * Reads a request body up to `limit` bytes. Past the limit it stops keeping data and answers
 * 'too-large', so a huge or endless upload never fills memory.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        request.off('end', onEnd);
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
  });
}

export interface LocalServerOptions {
  /** The Lambda handler to call: `handlerFromEnvironment(…)` or `makeHandler(…)`. */
  handler: ApiHandler;
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** What one client may hold (connections, timeouts); default: sized for kube-apiserver clients. */
  limits?: ConnectionLimits;
  now?: () => Date;
  requestId?: () => string;
  /** Told about a handler that threw instead of answering (a defect: handlers map their own errors). */
  onHandlerError?: (error: unknown) => void;
  /**
   * The DynamoDB endpoint of this local mode. A DynamoDB request sent here (a client given the API's
   * port by mistake) is answered with a DynamoDB-shaped error naming it, instead of a 404 the SDK
   * cannot read.
   */
  dynamoEndpoint?: string;
  /** Extra GET routes served before the handler, by path (e.g. `/metrics`). */
  routes?: Record<string, () => Promise<{ contentType: string; body: string }>>;
  /** HTTPS instead of HTTP; with a client CA, mutual TLS (a missing or untrusted client certificate: 403). */
  tls?: LocalTlsOptions;
  /** Told about each answered request, before its answer is sent (an access log; never bodies or headers). */
  onRequest?: (record: AccessRecord) => void;
}

/** One answered request: what an access log line shows. */
export interface AccessRecord {
  method: string;
  /** Path and query string as sent. */
  url: string;
  status: number;
  durationMs: number;
}

export interface LocalServer {
  /** `http://127.0.0.1:<port>` (`https://` with TLS), without a trailing slash. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (briefly), then closes every connection. */
  close(): Promise<void>;
}

/** Pending connections the kernel may queue for accept(). */
const LISTEN_BACKLOG = 4096;

/** Bytes an over-limit upload may still send (and be discarded) before its connection is cut. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * Serves the authenticate handler over plain HTTP on a loopback address, turning each request into the
 * payload-2.0 event API Gateway would send. Bodies over 64 KiB are refused with 413 while streaming,
 * before the handler runs.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const now = options.now ?? (() => new Date());
  const requestId = options.requestId ?? randomUUID;
  const inFlight = new Set<Promise<void>>();

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const work = serve(request, response).catch((error: unknown) => {
      if (request.destroyed && !request.complete) return; // the client went away mid-upload: nobody to answer
      options.onHandlerError?.(error);
      if (!response.headersSent) writeJson(response, 500, errorBody(500, 'internal error'));
      else response.destroy();
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  // timeouts are enforced by Node's periodic check; check every second so a slow client is cut on time
  const serverOptions = { connectionsCheckingInterval: 1000 };
  const server = options.tls
    ? createHttpsServer({ ...httpsServerOptions(options.tls), ...serverOptions }, listener)
    : createServer(serverOptions, listener);
  applyConnectionLimits(server, options.limits ?? APISERVER_CLIENT_LIMITS);

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const answered = (status: number) =>
      options.onRequest?.({ method: request.method ?? 'GET', url: request.url ?? '/', status, durationMs: Math.round(performance.now() - started) });
    const certificate = checkClientCert(request.socket, options.tls);
    if (certificate.kind === 'forbidden') {
      // API Gateway refuses a missing or untrusted client certificate itself; Lambda never sees the request.
      request.resume();
      answered(403);
      writeJson(response, 403, { message: 'Forbidden' });
      return;
    }
    const target = request.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('DynamoDB_')) {
      request.resume();
      refuseDynamoDbRequest(response, options.dynamoEndpoint);
      return;
    }
    const route = request.method === 'GET' ? options.routes?.[(request.url ?? '/').split('?')[0] as string] : undefined;
    if (route) {
      request.resume();
      const { contentType, body } = await route();
      response.writeHead(200, { 'content-type': contentType });
      response.end(body);
      return;
    }
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === 'too-large') {
      answered(413);
      refuseTooLarge(request, response);
      return;
    }
    const event = toApiGatewayEvent(
      {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        httpVersion: request.httpVersion,
        remoteAddress: request.socket.remoteAddress ?? '127.0.0.1',
        ...(certificate.kind === 'verified' ? { clientCert: certificate.clientCert } : {}),
      },
      body,
      { now: now(), requestId: requestId() },
    );
    const result = await options.handler(event);
    answered(result.statusCode ?? 200);
    writeResult(response, result, event.requestContext.requestId);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // a deep accept backlog (Linux caps it at net.core.somaxconn): a burst of connects waits to be accepted, and
    // those over the connection cap closed, instead of stalling half-open in an overflowing queue
    server.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    port: address.port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

function refuseTooLarge(request: IncomingMessage, response: ServerResponse): void {
  // Answer at once and close the connection. The rest of the upload is read and discarded (up to a
  // bound), because cutting the socket while the client still writes makes most clients report a
  // connection reset instead of our 413.
  let drained = 0;
  request.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT_BYTES) request.socket.destroy();
  });
  request.resume();
  response.setHeader('connection', 'close');
  writeJson(response, 413, errorBody(413, `request body exceeds ${MAX_BODY_BYTES} bytes`));
}

function refuseDynamoDbRequest(response: ServerResponse, dynamoEndpoint: string | undefined): void {
  const where = dynamoEndpoint ? `use the DynamoDB endpoint ${dynamoEndpoint}` : 'use the DynamoDB endpoint that tokengate serve printed';
  response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  response.end(JSON.stringify({ __type: NOT_DYNAMODB_ERROR, message: `this is the tokengate API; ${where} (--endpoint / DYNAMODB_ENDPOINT)` }));
}

function writeJson(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function writeResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2, requestId: string): void {
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
