import { startWorker } from '../lib/child.ts';
import { throughputRow, type BenchContext, type BenchGroup, type Row } from '../lib/report.ts';
import { summarize } from '../lib/stats.ts';
import type { Comparison } from '../workers/inprocess.ts';

const GROUP = 'in-process';


/**
 * The handler called with payload-2.0 events in a worker process, against same-process baselines. The
 * targets of the first round (issue 5) are `report` rows now: µs ratios against a constant handler do not
 * change what a Lambda costs (billing is per 1 ms).
 */
export async function inProcessScenarios(context: BenchContext): Promise<Row[]> {
  const worker = await startWorker<{ rows: number }>('inprocess.ts', [], {
    BENCH_DYNAMODB_ENDPOINT: context.dynamoEndpoint,
    BENCH_QUICK: context.quick ? '1' : '0',
  });
  const rows: Row[] = [];
  try {
    const compare = async (name: string) => {
      context.progress(`in-process: ${name}`);
      const result = await worker.call<Comparison>('compare', name);
      const summaries = result.samples.map(summarize);
      return { summaries, names: result.names, throttled: result.throttled };
    };
    const pair = (result: Awaited<ReturnType<typeof compare>>, index: number, atLeast?: number, notes?: string[]) =>
      throughputRow({
        group: GROUP,
        scenario: result.names[index] as string,
        measured: result.summaries[index] as ReturnType<typeof summarize>,
        baselineName: result.names[0] as string,
        baseline: result.summaries[0] as ReturnType<typeof summarize>,
        ...(atLeast === undefined ? {} : { atLeast }),
        ...(notes ? { notes } : {}),
      });

    /** One comparison and its rows; a failure becomes an ERROR row of its own instead of ending the group. */
    const guarded = async (name: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
        context.progress(`in-process: ${name} failed: ${error instanceof Error ? error.stack : message}`);
        rows.push({ group: GROUP, scenario: name, verdict: 'ERROR', notes: [message] });
      }
    };

    const output = async (kind: 'foreign' | 'hit') => {
      const count = context.quick ? 500 : 2000;
      const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
      await worker.call('probe', { phase: 'prime', kind, count });
      await settle();
      const before = { ...worker.output };
      await worker.call('probe', { phase: 'run', kind, count });
      await settle();
      const per = (now: number, then: number) => (now - then) / count;
      const o = worker.output;
      return `each review writes ${per(o.stdoutLines, before.stdoutLines).toFixed(1)} lines (${per(o.stdoutBytes, before.stdoutBytes).toFixed(0)} bytes) on stdout and ${per(o.stderrLines, before.stderrLines).toFixed(1)} lines (${per(o.stderrBytes, before.stderrBytes).toFixed(0)} bytes) on stderr (averaged over ${count.toLocaleString('en-US')} reviews of a warm handler)`;
    };
    await guarded('foreign JWT', async () => {
      const foreign = await compare('foreign');
      rows.push(pair(foreign, 1, undefined, [await output('foreign')]));
    });
    await guarded('$3 cache hit', async () => {
      const hit = await compare('hit');
      rows.push(pair(hit, 1, undefined, [await output('hit')]));
    });
    await guarded('telemetry off', async () => {
      const quiet = await compare('quiet');
      rows.push(pair(quiet, 1, undefined, ['diagnostic: the same handler with a silent log and no metrics (what the Powertools log and EMF lines cost)']));
      rows.push(pair(quiet, 2));
    });
    await guarded('$3 cache miss', async () => {
      const miss = await compare('miss');
      rows.push(
        pair(miss, 1, undefined, [
          'every review is a distinct token (fresh container each round); UNKNOWN_NAME_LOOKUPS_PER_SECOND(_TOTAL) raised so the budget for names a container has not seen does not cap the loop',
        ]),
      );
      rows.push(pair(miss, 2, undefined, ['diagnostic: the two store calls an accepted miss waits for (GetItem, then the conditional lastUsedAt UpdateItem), bare']));
    });
    await guarded('$1 scrypt repeated', async () => {
      const scrypt = await compare('scrypt');
      rows.push(pair(scrypt, 1));
    });
    await guarded('wrong secret / unknown token name', async () => {
      const refusals = await compare('refusals');
      rows.push(pair(refusals, 1, undefined, ['a distinct wrong secret per review on names this container has seen (their rows are cached)']));
      const unknown = refusals.summaries[2];
      const throttled = refusals.throttled['unknown token name'] ?? 0;
      rows.push(
        pair(refusals, 2, undefined, [
          `a distinct unknown name per review at the default budget (20 lookups/s per cluster, fresh container each round): ${throttled.toLocaleString('en-US')} of ${(unknown?.ops ?? 0).toLocaleString('en-US')} answers were 'lookup-throttled' (no store read), the rest 'token not found'`,
        ]),
      );
    });
    await guarded('argon2id cache miss', async () => {
      const argon2 = await compare('argon2');
      rows.push(pair(argon2, 1, undefined, ['distinct token names sharing one argon2id hash (OWASP m=19456 KiB, t=2, p=1): one verify per review']));
    });
  } finally {
    await worker.stop();
  }
  return rows;
}

export const inProcessGroup: BenchGroup = { key: 'in-process', name: 'in-process', run: inProcessScenarios };
