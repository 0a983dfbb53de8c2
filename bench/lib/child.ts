import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What a worker says on stdout and stderr: counted (the product's log volume is part of its cost), tail kept. */
export interface OutputTally {
  stdoutBytes: number;
  stdoutLines: number;
  stderrBytes: number;
  stderrLines: number;
  /** The last few KiB of stderr, to explain a failure. */
  stderrTail: string;
}

export interface Worker<Ready> {
  child: ChildProcess;
  ready: Ready;
  output: OutputTally;
  /** Sends a command and waits for its result; rejects with the worker's error. */
  call<T>(command: string, payload?: unknown): Promise<T>;
  /** Resident set size of the worker process now, in bytes (from /proc). */
  rss(): number;
  stop(): Promise<void>;
}

const TAIL_BYTES = 4096;
let nextId = 0;

/**
 * Starts a TypeScript worker (`bench/workers/*.ts`) in its own Node process through tsx, and waits for
 * its `ready` message. Messages use structured clone, so latency arrays cross as typed arrays.
 */
export async function startWorker<Ready>(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<Worker<Ready>> {
  const child = fork(fileURLToPath(new URL(`../workers/${file}`, import.meta.url)), args, {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  const output: OutputTally = { stdoutBytes: 0, stdoutLines: 0, stderrBytes: 0, stderrLines: 0, stderrTail: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdoutBytes += chunk.length;
    output.stdoutLines += countNewlines(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderrBytes += chunk.length;
    output.stderrLines += countNewlines(chunk);
    output.stderrTail = (output.stderrTail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let exited = false;
  const failAll = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  const ready = new Promise<Ready>((resolve, reject) => {
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') resolve(message.ready as Ready);
      else if (message.type === 'fatal') reject(new Error(`${file}: ${message.error}`));
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.type === 'result') waiter?.resolve(message.result);
        else waiter?.reject(new Error(`${file}: ${message.error}`));
      }
    });
    child.on('exit', (code, signal) => {
      exited = true;
      const error = new Error(`${file} exited (${signal ?? code}); stderr:\n${output.stderrTail}`);
      reject(error);
      failAll(error);
    });
  });
  const worker: Worker<Ready> = {
    child,
    ready: await ready,
    output,
    call<T>(command: string, payload?: unknown) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(`${file} is not running`));
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, command, payload });
      });
    },
    rss() {
      return rssOf(child.pid as number);
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Closing the channel makes the worker exit by itself (running its exit hooks); signals only if it hangs.
      if (child.connected) child.disconnect();
      const terminate = setTimeout(() => child.kill('SIGTERM'), 2000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
      await gone;
      clearTimeout(terminate);
      clearTimeout(kill);
    },
  };
  return worker;
}

type WorkerMessage =
  | { type: 'ready'; ready: unknown }
  | { type: 'fatal'; error: string }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: string };

/** Worker side: announce readiness, then answer commands until the parent disconnects. */
export function serveCommands(ready: unknown, commands: Record<string, (payload: any) => Promise<unknown>>): void {
  const send = (message: WorkerMessage) => process.send?.(message);
  process.on('message', (message: { id: number; command: string; payload: unknown }) => {
    const command = commands[message.command];
    if (!command) {
      send({ type: 'error', id: message.id, error: `unknown command ${message.command}` });
      return;
    }
    command(message.payload).then(
      (result) => send({ type: 'result', id: message.id, result }),
      (error: unknown) => send({ type: 'error', id: message.id, error: describe(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ready });
}

/** Worker side: report a failure to start, then exit. */
export function failToStart(error: unknown): never {
  process.send?.({ type: 'fatal', error: describe(error) });
  process.exit(1);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

function countNewlines(chunk: Buffer): number {
  let count = 0;
  for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) count += 1;
  return count;
}
