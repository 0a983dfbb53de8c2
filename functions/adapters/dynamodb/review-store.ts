import { StoreUnavailableError } from '../../core/errors.ts';
import type { ClusterRecord, TokenRecord } from '../../core/records.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { SecretVerifier } from '../../core/hash.ts';
import type { NameFilter } from '../../core/name-filter.ts';
import { clusterFromItem, clusterKey, keyOf, nameFilterFromItem, nameFilterKey, tokenFromItem, withoutVersion } from './rows.ts';
import type { TableOperations } from './table-operations.ts';

/**
 * The authenticate path's view of the table (`TokenStore`): one consistent read per uncached review or
 * caller check, and the conditional usage write. Every call runs under a deadline (retries included);
 * a read that fails or runs out of time is a `StoreUnavailableError`, which the webhook answers 500.
 */
export class DynamoDbReviewStore implements TokenStore {
  constructor(
    private readonly table: TableOperations,
    /** Total time of one call, the SDK's retries included. */
    private readonly deadlineMs: number,
  ) {}

  async getToken(clusterId: string, name: string): Promise<TokenRecord | undefined> {
    const item = await this.read(() => this.table.get(keyOf({ kind: 'token', clusterId, name }), AbortSignal.timeout(this.deadlineMs)));
    return item ? withoutVersion(tokenFromItem(item)) : undefined;
  }

  async getNameFilter(clusterId: string): Promise<NameFilter | undefined> {
    const item = await this.read(() => this.table.get(nameFilterKey(clusterId), AbortSignal.timeout(this.deadlineMs)));
    if (!item) return undefined;
    const { version: _version, ...filter } = nameFilterFromItem(item);
    return filter;
  }

  async getCluster(clusterId: string): Promise<ClusterRecord | undefined> {
    const item = await this.read(() => this.table.get(clusterKey(clusterId), AbortSignal.timeout(this.deadlineMs)));
    return item ? withoutVersion(clusterFromItem(item)) : undefined;
  }

  async recordUse(clusterId: string, name: string, at: Date, notBefore: Date): Promise<void> {
    // false: another container recorded a use within the interval already
    await this.table.update(
      {
        Key: keyOf({ kind: 'usage', clusterId, name }),
        // Only lastUsedAt (and the key): the authenticate role may write no other attribute (infra/iam.yml).
        UpdateExpression: 'SET lastUsedAt = :at',
        ConditionExpression: 'attribute_not_exists(lastUsedAt) OR lastUsedAt < :notBefore',
        ExpressionAttributeValues: { ':at': at.toISOString(), ':notBefore': notBefore.toISOString() },
      },
      AbortSignal.timeout(this.deadlineMs),
    );
  }

  async recordVerifier(clusterId: string, name: string, verifier: SecretVerifier): Promise<void> {
    // Only this attribute, and not `rev`: a verifier is not part of the record a writer compares, and a
    // sync or import that rewrites the row meanwhile may drop it (its source digest would not match anyway).
    await this.table.update(
      {
        Key: keyOf({ kind: 'token', clusterId, name }),
        UpdateExpression: 'SET verifier = :verifier',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':verifier': verifier },
      },
      AbortSignal.timeout(this.deadlineMs),
    );
  }

  private async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }
}
