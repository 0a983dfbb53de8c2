import type { NameFilter } from '../name-filter.ts';
import type { ClusterRecord, ClusterState, LastSync, MirrorFingerprint, MirroredRecord, RecordRef, SyncLease, Versioned } from '../records.ts';

/**
 * Where the mirror reads a cluster's records and writes the changes a plan names (`applyMirrorPlan`).
 * Adapter: `adapters/dynamodb/mirror-store.ts`.
 */
export interface MirrorStore {
  /** Every record of one cluster, read consistently. */
  readClusterState(clusterId: string): Promise<ClusterState>;
  /** Unconditional writes of records that did not exist (nobody else writes a record that does not exist yet). */
  createRecords(records: readonly MirroredRecord[]): Promise<void>;
  /** Replaces a record only if its version is still `expectedVersion`; false when it changed or vanished. */
  replaceIfVersion(record: MirroredRecord, expectedVersion: number): Promise<boolean>;
  /** Deletes a record only if its version is still `expectedVersion`; false when it changed or is already gone. */
  deleteIfVersion(ref: RecordRef, expectedVersion: number): Promise<boolean>;
  /** The cluster's name filter, or undefined; `MalformedRecordError` when its row is unreadable. */
  readNameFilter(clusterId: string): Promise<Versioned<NameFilter> | undefined>;
  /**
   * Writes the cluster's name filter if the stored one is still at `expected` (a version; `absent`: none
   * stored; `any`: whatever is stored, for replacing an unreadable row). False when that no longer holds.
   */
  writeNameFilter(filter: NameFilter, expected: number | 'absent' | 'any'): Promise<boolean>;
  /** Unconditional deletes (usage records, which nobody but the authenticate path writes). */
  deleteRecords(refs: readonly RecordRef[]): Promise<void>;
}

/** What a sync run needs from the store besides the mirror: the registry and its per-cluster lease. */
export interface SyncStore extends MirrorStore {
  listClusters(): Promise<Versioned<ClusterRecord>[]>;
  /**
   * Takes (or renews) a cluster's sync lease: succeeds when none is held, the held one has expired, or
   * `lease.owner` holds it. False when another live owner holds it or the cluster is not registered.
   */
  acquireSyncLease(clusterId: string, lease: SyncLease, nowMs: number): Promise<boolean>;
  /**
   * Records a sync's outcome and releases the lease, only while `owner` still holds it; false when lost.
   * With `fingerprint` (a complete, clean apply) it is stored; without, any stored one is removed.
   */
  finishSync(clusterId: string, owner: string, lastSync: LastSync, fingerprint?: MirrorFingerprint): Promise<boolean>;
}
