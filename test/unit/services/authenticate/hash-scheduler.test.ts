import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../../../functions/core/errors.ts';
import { createHashScheduler } from '../../../../functions/services/authenticate/hash-scheduler.ts';

/** A job that records when it started and finishes when told. */
function job(started: string[], label: string) {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: () => (started.push(label), done), finish: () => finish() };
}

describe('the hash scheduler', () => {
  it("gives another cluster's hash work the next free slot, however much one cluster has queued", async () => {
    const scheduler = createHashScheduler({ concurrency: 1, maxQueuedPerCluster: 1_000 });
    const started: string[] = [];
    const flood = Array.from({ length: 100 }, (_, i) => job(started, `a${i}`));
    const runs = flood.map((j) => scheduler.run('c-a', j.work));
    const other = job(started, 'b0');
    const otherRun = scheduler.run('c-b', other.work);
    flood[0]!.finish();
    await runs[0];
    await Promise.resolve();
    expect(started).toEqual(['a0', 'b0']);
    other.finish();
    await otherRun;
    for (const j of flood) j.finish();
    await Promise.all(runs);
    expect(started).toHaveLength(101);
  });

  it('runs at most its concurrency at once', async () => {
    const scheduler = createHashScheduler({ concurrency: 2, maxQueuedPerCluster: 10 });
    const started: string[] = [];
    const jobs = Array.from({ length: 5 }, (_, i) => job(started, `j${i}`));
    const runs = jobs.map((j, i) => scheduler.run(`c-${i}`, j.work));
    expect(started).toEqual(['j0', 'j1']);
    for (const j of jobs) j.finish();
    await Promise.all(runs);
    expect(started).toHaveLength(5);
  });

  it("refuses a cluster's work past its queue bound without touching other clusters", async () => {
    const scheduler = createHashScheduler({ concurrency: 1, maxQueuedPerCluster: 2 });
    const started: string[] = [];
    const blocker = job(started, 'x');
    const blocked = scheduler.run('c-x', blocker.work);
    const queued = [job(started, 'a0'), job(started, 'a1')];
    const runs = queued.map((j) => scheduler.run('c-a', j.work));
    await expect(scheduler.run('c-a', job(started, 'a2').work)).rejects.toBeInstanceOf(OverloadedError);
    const b = job(started, 'b0');
    const bRun = scheduler.run('c-b', b.work);
    blocker.finish();
    for (const j of [...queued, b]) j.finish();
    await Promise.all([blocked, ...runs, bRun]);
    expect(started).toEqual(['x', 'a0', 'b0', 'a1']);
  });
});
