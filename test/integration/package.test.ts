// Packages the service the way `osls deploy` would (npm run package: osls + serverless-esbuild, no AWS)
// and checks the CloudFormation template and the function zips. Nothing here can reach AWS, so the
// packaged template is the proof that a deploy creates what docs/deploy.md promises.
//
// The service is packaged twice, each in its own scratch copy of the project (so a concurrent run in the
// working tree cannot collide with .esbuild/ or .serverless/):
//   - defaults: regional table, execute-api URL, sync on;
//   - options:  custom domain with mutual TLS, an ownership certificate and DNS, global table, sync off
//               (a secondary region), authenticate's concurrency unreserved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** Bundle size is cold start: the authenticate zip (bundle + argon2 binary) must stay under this. */
const AUTHENTICATE_ZIP_BUDGET_BYTES = 600 * 1024; // 541 KiB in December 2026 (1 MiB before issue 13)
/** Issue 13's target for the authenticate bundle itself, minified (BENCHMARKS.md, "Cold start"). */
const AUTHENTICATE_BUNDLE_BUDGET_BYTES = 600 * 1024;
const STAGE = 'dev';
const REGION = 'eu-west-1';

// ---------------------------------------------------------------------------------------------------
// helpers

type Resource = { Type: string; Properties?: Record<string, any>; Condition?: string; DependsOn?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Template = { Resources: Record<string, Resource>; Conditions?: Record<string, unknown>; Outputs?: Record<string, any> };
type Packaged = { dir: string; template: Template; seconds: number };

/** Copy what packaging reads into a scratch dir; node_modules is linked, not copied. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-package-'));
  const skip = new Set(['node_modules', '.git', '.serverless', '.esbuild', 'coverage', '.tokengate', '.ddb-local', 'dist', 'bench']);
  for (const entry of readdirSync(root)) {
    if (skip.has(entry)) continue;
    cpSync(join(root, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/**
 * Every AWS SDK v3 client (osls's included) sends its calls to AWS_ENDPOINT_URL when it is set: point it
 * here, so that an AWS call made while packaging is seen instead of failing quietly or leaving the machine.
 */
const awsCalls: string[] = [];
let awsCanary: Server;
let awsCanaryUrl = '';

async function packageService(params: string[]): Promise<Packaged> {
  const dir = scratchCopy();
  const started = Date.now();
  try {
    await run('npm', ['run', 'package', '--', '--stage', STAGE, '--region', REGION, ...params.map((p) => `--param=${p}`)], {
      cwd: dir,
      env: { ...process.env, CI: 'true', AWS_ENDPOINT_URL: awsCanaryUrl },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run package failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const template = JSON.parse(readFileSync(join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { dir, template, seconds };
}

/** Minimal ZIP reader (central directory + stored/deflate), so the test needs no unzip binary. */
function readZip(file: string): Map<string, { size: number; read: () => Buffer }> {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map<string, { size: number; read: () => Buffer }>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.set(name, {
      size,
      read: () => {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const data = buf.subarray(start, start + compressed);
        return method === 0 ? Buffer.from(data) : inflateRawSync(data);
      },
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function extractZip(file: string, into: string): void {
  for (const [name, entry] of readZip(file)) {
    if (name.endsWith('/')) continue;
    const target = join(into, name);
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, entry.read());
  }
}

const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every IAM statement in the template, with the resource it came from. */
type Statement = { owner: string; Sid?: string; Effect: string; Action: unknown; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
function iamStatements(t: Template): Statement[] {
  const out: Statement[] = [];
  for (const [id, r] of Object.entries(t.Resources)) {
    const docs: any[] = [];
    if (r.Type === 'AWS::IAM::Role') for (const p of asArray(r.Properties?.Policies)) docs.push(p.PolicyDocument);
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') docs.push(r.Properties?.PolicyDocument);
    for (const d of docs) for (const s of asArray<any>(d.Statement)) out.push({ owner: id, ...s });
  }
  return out;
}

function roleStatements(t: Template, roleId: string) {
  return iamStatements(t).filter((s) => s.owner === roleId);
}

const tableArn = `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/tokengate-${STAGE}`;

/** CloudFormation Fn::Sub [string, vars] with every ${X} replaced by a plain stand-in. */
function substituteForJson(sub: unknown): string {
  const [body] = sub as [string, Record<string, unknown>];
  return body.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name === 'SyncAgeAlarmSeconds' ? '600' : `sub-${name}`));
}

/** The value of a template condition (Fn::Equals/Not/And/Or/Condition over constants, as osls emits them). */
function conditionValue(t: Template, name: string): boolean {
  const evaluate = (c: any): boolean => {
    if (c && typeof c === 'object' && 'Condition' in c) return conditionValue(t, c.Condition);
    const [fn, args] = Object.entries(c)[0] as [string, any[]];
    if (fn === 'Fn::Equals') return String(args[0]) === String(args[1]);
    if (fn === 'Fn::Not') return !evaluate(args[0]);
    if (fn === 'Fn::And') return args.every(evaluate);
    if (fn === 'Fn::Or') return args.some(evaluate);
    throw new Error(`condition ${name}: unsupported ${fn}`);
  };
  return evaluate(t.Conditions![name]);
}

/** Runs npm run package expecting it to refuse; returns what it printed. */
async function packagingRefusal(params: string[]): Promise<string> {
  const dir = scratchCopy();
  try {
    await run('npm', ['run', 'package', '--', '--stage', STAGE, '--region', REGION, ...params.map((p) => `--param=${p}`)], {
      cwd: dir, env: { ...process.env, CI: 'true', AWS_ENDPOINT_URL: awsCanaryUrl }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`npm run package accepted ${params.join(' ')}`);
}

const hasCfnLint = await run('cfn-lint', ['--version']).then(() => true, () => false);

// ---------------------------------------------------------------------------------------------------

let defaults: Packaged;
let options: Packaged;

beforeAll(async () => {
  awsCanary = createServer((req, res) => {
    awsCalls.push(`${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''}`);
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => awsCanary.listen(0, '127.0.0.1', r));
  awsCanaryUrl = `http://127.0.0.1:${(awsCanary.address() as AddressInfo).port}`;
  [defaults, options] = await Promise.all([
    packageService([]),
    packageService([
      'domainName=auth.example.com',
      'certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
      'truststoreUri=s3://tokengate-truststore/clusters-ca.pem',
      'truststoreVersion=3',
      'hostedZoneId=Z0000000000000',
      'tableMode=global',
      'replicaRegion=eu-central-1',
      'syncEnabled=false',
      'alarmEmail=ops@example.com',
      'ownershipVerificationCertificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/11111111-1111-1111-1111-111111111111',
      'authenticateReservedConcurrency=0',
    ]),
  ]);
  console.log(`npm run package took ${defaults.seconds.toFixed(1)} s (defaults) and ${options.seconds.toFixed(1)} s (options), in parallel`);
}, 600_000);

afterAll(async () => {
  for (const p of [defaults, options]) if (p) rmSync(p.dir, { recursive: true, force: true });
  await new Promise<void>((r) => (awsCanary ? awsCanary.close(() => r()) : r()));
});

describe('npm run package', () => {
  it('leaves the CloudFormation templates and one zip per function under .serverless/', () => {
    const out = readdirSync(join(defaults.dir, '.serverless')).sort();
    expect(out).toEqual(expect.arrayContaining([
      'authenticate.zip', 'sync.zip', 'syncWorker.zip', 'cloudformation-template-create-stack.json', 'cloudformation-template-update-stack.json',
    ]));
  });

  it('installs native modules for Lambda by itself, so osls deploy packages the same zips (not via the wrapper script)', () => {
    const config = readFileSync(join(root, 'serverless.yml'), 'utf8');
    expect(config).toMatch(/^plugins:\n {2}- \.\/scripts\/osls-lambda-platform\.cjs/m);
    expect(readFileSync(join(root, 'scripts/package.sh'), 'utf8')).not.toMatch(/npm_config_(cpu|os|libc)/);
  });

  it('makes no AWS API call (runs with dummy credentials, offline)', () => {
    expect(awsCalls).toEqual([]);
  });

  it('keeps the deployment bucket private (public access blocked) and versioned', () => {
    expect(defaults.template.Resources.ServerlessDeploymentBucket!.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('does not leave serverless-esbuild scratch output behind', () => {
    expect(existsSync(join(defaults.dir, '.esbuild'))).toBe(false);
  });
});

describe('HTTP API', () => {
  it('routes exactly POST /v1/clusters/{clusterId}/authenticate and GET /healthz, both to authenticate', () => {
    const routes = ofType(defaults.template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!.RouteKey).sort();
    expect(routes).toEqual(['GET /healthz', 'POST /v1/clusters/{clusterId}/authenticate']);
    const integrations = ofType(defaults.template, 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    const [, integration] = integrations[0]!;
    expect(integration.Properties!.PayloadFormatVersion).toBe('2.0');
    expect(JSON.stringify(integration.Properties!.IntegrationUri)).toContain('AuthenticateLambdaFunction');
  });

  it('sets stage-wide throttling defaults and a tighter limit on the health check', () => {
    const stage = defaults.template.Resources.HttpApiStage!.Properties!;
    expect(stage.DefaultRouteSettings.ThrottlingRateLimit).toBe(300);
    expect(stage.DefaultRouteSettings.ThrottlingBurstLimit).toBe(600);
    expect(stage.RouteSettings['GET /healthz'].ThrottlingRateLimit).toBeLessThan(stage.DefaultRouteSettings.ThrottlingRateLimit);
    // CloudFormation rejects RouteSettings for a route that does not exist yet.
    expect(defaults.template.Resources.HttpApiStage!.DependsOn).toContain('HttpApiRouteGetHealthz');
    expect(defaults.template.Resources.HttpApiRouteGetHealthz!.Properties!.RouteKey).toBe('GET /healthz');
  });

  it('writes access logs that carry no request headers (so never the Authorization credential)', () => {
    const settings = defaults.template.Resources.HttpApiStage!.Properties!.AccessLogSettings;
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    expect(settings.Format).not.toMatch(/header|authorization|requestOverride|\$input|body/i);
  });

  it('keeps the execute-api endpoint only while mutual TLS is off', () => {
    const disable = defaults.template.Resources.HttpApi!.Properties!.DisableExecuteApiEndpoint;
    expect(disable).toEqual({ 'Fn::If': ['UseMutualTls', true, false] });
  });
});

describe('functions', () => {
  it('run on Node.js 22 or newer on arm64', () => {
    const fns = ofType(defaults.template, 'AWS::Lambda::Function');
    expect(fns.map(([id]) => id).sort()).toEqual(['AuthenticateLambdaFunction', 'SyncLambdaFunction', 'SyncWorkerLambdaFunction']);
    for (const [, fn] of fns) {
      expect(fn.Properties!.Runtime).toMatch(/^nodejs(\d+)\.x$/);
      expect(Number(/^nodejs(\d+)/.exec(fn.Properties!.Runtime)![1])).toBeGreaterThanOrEqual(22);
      expect(fn.Properties!.Architectures).toEqual(['arm64']);
    }
  });

  it('give authenticate memory for a 32 MiB scrypt verify plus argon2, and a timeout well under the 30 s API limit', () => {
    const p = defaults.template.Resources.AuthenticateLambdaFunction!.Properties!;
    expect(p.Handler).toBe('functions/entry/authenticate/handler.handler');
    expect(p.MemorySize).toBeGreaterThanOrEqual(512);
    expect(p.Timeout).toBeLessThanOrEqual(10);
    expect(p.Environment.Variables).toMatchObject({
      TABLE_NAME: `tokengate-${STAGE}`,
      CACHE_TTL_SECONDS: '10',
      POWERTOOLS_SERVICE_NAME: 'tokengate',
      POWERTOOLS_METRICS_NAMESPACE: 'Tokengate',
      LOG_LEVEL: 'INFO',
    });
  });

  it('reserve 100 concurrent executions for authenticate by default (its floor and its ceiling), and none with authenticateReservedConcurrency=0', () => {
    const reserved = (t: Template) => t.Resources.AuthenticateLambdaFunction!.Properties!.ReservedConcurrentExecutions;
    expect(reserved(defaults.template)).toEqual({ 'Fn::If': ['ReserveAuthenticateConcurrency', 100, { Ref: 'AWS::NoValue' }] });
    expect(conditionValue(defaults.template, 'ReserveAuthenticateConcurrency')).toBe(true);
    // 0 must mean "unreserved", never ReservedConcurrentExecutions: 0 (which throttles every call)
    expect(reserved(options.template)['Fn::If'][0]).toBe('ReserveAuthenticateConcurrency');
    expect(conditionValue(options.template, 'ReserveAuthenticateConcurrency')).toBe(false);
  });

  it('run sync every minute, one run at a time, and drop ticks instead of queueing or retrying them', () => {
    const p = defaults.template.Resources.SyncLambdaFunction!.Properties!;
    expect(p.Handler).toBe('functions/entry/sync/handler.handler');
    expect(p.ReservedConcurrentExecutions).toBe(1);
    expect(p.Timeout).toBeGreaterThanOrEqual(120);
    expect(p.Timeout).toBeLessThanOrEqual(900);
    expect(p.Environment.Variables).toMatchObject({
      TABLE_NAME: `tokengate-${STAGE}`,
      CLUSTER_SECRET_PREFIX: `tokengate/${STAGE}/clusters/`,
      SYNC_CONCURRENCY: '8',
    });
    const rules = ofType(defaults.template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(JSON.stringify(rules[0]![1].Properties!.Targets)).toContain('SyncLambdaFunction');
    const [, invokeConfig] = ofType(defaults.template, 'AWS::Lambda::EventInvokeConfig')[0]!;
    expect(invokeConfig.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });

  it('can switch the sync schedule off (secondary region of a global table)', () => {
    const [, rule] = ofType(options.template, 'AWS::Events::Rule')[0]!;
    expect(rule.Properties!.State).toBe('DISABLED');
    const [, mapping] = ofType(options.template, 'AWS::Lambda::EventSourceMapping')[0]!;
    expect(mapping.Properties!.Enabled).toBe(false);
  });

  it('fan out past 150 downstream clusters: the scheduled run queues one unit per cluster on the sync queue', () => {
    const p = defaults.template.Resources.SyncLambdaFunction!.Properties!;
    expect(p.Environment.Variables).toMatchObject({ SYNC_FAN_OUT_CLUSTERS: '150', SYNC_QUEUE_URL: { Ref: 'SyncQueue' } });
  });

  it('consume the sync queue with syncWorker: bounded concurrency, batches, partial batch failures, a dead-letter queue', () => {
    const worker = defaults.template.Resources.SyncWorkerLambdaFunction!.Properties!;
    expect(worker.Handler).toBe('functions/entry/sync/worker.handler');
    expect(worker.Environment.Variables.SYNC_QUEUE_URL).toBeUndefined();
    const mappings = ofType(defaults.template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]![1].Properties!;
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['SyncQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['SyncWorkerLambdaFunction', 'Arn'] },
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      Enabled: true,
    });
    const queue = defaults.template.Resources.SyncQueue!.Properties!;
    // AWS refuses a mapping whose queue hides a batch for less than the function may run; it advises 6x
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['SyncDeadLetterQueue', 'Arn'] }, maxReceiveCount: 3 });
    expect(defaults.template.Resources.SyncDeadLetterQueue!.Properties!.SqsManagedSseEnabled).toBe(true);
    expect(ofType(defaults.template, 'AWS::SQS::Queue').map(([id]) => id).sort()).toEqual(['SyncDeadLetterQueue', 'SyncQueue']);
  });

  it('keep logs for 30 days, in log groups the stack owns', () => {
    const groups = ofType(defaults.template, 'AWS::Logs::LogGroup');
    expect(groups.map(([id]) => id).sort()).toEqual(['AuthenticateLogGroup', 'HttpApiLogGroup', 'SyncLogGroup', 'SyncWorkerLogGroup']);
    for (const [, g] of groups) expect(g.Properties!.RetentionInDays).toBe(30);
  });
});

describe('IAM', () => {
  it('gives each function its own role and creates no shared execution role', () => {
    const fns = defaults.template.Resources;
    expect(fns.AuthenticateLambdaFunction!.Properties!.Role).toEqual({ 'Fn::GetAtt': ['AuthenticateRole', 'Arn'] });
    expect(fns.SyncLambdaFunction!.Properties!.Role).toEqual({ 'Fn::GetAtt': ['SyncRole', 'Arn'] });
    expect(fns.SyncWorkerLambdaFunction!.Properties!.Role).toEqual({ 'Fn::GetAtt': ['SyncWorkerRole', 'Arn'] });
    expect(ofType(defaults.template, 'AWS::IAM::Role').map(([id]) => id).sort()).toEqual(['AuthenticateRole', 'SyncRole', 'SyncWorkerRole']);
  });

  it('lets authenticate only read token rows, record use and its flood report on the table, and write its own logs', () => {
    const statements = roleStatements(defaults.template, 'AuthenticateRole');
    const data = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('dynamodb:')));
    expect(data.map((s) => asArray(s.Action))).toEqual([['dynamodb:GetItem'], ['dynamodb:UpdateItem'], ['dynamodb:UpdateItem']]);
    for (const s of data) expect(s.Resource).toEqual({ 'Fn::Sub': tableArn });
    const logs = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('logs:')));
    expect(logs).toEqual([expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': ['AuthenticateLogGroup', 'Arn'] } })]);
    expect(statements).toHaveLength(4);
  });

  it('lets authenticate write its flood rows only in F# partitions, with only flood and ttl besides the key, reading nothing back', () => {
    const floods = roleStatements(defaults.template, 'AuthenticateRole').filter((s) => s.Sid === 'RecordFloods');
    expect(floods).toHaveLength(1);
    expect(floods[0]!.Action).toEqual(['dynamodb:UpdateItem']);
    expect(floods[0]!.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'flood', 'ttl'] },
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['F#*'] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    });
  });

  it('lets authenticate read every cluster’s name filter row (an unconditioned GetItem on the table), but write none of its attributes', () => {
    const statements = roleStatements(defaults.template, 'AuthenticateRole');
    const [read, ...otherReads] = statements.filter((s) => asArray(s.Action).includes('dynamodb:GetItem'));
    expect(otherReads).toEqual([]);
    // the filter row is C#<clusterId>/NAMES: a LeadingKeys or Attributes condition on the read would hide it
    expect(read).toEqual(expect.objectContaining({ Effect: 'Allow', Resource: { 'Fn::Sub': tableArn } }));
    expect(read!.Condition).toBeUndefined();
    const update = statements.find((s) => asArray(s.Action).includes('dynamodb:UpdateItem'))!;
    const writable = update.Condition!['ForAllValues:StringEquals']!['dynamodb:Attributes'] as string[];
    for (const attribute of ['key', 'digests', 'overflow', 'count']) expect(writable).not.toContain(attribute);
  });

  it('lets authenticate update only the key, lastUsedAt and the verifier (never kind) of cluster-partition rows, reading nothing back', () => {
    const [update, ...more] = roleStatements(defaults.template, 'AuthenticateRole')
      .filter((s) => s.Sid !== 'RecordFloods')
      .filter((s) => asArray(s.Action).some((a) => /^dynamodb:(UpdateItem|PutItem|DeleteItem|BatchWriteItem|TransactWriteItems|PartiQL)/.test(String(a))));
    expect(more).toEqual([]);
    expect(update!.Action).toEqual(['dynamodb:UpdateItem']);
    const condition = update!.Condition!;
    expect(condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt', 'verifier'] },
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['C#*'] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    });
    // The sync side and the CLI classify rows by sort key; the attributes that make a row a token or a
    // registry entry are not writable.
    const writable = condition['ForAllValues:StringEquals']!['dynamodb:Attributes'] as string[];
    for (const attribute of ['kind', 'enabled', 'revoked', 'hash', 'user', 'userName', 'expiresAt', 'credentials', 'access', 'rev', 'ttl']) {
      expect(writable).not.toContain(attribute);
    }
  });

  it('lets sync read and write the table and read only tokengate cluster secrets of its stage', () => {
    const statements = roleStatements(defaults.template, 'SyncRole');
    const data = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('dynamodb:')));
    expect(data).toHaveLength(1);
    expect(asArray(data[0]!.Action).sort()).toEqual([
      'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem',
      'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
    ]);
    expect(data[0]!.Resource).toEqual({ 'Fn::Sub': tableArn });
    const secrets = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('secretsmanager:')));
    expect(secrets).toEqual([expect.objectContaining({
      Action: ['secretsmanager:GetSecretValue'],
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:tokengate/${STAGE}/clusters/*` },
    })]);
    const logs = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('logs:')));
    expect(logs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['SyncLogGroup', 'Arn'] }]);
    // the fan-out: it only sends units to the sync queue, never receives
    const queue = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('sqs:')));
    expect(queue).toEqual([expect.objectContaining({ Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['SyncQueue', 'Arn'] } })]);
    expect(statements).toHaveLength(4);
  });

  it('lets syncWorker do what sync does to the table and secrets, and only consume the sync queue', () => {
    const worker = roleStatements(defaults.template, 'SyncWorkerRole');
    const sync = roleStatements(defaults.template, 'SyncRole');
    const bySid = (statements: typeof worker, sid: string) => {
      const statement = statements.find((s) => s.Sid === sid)!;
      return { Action: [...asArray(statement.Action)].sort(), Resource: statement.Resource, Condition: statement.Condition };
    };
    expect(bySid(worker, 'MirrorTokens')).toEqual(bySid(sync, 'MirrorTokens'));
    expect(bySid(worker, 'ReadClusterKubeconfigs')).toEqual(bySid(sync, 'ReadClusterKubeconfigs'));
    expect(bySid(worker, 'WriteOwnLogs')!.Resource).toEqual({ 'Fn::GetAtt': ['SyncWorkerLogGroup', 'Arn'] });
    const queue = worker.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('sqs:')));
    expect(queue).toHaveLength(1);
    expect(asArray(queue[0]!.Action).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    expect(queue[0]!.Resource).toEqual({ 'Fn::GetAtt': ['SyncQueue', 'Arn'] });
    expect(worker).toHaveLength(4);
  });

  it('has no wildcard action and no "*" resource in any statement', () => {
    for (const packaged of [defaults, options]) {
      const statements = iamStatements(packaged.template);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        for (const action of asArray(s.Action)) expect(String(action)).not.toContain('*');
        for (const resource of asArray(s.Resource)) expect(resource).not.toBe('*');
      }
    }
  });
});

describe('token table', () => {
  it('is on-demand, point-in-time recoverable, KMS-encrypted, expires rows by ttl, keyed pk/sk, with no indexes', () => {
    const t = defaults.template.Resources.TokenTable!;
    expect(t.Type).toBe('AWS::DynamoDB::Table');
    expect(t.Properties).toMatchObject({
      TableName: `tokengate-${STAGE}`,
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    });
    expect(t.Properties!.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('cannot be destroyed by osls remove or a replacement: deletion protection, Retain on delete and replace', () => {
    for (const id of ['TokenTable', 'TokenGlobalTable']) {
      const t = defaults.template.Resources[id]!;
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.UpdateReplacePolicy).toBe('Retain');
    }
    expect(defaults.template.Resources.TokenTable!.Properties!.DeletionProtectionEnabled).toBe(true);
    for (const replica of defaults.template.Resources.TokenGlobalTable!.Properties!.Replicas) {
      expect(replica.DeletionProtectionEnabled).toBe(true);
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('is a regional table by default and a global table with the same schema when tableMode=global', () => {
    expect(defaults.template.Resources.TokenTable!.Condition).toBe('CreateRegionalTable');
    expect(defaults.template.Conditions!.CreateRegionalTable).toEqual({ 'Fn::Equals': ['regional', 'regional'] });
    expect(options.template.Conditions!.CreateGlobalTable).toEqual({ 'Fn::Equals': ['global', 'global'] });
    const g = options.template.Resources.TokenGlobalTable!.Properties!;
    const t = defaults.template.Resources.TokenTable!.Properties!;
    for (const key of ['TableName', 'BillingMode', 'KeySchema', 'AttributeDefinitions', 'SSESpecification', 'TimeToLiveSpecification']) {
      expect(g[key]).toEqual(t[key]);
    }
    expect(g.Replicas.map((r: { Region: unknown }) => r.Region)).toEqual([{ Ref: 'AWS::Region' }, 'eu-central-1']);
  });
});

describe('custom domain with mutual TLS', () => {
  it('is absent unless domainName is set: no domain, mapping or record resource, not even a conditional one', () => {
    expect(defaults.template.Conditions!.UseCustomDomain).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
    for (const type of ['AWS::ApiGatewayV2::DomainName', 'AWS::ApiGatewayV2::ApiMapping', 'AWS::Route53::RecordSet']) {
      expect(ofType(defaults.template, type), type).toEqual([]);
    }
    expect(defaults.template.Outputs!.ApiBaseUrl).toBeDefined();
  });

  it('refuses to package a domainName without its certificateArn, saying which param is missing', async () => {
    const output = await packagingRefusal(['domainName=auth.example.com']);
    expect(output).toContain('domainName=auth.example.com needs certificateArn');
  }, 300_000);

  it('refuses to package domain params without a domainName (a truststore alone would silently leave mutual TLS off)', async () => {
    const output = await packagingRefusal(['truststoreUri=s3://tokengate-truststore/clusters-ca.pem']);
    expect(output).toContain('truststoreUri is set but domainName is not');
  }, 300_000);

  it('passes ownershipVerificationCertificateArn for an imported or private-CA certificate, and only when given', () => {
    const config = options.template.Resources.CustomDomain!.Properties!.DomainNameConfigurations[0];
    expect(config.OwnershipVerificationCertificateArn).toEqual({
      'Fn::If': ['HasOwnershipVerificationCertificate', 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-1111-1111-1111-111111111111', { Ref: 'AWS::NoValue' }],
    });
    expect(conditionValue(options.template, 'HasOwnershipVerificationCertificate')).toBe(true);
  });

  it('maps the domain to the API, checks client certificates against the S3 truststore and tells authenticate to require one', () => {
    const t = options.template;
    expect(t.Conditions!.UseCustomDomain).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['auth.example.com', ''] }] });
    const domain = t.Resources.CustomDomain!.Properties!;
    expect(domain.DomainName).toBe('auth.example.com');
    expect(domain.DomainNameConfigurations[0]).toMatchObject({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' });
    expect(domain.MutualTlsAuthentication).toEqual({
      'Fn::If': ['UseMutualTls', {
        TruststoreUri: 's3://tokengate-truststore/clusters-ca.pem',
        TruststoreVersion: { 'Fn::If': ['HasTruststoreVersion', '3', { Ref: 'AWS::NoValue' }] },
      }, { Ref: 'AWS::NoValue' }],
    });
    expect(t.Resources.CustomDomainMapping!.Properties).toMatchObject({ ApiId: { Ref: 'HttpApi' }, Stage: '$default' });
    expect(t.Resources.AuthenticateLambdaFunction!.Properties!.Environment.Variables.CLIENT_CERT_REQUIRED)
      .toEqual({ 'Fn::If': ['UseMutualTls', 'true', 'false'] });
  });

  it('outputs the base URL for tokengate webhook-config: the custom domain when set, else the execute-api URL', () => {
    const url = (t: Template) => t.Outputs!.ApiBaseUrl.Value['Fn::If'];
    expect(url(options.template)[1]).toBe('https://auth.example.com');
    expect(JSON.stringify(url(defaults.template)[2])).toContain('.execute-api.');
  });

  it('writes a latency-routed DNS alias per region', () => {
    const record = options.template.Resources.CustomDomainRecord!;
    expect(record.Condition).toBe('CreateDnsRecord');
    expect(record.Properties).toMatchObject({
      HostedZoneId: 'Z0000000000000', Name: 'auth.example.com', Type: 'A',
      Region: { Ref: 'AWS::Region' }, SetIdentifier: { Ref: 'AWS::Region' },
    });
  });
});

describe('alarms', () => {
  const alarms = () => Object.fromEntries(ofType(defaults.template, 'AWS::CloudWatch::Alarm'));

  it('watch API 5xx, errors and throttles of both functions, sync failures and sync age, all notifying the alarm topic', () => {
    const a = alarms();
    const metric = (id: string) => [a[id]?.Properties!.Namespace, a[id]?.Properties!.MetricName];
    expect(metric('Api5xxAlarm')).toEqual(['AWS/ApiGateway', '5xx']);
    expect(a.Api5xxAlarm!.Properties!.Dimensions).toEqual([{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }]);
    expect(metric('AuthenticateErrorsAlarm')).toEqual(['AWS/Lambda', 'Errors']);
    expect(metric('AuthenticateThrottlesAlarm')).toEqual(['AWS/Lambda', 'Throttles']);
    expect(metric('SyncErrorsAlarm')).toEqual(['AWS/Lambda', 'Errors']);
    expect(metric('SyncThrottlesAlarm')).toEqual(['AWS/Lambda', 'Throttles']);
    expect(a.SyncFailuresAlarm!.Properties!.Metrics[0].Expression).toBe('SELECT SUM(SyncFailures) FROM "Tokengate"');
    expect(a.SyncAgeAlarm!.Properties!.Metrics[0].Expression).toBe('SELECT MAX(SyncAgeSeconds) FROM "Tokengate"');
    expect(metric('SyncDeadLetterAlarm')).toEqual(['AWS/SQS', 'ApproximateNumberOfMessagesVisible']);
    expect(a.SyncDeadLetterAlarm!.Properties!.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SyncDeadLetterQueue', 'QueueName'] } }]);
    expect(a.SyncDeadLetterAlarm!.Properties!.Threshold).toBe(1);
    expect(metric('SyncQueueAgeAlarm')).toEqual(['AWS/SQS', 'ApproximateAgeOfOldestMessage']);
    for (const [id, alarm] of Object.entries(a)) {
      expect(alarm.Properties!.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
    }
  });

  it('treat a sync that stopped reporting as breaching sync age', () => {
    const p = alarms().SyncAgeAlarm!.Properties!;
    expect(p.TreatMissingData).toBe('breaching');
    expect(p.Threshold).toBe(600);
  });

  it('leave out the sync alarms where sync is switched off, and subscribe alarmEmail when given', () => {
    expect(options.template.Conditions!.SyncEnabled).toEqual({ 'Fn::Equals': ['false', 'true'] });
    expect(alarms().SyncAgeAlarm!.Condition).toBe('SyncEnabled');
    expect(options.template.Resources.AlarmTopicEmail!.Properties).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('dashboard', () => {
  it('is valid JSON showing reviews by outcome, p99 latency, foreign tokens by cluster and sync age per cluster', () => {
    const [, dashboard] = ofType(defaults.template, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.parse(substituteForJson(dashboard.Properties!.DashboardBody['Fn::Sub'])) as { widgets: Array<{ type: string; properties: any }> };
    const text = JSON.stringify(body);
    expect(text).toContain('SELECT SUM(Reviews) FROM \\"Tokengate\\" GROUP BY Outcome');
    expect(text).toMatch(/ReviewLatency.*p99/);
    expect(text).toContain('SELECT SUM(ForeignTokens) FROM \\"Tokengate\\" GROUP BY ClusterId');
    expect(text).toContain('SELECT MAX(SyncAgeSeconds) FROM \\"Tokengate\\" GROUP BY ClusterId');
    // every metric widget shows the stack's own region (a text widget has none)
    const metricWidgets = body.widgets.filter((w) => w.type === 'metric');
    expect(metricWidgets.length).toBeGreaterThan(0);
    for (const w of metricWidgets) expect(w.properties.region).toBe('sub-AWS::Region');
  });
});

describe('IaC checkers', () => {
  it.skipIf(!hasCfnLint)('cfn-lint finds nothing in either template (its accepted warnings are listed in infra/checks.yml)', async () => {
    for (const packaged of [defaults, options]) {
      const result = await run('cfn-lint', ['--format', 'parseable', join(packaged.dir, '.serverless/cloudformation-template-update-stack.json')])
        .then(() => ({ findings: '' }), (error: { stdout?: string; message: string }) => ({ findings: error.stdout || error.message }));
      expect(result.findings).toBe('');
    }
  }, 120_000);

  it('justifies every accepted checkov finding in the template, with a reason', () => {
    for (const packaged of [defaults, options]) {
      for (const [id, r] of Object.entries(packaged.template.Resources) as Array<[string, Resource & { Metadata?: any }]>) {
        for (const skip of asArray<any>(r.Metadata?.checkov?.skip)) {
          expect(skip.id, id).toMatch(/^CKV_AWS_\d+$/);
          expect(String(skip.comment ?? '').length, `${id} ${skip.id}`).toBeGreaterThan(40);
        }
      }
    }
  });
});

describe('function zips', () => {
  it('authenticate: the bundled handler plus @node-rs/argon2 with its linux-arm64-gnu binary, and no other platform', () => {
    const entries = readZip(join(defaults.dir, '.serverless/authenticate.zip'));
    const names = [...entries.keys()];
    expect(names).toContain('functions/entry/authenticate/handler.mjs');
    expect(names).toContain('node_modules/@node-rs/argon2/index.js');
    const binaries = names.filter((n) => n.endsWith('.node'));
    expect(binaries).toEqual(['node_modules/@node-rs/argon2-linux-arm64-gnu/argon2.linux-arm64-gnu.node']);
    const elf = entries.get(binaries[0]!)!.read();
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf[4]).toBe(2); // 64-bit
    expect(elf.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies['@node-rs/argon2'];
    for (const pkg of ['@node-rs/argon2', '@node-rs/argon2-linux-arm64-gnu']) {
      expect(JSON.parse(entries.get(`node_modules/${pkg}/package.json`)!.read().toString()).version, pkg).toBe(pinned);
    }
  });

  it(`authenticate: stays under the ${AUTHENTICATE_ZIP_BUDGET_BYTES} byte cold-start budget`, () => {
    const size = statSync(join(defaults.dir, '.serverless/authenticate.zip')).size;
    console.log(`authenticate.zip: ${size} bytes of ${AUTHENTICATE_ZIP_BUDGET_BYTES}`);
    expect(size).toBeLessThan(AUTHENTICATE_ZIP_BUDGET_BYTES);
  });

  it(`authenticate: a minified bundle of at most ${AUTHENTICATE_BUNDLE_BUDGET_BYTES} bytes, without the SDK's code for outside Lambda`, () => {
    const bundle = readZip(join(defaults.dir, '.serverless/authenticate.zip')).get('functions/entry/authenticate/handler.mjs');
    expect(bundle).toBeDefined();
    console.log(`authenticate bundle: ${bundle!.size} bytes of ${AUTHENTICATE_BUNDLE_BUDGET_BYTES}`);
    expect(bundle!.size).toBeLessThanOrEqual(AUTHENTICATE_BUNDLE_BUDGET_BYTES);
    const names = [...readZip(join(defaults.dir, '.serverless/authenticate.zip')).keys()];
    // serverless.yml's `exclude`: neither bundled nor installed into the zip
    for (const excluded of ['bowser', '@aws-sdk/credential-provider-ini', '@aws-sdk/nested-clients']) {
      expect(names.some((name) => name.startsWith(`node_modules/${excluded}/`)), excluded).toBe(false);
    }
  });

  it('sync: the bundled handler', () => {
    const names = [...readZip(join(defaults.dir, '.serverless/sync.zip')).keys()];
    expect(names).toContain('functions/entry/sync/handler.mjs');
    expect([...readZip(join(defaults.dir, '.serverless/syncWorker.zip')).keys()]).toContain('functions/entry/sync/worker.mjs');
  });

  it('carry native binaries only for linux arm64, whichever function pulls argon2 in', () => {
    for (const zip of ['authenticate.zip', 'sync.zip', 'syncWorker.zip']) {
      for (const [name, entry] of readZip(join(defaults.dir, '.serverless', zip))) {
        if (!name.endsWith('.node')) continue;
        expect(name, zip).toMatch(/linux-arm64-gnu/);
        expect(entry.read().readUInt16LE(18), `${zip}: ${name}`).toBe(183);
      }
    }
  });

  it('ship no TypeScript sources, tests, credentials or build leftovers', () => {
    for (const zip of ['authenticate.zip', 'sync.zip', 'syncWorker.zip']) {
      for (const name of readZip(join(defaults.dir, '.serverless', zip)).keys()) {
        expect(name, zip).not.toMatch(/\.ts$|^test\/|^\.serverless|^\.esbuild|\.env|package-lock\.json|^infra\//);
      }
    }
  });

  it('contain handler modules that load under Node and export a handler function', async () => {
    // The zips' argon2 binary is for arm64 and cannot load on this x64 build host; for this load check
    // only, give each extracted copy that has argon2 the host's binary package next to it.
    const into = mkdtempSync(join(tmpdir(), 'tokengate-zip-'));
    try {
      for (const [fn, entry] of [['authenticate', 'authenticate/handler'], ['sync', 'sync/handler'], ['syncWorker', 'sync/worker']] as const) {
        const dir = join(into, fn);
        extractZip(join(defaults.dir, `.serverless/${fn}.zip`), dir);
        if (existsSync(join(dir, 'node_modules/@node-rs/argon2'))) {
          const hostPkg = readdirSync(join(root, 'node_modules/@node-rs')).find((n) => n.startsWith('argon2-') && n.includes(process.arch));
          if (hostPkg) cpSync(join(root, 'node_modules/@node-rs', hostPkg), join(dir, 'node_modules/@node-rs', hostPkg), { recursive: true });
        }
        const script = `const m = await import(${JSON.stringify(join(dir, `functions/entry/${entry}.mjs`))});
          if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
        await run(process.execPath, ['--input-type=module', '-e', script], {
          cwd: dir,
          timeout: 30_000,
          env: {
            PATH: process.env.PATH ?? '',
            AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true',
            TABLE_NAME: `tokengate-${STAGE}`, CLUSTER_SECRET_PREFIX: `tokengate/${STAGE}/clusters/`,
            CACHE_TTL_SECONDS: '10', SYNC_CONCURRENCY: '8', LOG_LEVEL: 'INFO',
            POWERTOOLS_SERVICE_NAME: 'tokengate', POWERTOOLS_METRICS_NAMESPACE: 'Tokengate',
          },
        });
      }
    } finally {
      rmSync(into, { recursive: true, force: true });
    }
  });
});
