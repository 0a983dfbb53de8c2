/**
 * The port through which the sync reads one downstream cluster's Rancher objects and writes usage back.
 * One adapter: `adapters/kubernetes/downstream-source.ts` (the cluster's kube-apiserver, through a REST client).
 *
 * Errors are the few typed ones below; their messages name the cluster and the cause and never contain a
 * bearer token, a secret or a hash, so they are safe to log and to store as a cluster's last sync error.
 */
import type { ClusterAuthToken, ClusterUserAttribute, HashSecret, RejectedObject } from '../rancher-objects.ts';

export type { ClusterAuthToken, ClusterUserAttribute, HashSecret, RejectedObject } from '../rancher-objects.ts';

/** A complete listing: every page of one consistent snapshot of the cluster, or an error (never a partial one). */
export interface ClusterListing<T> {
  items: T[];
  /** The list's resourceVersion (the snapshot the pages were served from). */
  resourceVersion: string;
  /** Objects that failed validation. They are not in `items`; the caller decides what that means for their rows. */
  rejected: RejectedObject[];
}

/** The outcome of reading hash Secrets one by one. */
export interface HashSecretReads {
  found: HashSecret[];
  /** Names with no Secret, or with a Secret that is not a hash Secret (not Opaque, no `data.hash`). */
  missing: string[];
  rejected: RejectedObject[];
}

/** Per-call options. */
export interface CallOptions {
  /** The caller's deadline (e.g. this cluster's share of the sync run); aborting it fails the call promptly. */
  signal?: AbortSignal;
}

/** What a write-back patch found. */
export type PatchOutcome = 'patched' | 'not-found';

export interface ClusterSource {
  readonly clusterId: string;

  /** Every ClusterAuthToken in cattle-system. */
  listTokens(options?: CallOptions): Promise<ClusterListing<ClusterAuthToken>>;

  /** Every ClusterUserAttribute in cattle-system. */
  listUserAttributes(options?: CallOptions): Promise<ClusterListing<ClusterUserAttribute>>;

  /**
   * The hash Secrets of the named tokens, one GET each with bounded concurrency. Needs only `get secrets`.
   * Meant for the tokens whose `hash` is "" and that are new or changed since the last sync (the Secret is
   * written before its token and its hash does not change for the token's life), so a steady state costs nothing.
   */
  readHashSecrets(names: readonly string[], options?: CallOptions): Promise<HashSecretReads>;

  /** Merge-patches `lastUsedAt` (RFC 3339, second precision) on a ClusterAuthToken. */
  patchTokenLastUsed(name: string, lastUsedAt: Date, options?: CallOptions): Promise<PatchOutcome>;

  /** Merge-patches `needsRefresh: true` on a ClusterUserAttribute, so Rancher refreshes the user's groups. */
  patchUserNeedsRefresh(name: string, options?: CallOptions): Promise<PatchOutcome>;

  /**
   * Whether Rancher still runs the cluster's Authorized Cluster Endpoint: `off` when the `kube-api-auth`
   * DaemonSet is gone from cattle-system, which Rancher deletes when ACE is switched off (docs/rancher.md,
   * "When ACE is switched off"). Rancher then stops updating the objects this source reads.
   */
  readAceState(options?: CallOptions): Promise<'on' | 'off'>;
}

/** Base of every ClusterSource error. */
export class ClusterSourceError extends Error {
  constructor(
    readonly clusterId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cluster ${clusterId}: ${message}`, options);
    this.name = new.target.name;
  }
}

/** The kubeconfig cannot be used (unparseable, unknown context, no server). */
export class ClusterConfigError extends ClusterSourceError {}

/**
 * The cluster could not be reached or did not answer in time: connection errors, timeouts, 5xx/429 after the
 * bounded retries, or the deadline passed.
 */
export class ClusterUnreachableError extends ClusterSourceError {
  constructor(
    clusterId: string,
    readonly reason: 'network' | 'timeout' | 'server-error' | 'deadline',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(clusterId, message, options);
  }
}

/** The cluster refused our credential (401) or our Role does not allow the request (403). */
export class ClusterForbiddenError extends ClusterSourceError {
  constructor(
    clusterId: string,
    readonly status: 401 | 403,
    message: string,
  ) {
    super(clusterId, message);
  }
}

/**
 * The cluster answered, but not usefully: an unexpected status (e.g. 404 when Rancher's CRDs are not installed),
 * a body that is not the expected JSON, or a listing whose continue tokens kept expiring.
 */
export class ClusterListingError extends ClusterSourceError {
  constructor(
    clusterId: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(clusterId, message, options);
  }
}
