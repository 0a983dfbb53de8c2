import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha3Tokens } from '../lib/fixtures.ts';
import { ms, targetRow, type BenchContext, type BenchGroup, type Row } from '../lib/report.ts';
import { benchTable, REGION, seedCluster, seedRows } from '../lib/seed.ts';
import { percentile, type Summary } from '../lib/stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GROUP = 'CLI';
const CLUSTER = 'c-cli';
/** Issue 13: `tokengate --help` within 100 ms of `node -e 0`; `tokengate review` within 300 ms of it. */
const HELP_TARGET_MS = 100;
const REVIEW_TARGET_MS = 300;

/** Milliseconds from spawning the command to its exit, with its exit code and output. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ ms: performance.now() - began, code, stdout, stderr }));
  });
}

function timings(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { ops: values.length, errors: 0, elapsedMs: Number.NaN, throughput: Number.NaN, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/**
 * The CLI as a user runs it (`bin/tokengate.js`, what `npx tokengate` and the npm bin link start), built
 * by `npm ci` into dist/cli/, against `node -e 0` in alternating fresh processes.
 */
export async function cliScenarios(context: BenchContext): Promise<Row[]> {
  context.progress('CLI: building dist/cli (what npm ci does)');
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`scripts/build-cli.mjs failed: ${build.stderr}`);

  const tableName = 'bench-cli';
  const table = await benchTable(context.dynamoEndpoint, tableName);
  await seedCluster(table, CLUSTER);
  const token = sha3Tokens(CLUSTER, 'cli', 1);
  await seedRows(table, token.rows);
  table.close();

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DYNAMODB_ENDPOINT: context.dynamoEndpoint,
    TABLE_NAME: tableName,
    AWS_REGION: REGION,
  };
  const bin = join(ROOT, 'bin/tokengate.js');
  const commands = {
    bare: ['-e', '0'],
    help: [bin, '--help'],
    review: [bin, 'review', CLUSTER, token.tokens[0]?.token as string],
  } as const;
  type Kind = keyof typeof commands;
  const check = (kind: Kind, result: Awaited<ReturnType<typeof timed>>) => {
    if (kind === 'bare') return;
    if (result.stderr.includes('running from the TypeScript sources')) throw new Error(`the launcher did not use the build: ${result.stderr}`);
    if (kind === 'help' && (result.code !== 0 || !result.stdout.includes('Usage: tokengate'))) throw new Error(`tokengate --help: ${result.code} ${result.stderr}`);
    if (kind === 'review' && (result.code !== 0 || !result.stdout.startsWith('accepted'))) throw new Error(`tokengate review: ${result.code} ${result.stdout} ${result.stderr}`);
  };
  const kinds = Object.keys(commands) as Kind[];
  const runs: Record<Kind, number[]> = { bare: [], help: [], review: [] };
  const reps = context.quick ? 5 : 15;
  context.progress(`CLI: ${reps} × (node -e 0, tokengate --help, tokengate review), alternating`);
  for (const kind of kinds) check(kind, await timed([...commands[kind]], env)); // warm the file cache
  for (let rep = 0; rep < reps; rep += 1) {
    for (const kind of rep % 2 === 0 ? kinds : [...kinds].reverse()) {
      const result = await timed([...commands[kind]], env);
      check(kind, result);
      runs[kind].push(result.ms);
    }
  }
  const bare = timings(runs.bare);
  const help = timings(runs.help);
  const review = timings(runs.review);
  const over = (summary: Summary) => summary.p50 - bare.p50;
  return [
    targetRow({
      group: GROUP,
      scenario: 'tokengate --help',
      value: over(help),
      atMost: HELP_TARGET_MS,
      shown: `+${ms(over(help))} ms`,
      target: `≤ +${HELP_TARGET_MS} ms`,
      measured: help,
      baselineName: 'node -e 0',
      baseline: bare,
      notes: [`bin/tokengate.js running the build of npm ci (dist/cli); medians of ${reps} fresh processes each, alternating`],
    }),
    targetRow({
      group: GROUP,
      scenario: 'tokengate review <id> <token>',
      value: over(review),
      atMost: REVIEW_TARGET_MS,
      shown: `+${ms(over(review))} ms`,
      target: `≤ +${REVIEW_TARGET_MS} ms`,
      measured: review,
      baselineName: 'node -e 0',
      baseline: bare,
      notes: ['a $3 token reviewed against the local DynamoDB (dynalite in its own process, running): two GetItems (token, cluster registry)'],
    }),
  ];
}

export const cliGroup: BenchGroup = { key: 'cli', name: 'CLI', run: cliScenarios };
