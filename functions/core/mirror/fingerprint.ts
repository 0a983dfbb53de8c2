import { createHash } from 'node:crypto';
import type { ClusterAuthToken, ClusterUserAttribute } from '../rancher-objects.ts';
import type { MirrorFingerprint } from '../records.ts';
import type { DesiredRecords } from './derive.ts';

/**
 * A digest of everything a cluster's mirrored rows are derived from, so that a run whose inputs did not
 * change since the last complete, clean apply can skip reading the cluster's rows and planning
 * (docs/architecture.md, "The no-change resync"). It never stands in for a listing: the listing is still
 * read in full; only the table read and the plan are skipped.
 *
 * Not the list's resourceVersion: a real apiserver's list resourceVersion is the global etcd revision, which
 * moves with any write anywhere in the cluster. Each object's uid + resourceVersion moves exactly when that
 * object is written (or deleted and recreated).
 */

const FINGERPRINT_VERSION = 'fingerprint-v1';

/**
 * A downstream cluster's fingerprint: every listed ClusterAuthToken and ClusterUserAttribute by name, uid and
 * resourceVersion. Hash Secrets are not listed: Rancher writes a token's Secret before the token and never
 * changes its hash, and a run that could not read a token's Secret stores no fingerprint.
 */
export function downstreamFingerprint(tokens: readonly ClusterAuthToken[], users: readonly ClusterUserAttribute[]): string {
  const lines = [
    ...tokens.map((token) => `t\u0000${token.name}\u0000${token.uid}\u0000${token.resourceVersion}`),
    ...users.map((user) => `u\u0000${user.name}\u0000${user.uid}\u0000${user.resourceVersion}`),
  ];
  return digestLines('downstream', lines);
}

/**
 * A `rancher`-source cluster's fingerprint: the desired records derived from the management snapshot (their
 * source digests cover every derived field), the tokens skipped and why, the cluster's policy flags, and the
 * run's warnings: its record keeps those of the last full run (`LastSync.warnings`), so a change in them (ACE
 * switched on or off in Rancher) must make a full run, or the record would show a stale one.
 */
export function managementFingerprint(
  desired: DesiredRecords,
  skipped: readonly string[],
  policy: { acceptUnscopedTokens: boolean },
  warnings: readonly string[] = [],
): string {
  const lines = [
    `policy\u0000unscoped=${String(policy.acceptUnscopedTokens)}`,
    ...warnings.map((warning) => `w\u0000${warning}`),
    ...desired.tokens.map((record) => `t\u0000${record.name}\u0000${record.sourceDigest ?? ''}`),
    ...desired.users.map((record) => `u\u0000${record.userId}\u0000${record.sourceDigest ?? ''}`),
    ...desired.secrets.map((record) => `s\u0000${record.name}\u0000${record.sourceDigest ?? ''}`),
    ...skipped.map((entry) => `k\u0000${entry}`),
  ];
  return digestLines('rancher', lines);
}

/**
 * Whether a run may skip the table read and the plan: the stored fingerprint has the same digest, was
 * recorded at the cluster's current mirror epoch (any write to the cluster's rows outside sync — import,
 * revoke — bumps the epoch), and is younger than `maxAgeMs` (a full reconcile still happens that often: it
 * recreates rows DynamoDB's TTL removed and carries write-back).
 */
export function isUnchanged(
  stored: MirrorFingerprint | undefined,
  digest: string,
  currentEpoch: number,
  nowMs: number,
  maxAgeMs: number,
): boolean {
  if (stored === undefined || maxAgeMs <= 0) return false;
  const at = Date.parse(stored.at);
  return stored.digest === digest && stored.epoch === currentEpoch && !Number.isNaN(at) && nowMs - at < maxAgeMs && nowMs >= at;
}

function digestLines(kind: string, lines: string[]): string {
  const hash = createHash('sha256').update(`${FINGERPRINT_VERSION}:${kind}\n`);
  // sorted: the apiserver's order (and paging) must not change the digest
  for (const line of lines.sort()) hash.update(line).update('\n');
  return hash.digest('base64url');
}
