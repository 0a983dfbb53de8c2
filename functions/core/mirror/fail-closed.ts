import type { MirrorPlan } from './plan.ts';
import { refOf, type ClusterState } from '../records.ts';

/**
 * The plan that stops a cluster's Rancher tokens from authenticating when their source can no longer be
 * trusted (ACE switched off in Rancher: docs/rancher.md, "When ACE is switched off"): every Rancher-derived
 * record is deleted — tokens, users, hash Secrets and the usage of those tokens — except tokens an operator
 * revoked with `tokengate tokens revoke`, which refuse on their own and keep their mark. Native tokens are
 * not Rancher's and stay. Deleting (rather than flagging) means nothing stale can come back: once the cluster
 * is served again, its records are rebuilt from a complete listing of the then-current source, so a
 * revocation made in Rancher meanwhile cannot be outlived by an old row.
 */
export function failClosedPlan(current: ClusterState): MirrorPlan {
  const plan: MirrorPlan = { puts: [], deletes: [], counts: { created: 0, updated: 0, unchanged: 0, deleted: 0 }, shadowedByNative: [] };
  const kept = new Set<string>();
  for (const token of current.tokens) {
    if (token.origin === 'native' || token.revoked) {
      kept.add(token.name);
      continue;
    }
    plan.deletes.push({ ref: refOf(token), expectedVersion: token.version });
  }
  for (const record of [...current.users, ...current.secrets]) plan.deletes.push({ ref: refOf(record), expectedVersion: record.version });
  for (const usage of current.usage) if (!kept.has(usage.name)) plan.deletes.push({ ref: refOf(usage) });
  plan.counts.deleted = plan.deletes.length;
  return plan;
}
