import type { ClusterRow, TokenRow } from '../../adapters/dynamodb/table.ts';

/**
 * What the authenticate path needs from the table: one read per uncached review, one per uncached
 * caller check, and the best-effort usage write. Implemented by `DynamoDbStore`; faked in unit tests.
 */
export interface TokenStore {
  /** The token row of this cluster, or undefined. Throws `StoreUnavailableError` when the store fails. */
  getToken(clusterId: string, name: string): Promise<TokenRow | undefined>;
  /** The registry row of this cluster (its caller credentials), or undefined. */
  getCluster(clusterId: string): Promise<ClusterRow | undefined>;
  /**
   * Records that the token was used at `at`, unless a use at or after `notBefore` is already recorded.
   * Conditional in the store, so concurrent Lambdas write at most once per interval.
   */
  recordUse(clusterId: string, name: string, at: Date, notBefore: Date): Promise<void>;
}
