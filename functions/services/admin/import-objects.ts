import { deriveRecords, mergeSources, sourcesFromState, type Derivation, type MirrorSources } from '../../core/mirror/derive.ts';
import { planMirror, type MirrorPlan } from '../../core/mirror/plan.ts';
import type { AdminStore } from '../../core/ports/admin-store.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';
import { applyMirrorPlan } from '../mirror/apply.ts';

export interface ImportOptions {
  /** Remove records of Rancher objects the sources do not contain (the sources are then the whole cluster). */
  prune: boolean;
  /** Plan only, write nothing. */
  dryRun: boolean;
}

export interface ImportOutcome {
  derivation: Derivation;
  plan: MirrorPlan;
  /** Records that changed while importing (a revoke, another import or sync) and kept their new state. */
  conflicts: number;
  /** Things the operator should know that did not fail the import (a name filter left larger than needed). */
  warnings: string[];
}

/** Writes in flight at once for an import: an operator's command, not a sync run of the whole fleet. */
const IMPORT_CONCURRENCY = 8;
const IMPORT_BATCH_CHUNK = 500;

/**
 * Imports Rancher objects of one cluster (`tokengate import`): without `prune` they are merged with the
 * sources of what the cluster already holds, so every dependent record is derived again; then planned and
 * applied exactly as sync does. Native tokens and revocations are never touched.
 */
export async function importObjects(store: MirrorStore & Pick<AdminStore, 'bumpMirrorEpoch'>, clusterId: string, sources: MirrorSources, options: ImportOptions): Promise<ImportOutcome> {
  const current = await store.readClusterState(clusterId);
  const merged = options.prune ? sources : mergeSources(sourcesFromState(current), sources);
  const derivation = deriveRecords(clusterId, merged);
  const plan = planMirror(current, derivation.records, { prune: options.prune });
  if (options.dryRun) return { derivation, plan, conflicts: 0, warnings: [] };
  let applied;
  try {
    applied = await applyMirrorPlan(store, plan, { concurrency: IMPORT_CONCURRENCY, batchChunk: IMPORT_BATCH_CHUNK, names: { clusterId, current } });
  } finally {
    // after the writes, even partial ones: the next sync reads the rows and plans instead of skipping
    await store.bumpMirrorEpoch(clusterId);
  }
  return { derivation, plan, conflicts: applied.conflicts, warnings: applied.warnings ?? [] };
}
