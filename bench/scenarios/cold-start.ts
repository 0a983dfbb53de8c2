import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { httpEvent, tokenReviewBody } from '../../test/support/events.ts';
import { sha3Tokens } from '../lib/fixtures.ts';
import { ms, targetRow, type BenchContext, type BenchGroup, type Row } from '../lib/report.ts';
import { benchTable, REGION, seedCluster, seedRows } from '../lib/seed.ts';
import { keyOf } from '../../functions/adapters/dynamodb/rows.ts';
import { refOf, type MirroredRecord } from '../../functions/core/records.ts';
import { percentile, type Summary } from '../lib/stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Inside node_modules so that the bundle's external `@node-rs/argon2` resolves as it does in the zip. */
const BUILD_DIR = join(ROOT, 'node_modules/.cache/tokengate-bench');
const GROUP = 'cold start';
const CLUSTER = 'c-bench';
/** Issue 13: the first answer within this many ms of the SDK floor (medians of fresh processes). */
const TARGET_MS = 40;
/** Issue 13: the authenticate bundle, minified, at most this many KiB. */
const BUNDLE_KIB_AT_MOST = 600;

/**
 * The floor of our dependency choice: a function that imports only the DynamoDB client and document
 * client, builds them at module scope as ours does, and answers after one consistent GetItem.
 */
const FLOOR_SOURCE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: process.env.AWS_REGION, endpoint: process.env.DYNAMODB_ENDPOINT }));
export async function handler(event) {
  const item = await documents.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: JSON.parse(process.env.BENCH_FLOOR_KEY), ConsistentRead: true }));
  if (!item.Item) throw new Error('floor: no item');
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status: { authenticated: false } }) };
}
`;

/** esbuild keys of serverless-esbuild's configuration that are its own, not esbuild's. */
const PLUGIN_KEYS = new Set([
  'packager', 'packagerOptions', 'installExtraArgs', 'exclude', 'outputFileExtension', 'concurrency', 'zipConcurrency',
  'nativeZip', 'watch', 'keepOutputDirectory', 'skipBuild', 'skipBuildExcludeFns', 'stripEntryResolveExtensions',
  'disposeContext', 'skipRebuild', 'config', 'plugins',
]);

/**
 * Bundles the authenticate handler the way `npm run package` does: serverless.yml's `custom.esbuild`
 * settings, as serverless-esbuild hands them to esbuild (its `exclude`, default `aws-sdk`, becomes external).
 */
export async function bundleAuthenticate(): Promise<{ file: string; bytes: number; deflatedBytes: number; settings: string }> {
  return bundleLikeServerless();
}

/** Bundles `entry` (default: the authenticate handler) with serverless.yml's esbuild settings, as `name`. */
async function bundleLikeServerless(source?: { name: string; file: string }): Promise<{ file: string; bytes: number; deflatedBytes: number; settings: string }> {
  const config = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    custom: { esbuild: Record<string, unknown> };
    functions: { authenticate: { handler: string } };
  };
  const settings = config.custom.esbuild;
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) if (!PLUGIN_KEYS.has(key)) options[key] = value;
  const exclude = (settings.exclude as string[] | undefined) ?? ['aws-sdk'];
  const extension = (settings.outputFileExtension as string | undefined) ?? '.js';
  const entry = `${config.functions.authenticate.handler.replace(/\.[^.]+$/, '')}.ts`;
  mkdirSync(BUILD_DIR, { recursive: true });
  const file = join(BUILD_DIR, `${source?.name ?? 'authenticate'}${extension}`);
  await build({
    ...(options as BuildOptions),
    external: [...((options.external as string[] | undefined) ?? []), ...exclude],
    entryPoints: [source?.file ?? join(ROOT, entry)],
    outfile: file,
    absWorkingDir: ROOT,
    logLevel: 'silent',
  });
  const bytes = readFileSync(file);
  return {
    file,
    bytes: bytes.length,
    deflatedBytes: deflateRawSync(bytes, { level: 9 }).length,
    settings: Object.keys(options).join(', '),
  };
}

/** Both children write their answer on fd 3 (stdout is the product's log) and exit at once. */
const ANSWER = "const __answer = async (reply) => { (await import('node:fs')).writeSync(3, JSON.stringify(reply) + '\\n'); process.exit(0); };";
const CONSTANT_CHILD = `${ANSWER}
const event = JSON.parse(process.env.BENCH_EVENT);
const review = JSON.parse(event.body);
await __answer({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1beta1', kind: 'TokenReview', status: { authenticated: false } }) });`;
const IMPORT_ONLY_CHILD = `${ANSWER}
await import(process.env.BENCH_BUNDLE);
const event = JSON.parse(process.env.BENCH_EVENT);
const review = JSON.parse(event.body);
await __answer({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1beta1', kind: 'TokenReview', status: { authenticated: false } }) });`;
const HANDLER_CHILD = `${ANSWER}
const { handler } = await import(process.env.BENCH_BUNDLE);
await __answer(await handler(JSON.parse(process.env.BENCH_EVENT)));`;

/** Milliseconds from spawning a fresh `node` to reading its answer. */
function coldRun(code: string, env: Record<string, string>): Promise<{ ms: number; answer: string }> {
  return new Promise((resolvePromise, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let answer = '';
    let stderr = '';
    let tookMs: number | undefined;
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      if (tookMs === undefined && answer.endsWith('\n')) tookMs = performance.now() - began;
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (tookMs === undefined) reject(new Error(`cold-start child exited ${code} without answering: ${stderr}`));
      else resolvePromise({ ms: tookMs, answer });
    });
  });
}

function timings(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { ops: values.length, errors: 0, elapsedMs: Number.NaN, throughput: Number.NaN, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

export async function coldStartScenarios(context: BenchContext): Promise<Row[]> {
  context.progress('cold start: bundling functions/entry/authenticate/handler.ts and the SDK floor with serverless.yml esbuild settings');
  const bundle = await bundleAuthenticate();
  mkdirSync(BUILD_DIR, { recursive: true });
  const floorSource = join(BUILD_DIR, 'sdk-floor-source.mjs');
  writeFileSync(floorSource, FLOOR_SOURCE);
  const floorBundle = await bundleLikeServerless({ name: 'sdk-floor', file: floorSource });

  const tableName = 'bench-cold';
  const table = await benchTable(context.dynamoEndpoint, tableName);
  const authorization = await seedCluster(table, CLUSTER);
  const token = sha3Tokens(CLUSTER, 'cold', 1);
  await seedRows(table, token.rows);
  table.close();

  const event = httpEvent({ path: `/v1/clusters/${CLUSTER}/authenticate`, headers: { authorization }, body: tokenReviewBody(token.tokens[0]?.token as string) });
  // What the Lambda runtime gives the function: its configuration and credentials in the environment.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    BENCH_EVENT: JSON.stringify(event),
    BENCH_BUNDLE: `file://${bundle.file}`,
    TABLE_NAME: tableName,
    AWS_REGION: REGION,
    DYNAMODB_ENDPOINT: context.dynamoEndpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CACHE_TTL_SECONDS: '10',
    LOG_LEVEL: 'INFO',
    POWERTOOLS_SERVICE_NAME: 'tokengate',
    POWERTOOLS_METRICS_NAMESPACE: 'Tokengate',
    // Lambda runs Node 22, where the SDK prints no notice about Node 20's support ending.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };

  const floorEnv = { ...env, BENCH_BUNDLE: `file://${floorBundle.file}`, BENCH_FLOOR_KEY: JSON.stringify(keyOf(refOf(token.rows[0] as MirroredRecord))) };

  const reps = context.quick ? 5 : 21;
  context.progress(`cold start: ${reps} × (bare node, SDK floor, node + import, node + import + first review), alternating`);
  const kinds = ['constant', 'floor', 'importOnly', 'handler'] as const;
  const runs: Record<(typeof kinds)[number], number[]> = { constant: [], floor: [], importOnly: [], handler: [] };
  const once = async (which: (typeof kinds)[number]) => {
    if (which === 'constant') return (await coldRun(CONSTANT_CHILD, env)).ms;
    if (which === 'importOnly') return (await coldRun(IMPORT_ONLY_CHILD, env)).ms;
    if (which === 'floor') {
      const floor = await coldRun(HANDLER_CHILD, floorEnv);
      if (!floor.answer.includes('"statusCode":200')) throw new Error(`the SDK floor did not answer: ${floor.answer}`);
      return floor.ms;
    }
    const first = await coldRun(HANDLER_CHILD, env);
    if (!first.answer.includes('"statusCode":200') || !first.answer.includes('\\"authenticated\\":true')) {
      throw new Error(`the bundled handler's first answer is not an acceptance: ${first.answer}`);
    }
    return first.ms;
  };
  // Warm the OS file cache, as a Lambda host's would be for a popular runtime.
  for (const which of kinds) await once(which);
  for (let rep = 0; rep < reps; rep += 1) {
    const order = rep % 2 === 0 ? kinds : [...kinds].reverse();
    for (const which of order) runs[which].push(await once(which));
  }
  const constant = timings(runs.constant);
  const floor = timings(runs.floor);
  const importOnly = timings(runs.importOnly);
  const handler = timings(runs.handler);
  const overFloor = handler.p50 - floor.p50;
  const zip = join(ROOT, '.serverless/authenticate.zip');
  const zipNote = existsSync(zip)
    ? `.serverless/authenticate.zip (npm run package, ${statSync(zip).mtime.toISOString()}): ${(statSync(zip).size / 1024).toFixed(0)} KiB with the arm64 argon2 binary`
    : '.serverless/authenticate.zip not built (npm run package); the zip adds @node-rs/argon2 and its binary to the bundle';
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const signed = (value: number) => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))} ms`;
  return [
    {
      group: GROUP,
      scenario: 'SDK floor: client-dynamodb + lib-dynamodb, one GetItem',
      measured: floor,
      baselineName: 'fresh node, no imports',
      baseline: constant,
      ratio: signed(floor.p50 - constant.p50),
      verdict: 'report',
      notes: [
        `the floor of our dependency choice: only the two SDK packages, a client built at module scope, one consistent GetItem of the same row, bundled with the same settings (${kib(floorBundle.bytes)})`,
      ],
    },
    {
      group: GROUP,
      scenario: 'node + bundle import only',
      measured: importOnly,
      baselineName: 'fresh node, no imports',
      baseline: constant,
      ratio: signed(importOnly.p50 - constant.p50),
      verdict: 'report',
      notes: ['diagnostic: the import of the bundle (module evaluation, composition at first call excluded), answered with a constant'],
    },
    targetRow({
      group: GROUP,
      scenario: 'bundle + first review vs SDK floor',
      value: overFloor,
      atMost: TARGET_MS,
      shown: `${signed(overFloor)} (${signed(handler.p50 - constant.p50)} over bare node)`,
      target: `≤ +${TARGET_MS} ms`,
      measured: handler,
      baselineName: 'SDK floor (one GetItem)',
      baseline: floor,
      notes: [
        `first review: caller check (registry GetItem with the name filter beside it, credential verify), token GetItem, $3 verify, lastUsedAt write, against local DynamoDB; medians of ${reps} fresh processes each, alternating`,
      ],
    }),
    targetRow({
      group: GROUP,
      scenario: 'authenticate bundle size (minified)',
      value: bundle.bytes / 1024,
      atMost: BUNDLE_KIB_AT_MOST,
      shown: `${kib(bundle.bytes)} (floor ${kib(floorBundle.bytes)})`,
      target: `≤ ${BUNDLE_KIB_AT_MOST} KiB`,
      notes: [
        `bundle ${kib(bundle.bytes)} (${kib(bundle.deflatedBytes)} deflated), built with serverless.yml's esbuild settings (${bundle.settings}); ${zipNote}`,
      ],
    }),
  ];
}

export const coldStartGroup: BenchGroup = { key: 'cold-start', name: 'cold start', run: coldStartScenarios };
