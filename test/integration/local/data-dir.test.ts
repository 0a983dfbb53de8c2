import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../functions/entry/cli/main.ts';
import type { CliIo } from '../../../functions/entry/cli/lib/io.ts';
import { runCli } from '../../support/local-stack.ts';

/**
 * Runs `tokengate serve` in-process until its banner is out, lets `work` use it, then stops it as
 * Ctrl-C would. Resolves with serve's exit code and everything it printed.
 */
async function serving(args: string[], work: (endpoint: string) => Promise<void>): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  let stop: (signal: string) => void = () => {};
  let ready: () => void = () => {};
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const io: CliIo = {
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
      if (stderr.includes('Stop with Ctrl-C.')) ready();
    },
    env: { LOG_LEVEL: 'ERROR' },
    now: () => new Date(),
    randomBytes: (size) => Buffer.alloc(size, 7),
    readText: async () => '',
    untilStopped: () => new Promise((resolve) => (stop = resolve)),
  };
  const exit = main(['serve', '--port', '0', ...args], io);
  const first = await Promise.race([listening.then(() => 'ready' as const), exit]);
  if (first !== 'ready') return { code: first, stderr };
  try {
    await work(/DYNAMODB_ENDPOINT=(\S+)/.exec(stderr)?.[1] as string);
  } finally {
    stop('SIGINT');
  }
  return { code: await exit, stderr };
}

describe('tokengate serve --data-dir', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('keeps clusters and tokens across a restart, and says where the data lives', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tokengate-data-'));
    dirs.push(dataDir);
    const first = await serving(['--dynamodb-port', '0', '--data-dir', dataDir], async (endpoint) => {
      expect((await runCli(['clusters', 'add', 'c-kept'], { env: { DYNAMODB_ENDPOINT: endpoint } })).code).toBe(0);
      expect((await runCli(['tokens', 'create', 'c-kept', '--user', 'alice', '--name', 'tg-kept1'], { env: { DYNAMODB_ENDPOINT: endpoint } })).code).toBe(0);
    });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`data in ${dataDir}`);

    const second = await serving(['--dynamodb-port', '0', '--data-dir', dataDir], async (endpoint) => {
      const clusters = await runCli(['clusters', 'list', '-o', 'name'], { env: { DYNAMODB_ENDPOINT: endpoint } });
      expect(clusters.stdout).toBe('cluster/c-kept\n');
      const tokens = await runCli(['tokens', 'list', 'c-kept', '-o', 'name'], { env: { DYNAMODB_ENDPOINT: endpoint } });
      expect(tokens.stdout).toBe('token/tg-kept1\n');
    });
    expect(second.code).toBe(0);
    // the table has a cluster now: the banner points at it instead of suggesting clusters add again
    expect(second.stderr).toContain('1 registered: c-kept');
    expect(second.stderr).not.toContain('clusters add');
  });

  it('forgets everything without it, and says so', async () => {
    const run = await serving(['--dynamodb-port', '0'], async (endpoint) => {
      expect((await runCli(['clusters', 'list', '-o', 'name'], { env: { DYNAMODB_ENDPOINT: endpoint } })).stdout).toBe('');
    });
    expect(run.stderr).toContain('in memory (gone on stop; keep it with --data-dir DIR)');
    expect(run.stderr).toContain('clusters add c-local > ');
    expect(run.stderr).not.toMatch(/clusters add c-local > credential\.txt/);
  });
});

describe('the embedded DynamoDB port', () => {
  let taken: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (taken ? taken.close(() => resolve()) : resolve())));

  it('defaults to 8000, as the help says', async () => {
    expect((await runCli(['serve', '--help'])).stdout).toContain('default 8000');
  });

  it('says which port is taken and how to choose another', async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken?.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    const run = await serving(['--dynamodb-port', String(port)], async () => {
      throw new Error('serve must not start on a taken port');
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `tokengate serve: cannot listen on 127.0.0.1:${port} (already in use); choose another with --host / --port / --dynamodb-port (0: any free port)\n`,
    );
  });

  it('refuses --data-dir with --endpoint, whose data lives elsewhere', async () => {
    const run = await runCli(['serve', '--endpoint', 'http://127.0.0.1:9', '--data-dir', '/tmp/x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--data-dir and --dynamodb-port are for the embedded DynamoDB');
  });
});
