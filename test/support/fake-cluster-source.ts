import { createHash } from 'node:crypto';
import {
  ClusterForbiddenError,
  ClusterUnreachableError,
  type CallOptions,
  type ClusterAuthToken,
  type ClusterListing,
  type ClusterSource,
  type ClusterUserAttribute,
  type HashSecretReads,
  type PatchOutcome,
  type RejectedObject,
} from '../../functions/core/ports/cluster-source.ts';

/** Rancher's public "d" × 54 vector: this secret matches HASH_D. */
export const SECRET_D = 'd'.repeat(54);
export const HASH_D = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA';
/** Rancher's public "c" × 54 vector (SHA-256 format). */
export const SECRET_C = 'c'.repeat(54);
export const HASH_C = '$2:jwvzsLqh6Rg:FyeWbQuUt6VEMhQOe5J1kXPf0D4H9MRjub0aNaGzyx8';

export function cat(fields: Partial<ClusterAuthToken> & { name: string }): ClusterAuthToken {
  return { uid: `uid-${fields.name}`, resourceVersion: '1', userName: 'u-alice', enabled: true, expiresAt: '', hash: '', lastUsedAt: '', ...fields };
}

export function cua(fields: Partial<ClusterUserAttribute> & { name: string }): ClusterUserAttribute {
  return {
    uid: `uid-${fields.name}`,
    resourceVersion: '1',
    groups: ['openldap_group://cn=admins,dc=example,dc=org'],
    enabled: true,
    extraByProvider: {},
    lastRefresh: '',
    needsRefresh: false,
    ...fields,
  };
}

/**
 * The object as an apiserver lists it: its resourceVersion moves whenever its content does (a test edits
 * objects in place, as a controller's write would), so a listing's fingerprint sees every change.
 */
function stamped<T extends { resourceVersion: string }>(object: T): T {
  const { resourceVersion, ...content } = object;
  return { ...object, resourceVersion: `${resourceVersion}-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 12)}` };
}

/**
 * An in-memory ClusterSource: a test edits its objects, can make calls fail or hang, and reads what
 * was asked (calls, Secret names read, patches). Honours the call's AbortSignal like the real adapter.
 */
export class FakeClusterSource implements ClusterSource {
  readonly tokens = new Map<string, ClusterAuthToken>();
  readonly users = new Map<string, ClusterUserAttribute>();
  /** Hash Secrets by token name (the decoded hash). */
  readonly secrets = new Map<string, string>();
  rejectedTokens: RejectedObject[] = [];
  rejectedUsers: RejectedObject[] = [];
  rejectedSecrets = new Set<string>();
  readonly calls = { listTokens: 0, listUserAttributes: 0, readHashSecrets: 0, patches: 0 };
  readonly secretNamesRead: string[] = [];
  readonly patches: { kind: 'lastUsedAt' | 'needsRefresh'; name: string; value?: string }[] = [];
  /** The next listing of tokens fails with this error. */
  failListing: Error | undefined;
  /** Listings never answer (until the call's signal aborts). */
  hangListings = false;
  /** Patches of these kinds are forbidden (403). */
  forbidPatches = new Set<'lastUsedAt' | 'needsRefresh'>();
  /** Called between the listings and their answer, so a test can act "during" a sync. */
  onListed: (() => Promise<void>) | undefined;
  maxPatchesInFlight = 0;
  private patchesInFlight = 0;
  /** Whether Rancher's kube-api-auth DaemonSet is still there (ACE on). */
  aceState: 'on' | 'off' = 'on';

  constructor(readonly clusterId: string) {}

  addToken(token: ClusterAuthToken, secretHash?: string): this {
    this.tokens.set(token.name, token);
    if (secretHash !== undefined) this.secrets.set(token.name, secretHash);
    return this;
  }

  addUser(user: ClusterUserAttribute): this {
    this.users.set(user.name, user);
    return this;
  }

  async listTokens(options: CallOptions = {}): Promise<ClusterListing<ClusterAuthToken>> {
    this.calls.listTokens += 1;
    await this.wait(options);
    if (this.failListing) {
      const error = this.failListing;
      this.failListing = undefined;
      throw error;
    }
    const listing = { items: [...this.tokens.values()].map((token) => stamped({ ...token })), resourceVersion: '1', rejected: [...this.rejectedTokens] };
    await this.onListed?.();
    return listing;
  }

  async listUserAttributes(options: CallOptions = {}): Promise<ClusterListing<ClusterUserAttribute>> {
    this.calls.listUserAttributes += 1;
    await this.wait(options);
    return { items: [...this.users.values()].map((user) => stamped(structuredClone(user))), resourceVersion: '1', rejected: [...this.rejectedUsers] };
  }

  async readHashSecrets(names: readonly string[], options: CallOptions = {}): Promise<HashSecretReads> {
    this.calls.readHashSecrets += 1;
    options.signal?.throwIfAborted();
    const result: HashSecretReads = { found: [], missing: [], rejected: [] };
    for (const name of names) {
      this.secretNamesRead.push(name);
      const hash = this.secrets.get(name);
      if (this.rejectedSecrets.has(name)) result.rejected.push({ name, problems: ['data.hash: not valid base64'] });
      else if (hash === undefined) result.missing.push(name);
      else result.found.push({ name, uid: `uid-secret-${name}`, resourceVersion: '1', hash });
    }
    return result;
  }

  async patchTokenLastUsed(name: string, lastUsedAt: Date, options: CallOptions = {}): Promise<PatchOutcome> {
    const value = lastUsedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return this.patch('lastUsedAt', name, options, () => {
      const token = this.tokens.get(name);
      if (!token) return 'not-found';
      token.lastUsedAt = value;
      return 'patched';
    }, value);
  }

  async patchUserNeedsRefresh(name: string, options: CallOptions = {}): Promise<PatchOutcome> {
    return this.patch('needsRefresh', name, options, () => {
      const user = this.users.get(name);
      if (!user) return 'not-found';
      user.needsRefresh = true;
      return 'patched';
    });
  }

  async readAceState(options: CallOptions = {}): Promise<'on' | 'off'> {
    options.signal?.throwIfAborted();
    return this.aceState;
  }

  private async patch(kind: 'lastUsedAt' | 'needsRefresh', name: string, options: CallOptions, apply: () => PatchOutcome, value?: string): Promise<PatchOutcome> {
    this.calls.patches += 1;
    options.signal?.throwIfAborted();
    if (this.forbidPatches.has(kind)) {
      throw new ClusterForbiddenError(this.clusterId, 403, `${kind} patch is forbidden`);
    }
    this.patchesInFlight += 1;
    this.maxPatchesInFlight = Math.max(this.maxPatchesInFlight, this.patchesInFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.patchesInFlight -= 1;
    this.patches.push({ kind, name, ...(value ? { value } : {}) });
    return apply();
  }

  private async wait(options: CallOptions): Promise<void> {
    options.signal?.throwIfAborted();
    if (!this.hangListings) return;
    await new Promise<never>((_, reject) => {
      const abort = () => reject(new ClusterUnreachableError(this.clusterId, 'deadline', 'the call was aborted'));
      if (options.signal?.aborted) abort();
      options.signal?.addEventListener('abort', abort, { once: true });
    });
  }
}
