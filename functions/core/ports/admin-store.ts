import type { CallerCredential, ClusterAccess, ClusterRecord, RevocationRecord, TokenRecord, Versioned } from '../records.ts';
import type { MirrorStore } from './mirror-store.ts';

/** What the administrative operations (the CLI) need from the store. Adapter: `adapters/dynamodb/admin-store.ts`. */
export interface AdminStore extends MirrorStore {
  /** Registers a cluster; `ConflictError` if it already exists. */
  createCluster(cluster: ClusterRecord): Promise<void>;
  readCluster(clusterId: string): Promise<Versioned<ClusterRecord> | undefined>;
  listClusters(): Promise<Versioned<ClusterRecord>[]>;
  /**
   * Replaces a cluster's caller credentials if its version is still `expectedVersion` (`ConflictError`
   * otherwise). Only the credentials are written: a sync lease or outcome recorded meanwhile is kept.
   */
  replaceCredentials(clusterId: string, credentials: CallerCredential[], expectedVersion: number): Promise<void>;
  /** Records where sync finds the cluster's kubeconfig; false when the cluster is not registered. */
  setClusterAccess(clusterId: string, access: ClusterAccess): Promise<boolean>;
  /** Removes a cluster's records, then its registration; returns how many records it removed. */
  deleteCluster(clusterId: string): Promise<number>;
  /** Creates a native token; `ConflictError` if a token of that name exists in the cluster. */
  createToken(token: TokenRecord): Promise<void>;
  /**
   * Revokes a token at once, whatever its origin, with a durable revocation bound to its current instance
   * (name and hash fingerprint) that sync honours; false if no such token exists.
   */
  revokeToken(clusterId: string, name: string, at: Date): Promise<boolean>;
  /** Lifts a token's revocation; false when it was not revoked. */
  unrevokeToken(clusterId: string, name: string): Promise<boolean>;
  /**
   * Bumps the cluster's mirror epoch after a write to its rows made outside sync (import), so that no
   * stored sync fingerprint lets the next run skip reading them; false when the cluster is not registered.
   */
  bumpMirrorEpoch(clusterId: string): Promise<boolean>;
  /** The revocation recorded under a token's name, if any. */
  readRevocation(clusterId: string, name: string): Promise<RevocationRecord | undefined>;
}
