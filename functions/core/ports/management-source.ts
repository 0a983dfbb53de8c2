/**
 * The port through which the sync reads Rancher's management (local) cluster, and where it keeps what it
 * read so the next run can resume from the stored resourceVersions instead of listing everything again
 * (docs/rancher.md, "Load on Rancher"). Adapters: `adapters/kubernetes/management-source.ts`,
 * `adapters/dynamodb/management-state-store.ts`. Errors are the ClusterSource ones (`cluster-source.ts`),
 * named after the pseudo-cluster id `rancher`; they never hold a token, a secret or a hash.
 */
import type { ManagementSnapshot } from '../management-objects.ts';
import type { RancherSourceRecord } from '../records.ts';
import type { CallOptions, PatchOutcome, RejectedObject } from './cluster-source.ts';

/** The resourceVersion each collection was last read or watched to. */
export interface ManagementVersions {
  tokens: string;
  extTokens: string;
  users: string;
  userAttributes: string;
  clusters: string;
}

/** What a run keeps of the management cluster: the objects as of `versions` (hashes only, never a plaintext). */
export interface ManagementState {
  snapshot: ManagementSnapshot;
  versions: ManagementVersions;
}

/** How a read went, for the report and the load measurement. */
export interface ManagementReadStats {
  /** `full`: paged lists of everything; `watch`: events since the stored versions; `mixed`: some collections relisted (410). */
  mode: 'full' | 'watch' | 'mixed';
  requests: number;
  /** Objects and events received. */
  objects: number;
  /** Collections whose stored version had expired (410 Gone) and that were listed again. */
  relisted: (keyof ManagementVersions)[];
}

export interface ManagementRead {
  state: ManagementState;
  /** False when nothing changed since `previous`: nothing needs storing. */
  changed: boolean;
  rejected: RejectedObject[];
  stats: ManagementReadStats;
}

export interface ManagementSource {
  /**
   * One complete, consistent picture of the management cluster: `previous` brought up to date with a short
   * watch per collection from its stored version, or (no previous state, or that version expired) a full
   * paged listing. Any failure throws; a partial read is never returned.
   */
  read(previous: ManagementState | undefined, options?: CallOptions): Promise<ManagementRead>;
  /**
   * Writes `lastUsedAt` back: a JSON patch on a v3 token (`replace /lastUsedAt`, or `add` when the token has
   * none yet: `replace` of an absent member fails), a merge patch of `data.last-used-at` on an ext token's Secret.
   */
  patchLastUsed(token: { name: string; origin: 'v3' | 'ext'; lastUsedAt: string }, at: Date, options?: CallOptions): Promise<PatchOutcome>;
}

/** Where the registration of the management source and the state between runs are kept. */
export interface ManagementStateStore {
  readRancherSource(): Promise<RancherSourceRecord | undefined>;
  readManagementState(): Promise<ManagementState | undefined>;
  /** Replaces the stored state (several rows; a reader sees the old or the new one whole). */
  writeManagementState(state: ManagementState): Promise<void>;
}
