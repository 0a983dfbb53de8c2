import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { beginInvocation, powertoolsLog, powertoolsMetrics } from '../../../../functions/adapters/telemetry/powertools.ts';

let written: string[];

beforeEach(() => {
  // what Lambda sets for an on-demand container; Powertools reports no cold start without it
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const context = (awsRequestId: string): Context =>
  ({
    functionName: 'tokengate-prod-authenticate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:tokengate-prod-authenticate',
    memoryLimitInMB: '512',
    awsRequestId,
    logGroupName: '/aws/lambda/tokengate-prod-authenticate',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 3000,
    done() {},
    fail() {},
    succeed() {},
  }) as Context;

const lines = () => written.flatMap((chunk) => chunk.split('\n')).filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('Lambda context on every log line', () => {
  it('carries the request id, the cold start flag and the API Gateway request id, without sampling_rate noise', () => {
    const log = powertoolsLog('tokengate', 'INFO');
    beginInvocation(context('req-1'), 'apigw-1');
    log.info('first');
    beginInvocation(context('req-2'), 'apigw-2');
    log.warn('second', { clusterId: 'c-1' });
    const [first, second] = lines().filter((line) => line.message === 'first' || line.message === 'second');
    expect(first).toMatchObject({ function_request_id: 'req-1', cold_start: true, correlation_id: 'apigw-1', function_name: 'tokengate-prod-authenticate' });
    expect(second).toMatchObject({ function_request_id: 'req-2', cold_start: false, correlation_id: 'apigw-2', clusterId: 'c-1' });
    for (const line of [first, second]) expect(line).not.toHaveProperty('sampling_rate');
  });

  it('leaves lines without an invocation (local server, CLI) as they were, minus sampling_rate', () => {
    powertoolsLog('tokengate', 'INFO').info('local');
    const [line] = lines();
    expect(line).toMatchObject({ level: 'INFO', message: 'local', service: 'tokengate' });
    expect(line).not.toHaveProperty('function_request_id');
    expect(line).not.toHaveProperty('sampling_rate');
  });
});

describe('the cold-start metric', () => {
  it('is published once per container, on its first invocation, with the function name', () => {
    powertoolsMetrics({ flushIntervalMs: 0 });
    beginInvocation(context('req-a'));
    beginInvocation(context('req-b'));
    const coldStarts = lines().filter((line) => '_aws' in line && 'ColdStart' in line);
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({ ColdStart: 1, function_name: 'tokengate-prod-authenticate' });
  });
});
