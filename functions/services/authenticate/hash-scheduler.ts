import { OverloadedError } from '../../core/errors.ts';

export interface HashSchedulerOptions {
  /** Slow hash verifies (scrypt, argon2id) running at once in this container. */
  concurrency: number;
  /** Verifies one cluster may have waiting; past it its next one is refused with `OverloadedError`. */
  maxQueuedPerCluster: number;
}

/** Runs slow hash work with bounded concurrency, taking turns between clusters. */
export interface HashScheduler {
  /** Runs `work` when a slot is free and it is this cluster's turn. Throws `OverloadedError` past the cluster's queue. */
  run<T>(clusterId: string, work: () => Promise<T>): Promise<T>;
}

interface Job {
  start: () => void;
}

/**
 * Slow hashes run on libuv's small shared thread pool (scrypt) or napi's (argon2id); without a bound,
 * one cluster's flood of wrong secrets would occupy every thread and another cluster's review would
 * wait behind all of it. Here at most `concurrency` run at once, and a free slot goes to the waiting
 * cluster that started work least recently (round robin; a newcomer first), so a cluster waits for at
 * most one verify of each other busy cluster, however many those have queued. In Lambda (one request per
 * container at a time) the queue never holds more than one.
 */
export function createHashScheduler(options: HashSchedulerOptions): HashScheduler {
  /** Clusters with waiting work, with when each last started one (a sequence number; new ones go first). */
  const queues = new Map<string, { jobs: Job[]; lastStart: number }>();
  const lastStarts = new Map<string, number>();
  let running = 0;
  let sequence = 0;

  function next(): void {
    while (running < options.concurrency && queues.size > 0) {
      // The waiting cluster whose last start is oldest: round robin, with a newcomer served first.
      let chosen: string | undefined;
      let oldest = Infinity;
      for (const [clusterId, queue] of queues) {
        if (queue.lastStart < oldest) {
          oldest = queue.lastStart;
          chosen = clusterId;
        }
      }
      const queue = queues.get(chosen as string) as { jobs: Job[]; lastStart: number };
      const job = queue.jobs.shift() as Job;
      sequence += 1;
      queue.lastStart = sequence;
      lastStarts.set(chosen as string, sequence);
      if (queue.jobs.length === 0) queues.delete(chosen as string);
      running += 1;
      job.start();
    }
    if (queues.size === 0 && running === 0) lastStarts.clear(); // idle: nothing to be fair about, nothing to remember
  }

  return {
    run(clusterId, work) {
      const queue = queues.get(clusterId) ?? { jobs: [], lastStart: lastStarts.get(clusterId) ?? -1 };
      if (queue.jobs.length >= options.maxQueuedPerCluster) {
        return Promise.reject(new OverloadedError('too many hash verifies waiting for this cluster', { summarised: true }));
      }
      return new Promise((resolve, reject) => {
        queue.jobs.push({
          start: () => {
            work()
              .then(resolve, reject)
              .finally(() => {
                running -= 1;
                next();
              });
          },
        });
        queues.set(clusterId, queue);
        next();
      });
    },
  };
}
