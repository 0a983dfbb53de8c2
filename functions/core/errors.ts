/**
 * The domain's errors. Each says what went wrong in words safe to show and to log: never a token, a
 * secret, a hash or a credential. Where a lower-level failure caused one, it is kept as `cause` (for the
 * log line, through {@link describeError}). Which HTTP status or exit code an error becomes is decided
 * by the entry points (`entry/authenticate/http.ts`, `entry/cli/main.ts`), never here.
 */
export class TokengateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller (a kube-apiserver) presented no credential, a wrong one, or named an unknown cluster. */
export class UnauthorizedError extends TokengateError {}

/**
 * The token store could not answer within the review's deadline after bounded retries. The webhook
 * answers 500 so the apiserver retries; never 503, which it would not retry without Retry-After.
 */
export class StoreUnavailableError extends TokengateError {
  constructor(cause: unknown) {
    super('token store unavailable', { cause });
  }
}

/** A record already exists (`clusters add`, `tokens create`) or changed under us (credential rotation). */
export class ConflictError extends TokengateError {}

/** A stored record does not match its schema: a defect in whoever wrote it. The message names the record. */
export class MalformedRecordError extends TokengateError {}

/** `Name: message` of an error, and of its cause when it has one: the one way errors are described in a log line. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const own = `${error.name}: ${error.message}`;
  return error.cause instanceof Error ? `${own} (cause ${error.cause.name}: ${error.cause.message})` : own;
}
