import { ConflictError } from '../../core/errors.ts';
import type { AdminStore } from '../../core/ports/admin-store.ts';
import type { FloodReader } from '../../core/ports/flood-store.ts';
import type { FloodWindow } from '../../core/foreign-summary.ts';
import type { CallerCredential, ClusterAccess, ClusterRecord, RevocationRecord, TokenRecord, Versioned } from '../../core/records.ts';
import { DynamoDbMirrorStore } from './mirror-store.ts';
import { hashFingerprint } from '../../core/revocation.ts';
import {
  clusterFromItem,
  clusterItemOf,
  clusterKey,
  floodFromItem,
  floodPartitionOf,
  floodSortKeyFrom,
  itemOf,
  keyOf,
  partitionOf,
  revocationFromItem,
  revocationItemOf,
  tokenFromItem,
} from './rows.ts';

/**
 * The administrative view of the table (`AdminStore`): the cluster registry and native tokens, plus the
 * mirror's reads and writes for `import`. Conflicts become `ConflictError`; other SDK errors reach the
 * command, which names the table and the cause.
 */
export class DynamoDbAdminStore extends DynamoDbMirrorStore implements AdminStore, FloodReader {
  async createCluster(cluster: ClusterRecord): Promise<void> {
    await this.table.putNew(clusterItemOf(cluster, 0), `cluster ${cluster.clusterId} already exists`);
  }

  async readCluster(clusterId: string): Promise<Versioned<ClusterRecord> | undefined> {
    const item = await this.table.get(clusterKey(clusterId));
    return item ? clusterFromItem(item) : undefined;
  }

  async replaceCredentials(clusterId: string, credentials: CallerCredential[], expectedVersion: number): Promise<void> {
    const replaced = await this.table.update({
      Key: clusterKey(clusterId),
      UpdateExpression: 'SET credentials = :credentials, rev = :next',
      ConditionExpression: 'rev = :rev',
      ExpressionAttributeValues: { ':credentials': credentials, ':rev': expectedVersion, ':next': expectedVersion + 1 },
    });
    if (!replaced) throw new ConflictError(`cluster ${clusterId} changed concurrently`);
  }

  setClusterAccess(clusterId: string, access: ClusterAccess): Promise<boolean> {
    return this.table.update({
      Key: clusterKey(clusterId),
      UpdateExpression: 'SET access = :access',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':access': access },
    });
  }

  async deleteCluster(clusterId: string): Promise<number> {
    const rows = await this.deletePartition(partitionOf(clusterId));
    // its flood report goes with it (those rows would expire within a week anyway)
    await this.deletePartition(floodPartitionOf(clusterId));
    await this.table.delete(clusterKey(clusterId));
    return rows;
  }

  /** Deletes every row of a partition; how many there were. */
  private async deletePartition(pk: string): Promise<number> {
    const items = await this.table.queryPartition(pk, 'pk, sk');
    await this.table.batchWrite([], items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) })));
    return items.length;
  }

  async readFloodWindows(clusterId: string, since: Date): Promise<FloodWindow[]> {
    const items = await this.table.queryFrom(floodPartitionOf(clusterId), floodSortKeyFrom(since));
    const sinceIso = since.toISOString();
    return items.map(floodFromItem).filter((window) => window.windowEnd >= sinceIso);
  }

  /**
   * Lifts a token's revocation: removes the durable record and the mark on the token row. False when the
   * token was not revoked (neither a record nor a mark).
   */
  async unrevokeToken(clusterId: string, name: string): Promise<boolean> {
    const state = await this.readRevocation(clusterId, name);
    if (state) await this.table.delete(keyOf({ kind: 'revocation', clusterId, name }));
    // the revocation record is gone: the next sync must plan again, whatever it lists
    await this.bumpMirrorEpoch(clusterId);
    const unmarked = await this.table.update({
      Key: keyOf({ kind: 'token', clusterId, name }),
      UpdateExpression: 'REMOVE revoked, revokedAt SET rev = if_not_exists(rev, :zero) + :one',
      ConditionExpression: 'attribute_exists(pk) AND revoked = :true',
      ExpressionAttributeValues: { ':true': true, ':zero': 0, ':one': 1 },
    });
    return state !== undefined || unmarked;
  }

  /** Does not bump `rev`, which guards the caller credentials only. */
  bumpMirrorEpoch(clusterId: string): Promise<boolean> {
    return this.table.update({
      Key: clusterKey(clusterId),
      UpdateExpression: 'ADD mirrorEpoch :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':one': 1 },
    });
  }

  /** The revocation recorded under a token's name, if any (whatever instance it binds). */
  async readRevocation(clusterId: string, name: string): Promise<RevocationRecord | undefined> {
    const item = await this.table.get(keyOf({ kind: 'revocation', clusterId, name }));
    return item ? revocationFromItem(item) : undefined;
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.table.putNew(itemOf(token, 0), `token ${token.name} already exists`);
  }

  /**
   * Records a durable revocation of the token's current instance (its name and the fingerprint of its
   * hash), then marks the token row revoked. Sync keeps the mark while the revocation exists, so a Rancher
   * token stays refused even while its ClusterAuthToken is still enabled, and after its row is pruned and
   * comes back. False (and nothing written) when no such token exists.
   */
  async revokeToken(clusterId: string, name: string, at: Date): Promise<boolean> {
    const item = await this.table.get(keyOf({ kind: 'token', clusterId, name }));
    if (!item) return false;
    const token = tokenFromItem(item);
    const revocation: RevocationRecord = {
      kind: 'revocation',
      clusterId,
      name,
      hashFingerprint: hashFingerprint(token.hash),
      revokedAt: at.toISOString(),
      userName: token.userName,
      origin: token.origin,
    };
    // the durable record first: if the row update below fails, the next sync still applies the revocation
    await this.table.put(revocationItemOf(revocation));
    // after the record and before the row: should the row update fail, the next sync plans (it skips nothing)
    await this.bumpMirrorEpoch(clusterId);
    return this.table.update({
      Key: keyOf({ kind: 'token', clusterId, name }),
      UpdateExpression: 'SET revoked = :true, revokedAt = :at, rev = if_not_exists(rev, :zero) + :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':true': true, ':at': at.toISOString(), ':zero': 0, ':one': 1 },
    });
  }
}
