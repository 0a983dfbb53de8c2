import type { FloodWindow } from '../foreign-summary.ts';

/**
 * Where the authenticate path keeps its flood report: one write per cluster per window per container, best
 * effort (a failure is logged, never a review's). Adapter: `adapters/dynamodb/review-store.ts`.
 */
export interface FloodRecorder {
  /** Stores one container's window of one cluster; the store expires it after a retention period. */
  recordFloodWindow(window: FloodWindow, writer: string): Promise<void>;
}

/** What `tokengate floods` reads back. Adapter: `adapters/dynamodb/admin-store.ts`. */
export interface FloodReader {
  /** The stored windows of a cluster that ended at or after `since`, oldest first (every container's rows). */
  readFloodWindows(clusterId: string, since: Date): Promise<FloodWindow[]>;
}
