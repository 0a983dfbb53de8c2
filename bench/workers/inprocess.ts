// The in-process scenarios: the product's Lambda handler called with API Gateway payload-2.0 events,
// as the Lambda runtime calls it, against baselines run in this same process in alternating rounds.
// stdout/stderr go to the parent, which counts them: the Powertools log and EMF lines are part of
// what a review costs in Lambda.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handlerFromEnvironment, type AuthenticateHandler } from '../../functions/entry/authenticate/handler.ts';
import { createDocumentClient } from '../../functions/adapters/dynamodb/client.ts';
import { DynamoDbReviewStore } from '../../functions/adapters/dynamodb/review-store.ts';
import { keyOf } from '../../functions/adapters/dynamodb/rows.ts';
import { TableOperations } from '../../functions/adapters/dynamodb/table-operations.ts';
import { verifySecret } from '../../functions/core/hash.ts';
import type { TokenRecord } from '../../functions/core/records.ts';
import { noMetrics, silentLog } from '../../functions/core/ports/telemetry.ts';
import { httpEvent, tokenReviewBody } from '../../test/support/events.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import {
  argon2Hash,
  rancherSecret,
  scryptHash,
  serviceAccountJwt,
  sha3Tokens,
  sharedHashTokens,
  type SeededToken,
} from '../lib/fixtures.ts';
import { alternate, closedLoop, ServerError, type Contender } from '../lib/load.ts';
import { benchTable, REGION, seedCluster, seedRows } from '../lib/seed.ts';
import type { Sample } from '../lib/stats.ts';

export interface InProcessPlan {
  rounds: number;
  concurrency: number;
  /** Length of one timed round of the cheap (CPU-only) scenarios. */
  roundMs: number;
  /** Length of one timed round of the scenarios that wait on the store or on a slow hash. */
  slowRoundMs: number;
  hitPool: number;
  missPool: number;
  argon2Pool: number;
}

export const IN_PROCESS_PLANS: Record<'full' | 'quick', InProcessPlan> = {
  full: { rounds: 4, concurrency: 8, roundMs: 1000, slowRoundMs: 1500, hitPool: 32, missPool: 8000, argon2Pool: 600 },
  quick: { rounds: 2, concurrency: 8, roundMs: 250, slowRoundMs: 300, hitPool: 32, missPool: 2500, argon2Pool: 150 },
};

/** Results of one comparison: samples of each contender, in the order given. */
export interface Comparison {
  samples: Sample[][];
  names: string[];
  /** Per contender: answers refused as 'lookup-throttled' in the timed rounds. */
  throttled: Record<string, number>;
}

const CLUSTER = 'c-bench';
const PATH = `/v1/clusters/${CLUSTER}/authenticate`;

type Event = APIGatewayProxyEventV2;
type Handler = (event: Event) => Promise<APIGatewayProxyStructuredResultV2>;

const endpoint = process.env.BENCH_DYNAMODB_ENDPOINT as string;
const plan = IN_PROCESS_PLANS[process.env.BENCH_QUICK === '1' ? 'quick' : 'full'];
const tableName = `bench-inprocess-${process.pid}`;

try {
  const table = await benchTable(endpoint, tableName);
  const authorization = await seedCluster(table, CLUSTER);
  const event = (token: string): Event => httpEvent({ path: PATH, headers: { authorization }, body: tokenReviewBody(token) });

  const hits = sha3Tokens(CLUSTER, 'hit', plan.hitPool);
  const misses = sha3Tokens(CLUSTER, 'miss', plan.missPool);
  const argon2Secret = rancherSecret();
  const argon2 = sharedHashTokens(CLUSTER, 'native', plan.argon2Pool, await argon2Hash(argon2Secret), argon2Secret);
  const scryptSecret = rancherSecret();
  const scrypt = sharedHashTokens(CLUSTER, 'scrypt', 1, await scryptHash(scryptSecret), scryptSecret);
  await seedRows(table, [...hits.rows, ...misses.rows, ...argon2.rows, ...scrypt.rows]);

  // The store exactly as handlerFromEnvironment builds it, shared so that a fresh handler (a cold
  // cache) does not also mean fresh TCP connections.
  const client = createDocumentClient({ region: REGION, endpoint, localCredentials: true });
  const store = new DynamoDbReviewStore(new TableOperations(client, tableName), 1000);
  const environment = { TABLE_NAME: tableName, AWS_REGION: REGION, DYNAMODB_ENDPOINT: endpoint, CACHE_TTL_SECONDS: '10' };
  const lambdaHandler = (): AuthenticateHandler => handlerFromEnvironment(environment, { store });
  // A container refuses reads of token names it has not seen exist past a budget (20/s per cluster by
  // default, 'lookup-throttled'). The miss scenarios measure the cost of a miss, not that budget: they
  // raise it through its setting, which changes nothing else on the path (the name is still checked).
  const unthrottled = { ...environment, UNKNOWN_NAME_LOOKUPS_PER_SECOND: '1000000', UNKNOWN_NAME_LOOKUPS_PER_SECOND_TOTAL: '1000000' };
  const missHandler = (): AuthenticateHandler => handlerFromEnvironment(unthrottled, { store });
  const quietHandler = (): AuthenticateHandler => handlerFromEnvironment(environment, { store, log: silentLog, metrics: noMetrics });

  const foreignEvent = event(serviceAccountJwt());
  const hitEvents = hits.tokens.map((token) => event(token.token));
  const missEvents = misses.tokens.map((token) => event(token.token));
  const argon2Events = argon2.tokens.map((token) => event(token.token));
  const scryptEvent = event((scrypt.tokens[0] as SeededToken).token);

  const ACCEPTED = '"authenticated":true';
  const REFUSED = '"authenticated":false';
  const THROTTLED = 'too many unknown tokens';
  /** Answers refused as 'lookup-throttled', per contender, in the timed rounds. */
  const tally = new Map<string, number>();

  /** Calls a handler in a closed loop; each answer must be a 200 carrying `expect`. */
  function handlerRun(handler: () => Handler, pick: (index: number) => Event, expect: string, durationMs: number, maxOps: number) {
    return (_round: number) =>
      closedLoop(
        async (index) => {
          const reply = await handler()(pick(index));
          if ((reply.statusCode ?? 0) >= 500) throw new ServerError(String(reply.body));
          if (reply.statusCode !== 200 || !reply.body?.includes(expect)) {
            throw new Error(`unexpected reply ${reply.statusCode}: ${reply.body}`);
          }
        },
        { concurrency: plan.concurrency, durationMs, maxOps },
      );
  }

  /** A contender with a handler that lives across rounds (a warm Lambda container). */
  function warm(name: string, make: () => Handler, pick: (index: number) => Event, expect: string, durationMs = plan.roundMs, prime?: Event): Contender {
    let handler: Handler | undefined;
    return {
      name,
      prepare: async () => {
        handler ??= make();
        await handler(foreignEvent); // the caller check (argon2id, then cached) happens here, untimed
        // One review first, alone: concurrent first reviews of one slow-hash token would spend its
        // slow-verify budget (SLOW_VERIFIES_PER_TOKEN_PER_SECOND) and be refused as throttled.
        if (prime) await handler(prime);
      },
      run: handlerRun(() => handler as Handler, pick, expect, durationMs, 1_000_000),
    };
  }

  /** A contender with a fresh handler each round: every distinct token is a cache miss. */
  function cold(name: string, make: () => Handler, events: Event[], expect: string, prime: Event[] = []): Contender {
    let handler: Handler | undefined;
    const durationMs = plan.slowRoundMs;
    return {
      name,
      prepare: async () => {
        handler = make();
        await handler(foreignEvent);
        for (const event of prime) await handler(event);
      },
      run: (round) =>
        closedLoop(
          async (index) => {
            const reply = await (handler as Handler)(events[index] as Event);
            if ((reply.statusCode ?? 0) >= 500) throw new ServerError(String(reply.body));
            if (reply.statusCode !== 200 || !reply.body?.includes(expect)) {
              throw new Error(`unexpected reply ${reply.statusCode}: ${reply.body}`);
            }
            if (round >= 0 && reply.body.includes(THROTTLED)) tally.set(name, (tally.get(name) ?? 0) + 1);
          },
          { concurrency: plan.concurrency, durationMs, maxOps: events.length },
        ),
    };
  }

  /** Baseline of the CPU scenarios: parse the body, answer a constant TokenReview. */
  const constantHandler: Handler = async (request) => {
    const review = JSON.parse(request.body ?? '') as { apiVersion?: string };
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1beta1', kind: 'TokenReview', status: { authenticated: false } }),
    };
  };
  const constant = (name = 'constant TokenReview handler') => warm(name, () => constantHandler, () => foreignEvent, REFUSED);

  /** Baseline of the miss scenario: the same GetItem the review does, bare, at the same concurrency. */
  const getItemLoop: Contender = {
    name: 'bare GetItem loop',
    run: () =>
      closedLoop(
        async (index) => {
          const name = (misses.tokens[index] as SeededToken).name;
          const result = await client.send(new GetCommand({ TableName: tableName, Key: keyOf({ kind: 'token', clusterId: CLUSTER, name }), ConsistentRead: true }));
          if (!result.Item) throw new Error(`row ${name} missing`);
        },
        { concurrency: plan.concurrency, durationMs: plan.slowRoundMs, maxOps: misses.tokens.length },
      ),
  };

  /**
   * Not a target's baseline: the floor of what a miss of a valid token costs in store round trips, the
   * GetItem plus the lastUsedAt write every first use issues (no longer awaited by the review, but the
   * store still serves it: the store's own conditional update).
   */
  const getAndRecordLoop: Contender = {
    name: 'bare GetItem + lastUsedAt write loop',
    run: () =>
      closedLoop(
        async (index) => {
          const name = (misses.tokens[index] as SeededToken).name;
          const result = await client.send(new GetCommand({ TableName: tableName, Key: keyOf({ kind: 'token', clusterId: CLUSTER, name }), ConsistentRead: true }));
          if (!result.Item) throw new Error(`row ${name} missing`);
          const now = new Date();
          await store.recordUse(CLUSTER, name, now, new Date(now.getTime() - 60_000));
        },
        { concurrency: plan.concurrency, durationMs: plan.slowRoundMs, maxOps: misses.tokens.length },
      ),
  };

  /** kube-api-auth's way: the row from an in-memory informer cache, the scrypt hash verified on every review. */
  const scryptRow = scrypt.rows[0] as TokenRecord;
  const rancherInformer = new Map([[scryptRow.name, scryptRow]]);
  const verifyEveryTime: Handler = async (request) => {
    const review = JSON.parse(request.body ?? '') as { apiVersion?: string; spec: { token: string } };
    const colon = review.spec.token.indexOf(':');
    const row = rancherInformer.get(review.spec.token.slice(0, colon));
    const ok = row?.hash !== undefined && (await verifySecret(row.hash, review.spec.token.slice(colon + 1))) === 'match';
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1beta1',
        kind: 'TokenReview',
        status: ok ? { authenticated: true, user: { username: row?.userName } } : { authenticated: false },
      }),
    };
  };

  const wrongSecretEvents = Array.from({ length: plan.missPool }, (_, index) =>
    event(`${(hits.tokens[index % hits.tokens.length] as SeededToken).name}:${rancherSecret()}`),
  );
  const unknownEvents = Array.from({ length: plan.missPool }, (_, index) => event(`kubeconfig-u-ghost${index}:${rancherSecret()}`));

  const comparisons: Record<string, () => Contender[]> = {
    foreign: () => [constant(), warm('foreign JWT', lambdaHandler, () => foreignEvent, REFUSED)],
    hit: () => [constant(), warm('$3 cache hit', lambdaHandler, (index) => hitEvents[index % hitEvents.length] as Event, ACCEPTED)],
    quiet: () => [
      constant(),
      warm('foreign JWT, telemetry off', quietHandler, () => foreignEvent, REFUSED),
      warm('$3 cache hit, telemetry off', quietHandler, (index) => hitEvents[index % hitEvents.length] as Event, ACCEPTED),
    ],
    miss: () => [getItemLoop, cold('$3 cache miss', missHandler, missEvents, ACCEPTED), getAndRecordLoop],
    scrypt: () => [
      warm("kube-api-auth's way: scrypt verify per review", () => verifyEveryTime, () => scryptEvent, ACCEPTED, plan.slowRoundMs),
      warm('$1 scrypt repeated', lambdaHandler, () => scryptEvent, ACCEPTED, plan.roundMs, scryptEvent),
    ],
    refusals: () => [
      getItemLoop,
      // The names are real and this container has seen them (a user mistyping, a rotated secret).
      cold('wrong secret', lambdaHandler, wrongSecretEvents, '"invalid token secret"', hitEvents),
      cold('unknown token name', lambdaHandler, unknownEvents, REFUSED),
    ],
    argon2: () => [getItemLoop, cold('argon2id cache miss', missHandler, argon2Events, ACCEPTED)],
  };

  let probeHandler: Handler | undefined;
  serveCommands(
    { tableName, rows: hits.rows.length + misses.rows.length + argon2.rows.length + scrypt.rows.length },
    {
      /**
       * Output accounting: 'prime' builds a Lambda handler and warms its caches; 'run' then makes `count`
       * reviews of one kind, so that the parent can count what they wrote on stdout and stderr.
       */
      async probe({ phase, kind, count }: { phase: 'prime' | 'run'; kind: 'foreign' | 'hit'; count: number }): Promise<number> {
        if (phase === 'prime') {
          probeHandler = lambdaHandler();
          await probeHandler(foreignEvent);
          for (const hitEvent of hitEvents) await probeHandler(hitEvent);
          return 0;
        }
        const handler = probeHandler as Handler;
        for (let index = 0; index < count; index += 1) {
          await handler(kind === 'foreign' ? foreignEvent : (hitEvents[index % hitEvents.length] as Event));
        }
        return count;
      },
      async compare(name: string): Promise<Comparison> {
        const make = comparisons[name];
        if (!make) throw new Error(`no comparison ${name}`);
        const contenders = make();
        tally.clear();
        const samples = await alternate(contenders, plan.rounds);
        return { samples, names: contenders.map((contender) => contender.name), throttled: Object.fromEntries(tally) };
      },
    },
  );
} catch (error) {
  failToStart(error);
}
