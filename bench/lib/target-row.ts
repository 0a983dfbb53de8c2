import type { Row } from './report.ts';

/**
 * A target measured in one run: what was measured, the figure, the target it is held to, and whether it met
 * it (`pass` undefined: reported for context, no target). The sync scenarios return these.
 */
export interface TargetRow {
  group: string;
  name: string;
  /** The measured figure, as printed (e.g. `0.6% (3 of 520 RCU)`). */
  value: string;
  /** The target, as printed (e.g. `≤ 5%`); absent for a report row. */
  target?: string;
  pass?: boolean;
  notes?: string[];
}

/** The row the current table renders. */
export function toReportRow(row: TargetRow): Row {
  return {
    group: row.group,
    scenario: row.name,
    ratio: row.value,
    ...(row.target !== undefined ? { target: row.target } : {}),
    verdict: row.pass === undefined ? 'report' : row.pass ? 'PASS' : 'FAIL',
    ...(row.notes ? { notes: row.notes } : {}),
  };
}
