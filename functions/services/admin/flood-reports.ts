import { mergeFloodWindows, reportedOffender, type FloodWindow, type ReportedOffender } from '../../core/foreign-summary.ts';
import type { FloodReader } from '../../core/ports/flood-store.ts';

export type { ReportedOffender };

/** One cluster's foreign tokens since a time: every container's windows added up. */
export interface ClusterFloodReport extends Omit<FloodWindow, 'offenders'> {
  /** Stored windows (one per container and interval) this report adds up. */
  windows: number;
  offenders: ReportedOffender[];
}

/**
 * The flood report of `tokengate floods`: for each cluster, the windows the authenticate function stored
 * that ended at or after `since`, added up per sender; clusters without any are left out, the others
 * come most tokens first.
 */
export async function readFloodReports(store: FloodReader, clusterIds: readonly string[], since: Date): Promise<ClusterFloodReport[]> {
  const reports: ClusterFloodReport[] = [];
  for (const clusterId of clusterIds) {
    const windows = await store.readFloodWindows(clusterId, since);
    const merged = mergeFloodWindows(windows);
    if (!merged) continue;
    reports.push({
      ...merged,
      windows: windows.length,
      offenders: merged.offenders.map(reportedOffender),
    });
  }
  return reports.sort((a, b) => b.total - a.total || a.clusterId.localeCompare(b.clusterId));
}
