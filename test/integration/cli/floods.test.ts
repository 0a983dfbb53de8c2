import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTable } from '../../../functions/adapters/dynamodb/table-access.ts';
import { startLocalApi } from '../../../functions/entry/local/stack.ts';
import { issueCredential } from '../../../functions/core/caller-credential.ts';
import { newCluster } from '../../../functions/core/records.ts';
import { randomBytes } from 'node:crypto';
import { CapturingLog } from '../../support/fakes.ts';
import { boundServiceAccountJwt, legacyServiceAccountJwt } from '../../support/jwts.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';
import { freshTable, startTestDynamoDb, type TestDynamoDb } from '../../support/test-dynamodb.ts';

const INTERVAL_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until a window of the grid has just begun, so a short burst falls in one window. */
async function atWindowStart(): Promise<number> {
  while (Date.now() % INTERVAL_MS > 300) await sleep(50);
  return Date.now() - (Date.now() % INTERVAL_MS);
}

const pod = (name: string, iat: number) =>
  boundServiceAccountJwt({ namespace: 'payments', serviceAccount: 'ledger', pod: name, podUid: `uid-${name}`, node: 'worker-3', iat });

describe('the flood report, from the local server to tokengate floods', () => {
  let stack: LocalStack;
  const log = new CapturingLog();
  let credential: string;
  const sent: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ log, environment: { FOREIGN_SUMMARY_INTERVAL_SECONDS: String(INTERVAL_MS / 1000) } });
    credential = await stack.addCluster('c-flood1');
    await stack.addCluster('c-quiet');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const cli = (...args: string[]) => runCli(['floods', ...args, '--endpoint', stack.dynamoEndpoint, '--table', stack.tableName]);

  it('stores one row per cluster per window when the window ends, with no token after it (the local timer), and tokengate floods reads it back', async () => {
    const windowStart = await atWindowStart();
    const nowS = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 30; i += 1) {
      const { token } = pod('ledger-7d9f8b6c5-x2x9q', nowS - 7200); // an hour past its exp
      sent.push(token);
      await (await stack.review('c-flood1', credential, token)).arrayBuffer();
    }
    for (let i = 0; i < 10; i += 1) {
      const { token } = legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'deployer', secret: 'deployer-token-x7k2p' });
      sent.push(token);
      await (await stack.review('c-flood1', credential, token)).arrayBuffer();
    }
    expect(Date.now() - windowStart).toBeLessThan(INTERVAL_MS); // the burst fell in one window
    // the flood stopped: no request comes, the server's timer reports the window after its end
    await sleep(windowStart + INTERVAL_MS - Date.now() + INTERVAL_MS / 4 + 500);
    const lines = log.withMessage('foreign tokens refused');
    expect(lines.map((line) => [line.attributes.clusterId, line.attributes.total])).toEqual([['c-flood1', 40]]);
    expect(await stack.store.readFloodWindows('c-flood1', new Date(Date.now() - 60_000))).toHaveLength(1);
    expect(await stack.store.readFloodWindows('c-quiet', new Date(Date.now() - 60_000))).toEqual([]);

    const json = await cli('-o', 'json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const reports = JSON.parse(json.stdout);
    expect(reports).toMatchObject([
      {
        clusterId: 'c-flood1',
        windowStart: new Date(windowStart).toISOString(),
        windowEnd: new Date(windowStart + INTERVAL_MS).toISOString(),
        windows: 1,
        total: 40,
        byKind: { 'serviceaccount-jwt': 40 },
        offenders: [
          { workload: 'payments/ledger (pod ledger-7d9f8b6c5-x2x9q)', podUid: 'uid-ledger-7d9f8b6c5-x2x9q', node: 'worker-3', count: 30, expired: 30, state: 'expired' },
          { workload: 'ci/deployer (secret deployer-token-x7k2p)', secret: 'deployer-token-x7k2p', count: 10, state: 'no-exp' },
        ],
        untracked: 0,
      },
    ]);

    const table = await cli();
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^CLUSTER\s+TOKENS\s+EXPIRED\s+KIND\s+SENDER$/);
    expect(table.stdout).toMatch(/c-flood1\s+30\s+30\/30\s+bound-serviceaccount\s+payments\/ledger \(pod ledger-7d9f8b6c5-x2x9q\)/);
    expect(table.stdout).toMatch(/c-flood1\s+10\s+no exp\s+legacy-serviceaccount\s+ci\/deployer \(secret deployer-token-x7k2p\)/);
    const wide = await cli('c-flood1', '-o', 'wide');
    expect(wide.stdout).toContain('LIKELY-CAUSE');
    expect(wide.stdout).toContain('uid-ledger-7d9f8b6c5-x2x9q');
    expect((await cli('-o', 'yaml')).stdout).toContain('workload: payments/ledger (pod ledger-7d9f8b6c5-x2x9q)');
    expect((await cli('-o', 'name')).stdout).toBe('cluster/c-flood1\n');

    // neither a token nor its signature reached a log line or a row
    const rows = JSON.stringify(await stack.store.readFloodWindows('c-flood1', new Date(0)));
    for (const token of sent) {
      const [, payload, signature] = token.split('.');
      for (const part of [payload!, signature!]) {
        expect(log.text()).not.toContain(part);
        expect(rows).not.toContain(part);
      }
    }
  });

  it('says there is nothing for a quiet cluster or a window older than --since, and refuses an unregistered cluster', async () => {
    expect(await cli('c-quiet')).toMatchObject({ code: 0, stdout: '' });
    expect((await cli('c-quiet')).stderr).toContain('no foreign tokens recorded for cluster c-quiet in the last 1h');
    expect((await cli('--since', '0', '-o', 'json')).stdout).toBe('[]\n');
    expect(await cli('c-nowhere')).toMatchObject({ code: 1, stderr: expect.stringContaining('cluster c-nowhere is not registered') });
    expect(await cli('--since', 'yesterday')).toMatchObject({ code: 2, stderr: expect.stringContaining('--since') });
  });

  it("removes a cluster's flood rows with the cluster", async () => {
    expect(await stack.store.readFloodWindows('c-flood1', new Date(0))).not.toEqual([]);
    await stack.store.deleteCluster('c-flood1');
    expect(await stack.store.readFloodWindows('c-flood1', new Date(0))).toEqual([]);
  });
});

describe('the local server at shutdown', () => {
  let dynamo: TestDynamoDb;
  beforeAll(async () => {
    dynamo = await startTestDynamoDb();
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it('reports and stores the window still open when it closes, so a flood cut short by a restart is not lost', async () => {
    const tableName = await freshTable(dynamo.endpoint, 'floods-shutdown');
    const log = new CapturingLog();
    const api = await startLocalApi({
      port: 0,
      endpoint: dynamo.endpoint,
      tableName,
      region: 'us-east-1',
      cacheTtlSeconds: 0,
      environment: { FOREIGN_SUMMARY_INTERVAL_SECONDS: '3600' },
      log,
    });
    const { credential, record } = await issueCredential(randomBytes, new Date());
    await api.table.store.createCluster(newCluster('c-shut1', record, new Date()));
    const { token } = pod('worker-0', Math.floor(Date.now() / 1000));
    const response = await fetch(`${api.apiUrl}/v1/clusters/c-shut1/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
    });
    expect(((await response.json()) as { status: { authenticated: boolean } }).status.authenticated).toBe(false);
    expect(log.withMessage('foreign tokens refused')).toHaveLength(0); // an hour-long window, far from its end
    await api.close();
    expect(log.withMessage('foreign tokens refused')[0]!.attributes).toMatchObject({ clusterId: 'c-shut1', total: 1, offenders: [{ workload: 'payments/ledger (pod worker-0)', state: 'unexpired' }] });
    const table = openTable({ endpoint: dynamo.endpoint, tableName, region: 'us-east-1', localCredentials: true });
    try {
      expect(await table.store.readFloodWindows('c-shut1', new Date(Date.now() - 60_000))).toMatchObject([{ clusterId: 'c-shut1', total: 1 }]);
    } finally {
      table.close();
    }
  });
});
