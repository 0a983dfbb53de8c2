/**
 * `npm run test:soak`: the long property budgets, the long fault runs, the abuse bounds and the load run
 * (vitest.soak.config.ts, with SOAK=1), then one summary table of what they report: cases, faults,
 * requests, errors, wrong accepts, p99 and RSS. Exits with vitest's status.
 *
 *   npm run test:soak                       # full budgets, 20 s load
 *   SOAK_RUNS=2000 LOAD_SECONDS=5 npm run test:soak   # shorter
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoakFigures } from '../support/soak-report.ts';

const directory = mkdtempSync(join(tmpdir(), 'tokengate-soak-'));
const report = join(directory, 'figures.jsonl');
const started = Date.now();

const status = await new Promise<number>((resolve) => {
  const child = spawn('npx', ['vitest', 'run', '--config', 'vitest.soak.config.ts', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SOAK: '1', SOAK_REPORT: report },
  });
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});

let figures: SoakFigures[] = [];
try {
  figures = readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as SoakFigures);
} catch {
  // no test reported anything (e.g. a startup error): the table says so
}
rmSync(directory, { recursive: true, force: true });

const show = (value: number | undefined) => (value === undefined ? '' : String(value));
const rows = figures.map((f) => ({
  section: f.section,
  cases: show(f.cases),
  faults: show(f.faults),
  requests: show(f.requests),
  errors: show(f.errors),
  'wrong accepts': show(f.wrongAccepts),
  'p99 ms': show(f.p99Ms),
  'RSS MB (warm → max)': f.rssMaxMb === undefined ? '' : `${f.rssStartMb} → ${f.rssMaxMb}`,
  note: f.note ?? '',
}));
const total = (key: keyof SoakFigures) => figures.reduce((sum, f) => sum + (typeof f[key] === 'number' ? (f[key] as number) : 0), 0);
rows.push({
  section: 'TOTAL',
  cases: String(total('cases')),
  faults: String(total('faults')),
  requests: String(total('requests')),
  errors: '',
  'wrong accepts': String(total('wrongAccepts')),
  'p99 ms': '',
  'RSS MB (warm → max)': '',
  note: `${Math.round((Date.now() - started) / 1000)} s, vitest exit ${status}`,
});

const columns = Object.keys(rows[0]!) as Array<keyof (typeof rows)[number]>;
const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => row[column].length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
console.log('\nsoak summary');
console.log(line(columns));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(columns.map((column) => row[column])));
process.exit(status);
