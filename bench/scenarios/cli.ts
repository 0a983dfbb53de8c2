import type { BenchContext, BenchGroup, Row } from '../lib/report.ts';

export async function cliScenarios(_context: BenchContext): Promise<Row[]> {
  return [];
}

export const cliGroup: BenchGroup = { key: 'cli', name: 'CLI', run: cliScenarios };
