import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/tokengate.js', import.meta.url));
const RANCHER_FILES = ['clusterauthtokens.yaml', 'clusteruserattributes.yaml', 'secrets.yaml'].map((file) =>
  fileURLToPath(new URL(`../../fixtures/rancher/${file}`, import.meta.url)),
);
const ON_TOKEN = `kubeconfig-u-abc12xyz:${'d'.repeat(54)}`;

/**
 * The environment of a spawned CLI: this process's, without any table settings leaking in. The launcher
 * runs the build of `npm ci` (dist/cli) when it is fresh; when the sources were edited since, it runs them
 * through tsx, and its notice about that is silenced here so that the tests read only the command's output.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['DYNAMODB_ENDPOINT', 'TABLE_NAME', 'AWS_REGION', 'CACHE_TTL_SECONDS', 'TOKENGATE_DEBUG', 'TOKENGATE_FROM_SOURCES']) delete env[name];
  return { ...env, TOKENGATE_QUIET_SOURCES: '1', ...extra };
}

/** Runs `node bin/tokengate.js …` to completion, as a user's shell would. */
function tokengate(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const STACK_TRACE = /^\s+at /m;

describe('tokengate serve and the CLI, as separate processes', () => {
  let serve: ChildProcess | undefined;
  afterAll(() => {
    if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  });

  it('serves the API on an embedded DynamoDB that the other commands fill, and stops on SIGTERM', async () => {
    serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--dynamodb-port', '0', '--cache-ttl', '0'], { cwd: ROOT, env: cleanEnv({ LOG_LEVEL: 'WARN' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      serve?.stderr?.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes('Stop with Ctrl-C.')) resolve();
      });
      serve?.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${banner}`)));
    });
    const apiUrl = /tokengate API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
    const endpoint = /export DYNAMODB_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
    expect(apiUrl).toBeDefined();
    expect(endpoint).toBeDefined();
    expect(banner).toMatch(/DynamoDB \(embedded\)\s+http:\/\/127\.0\.0\.1:\d+/);
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);

    const env = { DYNAMODB_ENDPOINT: endpoint };
    const [table, added] = await Promise.all([tokengate(['table', 'create'], env), tokengate(['clusters', 'add', 'c-local'], env)]);
    expect(table).toMatchObject({ code: 0, stdout: '', stderr: 'table tokengate already exists\n' });
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^tgc_[a-z0-9]{10}_[A-Za-z0-9_-]{43}\n$/);
    expect(added.stderr).toContain('shown only this once');
    const credential = added.stdout.trim();

    const imported = await tokengate(['import', 'c-local', ...RANCHER_FILES], env);
    expect(imported).toMatchObject({ code: 0, stdout: 'created 6, updated 0, unchanged 0, deleted 0\n' });

    const response = await fetch(`${apiUrl}/v1/clusters/c-local/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: ON_TOKEN } }),
    });
    expect(((await response.json()) as { status: unknown }).status).toMatchObject({ authenticated: true, user: { username: 'u-abc12xyz' } });

    const exited = new Promise<number | null>((resolve) => serve?.on('exit', (code) => resolve(code)));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(banner).toContain('SIGTERM: stopping');
    await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();
  });

  it('answers a user mistake with one message and exit 2, never a stack trace', async () => {
    const result = await tokengate(['tokens', 'create', 'c-1', '--expires-in', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'tokengate tokens create: --user is required: the username the apiserver will see\n' + "Run 'tokengate tokens create --help' for usage.\n",
    );
  });

  it('says so when DynamoDB cannot be reached, exit 1, without a stack trace', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const result = await tokengate(['tokens', 'list', 'c-1', '--endpoint', endpoint]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach DynamoDB at ${endpoint} (ECONNREFUSED)`);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints the same from the build of npm ci (dist/cli) as from the TypeScript sources', async () => {
    for (const args of [['--help'], ['version', '-o', 'json'], ['review', '--help']]) {
      const [built, sources] = await Promise.all([tokengate(args), tokengate(args, { TOKENGATE_FROM_SOURCES: '1' })]);
      expect(built).toEqual(sources);
      expect(built.code).toBe(0);
    }
    expect(JSON.parse((await tokengate(['version', '-o', 'json'])).stdout)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});
