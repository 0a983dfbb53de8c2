import { downstreamFingerprint, managementFingerprint } from '../../core/mirror/fingerprint.ts';
import type { ClusterSource } from '../../core/ports/cluster-source.ts';
import { sourceOf, type ClusterRecord } from '../../core/records.ts';
import { listCluster, type Listed } from './downstream-mirror.ts';
import { deriveFromReading, rancherClusterOf, type RancherClusterDerivation, type ManagementReading } from './management-sync.ts';
import type { OpenClusterSource } from './types.ts';

/**
 * The reads a cluster's sync starts with, before its lease and before any write: what a no-change resync
 * compares with the stored fingerprint (docs/architecture.md, "The no-change resync").
 */

/** What they found, and its fingerprint (absent: the cluster cannot skip). */
export interface Prepared {
  digest?: string;
  objects: number;
  downstream?: { source: ClusterSource; listed: Listed; aceOff?: string };
  /** `rancher` source: the cluster's derivation, applied by the mirror and reported by every run, also one that skips. */
  management?: RancherClusterDerivation;
}

/**
 * A `rancher` cluster: the records the run's reading derives for it, fingerprinted (no digest when Rancher
 * was not read or does not know the cluster: the full path fails it, closed). A downstream cluster: opened,
 * its ACE checked, listed completely, fingerprinted when every object was valid and ACE is on.
 */
export async function readCluster(
  cluster: ClusterRecord,
  reading: ManagementReading,
  openSource: OpenClusterSource,
  signal: AbortSignal,
  aceOffInRancher: boolean,
): Promise<Prepared> {
  if (sourceOf(cluster) === 'rancher') {
    const management = deriveFromReading(cluster, reading);
    if (management === undefined) return { objects: 0 };
    const policy = { acceptUnscopedTokens: cluster.acceptUnscopedTokens ?? false };
    return {
      digest: managementFingerprint(management.desired, management.skipped, policy, management.warnings),
      objects: management.objects,
      management,
    };
  }
  const source = await openSource(cluster, signal);
  const aceOff = await aceOffReason(source, cluster, reading, signal, aceOffInRancher);
  const listed = await listCluster(source, signal);
  const clean = aceOff === undefined && listed.tokens.rejected.length === 0 && listed.users.rejected.length === 0;
  return {
    ...(clean ? { digest: downstreamFingerprint(listed.tokens.items, listed.users.items) } : {}),
    objects: listed.tokens.items.length + listed.tokens.rejected.length + listed.users.items.length + listed.users.rejected.length,
    downstream: { source, listed, ...(aceOff !== undefined ? { aceOff } : {}) },
  };
}

/**
 * Why a downstream cluster's ACE is off in Rancher (its kube-api-auth DaemonSet is gone, or Rancher's
 * cluster object says so), or undefined while it is on. Its objects are then ones Rancher no longer
 * updates: its Rancher tokens stop being served (`failClosedAceOff`).
 */
export async function aceOffReason(
  source: ClusterSource,
  cluster: ClusterRecord,
  reading: ManagementReading,
  signal: AbortSignal,
  aceOffInRancher: boolean,
): Promise<string | undefined> {
  const inRancher = rancherClusterOf(reading, cluster.clusterId);
  return (await source.readAceState({ signal })) === 'off'
    ? 'the kube-api-auth DaemonSet is gone from cattle-system'
    : inRancher?.aceEnabled === false || aceOffInRancher
      ? "Rancher's cluster object has localClusterAuthEndpoint.enabled false"
      : undefined;
}
