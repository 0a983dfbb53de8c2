import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Sample } from './stats.ts';

/** Thrown by an operation whose answer was a retryable server error (a 5xx): counted, not fatal. */
export class ServerError extends Error {
  override name = 'ServerError';
}

export interface LoopOptions {
  /** Operations in flight at once. */
  concurrency: number;
  /** No new operation starts after this long. */
  durationMs: number;
  /** Hard bound on operations (and the size of the latency buffer). */
  maxOps: number;
}

/**
 * A bounded closed loop: `concurrency` workers each start an operation as soon as their previous one
 * finished, until the duration is over or `maxOps` operations were started. `op` receives the index of
 * the operation within this run and must throw when the answer is wrong (the run then fails loudly),
 * or a `ServerError` for a 5xx, which is counted (the apiserver would retry it) and timed like any answer.
 *
 * Each operation starts on a fresh turn of the event loop, as a request or a Lambda invocation arrives
 * by I/O. Without that, handlers that answer from memory resolve entirely in microtasks and starve the
 * process's sockets and timers for a whole round (a store call then misses its deadline).
 */
export async function closedLoop(op: (index: number) => Promise<void>, options: LoopOptions): Promise<Sample> {
  const latencies = new Float64Array(options.maxOps);
  let next = 0;
  let done = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  async function worker(): Promise<void> {
    for (;;) {
      await nextTurn();
      if (next >= options.maxOps) return;
      const began = performance.now();
      if (began >= deadline) return;
      const index = next++;
      try {
        await op(index);
      } catch (error) {
        if (!(error instanceof ServerError)) throw error;
        errors += 1;
      }
      latencies[done] = performance.now() - began;
      done += 1;
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return { ops: done, errors, elapsedMs, latencies: latencies.subarray(0, done) };
}

/** One side of a comparison: prepares itself for a round (optional), then runs it. */
export interface Contender {
  name: string;
  /** Called before each round, outside the timed part (e.g. a fresh handler for a cold cache). */
  prepare?: (round: number) => Promise<void>;
  run: (round: number) => Promise<Sample>;
}

/**
 * Runs contenders in alternating rounds (A B, B A, A B, …) after one untimed warm-up round each, so
 * that drift in the machine's load (shared cores) hits every contender alike.
 */
export async function alternate(contenders: Contender[], rounds: number, warmup = true): Promise<Sample[][]> {
  const samples: Sample[][] = contenders.map(() => []);
  if (warmup) {
    for (const contender of contenders) {
      await contender.prepare?.(-1);
      await contender.run(-1);
    }
  }
  for (let round = 0; round < rounds; round += 1) {
    const order = contenders.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const contender = contenders[index] as Contender;
      await contender.prepare?.(round);
      samples[index]?.push(await contender.run(round));
    }
  }
  return samples;
}
