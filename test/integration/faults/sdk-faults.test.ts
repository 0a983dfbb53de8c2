import { report, reportTable } from '../../support/verbose.ts';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handlerFromEnvironment } from '../../../functions/entry/authenticate/handler.ts';
import { clusterItemOf, itemOf, keyOf } from '../../../functions/adapters/dynamodb/rows.ts';
import { httpEvent } from '../../support/events.ts';
import { CapturingLog, CapturingMetrics } from '../../support/fakes.ts';
import { soakReport } from '../../support/soak-report.ts';
import { buildWorld, CLUSTER_A, type World } from '../../support/hostile.ts';

/**
 * Faults injected at the SDK client (aws-sdk-client-mock on the document client, so the real
 * `handlerFromEnvironment` wiring and `DynamoDbReviewStore` run): every error class DynamoDB or the network can
 * raise becomes 500 with the fixed body — never a 401 that would make the apiserver give up, never an
 * accept — and the next review after recovery is answered from the store again.
 */

const sdk = mockClient(DynamoDBDocumentClient);
let world: World;
const tally = new Map<string, string>();

function serviceError(name: string, status: number): Error {
  return new DynamoDBServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `injected ${name}` });
}
function networkError(code: string): Error {
  return Object.assign(new Error(`injected ${code}`), { code, name: code === 'ETIMEDOUT' ? 'TimeoutError' : 'Error' });
}

const FAULTS: Array<[string, () => Error]> = [
  ['ProvisionedThroughputExceededException', () => serviceError('ProvisionedThroughputExceededException', 400)],
  ['ThrottlingException', () => serviceError('ThrottlingException', 400)],
  ['RequestLimitExceeded', () => serviceError('RequestLimitExceeded', 400)],
  ['InternalServerError', () => serviceError('InternalServerError', 500)],
  ['ServiceUnavailable', () => serviceError('ServiceUnavailable', 503)],
  ['ECONNRESET', () => networkError('ECONNRESET')],
  ['ETIMEDOUT', () => networkError('ETIMEDOUT')],
  ['AbortError (deadline)', () => Object.assign(new Error('This operation was aborted'), { name: 'AbortError' })],
];

beforeAll(async () => {
  world = await buildWorld();
});
beforeEach(() => sdk.reset());
afterAll(() => {
  sdk.restore();
  report(`SDK faults: ${tally.size} kinds injected`);
  soakReport({ section: 'faults: SDK errors', faults: tally.size, wrongAccepts: 0, note: 'each answered 500, recovered' });
  reportTable(Object.fromEntries([...tally].map(([fault, outcome]) => [fault, { outcome }])));
});

function healthy() {
  sdk.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => {
    const { pk, sk } = input.Key;
    const cluster = world.clusters.map((record) => clusterItemOf(record, 0)).find((row) => row.pk === pk && row.sk === sk);
    const token = world.tokens.map((record) => itemOf(record, 0)).find((row) => row.pk === pk && row.sk === sk);
    return { Item: cluster ?? token };
  });
}

function handler() {
  return handlerFromEnvironment(
    { TABLE_NAME: 'tokengate', DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', CACHE_TTL_SECONDS: '0' },
    { log: new CapturingLog(), metrics: new CapturingMetrics() },
  );
}

async function review(h: ReturnType<typeof handler>, token: string) {
  const result = await h(
    httpEvent({
      path: `/v1/clusters/${CLUSTER_A}/authenticate`,
      headers: { authorization: world.authorization[CLUSTER_A]! },
      body: JSON.stringify({ kind: 'TokenReview', spec: { token } }),
    }),
  );
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') };
}

describe('authenticate with SDK errors', () => {
  it.each(FAULTS)('answers 500, never 401 or an accept, when the caller check read fails with %s', async (label, error) => {
    const h = handler();
    sdk.on(GetCommand).rejects(error());
    const reply = await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`);
    expect(reply).toMatchObject({ status: 500, body: { error: { code: 500, message: 'token store unavailable' } } });
    healthy();
    expect((await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`)).body.status.authenticated).toBe(true);
    tally.set(`${label} (caller check)`, '500, then accepted after recovery');
  });

  it.each(FAULTS)('answers 500, never an accept, when the token read fails with %s', async (label, error) => {
    const h = handler();
    healthy();
    await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`); // the caller is verified
    sdk.on(GetCommand, { Key: keyOf({ kind: 'token', clusterId: CLUSTER_A, name: 'kubeconfig-u-alice' }) }).rejects(error());
    for (const secret of ['d'.repeat(54), 'b'.repeat(54)]) {
      expect(await review(h, `kubeconfig-u-alice:${secret}`)).toMatchObject({ status: 500, body: { error: { code: 500, message: 'token store unavailable' } } });
    }
    healthy();
    expect((await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`)).body.status.authenticated).toBe(true);
    expect((await review(h, `kubeconfig-u-alice:${'b'.repeat(54)}`)).body.status.authenticated).toBe(false);
    tally.set(`${label} (token read)`, '500, then decided from the store after recovery');
  });

  it('answers 500 and accepts nothing when the store returns a malformed row', async () => {
    const h = handler();
    healthy();
    await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`);
    sdk.on(GetCommand, { Key: keyOf({ kind: 'token', clusterId: CLUSTER_A, name: 'kubeconfig-u-alice' }) }).resolves({ Item: { ...keyOf({ kind: 'token', clusterId: CLUSTER_A, name: 'kubeconfig-u-alice' }), kind: 'token', enabled: 'yes' } });
    const reply = await review(h, `kubeconfig-u-alice:${'d'.repeat(54)}`);
    expect(reply.status).toBe(500);
    expect(reply.body.kind).toBe('Status'); // an error, not a TokenReview
    tally.set('malformed row', '500');
  });
});
