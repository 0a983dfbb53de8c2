import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsWorkDispatcher } from '../../../../functions/adapters/sqs/sqs-dispatcher.ts';
import { clusterWorkUnitSchema, type ClusterWorkUnit } from '../../../../functions/core/ports/work-dispatcher.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tokengate-prod-sync';
const sqs = mockClient(SQSClient);
const dispatcher = new SqsWorkDispatcher(new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), QUEUE_URL);
const units = (count: number): ClusterWorkUnit[] => Array.from({ length: count }, (_, index) => ({ clusterId: `c-${index}`, runId: 'run-1' }));

beforeEach(() => sqs.reset());

describe('SqsWorkDispatcher', () => {
  it('sends one message per cluster, in batches of at most 10, whose body is the unit', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const outcome = await dispatcher.dispatch([...units(24), { clusterId: 'c-off', runId: 'run-1', aceOffInRancher: true }]);

    expect(outcome).toEqual({ dispatched: 25, failed: [] });
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 5]);
    for (const call of calls) expect(call.args[0].input.QueueUrl).toBe(QUEUE_URL);
    const bodies = calls.flatMap((call) => call.args[0].input.Entries ?? []).map((entry) => clusterWorkUnitSchema.parse(JSON.parse(entry.MessageBody ?? '')));
    expect(bodies.map((unit) => unit.clusterId)).toEqual([...units(24).map((unit) => unit.clusterId), 'c-off']);
    expect(bodies.at(-1)).toEqual({ clusterId: 'c-off', runId: 'run-1', aceOffInRancher: true });
  });

  it('reports the entries SQS refused, by cluster, and counts the rest', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] });

    const outcome = await dispatcher.dispatch(units(3));

    expect(outcome).toEqual({ dispatched: 2, failed: [{ clusterId: 'c-1', error: 'SQS refused the message: InternalError' }] });
  });

  it('reports every unit of a batch whose call failed, and still sends the other batches', async () => {
    sqs.on(SendMessageBatchCommand).rejectsOnce(new Error('socket hang up')).resolves({});

    const outcome = await dispatcher.dispatch(units(12));

    expect(outcome.dispatched).toBe(2);
    expect(outcome.failed.map((entry) => entry.clusterId)).toEqual(units(10).map((unit) => unit.clusterId));
    expect(outcome.failed[0]?.error).toMatch(/^sending to the sync queue failed: .*socket hang up/);
  });
});
