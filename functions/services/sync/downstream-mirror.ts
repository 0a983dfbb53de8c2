import { deriveRecords, sourcesFromState, type MirrorSources } from '../../core/mirror/derive.ts';
import { planMirror } from '../../core/mirror/plan.ts';
import type { ClusterAuthToken, ClusterListing, ClusterSource, ClusterUserAttribute, HashSecretReads } from '../../core/ports/cluster-source.ts';
import type { MirrorStore } from '../../core/ports/mirror-store.ts';
import type { ClusterState } from '../../core/records.ts';
import { applyMirrorPlan } from '../mirror/apply.ts';
import type { ClusterSyncResult, SyncOptions } from './types.ts';

/**
 * The mirror of one downstream cluster (the `downstream` source): its ClusterAuthTokens and
 * ClusterUserAttributes, complete listings only, and the hash Secrets of new or changed tokens.
 */

/** What a mirrored downstream cluster listed, and the records it had: the write-back's input. */
export interface Mirrored {
  tokens: ClusterAuthToken[];
  users: ClusterUserAttribute[];
  current: ClusterState;
  /** Every listed object was valid and every token got its hash: the rows are exactly what the listing derives. */
  complete: boolean;
}

/** A downstream cluster's two complete listings. */
export interface Listed {
  tokens: ClusterListing<ClusterAuthToken>;
  users: ClusterListing<ClusterUserAttribute>;
}

/** Lists the cluster's ClusterAuthTokens and ClusterUserAttributes (complete listings or an error); writes nothing. */
export async function listCluster(source: ClusterSource, signal: AbortSignal): Promise<Listed> {
  const [tokens, users] = await Promise.all([source.listTokens({ signal }), source.listUserAttributes({ signal })]);
  return { tokens, users };
}

/**
 * Derives, plans and writes one cluster from its listings. A failure before the writes (reading the rows,
 * reading Secrets) leaves every row as it was; one during the writes leaves what was written, each row
 * whole, and the next run converges from there.
 */
export async function mirrorCluster(
  store: MirrorStore,
  options: Pick<SyncOptions, 'writeConcurrency' | 'batchChunk'>,
  source: ClusterSource,
  { tokens, users }: Listed,
  signal: AbortSignal,
  result: ClusterSyncResult,
): Promise<Mirrored> {
  const clusterId = source.clusterId;
  result.objects = countListed(tokens) + countListed(users);
  const current = await store.readClusterState(clusterId);
  signal.throwIfAborted();

  const stored = sourcesFromState(current);
  const storedTokens = byName(stored.tokens);
  const storedUsers = byName(stored.users);

  // An object that fails validation keeps the rows it had: its stored source stands in for it.
  const rejectedUsers = users.rejected.map((object) => object.name);
  const userSources = [...users.items, ...present(rejectedUsers.map((name) => storedUsers.get(name)))];

  const secretReads = await readChangedSecrets(source, tokens.items, current, stored, signal);
  result.secretReads = secretReads.read;
  const rejectedTokens = new Set([...tokens.rejected.map((object) => object.name), ...secretReads.rejected]);
  const tokenSources = [
    ...tokens.items.filter((token) => !rejectedTokens.has(token.name)),
    ...present([...rejectedTokens].map((name) => storedTokens.get(name))),
  ];
  result.rejected = [
    ...tokens.rejected.map((object) => `clusterauthtoken/${object.name}`),
    ...users.rejected.map((object) => `clusteruserattribute/${object.name}`),
    ...secretReads.rejected.map((name) => `secret/${name}`),
  ];

  const derivation = deriveRecords(clusterId, { tokens: tokenSources, users: userSources, secrets: secretReads.secrets });
  const plan = planMirror(current, derivation.records, { prune: true });
  await applyMirrorPlan(store, plan, { concurrency: options.writeConcurrency, batchChunk: options.batchChunk, signal, names: { clusterId, current } }, result);
  const complete = result.rejected.length === 0 && derivation.tokensWithoutHash.length === 0;
  return { tokens: tokens.items, users: users.items, current, complete };
}

/**
 * Reads the hash Secrets of the tokens that have no hash of their own and are new, changed, or still
 * without a stored Secret; every other token reuses its stored SECRET# row (Rancher writes a token's
 * Secret before the token and never changes its hash), so an unchanged cluster costs no Secret read.
 * "Changed" compares the token row derived from the listed token with the stored user and Secret
 * against the stored row, so a change of the user alone does not re-read its tokens' Secrets.
 */
async function readChangedSecrets(
  source: ClusterSource,
  tokens: ClusterAuthToken[],
  current: ClusterState,
  stored: MirrorSources,
  signal: AbortSignal,
): Promise<{ secrets: MirrorSources['secrets']; rejected: string[]; read: number }> {
  const storedSecrets = byName(stored.secrets);
  const currentTokens = new Map(current.tokens.map((row) => [row.name, row]));
  const withoutHash = tokens.filter((token) => token.hash === '');
  const probe = deriveRecords(source.clusterId, { tokens: withoutHash, users: stored.users, secrets: stored.secrets });
  const toRead = probe.records.tokens
    .filter((row) => {
      const existing = currentTokens.get(row.name);
      if (existing?.origin === 'native') return false;
      return existing?.sourceDigest !== row.sourceDigest || !storedSecrets.has(row.name);
    })
    .map((row) => row.name);

  const reads: HashSecretReads = toRead.length > 0 ? await source.readHashSecrets(toRead, { signal }) : { found: [], missing: [], rejected: [] };
  const secrets = new Map(storedSecrets);
  for (const name of reads.missing) secrets.delete(name);
  for (const secret of reads.found) secrets.set(secret.name, { name: secret.name, hash: secret.hash });
  const rejected = reads.rejected.map((object) => object.name);
  // a rejected Secret's token keeps its stored rows, Secret included
  for (const name of rejected) {
    const kept = storedSecrets.get(name);
    if (kept) secrets.set(name, kept);
    else secrets.delete(name);
  }
  return { secrets: [...secrets.values()], rejected, read: toRead.length };
}

function countListed(listing: ClusterListing<unknown>): number {
  return listing.items.length + listing.rejected.length;
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}
