import type { Summary } from './stats.ts';

/** What every scenario group receives from `bench/run.ts`. */
export interface BenchContext {
  /** `--quick`: the same scenarios, shorter and smaller (the whole run under 60 s). */
  quick: boolean;
  /** A local DynamoDB (dynalite) in its own process, shared by the groups that need one. */
  dynamoEndpoint: string;
  /** A progress line on stderr (the table goes to stdout). */
  progress: (message: string) => void;
}

/** A group of scenarios: registered once in `bench/run.ts`'s `GROUPS`, selected with `--only=<key>`. */
export interface BenchGroup {
  key: string;
  name: string;
  run: (context: BenchContext) => Promise<Row[]>;
}

export type Verdict = 'PASS' | 'FAIL' | 'report' | 'not yet measured' | 'ERROR';

/** One line of the table. Numbers are optional: cold start and sync report times, not throughput. */
export interface Row {
  group: string;
  scenario: string;
  measured?: Summary;
  baselineName?: string;
  baseline?: Summary;
  /** Shown in the ratio column, e.g. `35%`, `245×`, `+120 ms`. */
  ratio?: string;
  target?: string;
  verdict: Verdict;
  /** Short extra facts (sizes, RSS, counts), shown under the table. */
  notes?: string[];
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);

export function rate(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

export function ms(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  return fixed(value, value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3);
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

export function times(ratio: number): string {
  return `${ratio >= 100 ? Math.round(ratio) : ratio.toFixed(1)}×`;
}

/** Renders rows as a Markdown table (readable in a terminal, pasteable into BENCHMARKS.md). */
export function renderTable(rows: Row[]): string {
  const header = ['group', 'scenario', 'ops/s', 'p50 ms', 'p99 ms', 'baseline', 'base ops/s', 'base p50', 'base p99', 'ratio', 'target', 'result'];
  const body = rows.map((row) => [
    row.group,
    row.scenario,
    rate(row.measured?.throughput),
    ms(row.measured?.p50),
    ms(row.measured?.p99),
    row.baselineName ?? '–',
    rate(row.baseline?.throughput),
    ms(row.baseline?.p50),
    ms(row.baseline?.p99),
    row.ratio ?? '–',
    row.target ?? '–',
    row.verdict,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  const notes = rows.flatMap((row) => (row.notes ?? []).map((note) => `- ${row.scenario}: ${note}`));
  return [line(header), rule, ...body.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

/**
 * A row with a target on one number: PASS when `value` is within the bound (`atMost` and/or `atLeast`),
 * FAIL otherwise, ERROR when the value could not be measured (NaN). Use it for every target that is not a
 * throughput ratio: a difference of medians (`+32 ms`), a size, a count, a share of capacity.
 */
export function targetRow(options: {
  group: string;
  scenario: string;
  /** The number compared with the bound, in the bound's unit. */
  value: number;
  atMost?: number;
  atLeast?: number;
  /** How the ratio column shows the value, e.g. `+32 ms`, `583 KiB`, `3.1%`. */
  shown: string;
  /** How the target column shows the bound, e.g. `≤ +40 ms`. */
  target: string;
  measured?: Summary;
  baselineName?: string;
  baseline?: Summary;
  notes?: string[];
}): Row {
  const within =
    (options.atMost === undefined || options.value <= options.atMost) && (options.atLeast === undefined || options.value >= options.atLeast);
  return {
    group: options.group,
    scenario: options.scenario,
    ...(options.measured ? { measured: options.measured } : {}),
    ...(options.baselineName ? { baselineName: options.baselineName } : {}),
    ...(options.baseline ? { baseline: options.baseline } : {}),
    ratio: options.shown,
    target: options.target,
    verdict: Number.isNaN(options.value) ? 'ERROR' : within ? 'PASS' : 'FAIL',
    ...(options.notes && options.notes.length > 0 ? { notes: options.notes } : {}),
  };
}

/** A row measured elsewhere that is not there yet (e.g. a scenario another change adds). */
export function pendingRow(group: string, scenario: string, target: string, note: string): Row {
  return { group, scenario, target, verdict: 'not yet measured', notes: [note] };
}

/** A throughput comparison against a floor: PASS when measured/baseline ≥ target. */
export function throughputRow(options: {
  group: string;
  scenario: string;
  measured: Summary;
  baselineName: string;
  baseline: Summary;
  /** Minimum ratio, e.g. 0.5 for "≥ 50%", 50 for "≥ 50×"; absent: report only. */
  atLeast?: number;
  notes?: string[];
}): Row {
  const ratio = options.measured.throughput / options.baseline.throughput;
  const asTimes = (options.atLeast ?? 0) > 1 || ratio >= 10;
  const notes = [...(options.notes ?? [])];
  let failedAnswers = false;
  for (const [who, summary] of [['measured', options.measured], ['baseline', options.baseline]] as const) {
    if (summary.errors === 0) continue;
    notes.push(`${who}: ${summary.errors.toLocaleString('en-US')} of ${summary.ops.toLocaleString('en-US')} answers were 5xx (counted in ops/s)`);
    if (summary.errors > summary.ops * 0.01) failedAnswers = true;
  }
  const verdict: Verdict = failedAnswers ? 'ERROR' : options.atLeast === undefined ? 'report' : ratio >= options.atLeast ? 'PASS' : 'FAIL';
  return {
    group: options.group,
    scenario: options.scenario,
    measured: options.measured,
    baselineName: options.baselineName,
    baseline: options.baseline,
    ratio: asTimes ? times(ratio) : percent(ratio),
    target: options.atLeast === undefined ? undefined : options.atLeast > 1 ? `≥ ${options.atLeast}×` : `≥ ${percent(options.atLeast)}`,
    verdict,
    ...(notes.length > 0 ? { notes } : {}),
  };
}
