/**
 * The ClusterSource adapter for a real kube-apiserver.
 *
 * `@kubernetes/client-node` (1.4.x; 2.x crashes on Node 20, SPEC §5) parses the kubeconfig and produces the TLS
 * material and the Authorization header for every auth method it supports (token, tokenFile, client certs, exec).
 * The requests themselves go through `node:https`: the generated 1.4 API clients have no per-request timeout, no
 * way to tell a dropped connection from a bad status, and their errors carry the raw response; here every failure
 * becomes one of the port's typed errors, with bounded retries, a per-request timeout and a per-call deadline.
 *
 * ## Hash Secrets: least access first, then least load
 * Rancher 2.13 writes each token's hash into an Opaque Secret of the same name in cattle-system, with no labels
 * and no ownerReferences (rancher/rancher `pkg/controllers/managementuser/clusterauthtoken/common`:
 * `NewClusterAuthTokenSecretForName`), so no label selector can single them out; the best a list can do is the
 * field selector `type=Opaque`, which still returns Rancher's agent credentials (`cattle-credentials-*`), and
 * would need `list secrets`, which hands the sync credential every Secret in cattle-system.
 * `readHashSecrets(names)` does one GET per named Secret instead. RBAC `get` on secrets only: the credential
 * cannot enumerate cattle-system's Secrets, and the audit log shows exactly which ones it read. Load is one
 * request per token read, so the sync should read only tokens whose `hash` is "" and that are new or changed
 * since the last sync (Rancher writes the Secret before the token and never changes a token's hash afterwards); a
 * steady cluster then costs zero Secret requests.
 * Only the `hash` of a hash Secret is kept; other Secrets are dropped as soon as they are parsed.
 *
 * RBAC (namespace cattle-system): clusterauthtokens.cluster.cattle.io and clusteruserattributes.cluster.cattle.io:
 * get, list, patch; secrets: get.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  ClusterConfigError,
  ClusterForbiddenError,
  ClusterListingError,
  ClusterSourceError,
  ClusterUnreachableError,
  type CallOptions,
  type ClusterListing,
  type ClusterSource,
  type HashSecretReads,
  type PatchOutcome,
} from '../../core/ports/cluster-source.ts';
import {
  parseClusterAuthToken,
  parseClusterUserAttribute,
  parseHashSecret,
  type ClusterAuthToken,
  type ClusterUserAttribute,
  type Parsed,
  type RejectedObject,
} from './rancher-objects.ts';

export interface KubernetesClusterSourceOptions {
  clusterId: string;
  /** The kubeconfig document (YAML or JSON). */
  kubeconfig: string;
  /** Default: the kubeconfig's current-context. */
  context?: string;
  /** Default `cattle-system`. */
  namespace?: string;
  /** Items per list page. Default 500. */
  pageSize?: number;
  /** One HTTP request, connect to last byte. Default 15 s. */
  requestTimeoutMs?: number;
  /** One port call (a whole listing with its retries and restarts). Default 120 s. */
  callTimeoutMs?: number;
  /** Tries per request on connection errors, timeouts, 429 and 5xx. Default 4. */
  maxAttempts?: number;
  /** First backoff delay; doubles per try, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Fresh starts of a listing after its continue token expired (410). Default 3. */
  maxListRestarts?: number;
  /** Parallel GETs in `readHashSecrets`. Default 8. */
  secretReadConcurrency?: number;
  /** Largest accepted response body. Default 256 MiB. */
  maxResponseBytes?: number;
}

const DEFAULTS = {
  namespace: 'cattle-system',
  pageSize: 500,
  requestTimeoutMs: 15_000,
  callTimeoutMs: 120_000,
  maxAttempts: 4,
  retryBaseDelayMs: 250,
  maxListRestarts: 3,
  secretReadConcurrency: 8,
  maxResponseBytes: 256 * 1024 * 1024,
};

/** Longest Retry-After we honour; beyond it we back off as usual. */
const MAX_RETRY_AFTER_MS = 5_000;

/** TLS verification failures: retrying cannot help. */
const PERMANENT_NETWORK_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ENOTFOUND',
]);

const CATTLE_GROUP_VERSION = '/apis/cluster.cattle.io/v3';

/**
 * Builds the ClusterSource of one cluster from its kubeconfig.
 * @throws ClusterConfigError when the kubeconfig or the context cannot be used.
 */
export function createKubernetesClusterSource(options: KubernetesClusterSourceOptions): ClusterSource {
  return new KubernetesClusterSource(options);
}

interface Connection {
  headers: Record<string, string>;
  agent: http.Agent;
  transport: typeof https | typeof http;
  close(): void;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Why a single HTTP attempt failed before a complete response arrived. */
class AttemptFailure extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'too-large',
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

const listPageSchema = z.object({
  metadata: z
    .object({ resourceVersion: z.string().optional(), continue: z.string().optional() })
    .loose()
    .default({}),
  items: z.array(z.unknown()).nullish().transform((items) => items ?? []),
});

const statusSchema = z.object({ message: z.string().optional(), reason: z.string().optional() }).loose();

class KubernetesClusterSource implements ClusterSource {
  readonly clusterId: string;
  private readonly kubeConfig: KubeConfig;
  private readonly server: URL;
  private readonly settings: typeof DEFAULTS;

  constructor(options: KubernetesClusterSourceOptions) {
    this.clusterId = options.clusterId;
    this.settings = {
      namespace: options.namespace ?? DEFAULTS.namespace,
      pageSize: options.pageSize ?? DEFAULTS.pageSize,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      callTimeoutMs: options.callTimeoutMs ?? DEFAULTS.callTimeoutMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts),
      retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs,
      maxListRestarts: options.maxListRestarts ?? DEFAULTS.maxListRestarts,
      secretReadConcurrency: Math.max(1, options.secretReadConcurrency ?? DEFAULTS.secretReadConcurrency),
      maxResponseBytes: options.maxResponseBytes ?? DEFAULTS.maxResponseBytes,
    };
    this.kubeConfig = new KubeConfig();
    try {
      this.kubeConfig.loadFromString(options.kubeconfig);
    } catch {
      // the parser's message can quote the offending line, which may hold the token
      throw new ClusterConfigError(this.clusterId, 'the kubeconfig cannot be parsed');
    }
    if (options.context !== undefined) {
      if (this.kubeConfig.getContextObject(options.context) === null) {
        throw new ClusterConfigError(this.clusterId, `the kubeconfig has no context ${JSON.stringify(options.context)}`);
      }
      this.kubeConfig.setCurrentContext(options.context);
    }
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null || cluster.server === '') {
      throw new ClusterConfigError(this.clusterId, 'the kubeconfig context names no cluster with a server');
    }
    if (this.kubeConfig.getCurrentUser() === null) {
      throw new ClusterConfigError(this.clusterId, 'the kubeconfig context names no user');
    }
    try {
      this.server = new URL(cluster.server);
    } catch {
      throw new ClusterConfigError(this.clusterId, 'the kubeconfig server is not a URL');
    }
  }

  listTokens(options: CallOptions = {}): Promise<ClusterListing<ClusterAuthToken>> {
    return this.withCall(options, (call) =>
      this.listAll(call, `${CATTLE_GROUP_VERSION}/namespaces/${this.namespacePath()}/clusterauthtokens`, parseClusterAuthToken),
    );
  }

  listUserAttributes(options: CallOptions = {}): Promise<ClusterListing<ClusterUserAttribute>> {
    return this.withCall(options, (call) =>
      this.listAll(call, `${CATTLE_GROUP_VERSION}/namespaces/${this.namespacePath()}/clusteruserattributes`, parseClusterUserAttribute),
    );
  }

  readHashSecrets(names: readonly string[], options: CallOptions = {}): Promise<HashSecretReads> {
    if (names.length === 0) return Promise.resolve({ found: [], missing: [], rejected: [] });
    return this.withCall(options, async (call) => {
      const result: HashSecretReads = { found: [], missing: [], rejected: [] };
      const queue = [...new Set(names)];
      const worker = async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          const path = `/api/v1/namespaces/${this.namespacePath()}/secrets/${encodeURIComponent(name)}`;
          const response = await this.send(call, 'GET', path);
          if (response.status === 404) {
            result.missing.push(name);
            continue;
          }
          if (response.status !== 200) throw this.unexpectedStatus(response, `reading the hash Secret ${JSON.stringify(name)}`);
          const parsed = parseHashSecret(this.parseJson(response, 'a Secret'));
          if (parsed === null) result.missing.push(name);
          else if (parsed.ok) result.found.push(parsed.value);
          else result.rejected.push(parsed.rejected);
        }
      };
      const workers = Array.from({ length: Math.min(this.settings.secretReadConcurrency, queue.length) }, worker);
      // the first failure aborts the call, so the other workers stop at their next request
      await Promise.all(workers.map((running) => running.catch((error: unknown) => call.fail(error))));
      call.throwIfFailed();
      return result;
    });
  }

  async patchTokenLastUsed(name: string, lastUsedAt: Date, options: CallOptions = {}): Promise<PatchOutcome> {
    if (Number.isNaN(lastUsedAt.getTime())) throw new TypeError('lastUsedAt is not a valid date');
    // metav1.Time is RFC 3339 with second precision
    const iso = lastUsedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return this.mergePatch(options, 'clusterauthtokens', name, { lastUsedAt: iso });
  }

  patchUserNeedsRefresh(name: string, options: CallOptions = {}): Promise<PatchOutcome> {
    return this.mergePatch(options, 'clusteruserattributes', name, { needsRefresh: true });
  }

  // ----- internals -----------------------------------------------------------------------------------------------

  private mergePatch(options: CallOptions, plural: string, name: string, patch: Record<string, unknown>): Promise<PatchOutcome> {
    return this.withCall(options, async (call) => {
      const path = `${CATTLE_GROUP_VERSION}/namespaces/${this.namespacePath()}/${plural}/${encodeURIComponent(name)}`;
      const response = await this.send(call, 'PATCH', path, {}, {
        contentType: 'application/merge-patch+json',
        body: Buffer.from(JSON.stringify(patch), 'utf8'),
      });
      if (response.status === 404) return 'not-found';
      if (response.status !== 200) throw this.unexpectedStatus(response, `patching ${plural} ${JSON.stringify(name)}`);
      return 'patched';
    });
  }

  private namespacePath(): string {
    return encodeURIComponent(this.settings.namespace);
  }

  private async listAll<T>(
    call: Call,
    path: string,
    parse: (raw: unknown) => Parsed<T> | null,
    extraQuery: Record<string, string> = {},
  ): Promise<ClusterListing<T>> {
    for (let restarts = 0; ; restarts++) {
      const items: T[] = [];
      const rejected: RejectedObject[] = [];
      let resourceVersion: string | undefined;
      let continueToken: string | undefined;
      let expired = false;
      do {
        const query: Record<string, string> = { limit: String(this.settings.pageSize), ...extraQuery };
        if (continueToken !== undefined) query.continue = continueToken;
        const response = await this.send(call, 'GET', path, query);
        if (response.status === 410) {
          expired = true;
          break;
        }
        if (response.status !== 200) throw this.unexpectedStatus(response, `listing ${path}`);
        const page = listPageSchema.safeParse(this.parseJson(response, 'a list'));
        if (!page.success) throw new ClusterListingError(this.clusterId, `listing ${path}: the response is not a Kubernetes list`);
        for (const raw of page.data.items) {
          const parsed = parse(raw);
          if (parsed === null) continue;
          if (parsed.ok) items.push(parsed.value);
          else rejected.push(parsed.rejected);
        }
        resourceVersion ??= page.data.metadata.resourceVersion;
        continueToken = page.data.metadata.continue === '' ? undefined : page.data.metadata.continue;
      } while (continueToken !== undefined);
      if (!expired) return { items, resourceVersion: resourceVersion ?? '', rejected };
      if (restarts >= this.settings.maxListRestarts) {
        throw new ClusterListingError(
          this.clusterId,
          `listing ${path}: the continue token expired (410) on ${restarts + 1} fresh starts in a row`,
          410,
        );
      }
    }
  }

  /** Runs one port call with its deadline and its own connection pool. */
  private async withCall<T>(options: CallOptions, run: (call: Call) => Promise<T>): Promise<T> {
    const call = new Call(this.clusterId, this.settings.callTimeoutMs, options.signal);
    try {
      call.connection = await this.connect();
      return await run(call);
    } catch (error) {
      throw call.translate(error);
    } finally {
      call.dispose();
    }
  }

  private async connect(): Promise<Connection> {
    const options: https.RequestOptions = {};
    try {
      await this.kubeConfig.applyToHTTPSOptions(options);
    } catch {
      throw new ClusterConfigError(this.clusterId, 'could not obtain credentials from the kubeconfig user');
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string' || typeof value === 'number') headers[key] = String(value);
    }
    if (typeof options.auth === 'string' && options.auth !== '') {
      headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    }
    const cluster = this.kubeConfig.getCurrentCluster();
    const plainHttp = this.server.protocol === 'http:';
    const libraryAgent = options.agent instanceof http.Agent ? options.agent : undefined;
    if (cluster?.proxyUrl !== undefined || plainHttp) {
      if (libraryAgent === undefined) throw new ClusterConfigError(this.clusterId, 'the kubeconfig yields no HTTP agent');
      return { headers, agent: libraryAgent, transport: plainHttp ? http : https, close: () => libraryAgent.destroy() };
    }
    libraryAgent?.destroy();
    // our own agent, so that the connections of one call are kept alive and reused across its requests
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: this.settings.secretReadConcurrency,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.pfx === undefined ? {} : { pfx: options.pfx }),
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
      ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
      ...(options.servername === undefined ? {} : { servername: options.servername }),
    });
    return { headers, agent, transport: https, close: () => agent.destroy() };
  }

  /**
   * Sends one request with retries on connection errors, timeouts, 429 and 5xx. Returns any other response
   * (2xx, 404, 409, 410, …) for the caller to judge; 401 and 403 become ClusterForbiddenError at once.
   */
  private async send(
    call: Call,
    method: string,
    path: string,
    query: Record<string, string> = {},
    payload?: { contentType: string; body: Buffer },
  ): Promise<RawResponse> {
    const url = new URL(this.server.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const description = `${method} ${path}`;
    let lastFailure = '';
    let lastReason: ClusterUnreachableError['reason'] = 'network';
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      call.throwIfAborted();
      let retryAfterMs: number | undefined;
      try {
        const response = await this.attempt(call, method, url, payload);
        if (response.status === 401 || response.status === 403) {
          throw new ClusterForbiddenError(
            this.clusterId,
            response.status,
            `${description}: ${response.status} ${statusMessage(response) ?? (response.status === 401 ? 'Unauthorized' : 'Forbidden')}`,
          );
        }
        if (response.status !== 429 && response.status < 500) return response;
        lastReason = 'server-error';
        lastFailure = `${response.status} ${statusMessage(response) ?? ''}`.trim();
        retryAfterMs = retryAfter(response);
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error;
        call.throwIfAborted();
        if (error.kind === 'too-large') throw new ClusterListingError(this.clusterId, `${description}: ${error.message}`);
        lastReason = error.kind;
        lastFailure = error.message;
        if (error.permanent) break;
      }
      if (attempt < this.settings.maxAttempts) {
        const backoff = this.settings.retryBaseDelayMs * 2 ** (attempt - 1);
        const jittered = backoff / 2 + Math.random() * (backoff / 2);
        await call.sleep(retryAfterMs !== undefined && retryAfterMs <= MAX_RETRY_AFTER_MS ? Math.max(retryAfterMs, jittered) : jittered);
      }
    }
    throw new ClusterUnreachableError(
      this.clusterId,
      lastReason,
      `${description} failed after ${this.settings.maxAttempts} attempt(s): ${lastFailure}`,
    );
  }

  private attempt(call: Call, method: string, url: URL, payload?: { contentType: string; body: Buffer }): Promise<RawResponse> {
    const connection = call.connection;
    if (connection === undefined) throw new Error('no connection');
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    const maxBytes = this.settings.maxResponseBytes;
    const headers: Record<string, string> = { ...connection.headers, Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = payload.contentType;
      headers['Content-Length'] = String(payload.body.length);
    }
    return new Promise<RawResponse>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (timeout.aborted && !call.signal.aborted) {
          reject(new AttemptFailure('timeout', `no complete answer within ${this.settings.requestTimeoutMs} ms`, false));
        } else if (error instanceof AttemptFailure) {
          reject(error);
        } else {
          const code = (error as { code?: unknown }).code;
          const text = typeof code === 'string' ? code : error instanceof Error ? error.message : 'connection failed';
          reject(new AttemptFailure('network', text, typeof code === 'string' && PERMANENT_NETWORK_CODES.has(code)));
        }
      };
      const request = connection.transport.request(url, { method, headers, agent: connection.agent, signal }, (response) => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBytes) {
            response.destroy();
            fail(new AttemptFailure('too-large', `the response exceeds ${maxBytes} bytes`, true));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('aborted', () => fail(new AttemptFailure('network', 'the connection closed mid-response', false)));
        response.on('end', () => {
          if (!response.complete) {
            fail(new AttemptFailure('network', 'the connection closed mid-response', false));
            return;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
        });
      });
      request.on('error', fail);
      request.end(payload?.body);
    });
  }

  private parseJson(response: RawResponse, what: string): unknown {
    try {
      return JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new ClusterListingError(this.clusterId, `expected ${what} as JSON, got an unparseable body`, response.status);
    }
  }

  private unexpectedStatus(response: RawResponse, doing: string): ClusterSourceError {
    const message = statusMessage(response);
    return new ClusterListingError(
      this.clusterId,
      `${doing}: unexpected status ${response.status}${message === undefined ? '' : ` (${message})`}`,
      response.status,
    );
  }
}

/** The lifetime of one port call: its deadline, its connection, the first failure of its parallel requests. */
class Call {
  readonly signal: AbortSignal;
  connection: Connection | undefined;
  private readonly internal = new AbortController();
  private readonly deadline: AbortSignal;
  private failure: unknown;

  constructor(
    private readonly clusterId: string,
    private readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.deadline = AbortSignal.timeout(timeoutMs);
    const signals = [this.deadline, this.internal.signal];
    if (callerSignal !== undefined) signals.push(callerSignal);
    this.signal = AbortSignal.any(signals);
  }

  /** Records the first failure and stops the call's other requests. */
  fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error;
    this.internal.abort();
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  throwIfAborted(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.callerSignal?.aborted === true) {
      throw new ClusterUnreachableError(this.clusterId, 'deadline', 'aborted by the caller’s deadline');
    }
    if (this.deadline.aborted) {
      throw new ClusterUnreachableError(this.clusterId, 'deadline', `the call did not finish within ${this.timeoutMs} ms`);
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        try {
          this.throwIfAborted();
        } catch (error) {
          reject(error);
        }
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Maps anything that escaped a call to the port's typed errors. */
  translate(error: unknown): ClusterSourceError {
    if (error instanceof ClusterSourceError) return error;
    try {
      this.throwIfAborted();
    } catch (aborted) {
      if (aborted instanceof ClusterSourceError) return aborted;
    }
    return new ClusterListingError(this.clusterId, 'unexpected failure', undefined, { cause: error });
  }

  dispose(): void {
    this.connection?.close();
  }
}

function statusMessage(response: RawResponse): string | undefined {
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
