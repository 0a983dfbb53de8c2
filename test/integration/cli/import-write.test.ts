import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRecords, type MirrorSources } from '../../../functions/core/mirror/derive.ts';
import { planMirror, type MirrorPlan } from '../../../functions/core/mirror/plan.ts';
import { applyMirrorPlan } from '../../../functions/services/mirror/apply.ts';
import { startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import type { ClusterState } from '../../../functions/core/records.ts';

const HASH = '$2:jwvzsLqh6Rg:FyeWbQuUt6VEMhQOe5J1kXPf0D4H9MRjub0aNaGzyx8';
const sources = (enabled: boolean, withBob: boolean): MirrorSources => ({
  tokens: [
    { name: 'kubeconfig-u-alice', userName: 'u-alice', enabled, expiresAt: '', hash: HASH },
    ...(withBob ? [{ name: 'kubeconfig-u-bob', userName: 'u-bob', enabled: true, expiresAt: '', hash: HASH }] : []),
  ],
  users: [{ name: 'u-alice', groups: [], enabled: true, extraByProvider: {}, lastRefresh: '', needsRefresh: false }],
  secrets: [],
});

/** Applies a plan as `import` does; returns how many records changed under it. */
async function applyImportPlan(stack: LocalStack, plan: MirrorPlan, current: ClusterState): Promise<number> {
  return (await applyMirrorPlan(stack.store, plan, { concurrency: 8, batchChunk: 500, names: { clusterId: 'c-w', current } })).conflicts;
}

describe('applyMirrorPlan (as import uses it)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('writes a plan into the table so that planning again finds nothing to do', async () => {
    const read = await stack.store.readClusterState('c-w');
    const plan = planMirror(read, deriveRecords('c-w', sources(true, true)).records, { prune: false });
    expect(await applyImportPlan(stack, plan, read)).toBe(0);
    const again = planMirror(await stack.store.readClusterState('c-w'), deriveRecords('c-w', sources(true, true)).records, { prune: true });
    expect(again.counts).toEqual({ created: 0, updated: 0, unchanged: 3, deleted: 0 });
  });

  it('does not overwrite or delete rows that changed after they were read (a revoke in between)', async () => {
    const current = await stack.store.readClusterState('c-w');
    const plan = planMirror(current, deriveRecords('c-w', sources(false, false)).records, { prune: true });
    expect(plan.counts).toMatchObject({ updated: 1, deleted: 1 });

    await stack.store.revokeToken('c-w', 'kubeconfig-u-alice', new Date());
    await stack.store.revokeToken('c-w', 'kubeconfig-u-bob', new Date());
    expect(await applyImportPlan(stack, plan, current)).toBe(2);

    const after = await stack.store.readClusterState('c-w');
    const byName = new Map(after.tokens.map((token) => [token.name, token]));
    expect(byName.get('kubeconfig-u-alice')).toMatchObject({ revoked: true, enabled: true });
    expect(byName.get('kubeconfig-u-bob')).toMatchObject({ revoked: true });
  });
});
