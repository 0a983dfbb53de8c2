/**
 * The ClusterSource of a downstream cluster: Rancher's objects in its `cattle-system` namespace, read and
 * patched through the Kubernetes REST client (`rest-client.ts`), which owns retries, deadlines and typed errors.
 *
 * ## Hash Secrets: one GET each, never a list
 * Rancher 2.13 writes each token's hash into an Opaque Secret of the same name in cattle-system, with no labels
 * and no ownerReferences (rancher/rancher `pkg/controllers/managementuser/clusterauthtoken/common`:
 * `NewClusterAuthTokenSecretForName`), so no label selector can single them out; the best a list could do is the
 * field selector `type=Opaque`, which still returns Rancher's agent credentials (`cattle-credentials-*`). A list
 * would therefore need `list secrets`, which hands the sync credential every Secret in cattle-system.
 * `readHashSecrets(names)` instead GETs each named Secret, with bounded concurrency: RBAC `get` on secrets only,
 * the credential cannot enumerate cattle-system's Secrets, and the audit log shows exactly which ones it read.
 * The load is one request per token read, so the sync reads only tokens whose `hash` is "" and that are new or
 * changed since the last sync (Rancher writes the Secret before the token and never changes a token's hash
 * afterwards); a steady cluster then costs zero Secret requests.
 * Only the `hash` of a hash Secret is kept; a Secret that is not one is dropped as soon as it is parsed.
 *
 * RBAC (namespace cattle-system): clusterauthtokens.cluster.cattle.io and clusteruserattributes.cluster.cattle.io:
 * get, list, patch; secrets: get; daemonsets.apps `kube-api-auth`: get (whether ACE is still on).
 */
import pLimit from 'p-limit';
import type {
  CallOptions,
  ClusterListing,
  ClusterSource,
  HashSecretReads,
  PatchOutcome,
} from '../../core/ports/cluster-source.ts';
import { KubernetesRestClient, resourcePath, type RestRequests } from './rest-client.ts';
import {
  parseClusterAuthToken,
  parseClusterUserAttribute,
  parseHashSecret,
  type ClusterAuthToken,
  type ClusterUserAttribute,
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

const CATTLE_GROUP = { group: 'cluster.cattle.io', version: 'v3' };

/**
 * Builds the ClusterSource of one downstream cluster from its kubeconfig.
 * @throws ClusterConfigError when the kubeconfig or the context cannot be used.
 */
export function createKubernetesClusterSource(options: KubernetesClusterSourceOptions): ClusterSource {
  return new DownstreamClusterSource(options);
}

class DownstreamClusterSource implements ClusterSource {
  readonly clusterId: string;
  private readonly client: KubernetesRestClient;
  private readonly namespace: string;
  private readonly pageSize: number | undefined;
  private readonly secretReadConcurrency: number;

  constructor(options: KubernetesClusterSourceOptions) {
    const { namespace = 'cattle-system', pageSize, secretReadConcurrency = 8, ...transport } = options;
    this.clusterId = options.clusterId;
    this.namespace = namespace;
    this.pageSize = pageSize;
    this.secretReadConcurrency = Math.max(1, secretReadConcurrency);
    this.client = new KubernetesRestClient({ ...transport, connectionsPerCall: this.secretReadConcurrency });
  }

  listTokens(options: CallOptions = {}): Promise<ClusterListing<ClusterAuthToken>> {
    const path = this.cattlePath('clusterauthtokens');
    return this.client.list(path, { signal: options.signal, pageSize: this.pageSize, parseItem: parseClusterAuthToken });
  }

  listUserAttributes(options: CallOptions = {}): Promise<ClusterListing<ClusterUserAttribute>> {
    const path = this.cattlePath('clusteruserattributes');
    return this.client.list(path, { signal: options.signal, pageSize: this.pageSize, parseItem: parseClusterUserAttribute });
  }

  async readHashSecrets(names: readonly string[], options: CallOptions = {}): Promise<HashSecretReads> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return { found: [], missing: [], rejected: [] };
    // the first failure aborts the call, which ends the reads in flight and the queued ones
    const firstFailureSeen = new AbortController();
    const signal = options.signal === undefined ? firstFailureSeen.signal : AbortSignal.any([options.signal, firstFailureSeen.signal]);
    return this.client.batch({ signal }, async (requests) => {
      const result: HashSecretReads = { found: [], missing: [], rejected: [] };
      const limit = pLimit({ concurrency: this.secretReadConcurrency, rejectOnClear: true });
      let firstFailure: { error: unknown } | undefined;
      const reads = unique.map((name) =>
        limit(async () => {
          try {
            await this.readHashSecret(requests, name, result);
          } catch (error) {
            if (firstFailure === undefined) {
              firstFailure = { error };
              limit.clearQueue();
              firstFailureSeen.abort();
            }
            throw error;
          }
        }),
      );
      // settle every read, so that none is still running when the batch closes its connections
      await Promise.allSettled(reads);
      if (firstFailure !== undefined) throw firstFailure.error;
      return result;
    });
  }

  async patchTokenLastUsed(name: string, lastUsedAt: Date, options: CallOptions = {}): Promise<PatchOutcome> {
    if (Number.isNaN(lastUsedAt.getTime())) throw new TypeError('lastUsedAt is not a valid date');
    // metav1.Time is RFC 3339 with second precision
    const iso = lastUsedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return this.client.mergePatch(this.cattlePath('clusterauthtokens', name), { lastUsedAt: iso }, { signal: options.signal });
  }

  patchUserNeedsRefresh(name: string, options: CallOptions = {}): Promise<PatchOutcome> {
    return this.client.mergePatch(this.cattlePath('clusteruserattributes', name), { needsRefresh: true }, { signal: options.signal });
  }

  async readAceState(options: CallOptions = {}): Promise<'on' | 'off'> {
    const path = resourcePath({ group: 'apps', version: 'v1', namespace: this.namespace, plural: 'daemonsets', name: 'kube-api-auth' });
    return (await this.client.get(path, { signal: options.signal })) === undefined ? 'off' : 'on';
  }

  private async readHashSecret(requests: RestRequests, name: string, into: HashSecretReads): Promise<void> {
    const secret = await requests.get(resourcePath({ version: 'v1', namespace: this.namespace, plural: 'secrets', name }));
    const parsed = secret === undefined ? null : parseHashSecret(secret);
    if (parsed === null) into.missing.push(name);
    else if (parsed.ok) into.found.push(parsed.value);
    else into.rejected.push(parsed.rejected);
  }

  private cattlePath(plural: string, name?: string): string {
    return resourcePath({ ...CATTLE_GROUP, namespace: this.namespace, plural, ...(name === undefined ? {} : { name }) });
  }
}
