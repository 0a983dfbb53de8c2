import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { OverloadedError, StoreUnavailableError, TokengateError, UnauthorizedError, describeError } from '../../core/errors.ts';
import type { Log } from '../../core/ports/telemetry.ts';
import { errorBody } from './error-body.ts';
import { BadRequestError, HttpError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from './http-errors.ts';

/** Largest TokenReview body we read (a token is at most a few KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export type Route = { kind: 'health' } | { kind: 'authenticate'; clusterId: string };

const AUTHENTICATE_PATH = /^\/v1\/clusters\/([^/]*)\/authenticate\/?$/;

/** Maps an API Gateway (payload 2.0) event to one of our two routes, or throws 404/405. */
export function routeOf(event: APIGatewayProxyEventV2): Route {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? '/';
  if (path === '/healthz') {
    if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError();
    return { kind: 'health' };
  }
  const match = AUTHENTICATE_PATH.exec(path);
  if (!match) throw new NotFoundError();
  if (method !== 'POST') throw new MethodNotAllowedError();
  let clusterId: string;
  try {
    clusterId = decodeURIComponent(match[1] ?? '');
  } catch {
    clusterId = '';
  }
  return { kind: 'authenticate', clusterId };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The request body as text, decoding API Gateway's base64 form; 413 past the limit, 400 if not UTF-8. */
export function bodyOf(event: APIGatewayProxyEventV2): string {
  const raw = event.body ?? '';
  const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestError('body is not UTF-8');
  }
}

/** A header by name, case-insensitively (API Gateway lower-cases them; a local caller may not). */
export function headerOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export function jsonReply(statusCode: number, body: object): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The HTTP status of an error this API knows; undefined for anything else (a defect). */
function statusOf(error: unknown): number | undefined {
  if (error instanceof HttpError) return error.status;
  if (error instanceof UnauthorizedError) return 401;
  // 500, never 503: the apiserver retries a 500 and would not retry a 503 without Retry-After.
  if (error instanceof StoreUnavailableError) return 500;
  // 500 as well: an overloaded check refused nothing, and the apiserver retries a 500 (never a 401).
  if (error instanceof OverloadedError) return 500;
  return undefined;
}

/**
 * The one place where errors become replies. Known errors keep their status and safe message; anything
 * else is logged and answered 500 so the apiserver retries. The body is `errorBody`'s.
 */
export function toErrorReply(error: unknown, log: Log, context: Record<string, unknown>): APIGatewayProxyStructuredResultV2 {
  const status = statusOf(error);
  if (status !== undefined && error instanceof Error) {
    const cause = error.cause instanceof Error ? describeError(error.cause) : undefined;
    const level = status >= 500 ? 'error' : 'warn';
    // Summarised by the service per interval; one line per attempt would let a flood write the log.
    if (error instanceof TokengateError && error.summarised) return jsonReply(status, errorBody(status, error.message));
    log[level]('request failed', { ...context, status, reason: error.message, ...(cause ? { cause } : {}) });
    return jsonReply(status, errorBody(status, error.message));
  }
  log.error('unexpected error', { ...context, error: describeError(error) });
  return jsonReply(500, errorBody(500, 'internal error'));
}
