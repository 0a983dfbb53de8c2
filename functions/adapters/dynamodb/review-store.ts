import { StoreUnavailableError } from '../../core/errors.ts';
import type { ClusterRecord, TokenRecord } from '../../core/records.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { FloodRecorder } from '../../core/ports/flood-store.ts';
import type { FloodWindow } from '../../core/foreign-summary.ts';
import type { SecretVerifier } from '../../core/hash.ts';
import type { NameFilter } from '../../core/name-filter.ts';
import { clusterFromItem, clusterKey, floodRowOf, keyOf, nameFilterFromItem, nameFilterKey, tokenFromItem, withoutVersion } from './rows.ts';
import type { TableOperations } from './table-operations.ts';

/**
 * The authenticate path's view of the table (`TokenStore`): one read per uncached review (eventually
 * consistent: 0.5 RCU for a row up to 4 KB) or caller check (consistent), and the conditional usage write. Every call runs under a deadline (retries included);
 * a read that fails or runs out of time is a `StoreUnavailableError`, which the webhook answers 500.
 */
export class DynamoDbReviewStore implements TokenStore, FloodRecorder {
  constructor(
    private readonly table: TableOperations,
    /** Total time of one call, the SDK's retries included. */
    private readonly deadlineMs: number,
  ) {}

  /**
   * Eventually consistent: half the read capacity of a consistent read, and a change (a revoke, a sync's
   * disable) reaches it within about a second — inside the decision cache's own CACHE_TTL_SECONDS, which
   * already bounds how soon a change is seen (docs/reference.md, "Table layout").
   */
  async getToken(clusterId: string, name: string): Promise<TokenRecord | undefined> {
    const item = await this.read(() => this.table.get(keyOf({ kind: 'token', clusterId, name }), AbortSignal.timeout(this.deadlineMs), false));
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

  async recordFloodWindow(window: FloodWindow, writer: string): Promise<void> {
    const { key, attributes } = floodRowOf(window, writer);
    // UpdateItem, not PutItem: the authenticate role may only UpdateItem, and in F# partitions only these
    // attributes (infra/iam.yml). One row per writer, so containers never overwrite each other's counts.
    await this.table.update(
      {
        Key: key,
        UpdateExpression: 'SET #flood = :flood, #ttl = :ttl',
        ExpressionAttributeNames: { '#flood': 'flood', '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':flood': attributes.flood, ':ttl': attributes.ttl },
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
