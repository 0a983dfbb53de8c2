import { ConfigError } from '../config.ts';
import { ConflictError, MalformedRecordError, StoreUnavailableError } from '../../core/errors.ts';
import { CliError, UsageError } from './lib/errors.ts';
import { UnreadableFileError } from './lib/kube-files.ts';
import { TableError, type TableLocation } from '../../adapters/dynamodb/table-access.ts';
import { DEFAULT_DYNAMODB_ENDPOINT, NOT_DYNAMODB_ERROR } from '../local/defaults.ts';

// Loaded by main.ts only when a command failed: the error classes it tells apart pull in the SDK and zod.

/** The one place where errors become what the user reads, and the exit code. */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: 2 };
  if (error instanceof TableError) return describeTableError(error.location, error.cause);
  if (error instanceof CliError || error instanceof ConflictError || error instanceof UnreadableFileError) {
    return { message: error.message, exitCode: 1 };
  }
  if (error instanceof ConfigError) return { message: error.message, exitCode: 1 };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
    const { address, port } = error as { address?: string; port?: number };
    const where = `${address ?? 'the address'}${port ? `:${port}` : ''}`;
    const why = code === 'EADDRINUSE' ? 'already in use' : code === 'EACCES' ? 'not permitted' : 'not an address of this host';
    return { message: `cannot listen on ${where} (${why}); choose another with --host / --port / --dynamodb-port (0: any free port)`, exitCode: 1 };
  }
  if (error instanceof MalformedRecordError) return { message: `${error.message} (written by something other than tokengate?)`, exitCode: 1 };
  const unreadable = describeUnreadableFile(error);
  if (unreadable) return { message: unreadable, exitCode: 1 };
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { message: `unexpected error (${detail}); set TOKENGATE_DEBUG=1 for details`, exitCode: 1 };
}

function describeTableError(location: TableLocation, error: unknown): { message: string; exitCode: number } {
  // The review path wraps store failures; what the user needs is the failure inside.
  const cause = error instanceof StoreUnavailableError && error.cause !== undefined ? error.cause : error;
  if (!(cause instanceof Error)) return describeError(cause);
  if (cause instanceof CliError || cause instanceof ConflictError || cause instanceof UsageError || cause instanceof MalformedRecordError) {
    return describeError(cause);
  }
  const where = location.endpoint ? `at ${location.endpoint}` : `in AWS region ${location.region}`;
  const code = (cause as NodeJS.ErrnoException).code ?? findCode(cause);
  if (cause.name === 'ResourceNotFoundException') {
    const endpointHint = location.endpoint ? ` --endpoint ${location.endpoint}` : '';
    return {
      message: `table ${location.tableName} does not exist ${where}; create it with: tokengate table create${endpointHint}` +
        (location.tableName === 'tokengate' ? '' : ` --table ${location.tableName}`),
      exitCode: 1,
    };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || cause.name === 'TimeoutError') {
    return {
      message: `cannot reach DynamoDB ${where} (${code ?? cause.name})${location.endpoint ? '; is `tokengate serve` (or your local DynamoDB) running?' : ''}`,
      exitCode: 1,
    };
  }
  if (cause.name === NOT_DYNAMODB_ERROR) {
    // the local server's answer to a DynamoDB request: its message names the DynamoDB endpoint to use
    return { message: `${location.endpoint ?? 'the endpoint'} is the tokengate API, not DynamoDB: ${cause.message}`, exitCode: 1 };
  }
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (location.endpoint && (cause.name === 'Unknown' || cause.name === 'UnknownError') && status !== undefined && status !== 400 && status < 500) {
    return {
      message:
        `${location.endpoint} answered HTTP ${status}, which DynamoDB never does: it is not a DynamoDB endpoint ` +
        `(the tokengate API's port?). Use the DynamoDB endpoint \`tokengate serve\` prints (default ${DEFAULT_DYNAMODB_ENDPOINT})`,
      exitCode: 1,
    };
  }
  if (cause.name === 'CredentialsProviderError') {
    return { message: 'no AWS credentials found; give --endpoint for a local DynamoDB, or configure AWS credentials', exitCode: 1 };
  }
  if (['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException', 'InvalidSignatureException'].includes(cause.name)) {
    return { message: `DynamoDB refused the request ${where}: ${cause.name}: ${cause.message}`, exitCode: 1 };
  }
  return { message: `DynamoDB request failed ${where}: ${cause.name}: ${cause.message}`, exitCode: 1 };
}

/** A file named on the command line that cannot be read (`--kubeconfig`, `--certificate-authority`, …). */
function describeUnreadableFile(error: unknown): string | undefined {
  const { code, path, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof path !== 'string' || !['open', 'read', 'stat', 'scandir'].includes(syscall ?? '')) return undefined;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code;
  return why === undefined ? undefined : `cannot read ${path}: ${why}`;
}

/** Network errors from the SDK's HTTP handler carry their code on a nested cause. */
function findCode(error: Error): string | undefined {
  let current: unknown = error.cause;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code) return code;
    current = current.cause;
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) if ((inner as NodeJS.ErrnoException)?.code) return (inner as NodeJS.ErrnoException).code;
  }
  return undefined;
}
