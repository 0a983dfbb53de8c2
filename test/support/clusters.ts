import { randomBytes } from 'node:crypto';
import { issueCredential } from '../../functions/core/caller-credential.ts';
import { newClusterRow } from '../../functions/adapters/dynamodb/table.ts';

/** A registered cluster row plus the caller credential that opens it. */
export async function registeredCluster(clusterId = 'c-abc12', now = new Date('2026-11-26T00:00:00Z')) {
  const { credential, record } = await issueCredential(randomBytes, now);
  const row = newClusterRow(clusterId, record, now);
  return { row, credential, authorization: `Bearer ${credential}` };
}
