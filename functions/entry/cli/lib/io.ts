import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Everything a command touches outside itself, injected so that tests run commands in-process with a
 * fixed clock, fixed randomness and captured output.
 */
export interface CliIo {
  /** Data: what a script would capture (credentials, kubeconfigs, lists). */
  stdout(text: string): void;
  /** Information for the human: progress, warnings, next steps. */
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  now(): Date;
  randomBytes(size: number): Buffer;
  /** Reads a file as UTF-8; `-` reads standard input. */
  readText(path: string): Promise<string>;
  /** Resolves with the signal's name when the process is asked to stop (SIGINT, SIGTERM). */
  untilStopped(): Promise<string>;
}

/** The real process: its streams, environment, clock, CSPRNG, files and signals. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    now: () => new Date(),
    randomBytes: (size) => randomBytes(size),
    readText: async (path) => (path === '-' ? readStream(process.stdin) : readFile(path, 'utf8')),
    untilStopped: () =>
      new Promise((resolve) => {
        const stop = (signal: string) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(signal);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
  };
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
