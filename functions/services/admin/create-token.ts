import type { AdminStore } from '../../core/ports/admin-store.ts';
import type { TokenRecord } from '../../core/records.ts';
import { describeFilterFailure, includeNames } from '../mirror/name-filter.ts';

/**
 * Creates a native token (`tokengate tokens create`) so that the cluster's name filter holds its name before
 * the row exists and after: a token missing from the filter would be refused unread. Throws `ConflictError`
 * when a token of that name exists, and the store's error when the filter cannot be written (then no row
 * is created). Returns a warning when the row was created but the filter could not be checked afterwards.
 */
export async function createToken(store: AdminStore, record: TokenRecord): Promise<{ warning?: string }> {
  // Without a stored filter there is nothing to add to: the cluster's unknown names are read within the budget.
  await includeNames(store, record.clusterId, [record.name]);
  await store.createToken(record);
  try {
    // a first build or a trim by sync or import may have run in between: they listed the row, or we see them here
    await includeNames(store, record.clusterId, [record.name]);
    return {};
  } catch (error) {
    return { warning: `${describeFilterFailure(record.clusterId, error)}; the token may be refused until the next sync` };
  }
}
