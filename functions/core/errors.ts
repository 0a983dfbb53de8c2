/**
 * The few errors a request can end in. Each carries the HTTP status it maps to; `toErrorReply` in
 * `functions/authenticate/http.ts` is the one place that turns them into replies. Messages are safe to
 * show and to log: they never contain a token, a secret, a hash or a credential.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request itself is malformed (not JSON, not a TokenReview, unsupported apiVersion). */
export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

/** The caller (a kube-apiserver) presented no credential, a wrong one, or named an unknown cluster. */
export class UnauthorizedError extends HttpError {
  constructor(message: string) {
    super(401, message);
  }
}

export class NotFoundError extends HttpError {
  constructor(message = 'not found') {
    super(404, message);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(message = 'method not allowed') {
    super(405, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, `request body exceeds ${limitBytes} bytes`);
  }
}

/**
 * The token store could not answer within the review's deadline after bounded retries. Mapped to 500 so
 * the apiserver retries (SPEC §2); never to 503, which it would not retry without Retry-After.
 */
export class StoreUnavailableError extends HttpError {
  constructor(cause: unknown) {
    super(500, 'token store unavailable');
    this.cause = cause;
  }
}
