import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../../../../functions/entry/cli/lib/errors.ts';
import { describeError } from '../../../../functions/entry/cli/describe-error.ts';
import { TableError } from '../../../../functions/adapters/dynamodb/table-access.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';

const local = { tableName: 'tokengate', region: 'us-east-1', endpoint: 'http://127.0.0.1:8000' };

describe('describeError', () => {
  it('gives usage errors exit 2 and other user errors exit 1', () => {
    expect(describeError(new UsageError('bad'))).toEqual({ message: 'bad', exitCode: 2 });
    expect(describeError(new CliError('no such cluster'))).toEqual({ message: 'no such cluster', exitCode: 1 });
    expect(describeError(new TableError(local, new ConflictError('cluster c-1 already exists')))).toEqual({
      message: 'cluster c-1 already exists',
      exitCode: 1,
    });
  });

  it('tells how to create a missing table', () => {
    const missing = new ResourceNotFoundException({ message: 'Cannot do operations on a non-existent table', $metadata: {} });
    expect(describeError(new TableError({ ...local, tableName: 'other' }, missing)).message).toBe(
      'table other does not exist at http://127.0.0.1:8000; create it with: tokengate table create --endpoint http://127.0.0.1:8000 --table other',
    );
  });

  it('says an endpoint cannot be reached, and suggests starting the local server', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
    const { message, exitCode } = describeError(new TableError(local, refused));
    expect(exitCode).toBe(1);
    expect(message).toContain('cannot reach DynamoDB at http://127.0.0.1:8000 (ECONNREFUSED)');
    expect(message).toContain('tokengate serve');
  });

  it('names AWS itself when there is no endpoint, and explains missing credentials', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(describeError(new TableError({ tableName: 'tokengate', region: 'eu-west-1' }, noCredentials)).message).toContain(
      'no AWS credentials found',
    );
  });

  it('words an unexpected error in one line, pointing at TOKENGATE_DEBUG', () => {
    const { message } = describeError(new TypeError('x is not a function'));
    expect(message).toBe('unexpected error (TypeError: x is not a function); set TOKENGATE_DEBUG=1 for details');
  });
});

describe('describeError for the local server and the review path', () => {
  it('says which address is taken', () => {
    const taken = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 8080 });
    expect(describeError(taken)).toEqual({
      message: 'cannot listen on 127.0.0.1:8080 (already in use); choose another with --host / --port / --dynamodb-port (0: any free port)',
      exitCode: 1,
    });
  });

  it('looks inside the review path’s StoreUnavailableError for the network failure', async () => {
    const { StoreUnavailableError } = await import('../../../../functions/core/errors.ts');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(describeError(new TableError(local, new StoreUnavailableError(refused))).message).toContain('cannot reach DynamoDB at http://127.0.0.1:8000');
  });
});
