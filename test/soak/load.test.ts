import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { afterAll, describe, expect, it } from 'vitest';
import { soakReport } from '../support/soak-report.ts';

/**
 * Sustained load against the local server (loopback only, bounded in time): mostly cached valid tokens,
 * a flood of distinct foreign JWTs, some wrong secrets for known names and a trickle of unknown names.
 * Zero transport errors, zero non-2xx, no wrong accept, no valid token refused; p99 reported; the
 * server's RSS sampled over the run must not grow past a stated bound once warm.
 */

const DURATION_SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const CONNECTIONS = 16;
/** Growth allowed from the end of warm-up (first quarter) to the end of the run, and the absolute ceiling. */
const RSS_GROWTH_BOUND_MB = 64;
const RSS_CEILING_MB = 512;
const RANCHER_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill();
});

interface Ready {
  type: 'ready';
  apiUrl: string;
  authorization: Record<string, string>;
  valid: Record<string, string[]>;
}

function rancherRandom(length: number): string {
  return [...randomBytes(length)].map((b) => RANCHER_ALPHABET[b % RANCHER_ALPHABET.length]).join('');
}

function foreignJwt(): string {
  const claims = { iss: 'kubernetes/serviceaccount', sub: `system:serviceaccount:ns-${randomBytes(3).toString('hex')}:default` };
  return `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

describe('load on the local server', () => {
  it(`serves a realistic mix for ${DURATION_SECONDS} s with no error, no wrong answer and bounded memory`, async () => {
    server = fork(fileURLToPath(new URL('./load-server.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [ready] = (await once(server, 'message')) as [Ready];
    const samples: Array<{ at: number; rssMb: number }> = [];
    const started = Date.now();
    server.on('message', (message: { type: string; rss?: number }) => {
      if (message.type === 'rss') samples.push({ at: Date.now() - started, rssMb: (message.rss ?? 0) / 1048576 });
    });
    const sampler = setInterval(() => server?.send({ type: 'rss' }), 250);

    const clusters = Object.keys(ready.valid);
    const sent = { valid: 0, foreign: 0, wrong: 0, unknown: 0 };
    const wrongAnswers: string[] = [];
    const result = await autocannon({
      url: ready.apiUrl,
      connections: CONNECTIONS,
      duration: DURATION_SECONDS,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          setupRequest: (request, context) => {
            const clusterId = clusters[Math.floor(Math.random() * clusters.length)]!;
            const roll = Math.random();
            const valid = ready.valid[clusterId]!;
            let kind: keyof typeof sent;
            let token: string;
            if (roll < 0.7) {
              kind = 'valid';
              token = valid[Math.floor(Math.random() * valid.length)]!;
            } else if (roll < 0.9) {
              kind = 'foreign';
              token = foreignJwt();
            } else if (roll < 0.98) {
              kind = 'wrong';
              token = `${valid[0]!.split(':')[0]}:${rancherRandom(54)}`;
            } else {
              kind = 'unknown';
              token = `kubeconfig-u-${rancherRandom(8)}:${rancherRandom(54)}`;
            }
            sent[kind] += 1;
            context.kind = kind;
            return {
              ...request,
              path: `/v1/clusters/${clusterId}/authenticate`,
              headers: { 'content-type': 'application/json', authorization: ready.authorization[clusterId]! },
              body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
            };
          },
          onResponse: (status, body, context) => {
            const accepted = body.includes('"authenticated":true');
            if (status === 200 && accepted !== (context.kind === 'valid') && wrongAnswers.length < 20) {
              wrongAnswers.push(`${String(context.kind)} → ${body.slice(0, 120)}`);
            }
          },
        },
      ],
    });
    clearInterval(sampler);
    server.send({ type: 'stop' });

    const warm = samples.filter((s) => s.at >= (DURATION_SECONDS * 1000) / 4);
    const rssWarmMb = warm[0]?.rssMb ?? samples[0]?.rssMb ?? 0;
    const rssMaxMb = Math.max(...samples.map((s) => s.rssMb));
    const rssEndMb = samples.at(-1)?.rssMb ?? 0;
    const total = result.requests.total;
    console.log(
      `load: ${total} requests in ${result.duration} s (${Math.round(total / result.duration)}/s) over ${CONNECTIONS} connections; ` +
        `mix ${JSON.stringify(sent)}; statuses ${JSON.stringify(Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])))}; errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}; ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ` +
        `server RSS ${samples[0]?.rssMb.toFixed(0)} MB at start, ${rssWarmMb.toFixed(0)} MB warm, ${rssEndMb.toFixed(0)} MB at end, max ${rssMaxMb.toFixed(0)} MB ` +
        `(bounds: growth after warm-up < ${RSS_GROWTH_BOUND_MB} MB, max < ${RSS_CEILING_MB} MB; ${samples.length} samples)`,
    );
    soakReport({
      section: `load: autocannon ${DURATION_SECONDS}s × ${CONNECTIONS} conn`,
      requests: total,
      errors: result.errors + result.non2xx,
      wrongAccepts: wrongAnswers.length,
      p99Ms: result.latency.p99,
      rssStartMb: Math.round(rssWarmMb),
      rssMaxMb: Math.round(rssMaxMb),
      note: `${Math.round(total / result.duration)}/s; RSS bound +${RSS_GROWTH_BOUND_MB} MB`,
    });

    expect(total).toBeGreaterThan(DURATION_SECONDS * 50);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(wrongAnswers).toEqual([]);
    expect(sent.foreign).toBeGreaterThan(0);
    expect(rssMaxMb - rssWarmMb).toBeLessThan(RSS_GROWTH_BOUND_MB);
    expect(rssMaxMb).toBeLessThan(RSS_CEILING_MB);
  }, (DURATION_SECONDS + 60) * 1000);
});
