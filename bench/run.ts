// `npm run bench [-- --quick] [-- --only=in-process,http,cold-start,sync]`: every scenario of issue 5
// against its baseline measured in the same run, one table, PASS/FAIL per target, non-zero exit when a
// target fails. Progress goes to stderr, the table to stdout.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { startWorker } from './lib/child.ts';
import { renderTable, type Row } from './lib/report.ts';
import { coldStartScenarios } from './scenarios/cold-start.ts';
import { httpScenarios } from './scenarios/http.ts';
import { inProcessScenarios, type Context } from './scenarios/inprocess.ts';
import { syncScenarios } from './scenarios/sync.ts';
import { capacityScenarios } from './scenarios/capacity.ts';
import { fleetScenarios } from './scenarios/fleet.ts';
import { rancherLoadScenarios } from './scenarios/rancher-load.ts';
import { toReportRow } from './lib/target-row.ts';

// Node 20 is what this machine has; the SDK's notice about future versions is not a benchmark result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;
const progress = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);

const groups: Array<{ key: string; name: string; run: (context: Context) => Promise<Row[]> }> = [
  { key: 'in-process', name: 'in-process', run: inProcessScenarios },
  { key: 'http', name: 'loopback HTTP', run: httpScenarios },
  { key: 'cold-start', name: 'cold start', run: coldStartScenarios },
  { key: 'sync', name: 'sync', run: syncScenarios },
  { key: 'capacity', name: 'capacity', run: async (context) => (await capacityScenarios(context)).map(toReportRow) },
  { key: 'fleet', name: 'fleet', run: async (context) => (await fleetScenarios(context)).map(toReportRow) },
  { key: 'rancher-load', name: 'rancher load', run: async (context) => (await rancherLoadScenarios(context)).map(toReportRow) },
];

const loadBefore = loadavg();
progress(`${quick ? 'quick' : 'full'} run; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`);
const store = await startWorker<{ endpoint: string }>('dynalite.ts');
const rows: Row[] = [];
try {
  const context: Context = { quick, dynamoEndpoint: store.ready.endpoint, progress };
  for (const group of groups) {
    if (only && !only.includes(group.key)) continue;
    try {
      rows.push(...(await group.run(context)));
    } catch (error) {
      progress(`${group.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      rows.push({ group: group.name, scenario: '(all)', verdict: 'ERROR', notes: [error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)] });
    }
  }
} finally {
  await store.stop();
}

const loadAfter = loadavg();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  [
    `tokengate benchmarks (${quick ? 'quick' : 'full'}) — ${new Date().toISOString()}`,
    `${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ` +
      `load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after; ran ${elapsed()}`,
    '',
    renderTable(rows),
    '',
  ].join('\n'),
);
const failed = rows.filter((row) => row.verdict === 'FAIL' || row.verdict === 'ERROR');
const targets = rows.filter((row) => row.verdict === 'PASS' || row.verdict === 'FAIL');
console.log(
  `${targets.length - failed.filter((row) => row.verdict === 'FAIL').length} of ${targets.length} targets met` +
    (failed.length > 0 ? `; failed: ${failed.map((row) => `${row.scenario} (${row.verdict})`).join(', ')}` : ''),
);
process.exitCode = failed.length > 0 ? 1 : 0;
