import { appendFileSync } from 'node:fs';

/**
 * Figures a soak-relevant test wants in `npm run test:soak`'s closing table. Each test appends one JSON line
 * to the file named by SOAK_REPORT (set by test/soak/run.ts); outside the soak run this does nothing.
 */
export interface SoakFigures {
  section: string;
  cases?: number;
  faults?: number;
  requests?: number;
  errors?: number;
  wrongAccepts?: number;
  p99Ms?: number;
  rssStartMb?: number;
  rssMaxMb?: number;
  note?: string;
}

export function soakReport(figures: SoakFigures): void {
  const file = process.env.SOAK_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}
