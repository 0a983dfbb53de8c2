/**
 * Errors of the HTTP layer itself: requests that are malformed before any domain code runs. Each
 * carries its status; `toErrorReply` in `http.ts` is the one place that turns errors into replies.
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

/** The request is malformed (not JSON, not a TokenReview, unsupported apiVersion). */
export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, message);
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
