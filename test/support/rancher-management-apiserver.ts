/**
 * A test Kubernetes API server for Rancher's management (local) cluster, for tests and benchmarks: it serves
 * the kinds tokengate's management source reads, stored the way Rancher stores them (docs/rancher.md cites the
 * type definitions the fixture builders below follow):
 * - cluster-scoped `tokens`, `users`, `userattributes`, `clusters` of `management.cattle.io/v3`;
 * - namespaced core `secrets` (ext tokens live in `cattle-tokens`).
 *
 * Protocol: HTTPS with its own CA (shared with `kube-apiserver.ts`), bearer tokens with per-resource grants
 * (401/403), list paging over a consistent snapshot (`limit`/`continue`, 410 for an expired continue token),
 * label selectors (`=`, `!=`, exists), a global resourceVersion, **watch** from a resourceVersion
 * (`watch=1&resourceVersion=…&timeoutSeconds=…&allowWatchBookmarks=true`: the events since that version, any
 * that happen while it is open, a closing BOOKMARK; a version older than the retained event window gets the
 * ERROR event with a 410 Status, as kube-apiserver sends it), JSON patch and merge patch, and faults (status,
 * cut connection) per request pattern. Every response's body bytes and items/events are counted, so a test can
 * measure what a sync run read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { testCertificates } from './kube-apiserver.ts';

export type ManagementResource = 'tokens' | 'users' | 'userattributes' | 'clusters' | 'secrets';
export type ManagementVerb = 'get' | 'list' | 'watch' | 'patch';

interface Definition {
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
}

const DEFINITIONS: Record<ManagementResource, Definition> = {
  tokens: { group: 'management.cattle.io', version: 'v3', kind: 'Token', namespaced: false },
  users: { group: 'management.cattle.io', version: 'v3', kind: 'User', namespaced: false },
  userattributes: { group: 'management.cattle.io', version: 'v3', kind: 'UserAttribute', namespaced: false },
  clusters: { group: 'management.cattle.io', version: 'v3', kind: 'Cluster', namespaced: false },
  secrets: { group: '', version: 'v1', kind: 'Secret', namespaced: true },
};

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface ObjectInput {
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface Grant {
  username: string;
  rules: { resources: ManagementResource[] | '*'; verbs: ManagementVerb[] | '*'; namespace?: string }[];
}

export interface ServedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  resource?: ManagementResource;
  verb?: ManagementVerb;
  status: number;
  /** Response body bytes written. */
  bytes: number;
  /** Items (list) or events (watch) or 1 (get/patch) sent. */
  objects: number;
}

interface WatchEvent {
  rv: number;
  resource: ManagementResource;
  namespace: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
}

type Matcher = string | RegExp;

interface Fault {
  kind: 'status' | 'cut' | 'watch-gone';
  match?: Matcher;
  remaining: number;
  status?: number;
}

class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

/** How many events the server keeps for watches; older versions answer 410 (like the watch cache's window). */
const DEFAULT_EVENT_WINDOW = 10_000;

export class RancherManagementApiServer {
  readonly url: string;
  readonly caPem: string;
  readonly adminToken = `admin-${randomBytes(16).toString('hex')}`;
  readonly requests: ServedRequest[] = [];
  /** Every patch applied, in order (content type and body as sent). */
  readonly patches: { resource: ManagementResource; name: string; namespace?: string; contentType: string; body: unknown }[] = [];

  private readonly stores = new Map<ManagementResource, Map<string, StoredObject>>();
  private readonly snapshots = new Map<string, StoredObject[]>();
  private readonly grants = new Map<string, Grant>();
  private readonly events: WatchEvent[] = [];
  private readonly watchers = new Set<(event: WatchEvent) => void>();
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private resourceVersion = 5000;
  /** Events older than this version are gone (a watch from before it gets 410). */
  private oldestWatchable = 5000;

  constructor(
    private readonly server: https.Server,
    port: number,
    caPem: string,
    private readonly eventWindow: number,
  ) {
    this.url = `https://127.0.0.1:${port}`;
    this.caPem = caPem;
    this.grants.set(this.adminToken, { username: 'admin', rules: [{ resources: '*', verbs: '*' }] });
    for (const name of Object.keys(DEFINITIONS) as ManagementResource[]) this.stores.set(name, new Map());
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
  }

  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  addUser(token: string, grant: Grant): void {
    this.grants.set(token, grant);
  }

  // ----- objects ---------------------------------------------------------------------------------------------

  upsert(resource: ManagementResource, input: ObjectInput): StoredObject {
    const def = DEFINITIONS[resource];
    const namespace = def.namespaced ? (input.metadata.namespace ?? 'default') : undefined;
    const key = `${namespace ?? ''}/${input.metadata.name}`;
    const store = this.stores.get(resource)!;
    const existing = store.get(key);
    const stored: StoredObject = {
      ...structuredClone(input),
      apiVersion: def.group === '' ? def.version : `${def.group}/${def.version}`,
      kind: def.kind,
      metadata: {
        ...structuredClone(input.metadata),
        name: input.metadata.name,
        ...(namespace === undefined ? {} : { namespace }),
        uid: existing?.metadata.uid ?? (typeof input.metadata.uid === 'string' ? input.metadata.uid : randomUUID()),
        creationTimestamp:
          existing?.metadata.creationTimestamp ??
          (typeof input.metadata.creationTimestamp === 'string' ? input.metadata.creationTimestamp : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')),
        resourceVersion: String(++this.resourceVersion),
      },
    };
    store.set(key, stored);
    this.record(resource, namespace ?? '', existing ? 'MODIFIED' : 'ADDED', stored);
    return structuredClone(stored);
  }

  upsertAll(resource: ManagementResource, inputs: ObjectInput[]): void {
    for (const input of inputs) this.upsert(resource, input);
  }

  /** Merge-patches a stored object from the test side. */
  mutate(resource: ManagementResource, name: string, patch: Record<string, unknown>, namespace?: string): StoredObject {
    const existing = this.get(resource, name, namespace);
    if (existing === undefined) throw new Error(`${resource} ${name} does not exist`);
    return this.upsert(resource, mergePatch(existing, patch) as ObjectInput);
  }

  remove(resource: ManagementResource, name: string, namespace?: string): boolean {
    const def = DEFINITIONS[resource];
    const key = `${def.namespaced ? (namespace ?? 'default') : ''}/${name}`;
    const store = this.stores.get(resource)!;
    const existing = store.get(key);
    if (existing === undefined) return false;
    store.delete(key);
    const gone = structuredClone(existing);
    gone.metadata.resourceVersion = String(++this.resourceVersion);
    this.record(resource, existing.metadata.namespace ?? '', 'DELETED', gone);
    return true;
  }

  get(resource: ManagementResource, name: string, namespace?: string): StoredObject | undefined {
    const def = DEFINITIONS[resource];
    const found = this.stores.get(resource)!.get(`${def.namespaced ? (namespace ?? 'default') : ''}/${name}`);
    return found === undefined ? undefined : structuredClone(found);
  }

  /** Forgets every event so far: a watch from any earlier version gets 410, as after a compaction. */
  compact(): void {
    this.events.length = 0;
    this.oldestWatchable = this.resourceVersion;
    this.snapshots.clear();
  }

  // ----- faults and accounting ------------------------------------------------------------------------------

  /** The next `times` requests matching `match` (against `METHOD /path?query`) get `status` (default 500). */
  failNext(options: { match?: Matcher; times?: number; status?: number } = {}): void {
    this.faults.push({ kind: 'status', match: options.match, remaining: options.times ?? 1, status: options.status ?? 500 });
  }

  /** The next matching requests get half their body, then the connection is destroyed. */
  cutNext(options: { match?: Matcher; times?: number } = {}): void {
    this.faults.push({ kind: 'cut', match: options.match, remaining: options.times ?? 1 });
  }

  /** The next matching watches answer HTTP 410 Gone (instead of the usual ERROR event). */
  goneNext(options: { match?: Matcher; times?: number } = {}): void {
    this.faults.push({ kind: 'watch-gone', match: options.match, remaining: options.times ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Bytes and objects served since the last reset, optionally only for one verb. */
  served(filter: { verb?: ManagementVerb } = {}): { requests: number; bytes: number; objects: number } {
    const matching = this.requests.filter((request) => filter.verb === undefined || request.verb === filter.verb);
    return {
      requests: matching.length,
      bytes: matching.reduce((sum, request) => sum + request.bytes, 0),
      objects: matching.reduce((sum, request) => sum + request.objects, 0),
    };
  }

  resetLog(): void {
    this.requests.length = 0;
    this.patches.length = 0;
  }

  kubeconfig(options: { token?: string; contextName?: string } = {}): string {
    const context = options.contextName ?? 'rancher';
    const ca = Buffer.from(this.caPem, 'utf8').toString('base64');
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
      `    token: ${JSON.stringify(options.token ?? this.adminToken)}`,
      'contexts:',
      `- name: ${context}`,
      '  context:',
      `    cluster: ${context}`,
      `    user: ${context}`,
      `current-context: ${context}`,
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ----- serving --------------------------------------------------------------------------------------------

  private record(resource: ManagementResource, namespace: string, type: WatchEvent['type'], object: StoredObject): void {
    const event: WatchEvent = { rv: this.resourceVersion, resource, namespace, type, object: structuredClone(object) };
    this.events.push(event);
    while (this.events.length > this.eventWindow) {
      const dropped = this.events.shift()!;
      this.oldestWatchable = dropped.rv;
    }
    for (const watcher of this.watchers) watcher(event);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const log: ServedRequest = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, bytes: 0, objects: 0 };
    this.requests.push(log);
    const body = await readBody(req);
    const send = (status: number, payload: unknown, objects = 1) => {
      const text = Buffer.from(JSON.stringify(payload));
      log.status = status;
      log.bytes = text.length;
      log.objects = status === 200 ? objects : 0;
      const fault = status === 200 ? this.takeFaultOfKind('cut', method, url) : undefined;
      if (fault?.kind === 'cut') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(text.length) });
        res.write(text.subarray(0, Math.floor(text.length / 2)));
        res.socket?.destroy();
        return;
      }
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(text.length) });
      res.end(text);
    };
    try {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const grant = token === undefined ? undefined : this.grants.get(token);
      if (grant === undefined) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const route = parseRoute(url.pathname);
      if (route === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      log.resource = route.resource;
      const watching = method === 'GET' && route.name === undefined && ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
      const verb: ManagementVerb = method === 'PATCH' ? 'patch' : route.name !== undefined ? 'get' : watching ? 'watch' : 'list';
      log.verb = verb;
      this.authorize(grant, route.resource, verb, route.namespace);
      const statusFault = this.takeFaultOfKind('status', method, url);
      if (statusFault !== undefined) throw new ApiError(statusFault.status ?? 500, 'InternalError', 'injected fault');
      if (verb === 'watch') return await this.watch(route, url, res, log);
      if (verb === 'list') {
        const list = this.list(route.resource, route.namespace, url.searchParams);
        return send(200, list, list.items.length);
      }
      const key = `${route.namespace ?? ''}/${route.name}`;
      const existing = this.stores.get(route.resource)!.get(key);
      if (existing === undefined) throw new ApiError(404, 'NotFound', `${route.resource} "${route.name}" not found`);
      if (verb === 'get') return send(200, existing);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      let next: unknown;
      if (contentType === 'application/json-patch+json') next = applyJsonPatch(structuredClone(existing), parsed);
      else if (contentType === 'application/merge-patch+json') next = mergePatch(structuredClone(existing), parsed);
      else throw new ApiError(415, 'UnsupportedMediaType', `unsupported patch type ${contentType}`);
      this.patches.push({ resource: route.resource, name: route.name!, ...(route.namespace ? { namespace: route.namespace } : {}), contentType, body: parsed });
      return send(200, this.upsert(route.resource, next as ObjectInput));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error));
      send(apiError.code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: apiError.message, reason: apiError.reason, code: apiError.code });
    }
  }

  private takeFaultOfKind(kind: Fault['kind'], method: string, url: URL): Fault | undefined {
    const text = `${method} ${url.pathname}${url.search}`;
    const index = this.faults.findIndex(
      (fault) =>
        fault.kind === kind &&
        fault.remaining > 0 &&
        (fault.match === undefined || (typeof fault.match === 'string' ? text.includes(fault.match) : fault.match.test(text))),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private authorize(grant: Grant, resource: ManagementResource, verb: ManagementVerb, namespace: string | undefined): void {
    const allowed = grant.rules.some(
      (rule) =>
        (rule.resources === '*' || rule.resources.includes(resource)) &&
        (rule.verbs === '*' || rule.verbs.includes(verb)) &&
        (rule.namespace === undefined || rule.namespace === namespace),
    );
    if (!allowed) {
      throw new ApiError(403, 'Forbidden', `${resource} is forbidden: User "${grant.username}" cannot ${verb} resource "${resource}"`);
    }
  }

  private filterOf(params: URLSearchParams): (object: StoredObject) => boolean {
    const raw = params.get('labelSelector');
    if (raw === null || raw.trim() === '') return () => true;
    const tests = raw.split(',').map((term): ((object: StoredObject) => boolean) => {
      const labels = (object: StoredObject) => object.metadata.labels ?? {};
      const notEqual = /^([^!=]+)!=(.*)$/.exec(term.trim());
      if (notEqual) return (object) => labels(object)[notEqual[1]!] !== notEqual[2];
      const equal = /^([^!=]+)==?(.*)$/.exec(term.trim());
      if (equal) return (object) => labels(object)[equal[1]!] === equal[2];
      return (object) => term.trim() in labels(object);
    });
    return (object) => tests.every((test) => test(object));
  }

  private list(resource: ManagementResource, namespace: string | undefined, params: URLSearchParams) {
    const def = DEFINITIONS[resource];
    const limit = Number(params.get('limit') ?? '0') || undefined;
    const filter = this.filterOf(params);
    const continueToken = params.get('continue');
    let items: StoredObject[];
    let rv: string;
    let start = 0;
    if (continueToken) {
      const [snapshotId, offset] = Buffer.from(continueToken, 'base64url').toString('utf8').split('|');
      const snapshot = this.snapshots.get(snapshotId ?? '');
      if (snapshot === undefined) throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      items = snapshot;
      rv = (snapshotId ?? '').split('#')[0]!;
      start = Number(offset);
    } else {
      items = [...this.stores.get(resource)!.values()]
        .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
        .filter(filter)
        .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
      rv = this.currentResourceVersion;
    }
    const end = limit === undefined ? items.length : Math.min(items.length, start + limit);
    const metadata: Record<string, unknown> = { resourceVersion: rv };
    if (end < items.length) {
      const snapshotId = `${rv}#${randomUUID()}`;
      this.snapshots.set(snapshotId, items);
      metadata.continue = Buffer.from(`${snapshotId}|${end}`).toString('base64url');
    }
    return { apiVersion: def.group === '' ? 'v1' : `${def.group}/${def.version}`, kind: `${def.kind}List`, metadata, items: items.slice(start, end) };
  }

  private watch(route: { resource: ManagementResource; namespace?: string }, url: URL, res: ServerResponse, log: ServedRequest): Promise<void> {
    const params = url.searchParams;
    const from = Number(params.get('resourceVersion') ?? '0');
    const timeoutMs = Math.max(0, Number(params.get('timeoutSeconds') ?? '1')) * 1000;
    const bookmarks = params.get('allowWatchBookmarks') === 'true';
    const filter = this.filterOf(params);
    const def = DEFINITIONS[route.resource];
    const relevant = (event: WatchEvent) =>
      event.resource === route.resource && (route.namespace === undefined || event.namespace === route.namespace) && filter(event.object);
    const write = (payload: unknown) => {
      const line = Buffer.from(`${JSON.stringify(payload)}\n`);
      log.bytes += line.length;
      log.objects += 1;
      res.write(line);
    };
    if (this.takeFaultOfKind('watch-gone', 'GET', url) !== undefined) {
      log.status = 410;
      const text = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 });
      log.bytes = text.length;
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(text);
      return Promise.resolve();
    }
    log.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (!Number.isFinite(from) || from < this.oldestWatchable) {
      write({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.oldestWatchable})`, reason: 'Expired', code: 410 } });
      log.objects = 0;
      res.end();
      return Promise.resolve();
    }
    for (const event of this.events) if (event.rv > from && relevant(event)) write({ type: event.type, object: event.object });
    const live = (event: WatchEvent) => {
      if (relevant(event)) write({ type: event.type, object: event.object });
    };
    this.watchers.add(live);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.watchers.delete(live);
        if (bookmarks) {
          write({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: def.group === '' ? 'v1' : `${def.group}/${def.version}`, metadata: { resourceVersion: this.currentResourceVersion } } });
          log.objects -= 1;
        }
        res.end();
        resolve();
      }, timeoutMs);
      res.on('close', () => {
        clearTimeout(timer);
        this.watchers.delete(live);
        resolve();
      });
    });
  }
}

export async function startRancherManagementApiServer(options: { eventWindow?: number } = {}): Promise<RancherManagementApiServer> {
  const certs = await testCertificates();
  const server = https.createServer({ cert: certs.certPem, key: certs.keyPem, keepAlive: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return new RancherManagementApiServer(server, address.port, certs.caPem, options.eventWindow ?? DEFAULT_EVENT_WINDOW);
}

function parseRoute(pathname: string): { resource: ManagementResource; namespace?: string; name?: string } | undefined {
  const management = /^\/apis\/management\.cattle\.io\/v3\/(tokens|users|userattributes|clusters)(?:\/([^/]+))?$/.exec(pathname);
  if (management) return { resource: management[1] as ManagementResource, ...(management[2] ? { name: decodeURIComponent(management[2]) } : {}) };
  const secrets = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(pathname);
  if (secrets) return { resource: 'secrets', namespace: decodeURIComponent(secrets[1]!), ...(secrets[2] ? { name: decodeURIComponent(secrets[2]) } : {}) };
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902, the `replace` and `add` operations on object members (what write-back sends). */
function applyJsonPatch(target: Record<string, unknown>, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new ApiError(400, 'BadRequest', 'a JSON patch is an array of operations');
  for (const operation of operations as { op?: string; path?: string; value?: unknown }[]) {
    const segments = (operation.path ?? '').split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop();
    let parent: Record<string, unknown> = target;
    for (const segment of segments) parent = parent[segment] as Record<string, unknown>;
    if (last === undefined || parent === undefined) throw new ApiError(422, 'Invalid', 'bad patch path');
    if (operation.op === 'replace' && !(last in parent)) throw new ApiError(422, 'Invalid', `replace of missing ${operation.path}`);
    if (operation.op !== 'replace' && operation.op !== 'add') throw new ApiError(422, 'Invalid', `unsupported op ${operation.op}`);
    parent[last] = operation.value;
  }
  return target;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: objects shaped by Rancher's type definitions (docs/rancher.md, "What tokengate reads").

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export interface V3TokenFields {
  name: string;
  userId: string;
  /** The secret part of `<name>:<secret>` when stored unhashed, or a `$1`/`$2`/`$3` hash. */
  token: string;
  hashed?: boolean;
  clusterName?: string;
  /** `authn.management.cattle.io/kind`; "session" for login tokens. */
  kind?: string;
  enabled?: boolean;
  ttl?: number;
  expiresAt?: string;
  lastUsedAt?: string;
  creationTimestamp?: string;
}

/** A `tokens.management.cattle.io` as Rancher's token manager writes it (authn_types.go Token). */
export function v3Token(fields: V3TokenFields): ObjectInput {
  return {
    metadata: {
      name: fields.name,
      labels: { 'authn.management.cattle.io/token-userId': fields.userId, 'authn.management.cattle.io/kind': fields.kind ?? 'kubeconfig' },
      ...(fields.hashed ? { annotations: { 'authn.management.cattle.io/token-hashed': 'true' } } : {}),
      ...(fields.creationTimestamp ? { creationTimestamp: fields.creationTimestamp } : {}),
    },
    token: fields.token,
    userId: fields.userId,
    authProvider: 'local',
    userPrincipal: { metadata: { name: `local://${fields.userId}` }, displayName: fields.userId, principalType: 'user', provider: 'local' },
    ttl: fields.ttl ?? 0,
    isDerived: fields.kind !== 'session',
    description: '',
    ...(fields.clusterName !== undefined ? { clusterName: fields.clusterName } : {}),
    ...(fields.enabled !== undefined ? { enabled: fields.enabled } : {}),
    ...(fields.expiresAt !== undefined ? { expiresAt: fields.expiresAt } : {}),
    ...(fields.lastUsedAt !== undefined ? { lastUsedAt: fields.lastUsedAt } : {}),
  };
}

export interface ExtTokenFields {
  name: string;
  userId: string;
  /** `$3` hash of the secret (`data.hash`). */
  hash: string;
  cluster?: string;
  kind?: string;
  enabled?: boolean;
  /** Milliseconds; < 0 = never expires. */
  ttl?: number;
  creationTimestamp?: string;
  lastUsedAt?: string;
}

/** An ext token's backing Secret in `cattle-tokens`, as pkg/ext/stores/tokens `toSecret` writes it. */
export function extTokenSecret(fields: ExtTokenFields): ObjectInput {
  const kind = fields.kind ?? 'kubeconfig';
  return {
    metadata: {
      name: fields.name,
      namespace: 'cattle-tokens',
      labels: { 'cattle.io/kind': 'token', 'cattle.io/user-id': fields.userId, 'authn.management.cattle.io/kind': kind },
      ...(fields.creationTimestamp ? { creationTimestamp: fields.creationTimestamp } : {}),
    },
    type: 'Opaque',
    data: {
      cluster: b64(fields.cluster ?? ''),
      description: b64(''),
      enabled: b64(fields.enabled === false ? 'false' : 'true'),
      hash: b64(fields.hash),
      kind: b64(kind),
      'last-activity-seen': b64(''),
      'last-update-time': b64(''),
      'last-used-at': b64(fields.lastUsedAt ?? ''),
      principal: b64(JSON.stringify({ metadata: { name: `local://${fields.userId}` }, provider: 'local', principalType: 'user' })),
      ttl: b64(String(fields.ttl ?? 2_592_000_000)),
      'kube-uid': b64(randomUUID()),
      'user-id': b64(fields.userId),
    },
  };
}

/** A `users.management.cattle.io`; `enabled` absent unless given (Rancher's default is nil = enabled). */
export function rancherUser(name: string, enabled?: boolean): ObjectInput {
  return { metadata: { name }, username: name, principalIds: [`local://${name}`], ...(enabled === undefined ? {} : { enabled }) };
}

/** A `userattributes.management.cattle.io`, with Rancher's capitalised JSON keys. */
export function userAttribute(name: string, groupsByProvider: Record<string, string[]> = {}, extra: Record<string, Record<string, string[]>> = {}): ObjectInput {
  return {
    metadata: { name },
    UserName: name,
    GroupPrincipals: Object.fromEntries(
      Object.entries(groupsByProvider).map(([provider, groups]) => [
        provider,
        { Items: groups.map((group) => ({ metadata: { name: group }, displayName: group, principalType: 'group', provider })) },
      ]),
    ),
    ExtraByProvider: extra,
    LastRefresh: '2026-08-01T00:00:00Z',
    NeedsRefresh: false,
  };
}

/** A `clusters.management.cattle.io` with its Authorized Cluster Endpoint on or off. */
export function managementCluster(name: string, aceEnabled: boolean): ObjectInput {
  return { metadata: { name }, spec: { displayName: name, localClusterAuthEndpoint: { enabled: aceEnabled } }, status: {} };
}
