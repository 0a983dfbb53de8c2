// `npm run bench [-- --quick] [-- --only=<key>,<key>]`: every target of issue 13 measured against its
// baseline in the same run, the old in-process rows as `report` rows, one table, then every target with
// PASS/FAIL; the exit code is non-zero when a target fails (or a group errors). Progress goes to stderr,
// the table and the verdicts to stdout. Budget: the full run under 5 minutes, `--quick` under 60 s.
//
// Adding a scenario
// -----------------
// 1. Write a group in `bench/scenarios/<name>.ts` exporting a `BenchGroup` (`bench/lib/report.ts`):
//      export const capacityGroup: BenchGroup = { key: 'capacity', name: 'sync capacity', run: async (context) => [...] };
//    `run` gets a `BenchContext` — `quick` (make the run smaller: the quick run of all groups must stay
//    under 60 s), `dynamoEndpoint` (a shared local DynamoDB in its own process; use a table of your own),
//    `progress(message)` — and returns rows. Start the processes it needs with `startWorker`
//    (`bench/lib/child.ts`, workers in `bench/workers/`), and stop them in a `finally`.
// 2. Make each row with a helper of `bench/lib/report.ts`:
//      targetRow({ group, scenario, value, atMost?, atLeast?, shown, target, measured?, baseline?, notes? })
//        → PASS/FAIL on one number (a difference of medians, a size, a count, a share of capacity);
//          a NaN value is an ERROR;
//      throughputRow({ group, scenario, measured, baselineName, baseline, atLeast?, notes? })
//        → a throughput ratio; without `atLeast` it is a `report` row (no target);
//      or a plain `Row` with `verdict: 'report'` for context.
//    Put what limits the figure in `notes` (one line each, printed under the table).
// 3. Add the group to `GROUPS` below. Its key selects it with `--only`; a group that throws becomes an
//    ERROR row and the others still run.
// Quote targets as the issue states them and measure both sides in the same run (the machine is shared:
// absolute numbers drift, ratios and differences of medians much less).
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { startWorker } from './lib/child.ts';
import { renderTable, type BenchContext, type BenchGroup, type Row } from './lib/report.ts';
import { cliGroup } from './scenarios/cli.ts';
import { coldStartGroup } from './scenarios/cold-start.ts';
import { httpGroup } from './scenarios/http.ts';
import { inProcessGroup } from './scenarios/inprocess.ts';
import { syncGroup } from './scenarios/sync.ts';
import { capacityGroup } from './scenarios/capacity.ts';
import { fleetGroup } from './scenarios/fleet.ts';
import { rancherLoadGroup } from './scenarios/rancher-load.ts';

/** Every group, in the order they run and print. */
const GROUPS: BenchGroup[] = [coldStartGroup, cliGroup, httpGroup, inProcessGroup, syncGroup, capacityGroup, fleetGroup, rancherLoadGroup];

// Node 20 is what this machine has; the SDK's notice about future versions is not a benchmark result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const unknown = only?.filter((key) => !GROUPS.some((group) => group.key === key)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown group(s) ${unknown.join(', ')}; groups: ${GROUPS.map((group) => group.key).join(', ')}`);
  process.exit(2);
}
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;
const progress = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);

const loadBefore = loadavg();
progress(`${quick ? 'quick' : 'full'} run; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`);
const store = await startWorker<{ endpoint: string }>('dynalite.ts');
const rows: Row[] = [];
try {
  const context: BenchContext = { quick, dynamoEndpoint: store.ready.endpoint, progress };
  for (const group of GROUPS) {
    if (only && !only.includes(group.key)) continue;
    const groupStarted = performance.now();
    try {
      rows.push(...(await group.run(context)));
    } catch (error) {
      progress(`${group.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      rows.push({ group: group.name, scenario: '(all)', verdict: 'ERROR', notes: [error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)] });
    }
    progress(`${group.name}: ${((performance.now() - groupStarted) / 1000).toFixed(0)} s`);
  }
} finally {
  await store.stop();
}

const loadAfter = loadavg();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const targets = rows.filter((row) => row.target !== undefined || row.verdict === 'ERROR');
const failed = rows.filter((row) => row.verdict === 'FAIL' || row.verdict === 'ERROR');
const passed = rows.filter((row) => row.verdict === 'PASS');
console.log(
  [
    `tokengate benchmarks (${quick ? 'quick' : 'full'}) — ${new Date().toISOString()}`,
    `${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ` +
      `load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after; ran ${elapsed()}`,
    '',
    renderTable(rows),
    '',
    'Targets:',
    ...targets.map((row) => `  ${row.verdict.padEnd(6)} ${row.group}: ${row.scenario} — ${row.ratio ?? '–'} (target ${row.target ?? '–'})`),
    '',
    `${passed.length} of ${targets.length} targets met` + (failed.length > 0 ? `; failed: ${failed.map((row) => `${row.scenario} (${row.verdict})`).join(', ')}` : ''),
  ].join('\n'),
);
process.exitCode = failed.length > 0 ? 1 : 0;
