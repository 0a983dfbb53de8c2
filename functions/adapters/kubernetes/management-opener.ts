import { loadKubeconfig, type KubeconfigStore } from '../kubeconfig/kubeconfig-store.ts';
import type { OpenManagementSource } from '../../services/sync/management-sync.ts';
import { createManagementSource, MANAGEMENT_SOURCE_ID, type ManagementSourceOptions } from './management-source.ts';

export type ManagementSettings = Omit<ManagementSourceOptions, 'kubeconfig' | 'context'>;

/**
 * Opens the management source from its registration: reads Rancher's kubeconfig through whichever store its
 * reference names (Secrets Manager in AWS, a file locally), as cluster kubeconfigs are. Shared by the
 * Lambda's and the CLI's composition roots.
 */
export function managementSourceOpener(stores: readonly KubeconfigStore[], settings: ManagementSettings = {}): OpenManagementSource {
  return async (record, signal) => {
    const kubeconfig = await loadKubeconfig(stores, MANAGEMENT_SOURCE_ID, record.access, signal);
    return createManagementSource({ ...settings, kubeconfig, ...(record.access.context ? { context: record.access.context } : {}) });
  };
}
