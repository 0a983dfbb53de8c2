// AWS's own DynamoDB Local (scripts/ddb-local.sh fetches the jar, and Java if missing) in a process of its
// own: the emulator that reports ConsumedCapacity, which dynalite does not. Loopback only, in memory.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failToStart, serveCommands } from '../lib/child.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

try {
  const jar = execFileSync('bash', ['scripts/ddb-local.sh', 'fetch'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const port = await freePort();
  const java = spawn('java', ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-port', String(port), '-inMemory', '-sharedDb', '-disableTelemetry'], {
    cwd: dirname(jar.startsWith('/') ? jar : `${root}/${jar}`),
    stdio: 'ignore',
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
  });
  process.on('exit', () => java.kill('SIGKILL'));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForPort(port, 30_000);
  serveCommands({ endpoint }, {});
} catch (error) {
  failToStart(error);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      fetch(`http://127.0.0.1:${port}/`).then(
        () => resolve(true),
        () => resolve(false),
      );
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`DynamoDB Local did not answer on port ${port} within ${timeoutMs / 1000} s`);
}
