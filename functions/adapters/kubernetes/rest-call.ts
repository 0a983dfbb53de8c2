/**
 * The lifetime of one REST client call (one request, or a whole paged listing, or a batch of requests): its
 * deadline, its caller's AbortSignal, and the connection its requests share.
 */
import {
  ClusterListingError,
  ClusterSourceError,
  ClusterUnreachableError,
} from '../../core/ports/cluster-source.ts';
import type { Connection } from './rest-connection.ts';

export class RestCall {
  /** Aborts when the call's deadline passes or its caller aborts; every request and wait of the call listens. */
  readonly signal: AbortSignal;
  /** Set once the credentials are obtained; closed by {@link close}. */
  connection: Connection | undefined;
  private readonly deadline: AbortSignal;

  constructor(
    readonly clusterId: string,
    private readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.deadline = AbortSignal.timeout(timeoutMs);
    this.signal = callerSignal === undefined ? this.deadline : AbortSignal.any([this.deadline, callerSignal]);
  }

  /** The error that ends the call once its caller aborted it or its deadline passed; undefined before. */
  abortedError(): ClusterUnreachableError | undefined {
    if (this.callerSignal?.aborted === true) {
      return new ClusterUnreachableError(this.clusterId, 'deadline', 'aborted by the caller’s deadline');
    }
    if (this.deadline.aborted) {
      return new ClusterUnreachableError(this.clusterId, 'deadline', `the call did not finish within ${this.timeoutMs} ms`);
    }
    return undefined;
  }

  /** Waits `ms`, or rejects with {@link abortedError} as soon as the call is aborted. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.abortedError() ?? new ClusterUnreachableError(this.clusterId, 'deadline', 'the call was aborted'));
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Maps anything that escaped the call to the port's typed errors (an abort wins over an untyped failure). */
  translate(error: unknown): ClusterSourceError {
    if (error instanceof ClusterSourceError) return error;
    return this.abortedError() ?? new ClusterListingError(this.clusterId, 'unexpected failure', undefined, { cause: error });
  }

  close(): void {
    this.connection?.close();
  }
}
