import type { ClusterSource } from '../../core/ports/cluster-source.ts';
import { createKubernetesClusterSource, type KubernetesClusterSourceOptions } from './downstream-source.ts';
import { loadKubeconfig, type KubeconfigStore } from '../kubeconfig/kubeconfig-store.ts';
import type { OpenClusterSource } from '../../services/sync/sync.ts';

/** Adapter settings every cluster gets (the cluster id, kubeconfig and context come from its registry row). */
export type SourceSettings = Omit<KubernetesClusterSourceOptions, 'clusterId' | 'kubeconfig' | 'context'>;

/**
 * Opens a registered cluster: reads its kubeconfig through whichever store its registry reference
 * names, and builds the Kubernetes adapter over it. Shared by the Lambda's and the CLI's composition roots.
 */
export function clusterSourceOpener(stores: readonly KubeconfigStore[], settings: SourceSettings = {}): OpenClusterSource {
  return async (cluster, signal): Promise<ClusterSource> => {
    const kubeconfig = await loadKubeconfig(stores, cluster.clusterId, cluster.access, signal);
    return createKubernetesClusterSource({
      ...settings,
      clusterId: cluster.clusterId,
      kubeconfig,
      ...(cluster.access?.context ? { context: cluster.access.context } : {}),
    });
  };
}
