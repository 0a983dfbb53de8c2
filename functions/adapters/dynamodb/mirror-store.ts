import type { SyncStore } from '../../core/ports/mirror-store.ts';
import type { NameFilter } from '../../core/name-filter.ts';
import type { ClusterRecord, ClusterState, LastSync, MirrorFingerprint, MirroredRecord, RecordRef, SyncLease, Versioned } from '../../core/records.ts';
import {
  clusterFromItem,
  clusterKey,
  itemOf,
  keyOf,
  nameFilterFromItem,
  nameFilterItemOf,
  nameFilterKey,
  parseSortKey,
  partitionOf,
  REGISTRY_PK,
  revocationFromItem,
  secretFromItem,
  tokenFromItem,
  usageFromItem,
  userFromItem,
} from './rows.ts';
import type { TableOperations } from './table-operations.ts';

/**
 * The mirror's and the sync run's view of the table (`SyncStore`). Rows that do not exist yet are
 * written in unconditional batches; rows that exist are replaced or deleted only at the `rev` that
 * was read, so a concurrent revoke or sync is never overwritten. SDK errors reach the caller, which
 * fails the cluster's sync and keeps its rows.
 */
export class DynamoDbMirrorStore implements SyncStore {
  constructor(protected readonly table: TableOperations) {}

  async listClusters(): Promise<Versioned<ClusterRecord>[]> {
    return (await this.table.queryPartition(REGISTRY_PK)).map(clusterFromItem);
  }

  async readClusterState(clusterId: string): Promise<ClusterState> {
    const state: ClusterState = { tokens: [], users: [], secrets: [], usage: [] };
    for (const item of await this.table.queryPartition(partitionOf(clusterId))) {
      switch (parseSortKey(String(item.sk))?.kind) {
        case 'token':
          state.tokens.push(tokenFromItem(item));
          break;
        case 'user':
          state.users.push(userFromItem(item));
          break;
        case 'secret':
          state.secrets.push(secretFromItem(item));
          break;
        case 'usage':
          state.usage.push(usageFromItem(item));
          break;
        case 'revocation':
          (state.revocations ??= []).push(revocationFromItem(item));
          break;
        default:
          break;
      }
    }
    return state;
  }

  createRecords(records: readonly MirroredRecord[]): Promise<void> {
    return this.table.batchWrite(records.map((record) => itemOf(record, 0)), []);
  }

  replaceIfVersion(record: MirroredRecord, expectedVersion: number): Promise<boolean> {
    return this.table.putIfRev(itemOf(record, expectedVersion + 1), expectedVersion);
  }

  deleteIfVersion(ref: RecordRef, expectedVersion: number): Promise<boolean> {
    return this.table.deleteIfRev(keyOf(ref), expectedVersion);
  }

  async readNameFilter(clusterId: string): Promise<Versioned<NameFilter> | undefined> {
    const item = await this.table.get(nameFilterKey(clusterId));
    return item ? nameFilterFromItem(item) : undefined;
  }

  writeNameFilter(filter: NameFilter, expected: number | 'absent' | 'any'): Promise<boolean> {
    if (expected === 'any') return this.table.put(nameFilterItemOf(filter, 0)).then(() => true);
    if (expected === 'absent') return this.table.putIfAbsent(nameFilterItemOf(filter, 0));
    return this.table.putIfRev(nameFilterItemOf(filter, expected + 1), expected);
  }

  deleteRecords(refs: readonly RecordRef[]): Promise<void> {
    return this.table.batchWrite([], refs.map(keyOf));
  }

  /** Does not bump `rev`, which guards the caller credentials only. */
  acquireSyncLease(clusterId: string, lease: SyncLease, nowMs: number): Promise<boolean> {
    return this.table.update({
      Key: clusterKey(clusterId),
      UpdateExpression: 'SET syncLease = :lease',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(syncLease) OR syncLease.expiresAtMs < :now OR syncLease.#owner = :owner)',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':lease': lease, ':now': nowMs, ':owner': lease.owner },
    });
  }

  /**
   * One write: the outcome, the lease released, `lastSuccessfulSyncAt` on success, and the mirror
   * fingerprint stored or removed; only while `owner` holds the lease (a run that overran it must not
   * overwrite its successor's record).
   */
  finishSync(clusterId: string, owner: string, lastSync: LastSync, fingerprint?: MirrorFingerprint): Promise<boolean> {
    const ok = lastSync.outcome === 'ok';
    const set = ['lastSync = :lastSync', ...(ok ? ['lastSuccessfulSyncAt = :at'] : []), ...(fingerprint ? ['mirrorFingerprint = :fingerprint'] : [])];
    const remove = ['syncLease', ...(fingerprint ? [] : ['mirrorFingerprint'])];
    return this.table.update({
      Key: clusterKey(clusterId),
      UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      ConditionExpression: 'syncLease.#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':lastSync': lastSync,
        ':owner': owner,
        ...(ok ? { ':at': lastSync.at } : {}),
        ...(fingerprint ? { ':fingerprint': fingerprint } : {}),
      },
    });
  }
}
