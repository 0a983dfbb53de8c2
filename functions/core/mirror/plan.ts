import { refOf, type ClusterState, type MirroredRecord, type RecordRef, type RevocationRecord, type TokenRecord } from '../records.ts';
import { hashFingerprint } from '../revocation.ts';
import type { DesiredRecords } from './derive.ts';

/**
 * The second half of the mirror: the writes that turn a cluster's current records into the desired ones
 * (`derive.ts`), applied by `services/mirror/apply.ts`.
 */

export interface PlannedPut {
  record: MirroredRecord;
  change: 'create' | 'update';
  /** Version of the record this put replaces (absent for a new record): the write is conditional on it. */
  expectedVersion?: number;
}

export interface PlannedDelete {
  ref: RecordRef;
  /** Absent for usage records, which are deleted unconditionally. */
  expectedVersion?: number;
}

export interface MirrorPlan {
  puts: PlannedPut[];
  deletes: PlannedDelete[];
  counts: { created: number; updated: number; unchanged: number; deleted: number };
  /** Rancher tokens whose name a native token already has: the native token is left alone. */
  shadowedByNative: string[];
}

export interface PlanOptions {
  /** Also delete Rancher-derived records that the desired ones do not contain. */
  prune: boolean;
}

type Current = ClusterState['tokens'][number] | ClusterState['users'][number] | ClusterState['secrets'][number];

/**
 * The writes that turn the cluster's current records into the desired ones. A record whose
 * `sourceDigest` is unchanged is not written. Native tokens are never overwritten or deleted. A token is
 * revoked when the cluster holds a revocation of its instance (its name and the fingerprint of its hash:
 * an operator's revoke outlives sync, a prune and a restore, but not a regenerated token of the same
 * name); a token revoked before revocations were kept apart stays revoked while its hash is unchanged.
 * Every write to an existing record is conditional on the version that was read. With `prune`, Rancher records absent
 * from the desired ones are deleted, with the usage records of tokens that no longer exist.
 */
export function planMirror(current: ClusterState, desired: DesiredRecords, options: PlanOptions): MirrorPlan {
  const plan: MirrorPlan = { puts: [], deletes: [], counts: { created: 0, updated: 0, unchanged: 0, deleted: 0 }, shadowedByNative: [] };
  const currentById = new Map<string, Current>();
  for (const record of [...current.tokens, ...current.users, ...current.secrets]) currentById.set(keyOfRecord(record), record);
  const desiredRecords: MirroredRecord[] = [...desired.tokens, ...desired.users, ...desired.secrets];
  const desiredIds = new Set(desiredRecords.map(keyOfRecord));

  for (const record of desiredRecords) {
    const existing = currentById.get(keyOfRecord(record));
    if (existing?.kind === 'token' && existing.origin === 'native') {
      plan.shadowedByNative.push(existing.name);
      continue;
    }
    const next: MirroredRecord = record.kind === 'token' ? withRevocation(record, existing, current.revocations ?? []) : record;
    const sameRevocation = next.kind !== 'token' || existing?.kind !== 'token' || Boolean(existing.revoked) === Boolean(next.revoked);
    if (existing && existing.sourceDigest === record.sourceDigest && sameRevocation) {
      plan.counts.unchanged += 1;
      continue;
    }
    plan.puts.push({ record: next, change: existing ? 'update' : 'create', ...(existing ? { expectedVersion: existing.version } : {}) });
    plan.counts[existing ? 'updated' : 'created'] += 1;
  }

  if (options.prune) {
    for (const [id, record] of currentById) {
      if (desiredIds.has(id) || (record.kind === 'token' && record.origin === 'native')) continue;
      plan.deletes.push({ ref: refOf(record), expectedVersion: record.version });
      plan.counts.deleted += 1;
    }
    const remainingTokens = new Set([
      ...desired.tokens.map((token) => token.name),
      ...current.tokens.filter((token) => token.origin === 'native').map((token) => token.name),
    ]);
    for (const usage of current.usage) {
      if (!remainingTokens.has(usage.name)) plan.deletes.push({ ref: refOf(usage) });
    }
  }
  return plan;
}

/** The desired token with the revocation its instance has, if any. */
function withRevocation(token: TokenRecord, existing: Current | undefined, revocations: readonly RevocationRecord[]): TokenRecord {
  const revocation = revocations.find((candidate) => candidate.name === token.name);
  if (revocation) {
    return revocation.hashFingerprint === hashFingerprint(token.hash) ? { ...token, revoked: true, revokedAt: revocation.revokedAt } : token;
  }
  if (existing?.kind === 'token' && existing.revoked && existing.hash === token.hash) {
    return { ...token, revoked: true, ...(existing.revokedAt !== undefined ? { revokedAt: existing.revokedAt } : {}) };
  }
  return token;
}

function keyOfRecord(record: MirroredRecord): string {
  const ref = refOf(record);
  return `${ref.kind}#${ref.name}`;
}
