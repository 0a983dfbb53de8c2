import { randomBytes } from 'node:crypto';
import { issueCredential } from '../../functions/core/caller-credential.ts';
import { newCluster } from '../../functions/core/records.ts';

/** A registered cluster record plus the caller credential that opens it. */
export async function registeredCluster(clusterId = 'c-abc12', now = new Date('2026-11-26T00:00:00Z')) {
  const { credential, record } = await issueCredential(randomBytes, now);
  return { record: newCluster(clusterId, record, now), credential, authorization: `Bearer ${credential}` };
}
