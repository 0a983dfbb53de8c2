/**
 * Sends one Kubernetes API request through `node:https`, with a per-attempt timeout, a response size limit
 * and bounded retries (p-retry) with jittered exponential backoff that honours a short Retry-After.
 *
 * Why not the generated API clients of `@kubernetes/client-node` 1.4: they have no per-request timeout, cannot
 * tell a dropped connection from a bad status, and their errors carry the raw response (which can hold secrets).
 * Here every failure becomes one of the port's typed errors, whose messages never quote a request header.
 */
import type http from 'node:http';
import pRetry, { AbortError } from 'p-retry';
import * as z from 'zod';
import { ClusterForbiddenError, ClusterListingError, ClusterUnreachableError } from '../../core/ports/cluster-source.ts';
import type { RestCall } from './rest-call.ts';

export interface TransportSettings {
  /** One HTTP attempt, connect to last byte. */
  requestTimeoutMs: number;
  /** Tries per request on connection errors, timeouts, 429 and 5xx (at least 1). */
  maxAttempts: number;
  /** Backoff before the second try; doubles per try, with jitter. */
  retryBaseDelayMs: number;
  /** Largest accepted response body. */
  maxResponseBytes: number;
}

export interface RestRequest {
  method: 'GET' | 'PATCH';
  /** Appended to the server URL's own path (e.g. Rancher's `/k8s/clusters/<id>` proxy prefix). */
  path: string;
  query?: Record<string, string>;
  payload?: { contentType: string; body: Buffer };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Longest Retry-After we honour; beyond it we back off as usual. */
const MAX_RETRY_AFTER_MS = 5_000;

/** TLS verification failures and unknown hosts: retrying cannot help. */
const PERMANENT_NETWORK_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ENOTFOUND',
]);

/** Why one attempt produced no usable response. Its message holds a status, an error code or a limit: no data. */
class AttemptFailure extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'server-error' | 'too-large',
    message: string,
    readonly permanent = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const statusSchema = z.object({ message: z.string().optional() }).loose();

/**
 * Sends `request` within `call`, retrying connection errors, attempt timeouts, 429 and 5xx up to
 * `maxAttempts` tries. Returns any other response (2xx, 404, 409, 410, …) for the caller to judge.
 * @throws ClusterForbiddenError at once on 401 and 403.
 * @throws ClusterUnreachableError when the tries are used up (reason network, timeout or server-error), a
 *   permanent network error occurs (reason network), or the call is aborted (reason deadline).
 * @throws ClusterListingError when the response exceeds `maxResponseBytes`.
 */
export async function sendWithRetries(call: RestCall, server: URL, settings: TransportSettings, request: RestRequest): Promise<RawResponse> {
  const url = new URL(server.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${request.path}`;
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
  const description = `${request.method} ${request.path}`;
  let attempts = 0;
  const stopIfAborted = () => {
    const aborted = call.abortedError();
    if (aborted !== undefined) throw new AbortError(aborted);
  };
  try {
    return await pRetry(
      async () => {
        attempts += 1;
        stopIfAborted();
        let response: RawResponse;
        try {
          response = await attempt(call, settings, request, url);
        } catch (error) {
          stopIfAborted(); // an attempt cut short by the call's end is the call's end, not a network failure
          if (!(error instanceof AttemptFailure)) throw new AbortError(error as Error);
          if (error.kind === 'too-large') throw new AbortError(new ClusterListingError(call.clusterId, `${description}: ${error.message}`));
          throw error.permanent ? new AbortError(error) : error;
        }
        if (response.status === 401 || response.status === 403) {
          const fallback = response.status === 401 ? 'Unauthorized' : 'Forbidden';
          const reason = `${response.status} ${statusMessage(response) ?? fallback}`;
          throw new AbortError(new ClusterForbiddenError(call.clusterId, response.status, `${description}: ${reason}`));
        }
        if (response.status === 429 || response.status >= 500) {
          throw new AttemptFailure('server-error', `${response.status} ${statusMessage(response) ?? ''}`.trim(), false, retryAfter(response));
        }
        return response;
      },
      {
        retries: Math.max(1, settings.maxAttempts) - 1,
        // p-retry's own backoff cannot honour Retry-After, so it is off and onFailedAttempt waits instead;
        // that wait ends with the call's deadline error as soon as the call is aborted
        minTimeout: 0,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft === 0) return;
          const retryAfterMs = error instanceof AttemptFailure ? error.retryAfterMs : undefined;
          await call.sleep(backoffMs(settings.retryBaseDelayMs, attemptNumber, retryAfterMs));
        },
      },
    );
  } catch (error) {
    if (!(error instanceof AttemptFailure) || error.kind === 'too-large') throw error;
    throw new ClusterUnreachableError(call.clusterId, error.kind, `${description} failed after ${attempts} attempt(s): ${error.message}`);
  }
}

/** The wait after try `attemptNumber`: base × 2^(n−1), jittered down to half; a Retry-After ≤ 5 s is a floor. */
function backoffMs(baseMs: number, attemptNumber: number, retryAfterMs: number | undefined): number {
  const backoff = baseMs * 2 ** (attemptNumber - 1);
  const jittered = backoff / 2 + Math.random() * (backoff / 2);
  return retryAfterMs !== undefined && retryAfterMs <= MAX_RETRY_AFTER_MS ? Math.max(retryAfterMs, jittered) : jittered;
}

/** One HTTP exchange: resolves with the complete response, or rejects with an AttemptFailure. */
function attempt(call: RestCall, settings: TransportSettings, request: RestRequest, url: URL): Promise<RawResponse> {
  const connection = call.connection;
  if (connection === undefined) return Promise.reject(new Error('the call has no connection'));
  const timeout = AbortSignal.timeout(settings.requestTimeoutMs);
  const signal = AbortSignal.any([call.signal, timeout]);
  const maxBytes = settings.maxResponseBytes;
  const { payload } = request;
  const headers: Record<string, string> = { ...connection.headers, Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = payload.contentType;
    headers['Content-Length'] = String(payload.body.length);
  }
  return new Promise<RawResponse>((resolve, reject) => {
    const fail = (error: unknown) => {
      if (timeout.aborted && !call.signal.aborted) {
        reject(new AttemptFailure('timeout', `no complete answer within ${settings.requestTimeoutMs} ms`));
      } else if (error instanceof AttemptFailure) {
        reject(error);
      } else {
        // only the error's code (or, without one, its message): never the request, whose headers hold the credential
        const code = (error as { code?: unknown }).code;
        const text = typeof code === 'string' ? code : error instanceof Error ? error.message : 'connection failed';
        reject(new AttemptFailure('network', text, typeof code === 'string' && PERMANENT_NETWORK_CODES.has(code)));
      }
    };
    const cutMidResponse = () => fail(new AttemptFailure('network', 'the connection closed mid-response'));
    const outgoing = connection.transport.request(url, { method: request.method, headers, agent: connection.agent, signal }, (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          // first, because destroying the response emits 'aborted' at once, which would pass for a dropped connection
          fail(new AttemptFailure('too-large', `the response exceeds ${maxBytes} bytes`));
          response.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('aborted', cutMidResponse);
      response.on('end', () => {
        if (!response.complete) return cutMidResponse();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    outgoing.on('error', fail);
    outgoing.end(payload?.body);
  });
}

/** The `message` of a Kubernetes Status body, cut to 300 characters; undefined when there is none. */
export function statusMessage(response: RawResponse): string | undefined {
  try {
    const status = statusSchema.safeParse(JSON.parse(response.body.toString('utf8')));
    const message = status.success ? status.data.message : undefined;
    return message === undefined ? undefined : message.slice(0, 300);
  } catch {
    return undefined;
  }
}

function retryAfter(response: RawResponse): number | undefined {
  const header = response.headers['retry-after'];
  if (typeof header !== 'string') return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
