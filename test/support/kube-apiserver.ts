/**
 * A faithful, in-process stand-in for a Kubernetes API server, for tests and benchmarks.
 *
 * It speaks enough of the real protocol that the real `kubectl` and `@kubernetes/client-node` work against it:
 * HTTPS with its own CA, bearer-token authentication (401) and RBAC-like authorisation (403), legacy discovery,
 * namespaced list/get/merge-patch of `clusterauthtokens` and `clusteruserattributes` (group cluster.cattle.io/v3)
 * and core `secrets`, paging with `limit`/`continue` over a consistent snapshot, a global resourceVersion counter,
 * 410 Expired for stale continue tokens, `Status` bodies for every error, server-side `Table` output for kubectl,
 * and fault injection (error statuses, delays, connections cut mid-body) per path pattern.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';

const execFileAsync = promisify(execFile);

export const RANCHER_NAMESPACE = 'cattle-system';

/** The resources this server serves, by their plural (URL) name. */
export type ResourceName = 'clusterauthtokens' | 'clusteruserattributes' | 'secrets' | 'daemonsets';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** A stored Kubernetes object: apiVersion, kind and metadata as the apiserver fills them, other fields free. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

export interface KubeObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** What a test hands in: at least a name; the server fills apiVersion, kind, namespace, uid, timestamps. */
export interface ObjectInput {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

/** One RBAC PolicyRule, reduced to what matters here (the API group is implied by the resource). */
export interface AccessRule {
  resources: ResourceName[] | '*';
  verbs: Verb[] | '*';
  /** Restricts get/patch to these object names, like a Role's resourceNames. List is never allowed by it. */
  resourceNames?: string[];
}

export interface UserGrant {
  /** Shown in 403 messages, e.g. `system:serviceaccount:cattle-system:tokengate-sync`. */
  username: string;
  rules: AccessRule[];
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Kubernetes verb: list/get/patch/…; `discovery` for discovery documents; `unknown` otherwise. */
  verb: Verb | 'discovery' | 'unknown';
  resource?: ResourceName;
  name?: string;
  /** Authenticated user name, undefined when authentication failed. */
  username?: string;
  status: number;
  /** Set when an injected fault applied to this request. */
  fault?: 'status' | 'cut' | 'delay' | 'hang' | 'expire';
}

export interface AppliedPatch {
  resource: ResourceName;
  namespace: string;
  name: string;
  contentType: string;
  patch: unknown;
  username: string;
  /** resourceVersion after the patch (unchanged when the patch was a no-op). */
  resourceVersion: string;
}

/** Which requests a fault applies to: a substring or regex of `METHOD /path?query`, or a predicate. */
export type RequestMatcher = string | RegExp | ((request: { method: string; url: string }) => boolean);

export interface FaultOptions {
  /** Default: every request. Matched against `METHOD /path?query`, e.g. /GET .*\/secrets/ or 'continue='. */
  match?: RequestMatcher;
  /** How many matching requests the fault applies to. Default 1. Infinity is allowed. */
  times?: number;
}

export interface KubeApiServerOptions {
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  /** Extra users besides the admin; key is the bearer token. */
  users?: Record<string, UserGrant>;
  /** How many list snapshots (for continue tokens) are kept before the oldest expires, like etcd compaction. */
  retainedSnapshots?: number;
  /** Reported by /version. */
  gitVersion?: string;
  /**
   * Whether Rancher runs ACE for this cluster, i.e. whether the `kube-api-auth` DaemonSet exists in cattle-system
   * (Rancher deploys it while ACE is on and deletes it when ACE is switched off). Default true.
   */
  aceEnabled?: boolean;
}

interface ResourceDefinition {
  name: ResourceName;
  group: string;
  version: string;
  kind: string;
  singularName: string;
  shortNames?: string[];
  /** Field selectors the real apiserver supports for this resource. */
  fieldSelectors: string[];
}

const RESOURCES: Record<ResourceName, ResourceDefinition> = {
  clusterauthtokens: {
    name: 'clusterauthtokens',
    group: 'cluster.cattle.io',
    version: 'v3',
    kind: 'ClusterAuthToken',
    singularName: 'clusterauthtoken',
    fieldSelectors: ['metadata.name', 'metadata.namespace'],
  },
  clusteruserattributes: {
    name: 'clusteruserattributes',
    group: 'cluster.cattle.io',
    version: 'v3',
    kind: 'ClusterUserAttribute',
    singularName: 'clusteruserattribute',
    fieldSelectors: ['metadata.name', 'metadata.namespace'],
  },
  daemonsets: {
    name: 'daemonsets',
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    singularName: 'daemonset',
    fieldSelectors: ['metadata.name', 'metadata.namespace'],
  },
  secrets: {
    name: 'secrets',
    group: '',
    version: 'v1',
    kind: 'Secret',
    singularName: 'secret',
    fieldSelectors: ['metadata.name', 'metadata.namespace', 'type'],
  },
};

function apiVersionOf(def: ResourceDefinition): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

function qualifiedName(def: ResourceDefinition): string {
  return def.group === '' ? def.name : `${def.name}.${def.group}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates

export interface TestCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const CERT_CACHE_DIR = path.join(os.tmpdir(), 'tokengate-test-kube-apiserver-certs-v1');

/**
 * Returns a CA and a server certificate for 127.0.0.1/localhost, generated once with the `openssl` CLI and
 * cached under the OS temp dir (parallel test workers race safely: the first complete directory wins).
 */
export async function testCertificates(): Promise<TestCertificates> {
  try {
    return await readCertificates(CERT_CACHE_DIR);
  } catch {
    // not cached yet (or a partial directory from an interrupted run): generate below
  }
  const work = await mkdtemp(path.join(os.tmpdir(), 'tokengate-certs-'));
  const run = (args: string[]) => execFileAsync('openssl', args, { cwd: work });
  await run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  await run(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650', '-subj', '/CN=tokengate-test-ca', '-out', 'ca.crt']);
  await run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key']);
  await run(['req', '-new', '-key', 'server.key', '-subj', '/CN=kube-apiserver', '-out', 'server.csr']);
  await writeFile(
    path.join(work, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  await run([
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '3650',
    '-sha256', '-extfile', 'ext.cnf', '-out', 'server.crt',
  ]);
  const generated = await readCertificates(work);
  await mkdir(path.dirname(CERT_CACHE_DIR), { recursive: true });
  try {
    await rename(work, CERT_CACHE_DIR);
    return generated;
  } catch {
    // another worker won the race (its certificates are as good as ours), or an interrupted run left a broken cache
  }
  try {
    const cached = await readCertificates(CERT_CACHE_DIR);
    await rm(work, { recursive: true, force: true });
    return cached;
  } catch {
    await rm(CERT_CACHE_DIR, { recursive: true, force: true });
    await rename(work, CERT_CACHE_DIR).catch(() => rm(work, { recursive: true, force: true }));
    return generated;
  }
}

async function readCertificates(dir: string): Promise<TestCertificates> {
  const [caPem, certPem, keyPem] = await Promise.all([
    readFile(path.join(dir, 'ca.crt'), 'utf8'),
    readFile(path.join(dir, 'server.crt'), 'utf8'),
    readFile(path.join(dir, 'server.key'), 'utf8'),
  ]);
  if (!caPem.includes('END CERTIFICATE') || !certPem.includes('END CERTIFICATE') || !keyPem.includes('PRIVATE KEY')) {
    throw new Error(`incomplete certificates in ${dir}`);
  }
  return { caPem, certPem, keyPem };
}

// ---------------------------------------------------------------------------------------------------------------
// Real-shaped object builders (what Rancher writes into the downstream cluster)

export interface ClusterAuthTokenFields {
  name: string;
  userName: string;
  enabled?: boolean;
  /** RFC 3339; absent or "" means never expires. Left out of the object when undefined, as Rancher does. */
  expiresAt?: string;
  /** "" in the Rancher 2.13 layout, where the hash lives in a Secret of the same name. */
  hash?: string;
  lastUsedAt?: string;
  namespace?: string;
}

/** A ClusterAuthToken as Rancher's controller creates it (fields at the top level, no spec). */
export function clusterAuthToken(fields: ClusterAuthTokenFields): ObjectInput {
  const object: ObjectInput = {
    apiVersion: 'cluster.cattle.io/v3',
    kind: 'ClusterAuthToken',
    metadata: { name: fields.name, namespace: fields.namespace ?? RANCHER_NAMESPACE },
    userName: fields.userName,
    enabled: fields.enabled ?? true,
    hash: fields.hash ?? '',
  };
  // Rancher's Go type has `expiresAt,omitempty` and `lastUsedAt,omitempty`
  if (fields.expiresAt !== undefined) object.expiresAt = fields.expiresAt;
  if (fields.lastUsedAt !== undefined) object.lastUsedAt = fields.lastUsedAt;
  return object;
}

export interface ClusterUserAttributeFields {
  /** The Rancher user id, e.g. `u-abc12`. */
  name: string;
  groups?: string[];
  enabled?: boolean;
  extraByProvider?: Record<string, Record<string, string[]>>;
  lastRefresh?: string;
  needsRefresh?: boolean;
  namespace?: string;
}

/** A ClusterUserAttribute as Rancher's controller creates it. */
export function clusterUserAttribute(fields: ClusterUserAttributeFields): ObjectInput {
  const object: ObjectInput = {
    apiVersion: 'cluster.cattle.io/v3',
    kind: 'ClusterUserAttribute',
    metadata: { name: fields.name, namespace: fields.namespace ?? RANCHER_NAMESPACE },
    enabled: fields.enabled ?? true,
    needsRefresh: fields.needsRefresh ?? false,
  };
  // Rancher's Go type has `groups,omitempty`, `lastRefresh,omitempty`, `extraByProvider,omitempty`
  if (fields.groups !== undefined && fields.groups.length > 0) object.groups = fields.groups;
  if (fields.lastRefresh !== undefined) object.lastRefresh = fields.lastRefresh;
  if (fields.extraByProvider !== undefined) object.extraByProvider = fields.extraByProvider;
  return object;
}

/** The Opaque Secret Rancher 2.13 writes next to a ClusterAuthToken: same name, no labels, `data.hash`. */
export function hashSecret(name: string, hash: string, namespace = RANCHER_NAMESPACE): ObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: { hash: Buffer.from(hash, 'utf8').toString('base64') },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The server

interface Fault {
  kind: 'status' | 'delay' | 'cut' | 'hang' | 'expire';
  match: RequestMatcher | undefined;
  remaining: number;
  status?: number;
  delayMs?: number;
  /** For `cut`: the fraction of the body written before the socket is destroyed. */
  fraction?: number;
}

interface Snapshot {
  resourceVersion: number;
  items: KubeObject[];
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly extraMetadata?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The admin user, allowed everything. */
const ADMIN_USERNAME = 'kubernetes-admin';

/**
 * A running test apiserver. Create with {@link startKubeApiServer}; always {@link TestKubeApiServer.close} it.
 */
export class TestKubeApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly caPem: string;
  /** A bearer token allowed everything. */
  readonly adminToken: string;

  /** Every request in arrival order (including discovery and failed ones). */
  readonly requests: RequestRecord[] = [];
  /** Every merge patch applied (not the rejected ones), in order. */
  readonly patches: AppliedPatch[] = [];

  private readonly users = new Map<string, UserGrant>();
  private readonly stores = new Map<ResourceName, Map<string, KubeObject>>();
  private readonly sortedCache = new Map<string, KubeObject[]>();
  private readonly snapshots = new Map<number, Map<string, KubeObject[]>>();
  private readonly retainedSnapshots: number;
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private requestWaiters: Array<{ predicate: (request: RequestRecord) => boolean; resolve: (request: RequestRecord) => void }> = [];
  private readonly gitVersion: string;
  private resourceVersion = 1000;

  /** @internal use {@link startKubeApiServer} */
  constructor(
    private readonly server: https.Server,
    port: number,
    caPem: string,
    options: KubeApiServerOptions,
  ) {
    this.port = port;
    this.url = `https://127.0.0.1:${port}`;
    this.caPem = caPem;
    this.adminToken = `admin-${randomBytes(16).toString('hex')}`;
    this.retainedSnapshots = options.retainedSnapshots ?? 64;
    this.gitVersion = options.gitVersion ?? 'v1.32.4';
    this.users.set(this.adminToken, { username: ADMIN_USERNAME, rules: [{ resources: '*', verbs: '*' }] });
    for (const [token, grant] of Object.entries(options.users ?? {})) this.users.set(token, grant);
    for (const name of Object.keys(RESOURCES) as ResourceName[]) this.stores.set(name, new Map());
    if (options.aceEnabled ?? true) this.upsert('daemonsets', kubeApiAuthDaemonSet());
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    });
  }

  // ----- users ---------------------------------------------------------------------------------------------------

  /** Registers a bearer token with its grants (replaces an existing one). */
  addUser(token: string, grant: UserGrant): void {
    this.users.set(token, grant);
  }

  removeUser(token: string): void {
    this.users.delete(token);
  }

  // ----- objects -------------------------------------------------------------------------------------------------

  /** The current global resourceVersion (bumped on every mutation, like etcd's revision). */
  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  /**
   * Creates or replaces an object, filling apiVersion, kind, namespace (cattle-system), uid, creationTimestamp and a
   * new resourceVersion. A replaced object keeps its uid and creationTimestamp. Returns the stored object.
   */
  upsert(resource: ResourceName, input: ObjectInput): KubeObject {
    const def = RESOURCES[resource];
    const store = this.storeOf(resource);
    const namespace = input.metadata.namespace ?? RANCHER_NAMESPACE;
    const key = `${namespace}/${input.metadata.name}`;
    const existing = store.get(key);
    const stored: KubeObject = {
      ...structuredClone(input),
      apiVersion: apiVersionOf(def),
      kind: def.kind,
      metadata: {
        ...structuredClone(input.metadata),
        name: input.metadata.name,
        namespace,
        uid: existing?.metadata.uid ?? stringOr(input.metadata.uid, randomUUID()),
        creationTimestamp: existing?.metadata.creationTimestamp ?? stringOr(input.metadata.creationTimestamp, nowSeconds()),
        resourceVersion: String(++this.resourceVersion),
      },
    };
    if (def.group !== '') stored.metadata.generation = (existing?.metadata.generation ?? 0) + 1;
    store.set(key, stored);
    this.invalidate(resource, namespace);
    return structuredClone(stored);
  }

  /** {@link upsert} for many objects at once. */
  upsertAll(resource: ResourceName, inputs: ObjectInput[]): void {
    for (const input of inputs) this.upsert(resource, input);
  }

  /**
   * Loads the items of a `kind: List` document as `kubectl get … -o yaml` prints it (e.g. a fixture file).
   * Items keep their uid and creationTimestamp; they get fresh resourceVersions from this server.
   */
  loadKubectlList(resource: ResourceName, yamlText: string): KubeObject[] {
    const document = parseYaml(yamlText) as { kind?: unknown; items?: unknown };
    if (document.kind !== 'List' || !Array.isArray(document.items)) throw new Error('not a kubectl List document');
    return document.items.map((item) => this.upsert(resource, item as ObjectInput));
  }

  /** Applies an RFC 7386 merge patch to a stored object from the test side (bumps resourceVersion on change). */
  mutate(resource: ResourceName, name: string, patch: Record<string, unknown>, namespace = RANCHER_NAMESPACE): KubeObject {
    const store = this.storeOf(resource);
    const existing = store.get(`${namespace}/${name}`);
    if (existing === undefined) throw new Error(`${resource} ${namespace}/${name} does not exist`);
    const merged = mergePatch(structuredClone(existing), patch) as KubeObject;
    if (deepEqual(merged, existing)) return structuredClone(existing);
    merged.metadata = { ...merged.metadata, resourceVersion: String(++this.resourceVersion) };
    store.set(`${namespace}/${name}`, merged);
    this.invalidate(resource, namespace);
    return structuredClone(merged);
  }

  /** Deletes an object; returns whether it existed. */
  remove(resource: ResourceName, name: string, namespace = RANCHER_NAMESPACE): boolean {
    const existed = this.storeOf(resource).delete(`${namespace}/${name}`);
    if (existed) {
      this.resourceVersion++;
      this.invalidate(resource, namespace);
    }
    return existed;
  }

  /** A copy of a stored object, or undefined. */
  get(resource: ResourceName, name: string, namespace = RANCHER_NAMESPACE): KubeObject | undefined {
    const found = this.storeOf(resource).get(`${namespace}/${name}`);
    return found === undefined ? undefined : structuredClone(found);
  }

  /** Copies of all objects of a resource in a namespace, in list order. */
  list(resource: ResourceName, namespace = RANCHER_NAMESPACE): KubeObject[] {
    return this.sorted(resource, namespace).map((o) => structuredClone(o));
  }

  /** Deletes every object of every resource but the DaemonSets (whether ACE is on is not Rancher's token data). */
  clear(): void {
    for (const [name, store] of this.stores) if (name !== 'daemonsets') store.clear();
    this.sortedCache.clear();
    this.resourceVersion++;
  }

  // ----- paging --------------------------------------------------------------------------------------------------

  /** Makes every continue token issued so far answer 410 Expired, as after an etcd compaction. */
  expireContinueTokens(): void {
    this.snapshots.clear();
  }

  // ----- faults --------------------------------------------------------------------------------------------------

  /** The next `times` matching requests (default 1) get `status` (default 500) with a Status body. */
  failNext(options: FaultOptions & { status?: number } = {}): void {
    this.faults.push({ kind: 'status', match: options.match, remaining: options.times ?? 1, status: options.status ?? 500 });
  }

  /** The next `times` matching requests (default 1) are answered normally after `ms` milliseconds. */
  delayNext(ms: number, options: FaultOptions = {}): void {
    this.faults.push({ kind: 'delay', match: options.match, remaining: options.times ?? 1, delayMs: ms });
  }

  /** The next `times` matching requests (default 1) are never answered (until the client gives up or close()). */
  hangNext(options: FaultOptions = {}): void {
    this.faults.push({ kind: 'hang', match: options.match, remaining: options.times ?? 1 });
  }

  /**
   * The next `times` matching requests (default 1) get a 200 with a Content-Length header and only the first
   * `fraction` (default 0.5) of the real body, then the TCP connection is destroyed.
   */
  cutNext(options: FaultOptions & { fraction?: number } = {}): void {
    this.faults.push({ kind: 'cut', match: options.match, remaining: options.times ?? 1, fraction: options.fraction ?? 0.5 });
  }

  /**
   * Expires every continue token just before the next `times` matching requests (default 1) are served, as if
   * etcd compacted in between: use `{ match: 'continue=' }` to make a listing's second page answer 410.
   */
  expireNext(options: FaultOptions = {}): void {
    this.faults.push({ kind: 'expire', match: options.match, remaining: options.times ?? 1 });
  }

  /** Removes every pending fault. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  // ----- request log ---------------------------------------------------------------------------------------------

  /** How many logged requests match all given criteria. */
  countRequests(filter: { verb?: RequestRecord['verb']; resource?: ResourceName; status?: number; method?: string } = {}): number {
    return this.requests.filter(
      (r) =>
        (filter.verb === undefined || r.verb === filter.verb) &&
        (filter.resource === undefined || r.resource === filter.resource) &&
        (filter.status === undefined || r.status === filter.status) &&
        (filter.method === undefined || r.method === filter.method),
    ).length;
  }

  /** Logged requests counted by `verb resource status`, e.g. `{ 'list clusterauthtokens 200': 3 }`. */
  requestSummary(): Record<string, number> {
    const summary: Record<string, number> = {};
    for (const r of this.requests) {
      const key = `${r.verb} ${r.resource ?? '-'} ${r.status}`;
      summary[key] = (summary[key] ?? 0) + 1;
    }
    return summary;
  }

  /** Resolves with the first logged request (already logged or still to come) that satisfies `predicate`. */
  waitForRequest(predicate: (request: RequestRecord) => boolean): Promise<RequestRecord> {
    const seen = this.requests.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.requestWaiters.push({ predicate, resolve }));
  }

  /** Forgets logged requests and patches. */
  resetLog(): void {
    this.requests.length = 0;
    this.patches.length = 0;
  }

  // ----- client configuration ------------------------------------------------------------------------------------

  /** A kubeconfig (YAML) pointing at this server with the CA embedded and a bearer token. */
  kubeconfig(options: { token?: string; contextName?: string; namespace?: string } = {}): string {
    const context = options.contextName ?? 'test';
    const ca = Buffer.from(this.caPem, 'utf8').toString('base64');
    const token = options.token ?? this.adminToken;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${context}`,
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${ca}`,
      'users:',
      `- name: ${context}`,
      '  user:',
      `    token: ${JSON.stringify(token)}`,
      'contexts:',
      `- name: ${context}`,
      '  context:',
      `    cluster: ${context}`,
      `    user: ${context}`,
      ...(options.namespace === undefined ? [] : [`    namespace: ${options.namespace}`]),
      `current-context: ${context}`,
      '',
    ].join('\n');
  }

  /** Stops listening and destroys every open connection (pending delayed or hung requests included). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  // ----- internals -----------------------------------------------------------------------------------------------

  private storeOf(resource: ResourceName): Map<string, KubeObject> {
    const store = this.stores.get(resource);
    if (store === undefined) throw new Error(`unknown resource ${resource}`);
    return store;
  }

  private invalidate(resource: ResourceName, namespace: string): void {
    this.sortedCache.delete(`${resource}/${namespace}`);
  }

  private sorted(resource: ResourceName, namespace: string): KubeObject[] {
    const cacheKey = `${resource}/${namespace}`;
    const cached = this.sortedCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const items = [...this.storeOf(resource).values()]
      .filter((o) => o.metadata.namespace === namespace)
      .sort((a, b) => compareKeys(a.metadata.name, b.metadata.name));
    this.sortedCache.set(cacheKey, items);
    return items;
  }

  private notifyWaiters(record: RequestRecord): void {
    const waiting = this.requestWaiters;
    this.requestWaiters = [];
    for (const waiter of waiting) {
      if (waiter.predicate(record)) waiter.resolve(record);
      else this.requestWaiters.push(waiter);
    }
  }

  private takeFault(method: string, url: string): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.remaining <= 0) continue;
      if (!matches(fault.match, method, url)) continue;
      fault.remaining--;
      return fault;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams.entries());
    const record: RequestRecord = { method, path: url.pathname, query, verb: 'unknown', status: 0 };
    this.requests.push(record);
    try {
      const body = await readBody(req);
      const route = parseRoute(method, url.pathname);
      record.verb = route.verb;
      if (route.resource !== undefined) record.resource = route.resource.name;
      if (route.name !== undefined) record.name = route.name;
      this.notifyWaiters(record);

      const fault = this.takeFault(method, `${method} ${url.pathname}${url.search}`);
      if (fault !== undefined) {
        record.fault = fault.kind;
        if (fault.kind === 'hang') return; // never answered; close() destroys the socket
        if (fault.kind === 'expire') this.expireContinueTokens();
        if (fault.kind === 'delay') await this.sleep(fault.delayMs ?? 0);
        if (fault.kind === 'status') {
          const status = fault.status ?? 500;
          throw new ApiError(status, reasonForStatus(status), `injected fault: ${status}`);
        }
      }

      const user = this.authenticate(req);
      record.username = user.username;
      const result = this.dispatch(route, url, req, body, user);
      const accept = req.headers.accept ?? '';
      const payload = route.verb === 'list' && route.resource !== undefined && wantsTable(accept, url)
        ? toTable(route.resource, result as ListResult, url.searchParams.get('includeObject'))
        : result;
      const json = JSON.stringify(payload);
      record.status = 200;
      if (fault?.kind === 'cut') {
        this.writeCut(res, json, fault.fraction ?? 0.5);
        return;
      }
      writeJson(res, 200, json);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error));
      record.status = apiError.code;
      writeJson(res, apiError.code, JSON.stringify(statusBody(apiError)));
    }
  }

  private writeCut(res: ServerResponse, json: string, fraction: number): void {
    const bytes = Buffer.from(json, 'utf8');
    const partial = bytes.subarray(0, Math.max(1, Math.floor(bytes.length * fraction)));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
    res.write(partial, () => {
      res.socket?.destroy();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private authenticate(req: IncomingMessage): UserGrant {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const grant = match?.[1] === undefined ? undefined : this.users.get(match[1].trim());
    if (grant === undefined) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    return grant;
  }

  private authorize(user: UserGrant, verb: Verb, def: ResourceDefinition, namespace: string, name?: string): void {
    const allowed = user.rules.some((rule) => {
      const resourceOk = rule.resources === '*' || rule.resources.includes(def.name);
      const verbOk = rule.verbs === '*' || rule.verbs.includes(verb);
      if (!resourceOk || !verbOk) return false;
      if (rule.resourceNames === undefined) return true;
      return name !== undefined && verb !== 'list' && rule.resourceNames.includes(name);
    });
    if (allowed) return;
    const subject = name === undefined ? qualifiedName(def) : `${qualifiedName(def)} ${JSON.stringify(name)}`;
    throw new ApiError(
      403,
      'Forbidden',
      `${subject} is forbidden: User "${user.username}" cannot ${verb} resource "${def.name}" in API group "${def.group}" in the namespace "${namespace}"`,
      { ...(name === undefined ? {} : { name }), group: def.group, kind: def.name },
    );
  }

  private dispatch(route: Route, url: URL, req: IncomingMessage, body: Buffer, user: UserGrant): unknown {
    if (route.verb === 'discovery') return this.discovery(url.pathname);
    const def = route.resource;
    const namespace = route.namespace;
    if (route.verb === 'unknown' || def === undefined || namespace === undefined) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (route.verb === 'list') {
      this.authorize(user, 'list', def, namespace);
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
        throw new ApiError(405, 'MethodNotAllowed', 'watch is not supported by the test apiserver');
      }
      return this.listResponse(def, namespace, url.searchParams);
    }
    const name = route.name ?? '';
    if (route.verb === 'get') {
      this.authorize(user, 'get', def, namespace, name);
      return this.getOrNotFound(def, namespace, name);
    }
    if (route.verb === 'patch') {
      this.authorize(user, 'patch', def, namespace, name);
      return this.applyPatch(def, namespace, name, req.headers['content-type'] ?? '', body, user);
    }
    throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  private getOrNotFound(def: ResourceDefinition, namespace: string, name: string): KubeObject {
    const found = this.storeOf(def.name).get(`${namespace}/${name}`);
    if (found === undefined) {
      throw new ApiError(404, 'NotFound', `${qualifiedName(def)} ${JSON.stringify(name)} not found`, {
        name,
        group: def.group,
        kind: def.name,
      });
    }
    return found;
  }

  private applyPatch(
    def: ResourceDefinition,
    namespace: string,
    name: string,
    contentType: string,
    body: Buffer,
    user: UserGrant,
  ): KubeObject {
    const mediaType = contentType.split(';')[0]?.trim() ?? '';
    if (mediaType !== 'application/merge-patch+json' && !(def.name === 'secrets' && mediaType === 'application/strategic-merge-patch+json')) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`,
      );
    }
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new ApiError(400, 'BadRequest', `error decoding patch: ${String(error)}`);
    }
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw new ApiError(400, 'BadRequest', 'merge patch must be a JSON object');
    }
    const existing = this.getOrNotFound(def, namespace, name);
    const patchMeta = (patch as { metadata?: { resourceVersion?: unknown; name?: unknown } }).metadata;
    if (patchMeta?.resourceVersion !== undefined && patchMeta.resourceVersion !== existing.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedName(def)} ${JSON.stringify(name)}: the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: def.group, kind: def.name },
      );
    }
    if (patchMeta?.name !== undefined && patchMeta.name !== name) {
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    }
    const merged = mergePatch(structuredClone(existing), patch) as KubeObject;
    merged.apiVersion = existing.apiVersion;
    merged.kind = existing.kind;
    merged.metadata = {
      ...merged.metadata,
      name,
      namespace,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      resourceVersion: existing.metadata.resourceVersion,
    };
    let stored = existing;
    if (!deepEqual(merged, existing)) {
      merged.metadata.resourceVersion = String(++this.resourceVersion);
      this.storeOf(def.name).set(`${namespace}/${name}`, merged);
      this.invalidate(def.name, namespace);
      stored = merged;
    }
    this.patches.push({
      resource: def.name,
      namespace,
      name,
      contentType: mediaType,
      patch,
      username: user.username,
      resourceVersion: stored.metadata.resourceVersion,
    });
    return stored;
  }

  private listResponse(def: ResourceDefinition, namespace: string, params: URLSearchParams): ListResult {
    const limit = parseLimit(params.get('limit'));
    const continueParam = params.get('continue');
    const labelFilter = parseLabelSelector(params.get('labelSelector'));
    const fieldFilter = parseFieldSelector(params.get('fieldSelector'), def);
    const filtered = labelFilter !== undefined || fieldFilter !== undefined;

    let snapshotRv: number;
    let items: KubeObject[];
    let startAfter: string | undefined;
    const snapshotKey = `${def.name}/${namespace}`;
    if (continueParam !== null && continueParam !== '') {
      const token = decodeContinue(continueParam);
      const snapshot = this.snapshots.get(token.rv)?.get(snapshotKey);
      if (snapshot === undefined) {
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          undefined,
          { continue: encodeContinue({ v: 'meta.k8s.io/v1', rv: this.resourceVersion, start: token.start }) },
        );
      }
      snapshotRv = token.rv;
      items = snapshot;
      startAfter = token.start.endsWith('\u0000') ? token.start.slice(0, -1) : token.start;
    } else {
      snapshotRv = this.resourceVersion;
      items = this.sorted(def.name, namespace);
    }

    let start = 0;
    if (startAfter !== undefined) {
      start = lowerBound(items, startAfter);
      if (start < items.length && items[start]?.metadata.name === startAfter) start++;
    }
    const page: KubeObject[] = [];
    let index = start;
    for (; index < items.length && (limit === undefined || page.length < limit); index++) {
      const item = items[index];
      if (item === undefined) continue;
      if (labelFilter !== undefined && !labelFilter(item)) continue;
      if (fieldFilter !== undefined && !fieldFilter(item)) continue;
      page.push(item);
    }
    const metadata: ListResult['metadata'] = { resourceVersion: String(snapshotRv) };
    const last = page[page.length - 1];
    if (limit !== undefined && index < items.length && last !== undefined) {
      this.retainSnapshot(snapshotRv, snapshotKey, items);
      metadata.continue = encodeContinue({ v: 'meta.k8s.io/v1', rv: snapshotRv, start: `${last.metadata.name}\u0000` });
      if (!filtered) metadata.remainingItemCount = items.length - index;
    }
    return { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata, items: page };
  }

  private retainSnapshot(rv: number, key: string, items: KubeObject[]): void {
    let byKey = this.snapshots.get(rv);
    if (byKey === undefined) {
      byKey = new Map();
      this.snapshots.set(rv, byKey);
      while (this.snapshots.size > this.retainedSnapshots) {
        const oldest = Math.min(...this.snapshots.keys());
        this.snapshots.delete(oldest);
      }
    }
    // the sorted array is replaced (never mutated) on change, so holding the reference is a true snapshot
    byKey.set(key, items);
  }

  private discovery(pathname: string): unknown {
    const trimmed = pathname.replace(/\/+$/, '') || '/';
    switch (trimmed) {
      case '/version':
        return {
          major: '1',
          minor: this.gitVersion.replace(/^v1\.(\d+).*$/, '$1'),
          gitVersion: this.gitVersion,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2025-04-22T00:00:00Z',
          goVersion: 'go1.23.8',
          compiler: 'gc',
          platform: 'linux/amd64',
        };
      case '/api':
        return {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }],
        };
      case '/apis':
        return {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [
            {
              name: 'cluster.cattle.io',
              versions: [{ groupVersion: 'cluster.cattle.io/v3', version: 'v3' }],
              preferredVersion: { groupVersion: 'cluster.cattle.io/v3', version: 'v3' },
            },
          ],
        };
      case '/apis/cluster.cattle.io':
        return {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: 'cluster.cattle.io',
          versions: [{ groupVersion: 'cluster.cattle.io/v3', version: 'v3' }],
          preferredVersion: { groupVersion: 'cluster.cattle.io/v3', version: 'v3' },
        };
      case '/api/v1':
        return resourceList('v1', [
          {
            name: 'namespaces',
            singularName: 'namespace',
            namespaced: false,
            kind: 'Namespace',
            verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
            shortNames: ['ns'],
            storageVersionHash: 'Q3oi5N2YM8M=',
          },
          {
            name: 'secrets',
            singularName: 'secret',
            namespaced: true,
            kind: 'Secret',
            verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
            storageVersionHash: 'S6u1pOWzb84=',
          },
        ]);
      case '/apis/cluster.cattle.io/v3':
        return resourceList('cluster.cattle.io/v3', [
          {
            name: 'clusterauthtokens',
            singularName: 'clusterauthtoken',
            namespaced: true,
            kind: 'ClusterAuthToken',
            verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
            storageVersionHash: 'vLjZqzgMhDo=',
          },
          {
            name: 'clusteruserattributes',
            singularName: 'clusteruserattribute',
            namespaced: true,
            kind: 'ClusterUserAttribute',
            verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
            storageVersionHash: 'sQ9yYOrHJhU=',
          },
        ]);
      default:
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
  }
}

/**
 * Starts a test apiserver on 127.0.0.1 (a random free port unless `options.port`).
 * Several can run at once, one per simulated cluster.
 */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<TestKubeApiServer> {
  const certs = await testCertificates();
  const server = https.createServer({ cert: certs.certPem, key: certs.keyPem, keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test apiserver has no TCP address');
  return new TestKubeApiServer(server, address.port, certs.caPem, options);
}

// ---------------------------------------------------------------------------------------------------------------
// Protocol helpers

interface Route {
  verb: RequestRecord['verb'];
  resource?: ResourceDefinition;
  namespace?: string;
  name?: string;
}

interface ListResult {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

const DISCOVERY_PATHS = new Set(['/version', '/api', '/apis', '/api/v1', '/apis/cluster.cattle.io', '/apis/cluster.cattle.io/v3']);

function parseRoute(method: string, pathname: string): Route {
  const trimmed = pathname.replace(/\/+$/, '') || '/';
  if (DISCOVERY_PATHS.has(trimmed)) return method === 'GET' ? { verb: 'discovery' } : { verb: 'unknown' };
  const core = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(trimmed);
  const grouped = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(trimmed);
  let def: ResourceDefinition | undefined;
  let namespace: string | undefined;
  let name: string | undefined;
  if (core !== null) {
    const candidate = RESOURCES[core[2] as ResourceName] as ResourceDefinition | undefined;
    if (candidate?.group === '') def = candidate;
    namespace = core[1];
    name = core[3];
  } else if (grouped !== null) {
    const candidate = RESOURCES[grouped[4] as ResourceName] as ResourceDefinition | undefined;
    if (candidate !== undefined && candidate.group === grouped[1] && candidate.version === grouped[2]) def = candidate;
    namespace = grouped[3];
    name = grouped[5];
  }
  if (def === undefined || namespace === undefined) return { verb: 'unknown' };
  const decodedName = name === undefined ? undefined : decodeURIComponent(name);
  const base: Route = { verb: 'unknown', resource: def, namespace: decodeURIComponent(namespace) };
  if (decodedName !== undefined) base.name = decodedName;
  if (method === 'GET') return { ...base, verb: decodedName === undefined ? 'list' : 'get' };
  if (method === 'PATCH' && decodedName !== undefined) return { ...base, verb: 'patch' };
  if (method === 'DELETE') return { ...base, verb: 'delete' };
  if (method === 'PUT') return { ...base, verb: 'update' };
  if (method === 'POST') return { ...base, verb: 'create' };
  return base;
}

function resourceList(groupVersion: string, resources: Record<string, unknown>[]): unknown {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

function statusBody(error: ApiError): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: error.extraMetadata ?? {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    ...(error.details === undefined ? {} : { details: error.details }),
    code: error.code,
  };
}

function reasonForStatus(status: number): string {
  switch (status) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 409: return 'Conflict';
    case 410: return 'Expired';
    case 429: return 'TooManyRequests';
    case 503: return 'ServiceUnavailable';
    case 504: return 'Timeout';
    default: return 'InternalError';
  }
}

function writeJson(res: ServerResponse, status: number, json: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(json, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function matches(matcher: RequestMatcher | undefined, method: string, url: string): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'string') return url.includes(matcher);
  if (matcher instanceof RegExp) return matcher.test(url);
  return matcher({ method, url: url.slice(method.length + 1) });
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(items: KubeObject[], name: string): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareKeys(items[mid]?.metadata.name ?? '', name) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

function parseLimit(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 0) throw new ApiError(400, 'BadRequest', `invalid limit ${JSON.stringify(raw)}`);
  return limit === 0 ? undefined : limit;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { v: parsed.v, rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to the apiserver's own message
  }
  throw new ApiError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

type ObjectFilter = (object: KubeObject) => boolean;

function parseLabelSelector(raw: string | null): ObjectFilter | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const tests: ObjectFilter[] = raw.split(',').map((term) => {
    const t = term.trim();
    const labels = (o: KubeObject) => o.metadata.labels ?? {};
    let m = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(t);
    if (m !== null) {
      const [, key = '', value = ''] = m;
      return (o) => labels(o)[key] !== value;
    }
    m = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(t);
    if (m !== null) {
      const [, key = '', value = ''] = m;
      return (o) => labels(o)[key] === value;
    }
    m = /^!([^!=\s]+)$/.exec(t);
    if (m !== null) {
      const key = m[1] ?? '';
      return (o) => !(key in labels(o));
    }
    m = /^([^!=\s]+)$/.exec(t);
    if (m !== null) {
      const key = m[1] ?? '';
      return (o) => key in labels(o);
    }
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: ${JSON.stringify(t)}`);
  });
  return (o) => tests.every((test) => test(o));
}

function parseFieldSelector(raw: string | null, def: ResourceDefinition): ObjectFilter | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const tests: ObjectFilter[] = raw.split(',').map((term) => {
    const m = /^([^!=]+?)\s*(!=|==|=)\s*(.*)$/.exec(term.trim());
    if (m === null) throw new ApiError(400, 'BadRequest', `invalid selector: ${JSON.stringify(term)}`);
    const [, field = '', op, value = ''] = m;
    if (!def.fieldSelectors.includes(field)) {
      throw new ApiError(400, 'BadRequest', `field label not supported: ${field}`);
    }
    const read = (o: KubeObject): unknown =>
      field === 'metadata.name' ? o.metadata.name : field === 'metadata.namespace' ? o.metadata.namespace : o[field];
    return op === '!=' ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (o) => tests.every((test) => test(o));
}

function wantsTable(accept: string, url: URL): boolean {
  return accept.includes('as=Table') && url.searchParams.get('watch') === null;
}

function toTable(def: ResourceDefinition, list: ListResult, includeObject: string | null): unknown {
  const columns: Array<{ name: string; type: string; format: string; description: string; priority: number }> = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  ];
  if (def.name === 'secrets') {
    columns.push({ name: 'Type', type: 'string', format: '', description: 'The type of the secret', priority: 0 });
    columns.push({ name: 'Data', type: 'string', format: '', description: 'The number of data entries', priority: 0 });
  }
  columns.push({ name: 'Age', type: 'date', format: '', description: 'CreationTimestamp of the object.', priority: 0 });
  const rows = list.items.map((item) => {
    const cells: unknown[] = [item.metadata.name];
    if (def.name === 'secrets') {
      cells.push(item.type ?? 'Opaque');
      cells.push(Object.keys((item.data as Record<string, unknown> | undefined) ?? {}).length);
    }
    cells.push(humanAge(item.metadata.creationTimestamp));
    const object =
      includeObject === 'Object'
        ? item
        : includeObject === 'None'
          ? undefined
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.metadata };
    return object === undefined ? { cells } : { cells, object };
  });
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: list.metadata, columnDefinitions: columns, rows };
}

function humanAge(timestamp: string): string {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

/** The Role of infra/kubernetes/sync-reader.yaml as the test apiserver enforces it: read and patch Rancher's objects, get (never list) Secrets. */
export const SYNC_READER_ROLE: AccessRule[] = [
  { resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list', 'patch'] },
  { resources: ['secrets'], verbs: ['get'] },
  { resources: ['daemonsets'], verbs: ['get'], resourceNames: ['kube-api-auth'] },
];

/** Rancher's kube-api-auth DaemonSet as its agent template renders it (docs/rancher.md, "When ACE is switched off"). */
export function kubeApiAuthDaemonSet(): ObjectInput {
  return {
    metadata: { name: 'kube-api-auth', namespace: RANCHER_NAMESPACE, labels: { app: 'kube-api-auth' } },
    spec: {
      selector: { matchLabels: { app: 'kube-api-auth' } },
      template: {
        metadata: { labels: { app: 'kube-api-auth' } },
        spec: {
          hostNetwork: true,
          serviceAccountName: 'cattle',
          containers: [{ name: 'kube-api-auth', image: 'rancher/kube-api-auth:v0.15.0', command: ['kube-api-auth', 'serve'] }],
        },
      },
    },
  };
}
