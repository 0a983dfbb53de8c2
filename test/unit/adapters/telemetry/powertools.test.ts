import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { powertoolsLog, powertoolsMetrics } from '../../../../functions/adapters/telemetry/powertools.ts';

let written: string[];

beforeEach(() => {
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(`stderr:${String(chunk)}`);
    return true;
  });
});

afterEach(() => vi.restoreAllMocks());

function emfLines() {
  return written.filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));
}

describe('powertoolsMetrics', () => {
  it('publishes one EMF line per dimension set with counts summed, not a line per data point', () => {
    const metrics = powertoolsMetrics({ flushIntervalMs: 0 });
    for (let i = 0; i < 5; i += 1) metrics.count('Reviews', 1, { Outcome: 'accepted' });
    metrics.count('Reviews', 1, { Outcome: 'foreign' });
    metrics.count('ForeignTokens', 1, { ClusterId: 'c-abc12' });
    metrics.milliseconds('ReviewLatency', 1.5, { Outcome: 'accepted' });
    metrics.milliseconds('ReviewLatency', 2.5, { Outcome: 'accepted' });
    metrics.flush();
    const lines = emfLines();
    expect(lines).toHaveLength(3);
    const accepted = lines.find((line) => line.Outcome === 'accepted');
    expect(accepted).toMatchObject({ Reviews: 5, ReviewLatency: [1.5, 2.5] });
    expect(accepted._aws.CloudWatchMetrics[0].Namespace).toBe('Tokengate');
    expect(lines.find((line) => line.ClusterId === 'c-abc12')).toMatchObject({ ForeignTokens: 1 });
  });

  it('keeps aggregating until the interval has passed', () => {
    let clock = 0;
    const metrics = powertoolsMetrics({ flushIntervalMs: 10_000, now: () => clock });
    metrics.count('Reviews', 1, { Outcome: 'accepted' });
    metrics.flush();
    clock = 5_000;
    metrics.count('Reviews', 1, { Outcome: 'accepted' });
    metrics.flush();
    expect(emfLines()).toHaveLength(0);
    clock = 10_000;
    metrics.flush();
    expect(emfLines()).toEqual([expect.objectContaining({ Reviews: 2, Outcome: 'accepted' })]);
  });

  it('writes nothing at all (not even a warning) when there is nothing to publish', () => {
    const metrics = powertoolsMetrics({ flushIntervalMs: 0 });
    metrics.flush();
    metrics.flush();
    expect(written).toEqual([]);
  });

  it('samples at most 99 latencies per metric and dimension set between publishes', () => {
    const metrics = powertoolsMetrics({ flushIntervalMs: 0, random: () => 0.5 });
    for (let i = 0; i < 1_000; i += 1) metrics.milliseconds('ReviewLatency', i, { Outcome: 'accepted' });
    metrics.count('Reviews', 1_000, { Outcome: 'accepted' });
    metrics.flush();
    const lines = emfLines();
    expect(lines).toHaveLength(1);
    expect(lines[0].ReviewLatency).toHaveLength(99);
    expect(written.filter((line) => line.startsWith('stderr:'))).toEqual([]);
    expect(lines[0].Reviews).toBe(1_000);
  });
});

describe('powertoolsLog', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  const attributes = { clusterId: 'c-abc12', tokenName: 'token-1', outcome: 'accepted', cached: false, latencyMs: 1.25, groups: ['a', 'b'] };

  it('per turn (the local server): the same lines Powertools writes one by one, in one write per stream at the end of the turn', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-01T10:00:00.000Z') });
    const boom = new Error('boom');
    try {
      // flat attributes (built directly per turn), empty values, a reserved key, nested ones and an error
      // (left to Powertools), a level that is off
      const calls = (log: ReturnType<typeof powertoolsLog>) => {
        log.info('token accepted', attributes);
        log.info('nested', { detail: { reason: 'x' }, error: boom });
        log.info('empties', { a: '', b: null, c: undefined, d: 0, e: false, f: [], g: ['x', 1, true] });
        log.info('reserved', { service: 'other', clusterId: 'c-abc12' });
        log.debug('not at INFO', attributes);
        log.warn('throttled', { clusterId: 'c-abc12' });
      };
      calls(powertoolsLog('tokengate', 'INFO', 'per-line'));
      const oneByOne = [...written];
      expect(oneByOne.filter((line) => !line.includes('reserved key'))).toHaveLength(5);
      written = [];

      calls(powertoolsLog('tokengate', 'INFO', 'per-turn'));
      expect(written).toEqual([]);
      await nextTurn();
      // one write per stream: the stdout lines together, then the stderr ones (the spy marks a stderr write)
      const stdout = oneByOne.filter((line) => !line.startsWith('stderr:')).join('');
      const stderr = `stderr:${oneByOne.filter((line) => line.startsWith('stderr:')).map((line) => line.slice('stderr:'.length)).join('')}`;
      expect(written).toEqual([stdout, stderr]);
      expect(JSON.parse(oneByOne[0]!)).toEqual({ level: 'INFO', message: 'token accepted', timestamp: '2026-12-01T10:00:00.000Z', service: 'tokengate', ...attributes });
    } finally {
      vi.useRealTimers();
    }
  });

  it('per line (Lambda): each line is out when the call returns', () => {
    powertoolsLog('tokengate', 'INFO').info('token accepted', attributes);
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ message: 'token accepted', ...attributes });
  });
});
