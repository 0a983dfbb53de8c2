import { randomBytes } from 'node:crypto';
import type { TableAccess } from '../../functions/adapters/dynamodb/table-access.ts';
import { startLocalApi } from '../../functions/entry/local/stack.ts';
import { issueCredential } from '../../functions/core/caller-credential.ts';
import type { DynamoDbAdminStore } from '../../functions/adapters/dynamodb/admin-store.ts';
import { newCluster } from '../../functions/core/records.ts';
import { silentLog, type Log, type MetricsSink } from '../../functions/core/ports/telemetry.ts';

export interface LocalStackOptions {
  /** Decision cache TTL of the API; 0 (the default here) makes every change visible at once. */
  cacheTtlSeconds?: number;
  tableName?: string;
  /** Further authenticate settings, by environment variable name (e.g. `ALLOW_SYSTEM_GROUPS`). */
  environment?: Record<string, string>;
  /** Where the API logs; silent by default. Pass a `CapturingLog` to assert on log lines. */
  log?: Log;
  metrics?: MetricsSink;
}

export interface LocalStack {
  /** Base URL of the API, e.g. `http://127.0.0.1:40123`. */
  apiUrl: string;
  /** Endpoint of the embedded DynamoDB, for `DYNAMODB_ENDPOINT` / `--endpoint`. */
  dynamoEndpoint: string;
  tableName: string;
  /** The table's administrative adapter (the same the CLI uses). */
  store: DynamoDbAdminStore;
  table: TableAccess;
  /** Errors the handler threw instead of answering (each answered 500): a defect, tests expect none. */
  handlerErrors: unknown[];
  /** Registers a cluster and returns its webhook caller credential. */
  addCluster(clusterId: string): Promise<string>;
  /** `POST /v1/clusters/<id>/authenticate` with a TokenReview for `token`. */
  review(clusterId: string, credential: string | undefined, token: string, apiVersion?: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Starts the local mode in-process, as `tokengate serve` does: embedded DynamoDB on a free loopback
 * port, the table, and the real authenticate handler behind the local HTTP server on another free port.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // `npm run test:ddb-local` points every suite at one official DynamoDB Local: use it, in a table of our own.
  const external = process.env.TOKENGATE_TEST_DYNAMODB_ENDPOINT || undefined;
  const tableName = options.tableName ?? (external ? `tokengate-${randomBytes(4).toString('hex')}` : 'tokengate');
  const handlerErrors: unknown[] = [];
  const api = await startLocalApi({
    port: 0,
    ...(external ? { endpoint: external } : {}),
    tableName,
    region: 'us-east-1',
    cacheTtlSeconds: options.cacheTtlSeconds ?? 0,
    environment: options.environment ?? {},
    log: options.log ?? silentLog,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    onHandlerError: (error) => handlerErrors.push(error),
  });
  const { store } = api.table;
  return {
    apiUrl: api.apiUrl,
    dynamoEndpoint: api.dynamoEndpoint,
    tableName,
    store,
    table: api.table,
    handlerErrors,
    async addCluster(clusterId) {
      const now = new Date();
      const { credential, record } = await issueCredential(randomBytes, now);
      await store.createCluster(newCluster(clusterId, record, now));
      return credential;
    },
    review(clusterId, credential, token, apiVersion = 'authentication.k8s.io/v1') {
      return fetch(`${api.apiUrl}/v1/clusters/${clusterId}/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(credential !== undefined ? { authorization: `Bearer ${credential}` } : {}) },
        body: JSON.stringify({ apiVersion, kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: { token, audiences: ['https://kubernetes.default.svc'] }, status: { user: {} } }),
      });
    },
    close: () => api.close(),
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  now?: Date;
  /** What `-` reads. */
  stdin?: string;
  /** Files by path, served instead of the disk's (others are read from disk). */
  files?: Record<string, string>;
  randomBytes?: (size: number) => Buffer;
}

/**
 * Runs the CLI in-process with captured output, a fixed clock if given, and no signals: the fast way to
 * run commands in tests. The spawned `bin/tokengate.js` is tested separately.
 */
export async function runCli(argv: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const { main } = await import('../../functions/entry/cli/main.ts');
  const { readFile } = await import('node:fs/promises');
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: options.env ?? {},
    now: () => options.now ?? new Date(),
    randomBytes: options.randomBytes ?? randomBytes,
    readText: async (path) => {
      if (path === '-') return options.stdin ?? '';
      return options.files?.[path] ?? readFile(path, 'utf8');
    },
    untilStopped: () => new Promise(() => {}),
  });
  return { code, stdout, stderr };
}
