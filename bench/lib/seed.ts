import { registeredCluster } from '../../test/support/clusters.ts';
import { openTable, type TableAccess } from '../../functions/adapters/dynamodb/table-access.ts';
import type { MirroredRecord } from '../../functions/core/records.ts';

export const REGION = 'us-east-1';

/** Opens (and creates) a table in a local DynamoDB for administration, as the CLI does. */
export async function benchTable(endpoint: string, tableName: string): Promise<TableAccess> {
  const table = openTable({ endpoint, region: REGION, tableName, localCredentials: true });
  await table.ensureTable();
  return table;
}

/** Registers a cluster as `tokengate clusters add` would; returns the Authorization header its apiserver sends. */
export async function seedCluster(table: TableAccess, clusterId: string): Promise<string> {
  const { record, authorization } = await registeredCluster(clusterId);
  await table.store.createCluster(record);
  return authorization;
}

/** Writes records with the store's own batch writer, a few batches at a time. */
export async function seedRows(table: TableAccess, rows: MirroredRecord[], parallel = 4): Promise<void> {
  const chunk = 25 * 8;
  const chunks: MirroredRecord[][] = [];
  for (let start = 0; start < rows.length; start += chunk) chunks.push(rows.slice(start, start + chunk));
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < chunks.length) {
        const mine = chunks[next++] as MirroredRecord[];
        await table.store.createRecords(mine);
      }
    }),
  );
}
