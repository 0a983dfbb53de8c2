/**
 * The domain's errors. Each says what went wrong in words safe to show and to log: never a token, a
 * secret, a hash or a credential. Where a lower-level failure caused one, it is kept as `cause` (for the
 * log line, through {@link describeError}). Which HTTP status or exit code an error becomes is decided
 * by the entry points (`entry/authenticate/http.ts`, `entry/cli/main.ts`), never here.
 */
export class TokengateError extends Error {
  /**
   * The service already counts this error into a periodic summary line, so the entry point must not log
   * it once per request as well (a flood would otherwise write one line per attempt).
   */
  readonly summarised: boolean;

  constructor(message: string, options?: { cause?: unknown; summarised?: boolean }) {
    super(message, options);
    this.name = new.target.name;
    this.summarised = options?.summarised ?? false;
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

/**
 * The service would have to spend more hash work or registry reads than its budget allows to decide
 * this request (a flood of wrong credentials with a real credential id, or of unknown cluster ids). It
 * refuses nothing: the webhook answers 500, which the apiserver retries, because the credential may
 * well be correct and a 401 would not be retried.
 */
export class OverloadedError extends TokengateError {}

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
