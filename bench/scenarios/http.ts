import { startWorker } from '../lib/child.ts';
import { rancherSecret, scryptHash, serviceAccountJwt, sha3Tokens, sharedHashTokens } from '../lib/fixtures.ts';
import { Connection, postBytes, type Reply } from '../lib/http-client.ts';
import { alternate, closedLoop, ServerError, type Contender } from '../lib/load.ts';
import { percent, targetRow, throughputRow, type BenchContext, type BenchGroup, type Row } from '../lib/report.ts';
import { benchTable, seedRows } from '../lib/seed.ts';
import { registeredCluster } from '../../test/support/clusters.ts';
import { summarize } from '../lib/stats.ts';
import { tokenReviewBody } from '../../test/support/events.ts';

const GROUP = 'loopback HTTP';
const CLUSTER = 'c-bench';
const PATH = `/v1/clusters/${CLUSTER}/authenticate`;

/** Issue 13: logging on may cost at most this share of the log-off throughput. */
const LOG_COST_AT_MOST = 0.2;

const PLANS = {
  full: { rounds: 4, roundMs: 2500, connections: 16 },
  quick: { rounds: 2, roundMs: 600, connections: 16 },
};

/**
 * The mix, per 100 reviews. Foreign JWTs and cache hits dominate what reaches a warm webhook; the rest
 * are the refusals and the slow-hash token. Cache misses of valid tokens and argon2id verifies are
 * measured in-process: in a closed loop at this rate they would be thousands of distinct new names a
 * second, which the product's unknown-name budget throttles by design.
 */
const MIX = { foreign: 40, hit: 40, scrypt: 10, wrongSecret: 5, unknownName: 5 } as const;
type Kind = keyof typeof MIX;

/** A deterministic, evenly spread order of the mix's kinds (smooth weighted round robin). */
function schedule(): Kind[] {
  const kinds = Object.keys(MIX) as Kind[];
  const current = new Map<Kind, number>(kinds.map((kind) => [kind, 0]));
  const order: Kind[] = [];
  for (let slot = 0; slot < 100; slot += 1) {
    for (const kind of kinds) current.set(kind, (current.get(kind) ?? 0) + MIX[kind]);
    const best = kinds.reduce((a, b) => ((current.get(b) ?? 0) > (current.get(a) ?? 0) ? b : a));
    current.set(best, (current.get(best) ?? 0) - 100);
    order.push(best);
  }
  return order;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** The same mix through the local server (the product's local mode) and a bare node:http server. */
export async function httpScenarios(context: BenchContext): Promise<Row[]> {
  const plan = PLANS[context.quick ? 'quick' : 'full'];
  context.progress('loopback HTTP: starting the local server and the bare server');
  type LocalReady = { apiUrl: string; dynamoEndpoint: string; tableName: string };
  const local = await startWorker<LocalReady>('local-server.ts');
  const quiet = await startWorker<LocalReady>('local-server.ts', [], { BENCH_SILENT_LOG: '1' });
  const bare = await startWorker<{ port: number }>('bare-server.ts');
  const connections: Connection[] = [];
  try {
    const hits = sha3Tokens(CLUSTER, 'hit', 32);
    const scryptSecret = rancherSecret();
    const scrypt = sharedHashTokens(CLUSTER, 'scrypt', 1, await scryptHash(scryptSecret), scryptSecret);
    // Both local servers get the same cluster (same credential) and rows.
    const { record: clusterRow, authorization } = await registeredCluster(CLUSTER);
    for (const server of [local, quiet]) {
      const table = await benchTable(server.ready.dynamoEndpoint, server.ready.tableName);
      await table.store.createCluster(clusterRow);
      await seedRows(table, [...hits.rows, ...scrypt.rows]);
      table.close();
    }

    const request = (token: string) => postBytes('127.0.0.1', PATH, { Authorization: authorization }, tokenReviewBody(token));
    const pools: Record<Kind, Buffer[]> = {
      foreign: [request(serviceAccountJwt())],
      hit: hits.tokens.map((token) => request(token.token)),
      scrypt: [request(scrypt.tokens[0]?.token as string)],
      wrongSecret: Array.from({ length: 4000 }, (_, index) => request(`${hits.tokens[index % hits.tokens.length]?.name}:${rancherSecret()}`)),
      unknownName: Array.from({ length: 4000 }, (_, index) => request(`kubeconfig-u-ghost${index}:${rancherSecret()}`)),
    };
    const order = schedule();
    const bytesOf = (index: number) => {
      const pool = pools[order[index % order.length] as Kind];
      return pool[Math.floor(index / order.length) % pool.length] as Buffer;
    };

    const localPort = Number(new URL(local.ready.apiUrl).port);
    const quietPort = Number(new URL(quiet.ready.apiUrl).port);
    const rssBefore = { local: local.rss(), bare: bare.rss() };

    // Before any unknown name spends the container's lookup budget: every real name once, checked in full.
    const check = async (connection: Connection, bytes: Buffer, expect: string, forbid = '\u0000') => {
      const reply: Reply = await connection.request(bytes);
      const text = reply.body.toString('utf8');
      if (reply.status !== 200 || !text.includes(expect) || text.includes(forbid)) throw new Error(`local server answered ${reply.status}: ${text}`);
    };
    for (const port of [localPort, quietPort]) {
      const probe = await Connection.open(port);
      for (const bytes of [...pools.hit, ...pools.scrypt]) await check(probe, bytes, '"authenticated":true');
      await check(probe, pools.foreign[0] as Buffer, '"authenticated":false', '"error"'); // silent: cacheable by the apiserver
      await check(probe, pools.wrongSecret[0] as Buffer, 'invalid token secret');
      await check(probe, pools.unknownName[0] as Buffer, '"authenticated":false');
      probe.close();
    }

    /** Fresh keep-alive connections each round: the other contender's round outlasts the servers' idle timeout. */
    const contender = (name: string, port: number): Contender => {
      let free: Connection[] = [];
      let offset = 0;
      return {
        name,
        prepare: async () => {
          for (const connection of free) connection.close();
          free = await Promise.all(Array.from({ length: plan.connections }, () => Connection.open(port)));
          connections.push(...free);
        },
        run: async () => {
          const start = offset;
          const sample = await closedLoop(
            async (index) => {
              const connection = free.pop() as Connection;
              const reply = await connection.request(bytesOf(start + index));
              free.push(connection);
              if (reply.status >= 500) throw new ServerError(reply.body.toString('utf8'));
              if (reply.status !== 200) throw new Error(`${name} answered ${reply.status}: ${reply.body.toString('utf8')}`);
            },
            { concurrency: plan.connections, durationMs: plan.roundMs, maxOps: 2_000_000 },
          );
          offset += sample.ops;
          return sample;
        },
      };
    };
    context.progress('loopback HTTP: mix');
    const contenders = [
      contender('bare node:http constant server', bare.ready.port),
      contender('local server, mix', localPort),
      contender('local server, mix, log off', quietPort),
    ];
    const samples = await alternate(contenders, plan.rounds);
    const rssAfter = { local: local.rss(), bare: bare.rss() };
    const [baseline, measured, withoutLog] = samples.map(summarize);
    const share = Object.entries(MIX)
      .map(([kind, weight]) => `${weight}% ${kind}`)
      .join(', ');
    return [
      throughputRow({
        group: GROUP,
        scenario: 'local server, mix',
        measured: measured as ReturnType<typeof summarize>,
        baselineName: 'bare node:http constant server',
        baseline: baseline as ReturnType<typeof summarize>,
        notes: [
          `mix: ${share}; ${plan.connections} keep-alive connections`,
          `RSS of the local server (handler + embedded DynamoDB): ${mb(rssBefore.local)} before, ${mb(rssAfter.local)} after; bare server: ${mb(rssBefore.bare)} → ${mb(rssAfter.bare)}`,
          `log written by the local server: ${local.output.stdoutLines.toLocaleString('en-US')} lines, ${mb(local.output.stdoutBytes + local.output.stderrBytes)}`,
        ],
      }),
      targetRow({
        group: GROUP,
        scenario: 'per-decision log line: log on vs log off',
        value: (measured?.throughput ?? Number.NaN) / (withoutLog?.throughput ?? Number.NaN),
        atLeast: 1 - LOG_COST_AT_MOST,
        shown: `${percent((measured?.throughput ?? Number.NaN) / (withoutLog?.throughput ?? Number.NaN))} of log off`,
        target: `≥ ${percent(1 - LOG_COST_AT_MOST)} (log costs ≤ ${percent(LOG_COST_AT_MOST)})`,
        measured: measured as ReturnType<typeof summarize>,
        baselineName: 'local server, mix, log off',
        baseline: withoutLog as ReturnType<typeof summarize>,
        notes: [
          'the same local server and mix with a silent log, in alternating rounds; one structured line per decision stays',
        ],
      }),
      throughputRow({
        group: GROUP,
        scenario: 'local server, mix, log off',
        measured: withoutLog as ReturnType<typeof summarize>,
        baselineName: 'bare node:http constant server',
        baseline: baseline as ReturnType<typeof summarize>,
        notes: ['diagnostic: a second local server with a silent log (what the per-review log line costs over HTTP)'],
      }),
    ];
  } finally {
    for (const connection of connections) connection.close();
    await Promise.all([local.stop(), quiet.stop(), bare.stop()]);
  }
}

export const httpGroup: BenchGroup = { key: 'http', name: 'loopback HTTP', run: httpScenarios };
