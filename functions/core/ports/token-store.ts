import type { ClusterRecord, TokenRecord } from '../records.ts';
import type { SecretVerifier } from '../hash.ts';
import type { NameFilter } from '../name-filter.ts';

/**
 * What the authenticate path needs from the store: one read per uncached review, one per uncached
 * caller check, and the best-effort usage write. Adapter: `adapters/dynamodb/review-store.ts`.
 */
export interface TokenStore {
  /** The token of this cluster, or undefined. Throws `StoreUnavailableError` when the store fails. */
  getToken(clusterId: string, name: string): Promise<TokenRecord | undefined>;
  /**
   * The cluster's filter of existing token names, or undefined when it has none (an older table, or a
   * cluster before its first sync). Throws `StoreUnavailableError`, or `MalformedRecordError` for a row
   * that is not a filter.
   */
  getNameFilter(clusterId: string): Promise<NameFilter | undefined>;
  /** The registered cluster (its caller credentials), or undefined. Throws `StoreUnavailableError`. */
  getCluster(clusterId: string): Promise<ClusterRecord | undefined>;
  /**
   * Records that the token was used at `at`, unless a use at or after `notBefore` is already recorded.
   * Conditional in the store, so concurrent Lambdas write at most once per interval.
   */
  recordUse(clusterId: string, name: string, at: Date, notBefore: Date): Promise<void>;
  /**
   * Stores a fast verifier beside an existing token row, changing nothing else (the row's version
   * included); does nothing when the row is gone. Best effort, like `recordUse`.
   */
  recordVerifier(clusterId: string, name: string, verifier: SecretVerifier): Promise<void>;
}
