import type { Row } from '../lib/report.ts';
import type { Context } from './inprocess.ts';

export async function syncScenarios(_context: Context): Promise<Row[]> {
  return [
    { group: 'sync', scenario: 'initial mirror, 3 × 10,000 tokens', verdict: 'not yet measured', notes: ['the sync function (functions/sync/handler.ts) has not landed yet'] },
    { group: 'sync', scenario: 'no-change resync', verdict: 'not yet measured' },
  ];
}
