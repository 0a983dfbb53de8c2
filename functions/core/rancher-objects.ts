/**
 * Rancher's objects in a downstream cluster's `cattle-system` namespace, as the domain sees them once the
 * Kubernetes adapter has validated them (`adapters/kubernetes/rancher-objects.ts`). Field meanings are in
 * docs/reference.md ("Rancher's objects").
 */

/** A ClusterAuthToken, reduced to what the authenticator needs. */
export interface ClusterAuthToken {
  name: string;
  uid: string;
  resourceVersion: string;
  userName: string;
  enabled: boolean;
  /** RFC 3339 as Rancher wrote it; "" = never expires. Not parsed here. */
  expiresAt: string;
  /** "" when the hash lives in the Secret of the same name (Rancher 2.13+). */
  hash: string;
  /** RFC 3339 as written by the last authenticator; "" = never used. */
  lastUsedAt: string;
}

/** A ClusterUserAttribute (metadata.name is the Rancher user id). */
export interface ClusterUserAttribute {
  name: string;
  uid: string;
  resourceVersion: string;
  groups: string[];
  enabled: boolean;
  extraByProvider: Record<string, Record<string, string[]>>;
  /** RFC 3339; "" = never refreshed. */
  lastRefresh: string;
  needsRefresh: boolean;
}

/** The hash Secret of a ClusterAuthToken: same name, type Opaque, `data.hash`, decoded here. */
export interface HashSecret {
  name: string;
  uid: string;
  resourceVersion: string;
  hash: string;
}

/** An object that failed validation: its name (when readable) and where it is wrong, never its values. */
export interface RejectedObject {
  name: string;
  problems: string[];
}

