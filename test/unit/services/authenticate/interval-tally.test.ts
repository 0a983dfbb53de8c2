import { describe, expect, it } from 'vitest';
import { IntervalTally } from '../../../../functions/services/authenticate/interval-tally.ts';

const T0 = Date.parse('2026-11-26T12:00:00Z');

describe('IntervalTally', () => {
  it('opens a window at its first event and closes it with the event that finds it over (unaligned)', () => {
    const tally = new IntervalTally(60_000);
    expect(tally.record('a', T0 + 5_000)).toEqual({ first: true });
    expect(tally.record('a', T0 + 10_000)).toEqual({ first: false });
    const { report } = tally.record('b', T0 + 65_000);
    expect(report).toMatchObject({ windowSeconds: 60, total: 3, top: { a: 2, b: 1 }, untracked: 0 });
    expect(tally.windowEndMs).toBeUndefined();
  });

  it('keeps aligned windows on the clock grid: an event after the end closes the last window and opens the next', () => {
    const tally = new IntervalTally(60_000, { aligned: true });
    tally.record('a', T0 + 59_999);
    expect(tally.windowEndMs).toBe(T0 + 60_000);
    const { first, report } = tally.record('b', T0 + 60_000);
    expect(first).toBe(true);
    expect(report).toMatchObject({ windowStartMs: T0, windowEndMs: T0 + 60_000, total: 1, top: { a: 1 } });
    expect(tally.takeEnded(T0 + 119_999)).toBeUndefined();
    expect(tally.takeEnded(T0 + 500_000)).toMatchObject({ windowStartMs: T0 + 60_000, windowEndMs: T0 + 120_000, total: 1, top: { b: 1 } });
    expect(tally.takeEnded(T0 + 600_000)).toBeUndefined();
  });

  it('hands back a window without a new event once it is over, and the open one on demand', () => {
    const tally = new IntervalTally(60_000, { aligned: true });
    expect(tally.takeNow(T0)).toBeUndefined();
    tally.record('a', T0 + 1_000);
    expect(tally.takeNow(T0 + 2_000)).toMatchObject({ windowStartMs: T0, windowEndMs: T0 + 2_000, total: 1 });
  });

  it('keeps at most maxKeys keys per window, counting the others only as untracked, and names the top ones', () => {
    const tally = new IntervalTally(60_000, { maxKeys: 3, top: 2, aligned: true });
    for (const key of ['a', 'b', 'c', 'd', 'd', 'd', 'a']) tally.record(key, T0);
    const report = tally.takeNow(T0 + 1);
    expect(report).toMatchObject({ total: 7, untracked: 3, top: { a: 2, b: 1 } });
    expect(report!.entries.map((entry) => entry.key)).toEqual(['a', 'b']);
  });

  it('folds each event into its key\'s detail', () => {
    const tally = new IntervalTally<string[]>(60_000);
    tally.record('a', T0, (seen) => [...(seen ?? []), 'one']);
    tally.record('a', T0 + 1, (seen) => [...(seen ?? []), 'two']);
    expect(tally.takeNow(T0 + 2)!.entries).toEqual([{ key: 'a', count: 2, detail: ['one', 'two'] }]);
  });
});
