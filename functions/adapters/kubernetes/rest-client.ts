/**
 * A small Kubernetes REST client: GET one object, LIST a collection (every page of one consistent listing),
 * merge-PATCH one object. It knows paths, query parameters and Kubernetes' list protocol, nothing about what
 * the objects are.
 *
 * Each method is one call with a deadline (`timeoutMs`, default the client's `callTimeoutMs`) and an optional
 * AbortSignal; {@link KubernetesRestClient.batch} runs several requests as one call that shares the deadline and
 * a keep-alive connection pool. Requests are retried on connection errors, timeouts, 429 and 5xx (see
 * `rest-transport.ts`). Every failure is one of the port's typed errors, whose messages name the cluster, the
 * request path and the status or error code, and never hold a bearer token, a Secret's data or the kubeconfig:
 * - ClusterConfigError: the kubeconfig cannot be used (thrown by the constructor, or when a call obtains
 *   credentials from an exec plugin or token file).
 * - ClusterUnreachableError: no answer after the retries, or the call's deadline or signal ended it.
 * - ClusterForbiddenError: 401 or 403, at once.
 * - ClusterListingError: an answer that is not usable (an unexpected status, a body that is not the expected
 *   JSON or exceeds `maxResponseBytes`, continue tokens that kept expiring).
 *
 * A watch ({@link RestRequests.watch}) is one bounded request: the server sends the events since a
 * `resourceVersion` for `timeoutSeconds`, then ends the response; it answers `expired` when that version is
 * too old (HTTP 410, or the ERROR event with a 410 Status kube-apiserver sends inside a 200).
 */
import * as z from 'zod';
import { ClusterListingError } from '../../core/ports/cluster-source.ts';
import { RestCall } from './rest-call.ts';
import { loadKubeconfigTarget, openConnection, type KubeconfigTarget } from './rest-connection.ts';
import { sendWithRetries, statusMessage, type RawResponse, type RestRequest, type TransportSettings } from './rest-transport.ts';

export interface KubernetesRestClientOptions {
  /** Names the cluster in every error message ("cluster <id>: …"). */
  clusterId: string;
  /** The kubeconfig document (YAML or JSON). */
  kubeconfig: string;
  /** Default: the kubeconfig's current-context. */
  context?: string;
  /** One HTTP request, connect to last byte. Default 15 s. */
  requestTimeoutMs?: number;
  /** Default deadline of one call (a whole listing with its retries and restarts). Default 120 s. */
  callTimeoutMs?: number;
  /** Tries per request on connection errors, timeouts, 429 and 5xx. Default 4. */
  maxAttempts?: number;
  /** First backoff delay; doubles per try, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Fresh starts of a listing after its continue token expired (410). Default 3. */
  maxListRestarts?: number;
  /** Largest accepted response body. Default 256 MiB. */
  maxResponseBytes?: number;
  /** Connections one call may open at once (what a batch's parallel requests share). Default 8. */
  connectionsPerCall?: number;
}

/** Per-call options. */
export interface RestCallOptions {
  /** Aborting it ends the call promptly, in-flight request included, with ClusterUnreachableError `deadline`. */
  signal?: AbortSignal;
  /** The call's deadline; default the client's `callTimeoutMs`. */
  timeoutMs?: number;
}

/** What a list's `parseItem` made of one item: keep its value, report it as rejected, or skip it (`null`). */
export type ItemVerdict<T, Rejection> = { ok: true; value: T } | { ok: false; rejected: Rejection } | null;

export interface ListRequest<T, Rejection> {
  /** Validates one item. A rejected item is reported in `rejected` and the listing goes on. */
  parseItem: (raw: unknown) => ItemVerdict<T, Rejection>;
  /** Items per page (`limit`). Default 500. */
  pageSize?: number;
  /** Other list parameters: labelSelector, fieldSelector, resourceVersion, … (`limit` and `continue` are the client's). */
  query?: Record<string, string>;
}

export interface ListResult<T, Rejection> {
  items: T[];
  rejected: Rejection[];
  /** The list's resourceVersion (the snapshot its pages were served from); "" when the server sent none. */
  resourceVersion: string;
}

/** What a merge patch found. */
export type MergePatchOutcome = 'patched' | 'not-found';

/** The requests of one call: they share its deadline, signal and connection pool. */
export interface RestRequests {
  /** The object at `path` as parsed JSON, or `undefined` when it does not exist (404). */
  get(path: string, query?: Record<string, string>): Promise<unknown>;
  /** Every item of the collection at `path`, over all pages of one consistent listing. */
  list<T, Rejection>(path: string, request: ListRequest<T, Rejection>): Promise<ListResult<T, Rejection>>;
  /** Applies an RFC 7386 JSON merge patch to the object at `path`. */
  mergePatch(path: string, patch: Record<string, unknown>): Promise<MergePatchOutcome>;
  /** Applies an RFC 6902 JSON patch (`application/json-patch+json`) to the object at `path`. */
  jsonPatch(path: string, operations: readonly { op: string; path: string; value?: unknown }[]): Promise<MergePatchOutcome>;
  /** The events of the collection at `path` since `request.resourceVersion`, over one short watch. */
  watch<T, Rejection>(path: string, request: WatchRequest<T, Rejection>): Promise<WatchResult<T, Rejection> | 'expired'>;
}

export interface WatchRequest<T, Rejection> {
  resourceVersion: string;
  /** How long the server keeps the watch open (whole seconds). */
  timeoutSeconds: number;
  parseItem: (raw: unknown) => ItemVerdict<T, Rejection>;
  /** Other parameters (labelSelector, …). */
  query?: Record<string, string>;
}

export type WatchEvent<T, Rejection> =
  | { type: 'ADDED' | 'MODIFIED'; verdict: ItemVerdict<T, Rejection>; name: string | undefined }
  | { type: 'DELETED'; name: string | undefined };

export interface WatchResult<T, Rejection> {
  events: WatchEvent<T, Rejection>[];
  /** The newest version seen (an event's or a bookmark's); the request's own when nothing came. */
  resourceVersion: string;
}

const DEFAULTS = {
  pageSize: 500,
  requestTimeoutMs: 15_000,
  callTimeoutMs: 120_000,
  maxAttempts: 4,
  retryBaseDelayMs: 250,
  maxListRestarts: 3,
  maxResponseBytes: 256 * 1024 * 1024,
  connectionsPerCall: 8,
};

const listPageSchema = z.object({
  metadata: z
    .object({ resourceVersion: z.string().optional(), continue: z.string().optional() })
    .loose()
    .default({}),
  items: z.array(z.unknown()).nullish().transform((items) => items ?? []),
});

export class KubernetesRestClient {
  readonly clusterId: string;
  private readonly target: KubeconfigTarget;
  private readonly transport: TransportSettings;
  private readonly callTimeoutMs: number;
  private readonly maxListRestarts: number;
  private readonly connectionsPerCall: number;

  /** @throws ClusterConfigError when the kubeconfig or the context cannot be used. */
  constructor(options: KubernetesRestClientOptions) {
    this.clusterId = options.clusterId;
    this.transport = {
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts),
      retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULTS.maxResponseBytes,
    };
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULTS.callTimeoutMs;
    this.maxListRestarts = options.maxListRestarts ?? DEFAULTS.maxListRestarts;
    this.connectionsPerCall = Math.max(1, options.connectionsPerCall ?? DEFAULTS.connectionsPerCall);
    this.target = loadKubeconfigTarget(this.clusterId, options.kubeconfig, options.context);
  }

  /** GETs one object: its parsed JSON, or `undefined` when it does not exist (404). */
  get(path: string, options: RestCallOptions & { query?: Record<string, string> } = {}): Promise<unknown> {
    return this.batch(options, (requests) => requests.get(path, options.query));
  }

  /**
   * LISTs a collection page by page (`limit` = `pageSize`, then `continue`) and returns every item of one
   * consistent listing with the list's `resourceVersion`. When a continue token has expired (410), the listing
   * starts again from the first page, up to `maxListRestarts` times. `query` carries any other list parameter
   * (labelSelector, fieldSelector, resourceVersion, resourceVersionMatch, …).
   */
  list<T, Rejection>(path: string, request: ListRequest<T, Rejection> & RestCallOptions): Promise<ListResult<T, Rejection>> {
    return this.batch(request, (requests) => requests.list(path, request));
  }

  /** Merge-patches one object (`application/merge-patch+json`); `not-found` when it does not exist (404). */
  mergePatch(path: string, patch: Record<string, unknown>, options: RestCallOptions = {}): Promise<MergePatchOutcome> {
    return this.batch(options, (requests) => requests.mergePatch(path, patch));
  }

  /**
   * Runs `run` as one call: its requests share one deadline, one signal and a pool of `connectionsPerCall`
   * keep-alive connections, which is closed when `run` settles. Anything `run` throws comes out as a typed error.
   */
  async batch<T>(options: RestCallOptions, run: (requests: RestRequests) => Promise<T>): Promise<T> {
    const call = new RestCall(this.clusterId, options.timeoutMs ?? this.callTimeoutMs, options.signal);
    try {
      call.connection = await openConnection(this.clusterId, this.target, this.connectionsPerCall);
      return await run(this.requestsOf(call));
    } catch (error) {
      throw call.translate(error);
    } finally {
      call.close();
    }
  }

  private requestsOf(call: RestCall): RestRequests {
    const send = (request: RestRequest) => sendWithRetries(call, this.target.server, this.transport, request);
    return {
      get: async (path, query) => {
        const response = await send({ method: 'GET', path, ...(query === undefined ? {} : { query }) });
        if (response.status === 404) return undefined;
        if (response.status !== 200) throw this.unexpectedStatus(response, `reading ${path}`);
        return this.parseJson(response, 'an object');
      },
      list: async (path, request) => {
        for (let restarts = 0; ; restarts++) {
          const listing = await this.listOnce(send, path, request);
          if (listing !== 'expired') return listing;
          if (restarts >= this.maxListRestarts) {
            throw new ClusterListingError(
              this.clusterId,
              `listing ${path}: the continue token expired (410) on ${restarts + 1} fresh starts in a row`,
              410,
            );
          }
        }
      },
      jsonPatch: async (path, operations) => {
        const body = Buffer.from(JSON.stringify(operations), 'utf8');
        const response = await send({ method: 'PATCH', path, payload: { contentType: 'application/json-patch+json', body } });
        if (response.status === 404) return 'not-found';
        if (response.status !== 200) throw this.unexpectedStatus(response, `patching ${path}`);
        return 'patched';
      },
      watch: async (path, request) => {
        const query = {
          ...request.query,
          watch: '1',
          resourceVersion: request.resourceVersion,
          timeoutSeconds: String(request.timeoutSeconds),
          allowWatchBookmarks: 'true',
        };
        const response = await send({ method: 'GET', path, query });
        if (response.status === 410) return 'expired';
        if (response.status !== 200) throw this.unexpectedStatus(response, `watching ${path}`);
        return this.parseWatch(path, response, request);
      },
      mergePatch: async (path, patch) => {
        const body = Buffer.from(JSON.stringify(patch), 'utf8');
        const response = await send({ method: 'PATCH', path, payload: { contentType: 'application/merge-patch+json', body } });
        if (response.status === 404) return 'not-found';
        if (response.status !== 200) throw this.unexpectedStatus(response, `patching ${path}`);
        return 'patched';
      },
    };
  }

  /** One listing from its first page to its last; `expired` when a page answered 410. */
  private async listOnce<T, Rejection>(
    send: (request: RestRequest) => Promise<RawResponse>,
    path: string,
    { parseItem, pageSize = DEFAULTS.pageSize, query = {} }: ListRequest<T, Rejection>,
  ): Promise<ListResult<T, Rejection> | 'expired'> {
    const items: T[] = [];
    const rejected: Rejection[] = [];
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const pageQuery: Record<string, string> = { ...query, limit: String(pageSize) };
      delete pageQuery.continue;
      if (continueToken !== undefined) pageQuery.continue = continueToken;
      const response = await send({ method: 'GET', path, query: pageQuery });
      if (response.status === 410) return 'expired';
      if (response.status !== 200) throw this.unexpectedStatus(response, `listing ${path}`);
      const page = listPageSchema.safeParse(this.parseJson(response, 'a list'));
      if (!page.success) throw new ClusterListingError(this.clusterId, `listing ${path}: the response is not a Kubernetes list`);
      for (const raw of page.data.items) {
        const verdict = parseItem(raw);
        if (verdict === null) continue;
        if (verdict.ok) items.push(verdict.value);
        else rejected.push(verdict.rejected);
      }
      resourceVersion ??= page.data.metadata.resourceVersion;
      continueToken = page.data.metadata.continue === '' ? undefined : page.data.metadata.continue;
    } while (continueToken !== undefined);
    return { items, rejected, resourceVersion: resourceVersion ?? '' };
  }

  private parseWatch<T, Rejection>(path: string, response: RawResponse, request: WatchRequest<T, Rejection>): WatchResult<T, Rejection> | 'expired' {
    const events: WatchEvent<T, Rejection>[] = [];
    let resourceVersion = request.resourceVersion;
    const newer = (candidate: unknown) => {
      // resourceVersions are opaque, but kube-apiserver's are etcd revisions: keep the largest one seen
      if (typeof candidate === 'string' && /^\d+$/.test(candidate) && (!/^\d+$/.test(resourceVersion) || BigInt(candidate) > BigInt(resourceVersion))) {
        resourceVersion = candidate;
      }
    };
    for (const line of response.body.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      let event: { type?: unknown; object?: { code?: unknown; metadata?: { name?: unknown; resourceVersion?: unknown } } };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        throw new ClusterListingError(this.clusterId, `watching ${path}: an event is not JSON (the stream was cut?)`);
      }
      const metadata = event.object?.metadata;
      const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
      switch (event.type) {
        case 'ERROR':
          if (event.object?.code === 410) return 'expired';
          throw new ClusterListingError(this.clusterId, `watching ${path}: the server sent an error event (${String(event.object?.code)})`);
        case 'BOOKMARK':
          newer(metadata?.resourceVersion);
          break;
        case 'ADDED':
        case 'MODIFIED':
          events.push({ type: event.type, verdict: request.parseItem(event.object), name });
          newer(metadata?.resourceVersion);
          break;
        case 'DELETED':
          events.push({ type: 'DELETED', name });
          newer(metadata?.resourceVersion);
          break;
        default:
          throw new ClusterListingError(this.clusterId, `watching ${path}: unknown event type`);
      }
    }
    return { events, resourceVersion };
  }

  private parseJson(response: RawResponse, what: string): unknown {
    try {
      return JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new ClusterListingError(this.clusterId, `expected ${what} as JSON, got an unparseable body`, response.status);
    }
  }

  private unexpectedStatus(response: RawResponse, doing: string): ClusterListingError {
    const message = statusMessage(response);
    return new ClusterListingError(
      this.clusterId,
      `${doing}: unexpected status ${response.status}${message === undefined ? '' : ` (${message})`}`,
      response.status,
    );
  }
}

/**
 * The URL path of a resource collection, or of one object when `name` is given; every segment is
 * percent-encoded. The core group is `''` (or absent): `/api/v1/…`; others: `/apis/<group>/<version>/…`.
 * Without `namespace`, the path is cluster-scoped.
 */
export function resourcePath(resource: { group?: string; version: string; plural: string; namespace?: string; name?: string }): string {
  const { group, version, plural, namespace, name } = resource;
  const segments = group === undefined || group === '' ? ['api', version] : ['apis', group, version];
  if (namespace !== undefined) segments.push('namespaces', namespace);
  segments.push(plural);
  if (name !== undefined) segments.push(name);
  return segments.map((segment) => `/${encodeURIComponent(segment)}`).join('');
}
