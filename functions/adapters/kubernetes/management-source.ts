/**
 * The management source: Rancher's local cluster read through the Kubernetes REST client (`rest-client.ts`).
 * Five collections (docs/rancher.md, "What tokengate reads from Rancher's local cluster"):
 * - v3 `tokens.management.cattle.io`, without login tokens (label selector `authn.management.cattle.io/kind!=session`:
 *   login tokens are never cluster-scoped and are the bulk of a busy Rancher's tokens);
 * - ext tokens as their backing Secrets in `cattle-tokens` (`cattle.io/kind=token`, login tokens excluded the same
 *   way): the ext API itself blanks `status.hash`;
 * - `users`, `userattributes`, `clusters`.
 *
 * ## Resuming (docs/rancher.md, "Load on Rancher")
 * Given the state of the previous run, each collection is brought up to date with one short watch from its stored
 * resourceVersion; an unchanged Rancher answers with no events. A collection whose version has expired (410 Gone)
 * is listed again in full, page by page; so is everything on the first run. A read is all or nothing: any failure
 * throws and the caller keeps every row.
 *
 * RBAC: infra/kubernetes/rancher-reader.yaml.
 */
import { randomBytes } from 'node:crypto';
import type { ManagementSnapshot, ManagementToken } from '../../core/management-objects.ts';
import type { CallOptions, PatchOutcome, RejectedObject } from '../../core/ports/cluster-source.ts';
import type {
  ManagementRead,
  ManagementReadStats,
  ManagementSource,
  ManagementState,
  ManagementVersions,
} from '../../core/ports/management-source.ts';
import {
  nameOf,
  parseCluster,
  parseExtTokenSecret,
  parseUser,
  parseUserAttribute,
  parseV3Token,
  type Parsed,
} from './management-objects.ts';
import { KubernetesRestClient, resourcePath, type ItemVerdict, type RestRequests } from './rest-client.ts';

export interface ManagementSourceOptions {
  kubeconfig: string;
  context?: string;
  /** Items per list page. Default 500. */
  pageSize?: number;
  /** How long each watch stays open. Default 1 s. */
  watchSeconds?: number;
  /** One read (all collections, lists or watches, with retries). Default 120 s. */
  callTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
  retryBaseDelayMs?: number;
  /** Salt source for hashing plaintext v3 tokens (default: 8 bytes of crypto randomness, as Rancher). */
  randomSalt?: () => Uint8Array;
}

/** Named in every error message ("cluster rancher: …"). */
export const MANAGEMENT_SOURCE_ID = 'rancher';
export const EXT_TOKEN_NAMESPACE = 'cattle-tokens';
const NOT_SESSION = 'authn.management.cattle.io/kind!=session';
const MANAGEMENT = { group: 'management.cattle.io', version: 'v3' };

type Collection = keyof ManagementVersions;
type Item = ManagementSnapshot[keyof ManagementSnapshot][number];

interface CollectionSpec {
  path: string;
  query: Record<string, string>;
  parse: (raw: unknown, previous: ManagementState | undefined) => Parsed<Item> | null;
  /** Which snapshot array it fills, and which of its items belong to it. */
  field: keyof ManagementSnapshot;
  owns: (item: Item) => boolean;
}

export function createManagementSource(options: ManagementSourceOptions): ManagementSource {
  return new KubernetesManagementSource(options);
}

class KubernetesManagementSource implements ManagementSource {
  private readonly client: KubernetesRestClient;
  private readonly specs: Record<Collection, CollectionSpec>;

  constructor(private readonly options: ManagementSourceOptions) {
    this.client = new KubernetesRestClient({
      clusterId: MANAGEMENT_SOURCE_ID,
      kubeconfig: options.kubeconfig,
      ...(options.context ? { context: options.context } : {}),
      ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.retryBaseDelayMs !== undefined ? { retryBaseDelayMs: options.retryBaseDelayMs } : {}),
      connectionsPerCall: 5,
    });
    const salt = options.randomSalt ?? (() => randomBytes(8));
    const isToken = (origin: ManagementToken['origin']) => (item: Item) => 'origin' in item && item.origin === origin;
    this.specs = {
      tokens: {
        path: resourcePath({ ...MANAGEMENT, plural: 'tokens' }),
        query: { labelSelector: NOT_SESSION },
        parse: (raw, previous) => parseV3Token(raw, previousHashOf(previous), salt),
        field: 'tokens',
        owns: isToken('v3'),
      },
      extTokens: {
        path: resourcePath({ version: 'v1', namespace: EXT_TOKEN_NAMESPACE, plural: 'secrets' }),
        query: { labelSelector: `cattle.io/kind=token,${NOT_SESSION}` },
        parse: (raw) => parseExtTokenSecret(raw),
        field: 'tokens',
        owns: isToken('ext'),
      },
      users: { path: resourcePath({ ...MANAGEMENT, plural: 'users' }), query: {}, parse: parseUser, field: 'users', owns: () => true },
      userAttributes: {
        path: resourcePath({ ...MANAGEMENT, plural: 'userattributes' }),
        query: {},
        parse: parseUserAttribute,
        field: 'userAttributes',
        owns: () => true,
      },
      clusters: { path: resourcePath({ ...MANAGEMENT, plural: 'clusters' }), query: {}, parse: parseCluster, field: 'clusters', owns: () => true },
    };
  }

  async read(previous: ManagementState | undefined, options: CallOptions = {}): Promise<ManagementRead> {
    return this.client.batch({ ...(options.signal ? { signal: options.signal } : {}) }, async (requests) => {
      const stats: ManagementReadStats = { mode: 'full', requests: 0, objects: 0, relisted: [] };
      const rejected: RejectedObject[] = [];
      const collections = Object.keys(this.specs) as Collection[];
      const results = await Promise.all(collections.map((collection) => this.readCollection(requests, collection, previous, stats, rejected)));
      const snapshot: ManagementSnapshot = { tokens: [], users: [], userAttributes: [], clusters: [] };
      const versions = {} as ManagementVersions;
      let changed = previous === undefined;
      for (const [index, collection] of collections.entries()) {
        const result = results[index]!;
        versions[collection] = result.resourceVersion;
        (snapshot[this.specs[collection].field] as Item[]).push(...result.items);
        changed ||= result.changed || result.resourceVersion !== previous?.versions[collection];
      }
      const watched = collections.length - stats.relisted.length;
      stats.mode = previous === undefined ? 'full' : stats.relisted.length === 0 ? 'watch' : watched === 0 ? 'full' : 'mixed';
      return { state: { snapshot, versions }, changed, rejected, stats };
    });
  }

  private async readCollection(
    requests: RestRequests,
    collection: Collection,
    previous: ManagementState | undefined,
    stats: ManagementReadStats,
    rejected: RejectedObject[],
  ): Promise<{ items: Item[]; resourceVersion: string; changed: boolean }> {
    const spec = this.specs[collection];
    const before = new Map<string, Item>();
    for (const item of (previous?.snapshot[spec.field] ?? []) as Item[]) if (spec.owns(item)) before.set(item.name, item);
    const parseItem = (raw: unknown): ItemVerdict<Item, RejectedObject> => spec.parse(raw, previous);
    const version = previous?.versions[collection] ?? '';

    if (previous !== undefined && version !== '') {
      stats.requests += 1;
      const watched = await requests.watch(spec.path, { resourceVersion: version, timeoutSeconds: this.options.watchSeconds ?? 1, parseItem, query: spec.query });
      if (watched !== 'expired') {
        stats.objects += watched.events.length;
        const items = new Map(before);
        for (const event of watched.events) {
          if (event.name === undefined) continue;
          if (event.type === 'DELETED') items.delete(event.name);
          else if (event.verdict === null) items.delete(event.name);
          else if (event.verdict.ok) items.set(event.name, event.verdict.value);
          else rejected.push(event.verdict.rejected); // an invalid object keeps what it was
        }
        return { items: [...items.values()], resourceVersion: watched.resourceVersion, changed: watched.events.length > 0 };
      }
      stats.relisted.push(collection);
    }

    const listing = await requests.list(spec.path, { parseItem, query: spec.query, pageSize: this.options.pageSize ?? 500 });
    stats.requests += 1; // pages are counted by the server; one logical listing here
    stats.objects += listing.items.length + listing.rejected.length;
    const items = new Map(listing.items.map((item) => [item.name, item]));
    for (const object of listing.rejected) {
      rejected.push(object);
      const kept = before.get(object.name);
      if (kept !== undefined) items.set(object.name, kept);
    }
    return { items: [...items.values()], resourceVersion: listing.resourceVersion, changed: true };
  }

  async patchLastUsed(token: { name: string; origin: 'v3' | 'ext'; lastUsedAt: string }, at: Date, options: CallOptions = {}): Promise<PatchOutcome> {
    const iso = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const call = options.signal ? { signal: options.signal } : {};
    if (token.origin === 'ext') {
      const path = resourcePath({ version: 'v1', namespace: EXT_TOKEN_NAMESPACE, plural: 'secrets', name: token.name });
      return this.client.mergePatch(path, { data: { 'last-used-at': Buffer.from(iso, 'utf8').toString('base64') } }, call);
    }
    const path = resourcePath({ ...MANAGEMENT, plural: 'tokens', name: token.name });
    return this.client.batch(call, (requests) => requests.jsonPatch(path, [{ op: token.lastUsedAt === '' ? 'add' : 'replace', path: '/lastUsedAt', value: iso }]));
  }
}

/** The hash the previous run kept for each v3 token, so an unchanged plaintext token keeps its salt. */
const previousHashes = new WeakMap<ManagementState, Map<string, string>>();
function previousHashOf(previous: ManagementState | undefined): (name: string) => string | undefined {
  if (previous === undefined) return () => undefined;
  const memo = previousHashes.get(previous);
  if (memo !== undefined) return (name) => memo.get(name);
  const hashes = new Map<string, string>();
  previousHashes.set(previous, hashes);
  for (const token of previous?.snapshot.tokens ?? []) {
    if (token.origin === 'v3' && token.secret.kind === 'hash' && token.secret.hashedOnIngest) hashes.set(token.name, token.secret.hash);
  }
  return (name) => hashes.get(name);
}

export { nameOf };
