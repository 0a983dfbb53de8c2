/**
 * The body of every error reply: a Kubernetes `metav1.Status`, plus our own `error` object. kube-apiserver's
 * webhook client (client-go `rest.Request.transformResponse`) decodes a non-2xx reply as a Status when it
 * has a non-empty `status`, and then logs its `message` ("Failed to make webhook authenticator request:
 * unknown cluster or wrong caller credential"). For any other JSON body it logs only a generic text ("the
 * server has asked for the client to provide credentials", or "unknown"), and the operator cannot tell a
 * wrong credential from an unknown cluster or a client certificate naming another cluster.
 * See docs/conformance.md.
 */
export interface ErrorBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  /** The `metav1.StatusReason` of the HTTP status: client-go decides retries on it (500: InternalError, retried). */
  reason: string;
  code: number;
  error: { code: number; message: string };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
  500: 'InternalError',
};

/** The error body for an HTTP status and a message that reveals nothing secret. */
export function errorBody(code: number, message: string): ErrorBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
    code,
    error: { code, message },
  };
}
