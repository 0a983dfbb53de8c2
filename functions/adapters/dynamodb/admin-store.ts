import { ConflictError } from '../../core/errors.ts';
import type { AdminStore } from '../../core/ports/admin-store.ts';
import type { CallerCredential, ClusterAccess, ClusterRecord, TokenRecord, Versioned } from '../../core/records.ts';
import { DynamoDbMirrorStore } from './mirror-store.ts';
import { clusterFromItem, clusterItemOf, clusterKey, itemOf, keyOf, partitionOf } from './rows.ts';

/**
 * The administrative view of the table (`AdminStore`): the cluster registry and native tokens, plus the
 * mirror's reads and writes for `import`. Conflicts become `ConflictError`; other SDK errors reach the
 * command, which names the table and the cause.
 */
export class DynamoDbAdminStore extends DynamoDbMirrorStore implements AdminStore {
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
    const items = await this.table.queryPartition(partitionOf(clusterId), 'pk, sk');
    await this.table.batchWrite([], items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) })));
    await this.table.delete(clusterKey(clusterId));
    return items.length;
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.table.putNew(itemOf(token, 0), `token ${token.name} already exists`);
  }

  /** Sync keeps the mark, so a Rancher token stays refused even while its ClusterAuthToken is still enabled. */
  revokeToken(clusterId: string, name: string, at: Date): Promise<boolean> {
    return this.table.update({
      Key: keyOf({ kind: 'token', clusterId, name }),
      UpdateExpression: 'SET revoked = :true, revokedAt = :at, rev = if_not_exists(rev, :zero) + :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':true': true, ':at': at.toISOString(), ':zero': 0, ':one': 1 },
    });
  }
}
