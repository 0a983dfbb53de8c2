import { ConfigError } from '../config.ts';
import { ConflictError, MalformedRecordError, StoreUnavailableError } from '../../core/errors.ts';
import { certsCreateCommand } from './commands/certs.ts';
import { commandHelp, parseCommandArgs, type Command } from './lib/command.ts';
import { clustersAddCommand, clustersListCommand, clustersRemoveCommand, clustersRotateCommand } from './commands/clusters.ts';
import { importCommand } from './commands/import.ts';
import { reviewCommand } from './commands/review.ts';
import { floodsCommand } from './commands/floods.ts';
import { rancherSetCommand, rancherShowCommand } from './commands/rancher.ts';
import { serveCommand } from './commands/serve.ts';
import { clustersSetKubeconfigCommand, syncCommand } from './commands/sync.ts';
import { tableCreateCommand } from './commands/table.ts';
import { tokensCreateCommand, tokensListCommand, tokensRevokeCommand, tokensUnrevokeCommand } from './commands/tokens.ts';
import { webhookConfigCommand } from './commands/webhook-config.ts';
import { completionCommand } from './commands/completion.ts';
import { packageVersion, versionCommand } from './commands/version.ts';
import { suggestions } from './lib/suggest.ts';
import { CliError, UsageError } from './lib/errors.ts';
import { processIo, type CliIo } from './lib/io.ts';
import { UnreadableFileError } from './lib/kube-files.ts';
import { TableError, type TableLocation } from '../../adapters/dynamodb/table-access.ts';
import { DEFAULT_DYNAMODB_ENDPOINT, NOT_DYNAMODB_ERROR } from '../local/defaults.ts';

/** Every command, in the order the help lists them. */
export const COMMANDS: Command[] = [
  serveCommand,
  tableCreateCommand,
  clustersAddCommand,
  clustersListCommand,
  clustersRemoveCommand,
  clustersRotateCommand,
  clustersSetKubeconfigCommand,
  rancherSetCommand,
  rancherShowCommand,
  syncCommand,
  webhookConfigCommand,
  importCommand,
  tokensCreateCommand,
  tokensListCommand,
  tokensRevokeCommand,
  tokensUnrevokeCommand,
  reviewCommand,
  floodsCommand,
  certsCreateCommand,
  versionCommand,
  completionCommand(() => COMMANDS),
];

/** The exit codes of every command, as the overview help and the README document them. */
export const EXIT_CODES = [
  ['0', 'done (review: accepted)'],
  ['1', 'failed or refused: the message says why (review: refused or not a Rancher token; sync: a cluster failed)'],
  ['2', 'wrong usage: unknown command or option, missing or invalid argument'],
] as const;

/** Picks the command named by the leading words of argv (`clusters add …`), with the rest as its arguments. */
export function findCommand(argv: string[]): { command: Command; args: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((word, index) => argv[index] === word)) return { command, args: argv.slice(words.length) };
  }
  return undefined;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return [
    'tokengate: Kubernetes webhook token authentication for Rancher tokens, from one DynamoDB table.',
    '',
    'Usage: tokengate <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    "Run 'tokengate help <command>' (or 'tokengate <command> --help') for a command's options. Commands",
    'that use the table take --endpoint / DYNAMODB_ENDPOINT, --table / TABLE_NAME (default tokengate) and',
    '--region / AWS_REGION. Commands that print objects take -o table|wide|json|yaml|name.',
    '',
    'Exit codes:',
    ...EXIT_CODES.map(([code, meaning]) => `  ${code}  ${meaning}`),
    '',
  ].join('\n');
}

function groupHelp(group: string): string {
  const members = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  const width = Math.max(...members.map((command) => command.name.length)) + 2;
  return [`Usage: tokengate ${group} <command>`, '', ...members.map((command) => `  ${command.name.padEnd(width)}${command.summary}`), ''].join('\n');
}

/**
 * Runs the CLI: resolves with the exit code (0 done, 1 failed or refused, 2 wrong usage). Every error
 * ends here as one message on stderr; a stack trace only with TOKENGATE_DEBUG=1.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '--help' || first === '-h' || (first === 'help' && argv.length === 1)) {
    (first === undefined ? io.stderr : io.stdout)(overview());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  // `tokengate help clusters add` is `tokengate clusters add --help`
  if (first === 'help') return main([...argv.slice(1), '--help'], io);
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.some((command) => command.name.startsWith(`${first} `)) ? first : undefined;
    if (group) {
      const asked = argv[1] === '--help' || argv[1] === '-h';
      if (!asked) {
        const unknown = argv[1] === undefined ? 'missing command' : `unknown command "${argv[1]}"${didYouMean(argv[1], subcommandsOf(group), group)}`;
        io.stderr(`tokengate ${group}: ${unknown}\n`);
      }
      (asked ? io.stdout : io.stderr)(groupHelp(group));
      return asked ? 0 : 2;
    }
    const firstWords = [...new Set(COMMANDS.map((command) => command.name.split(' ')[0] as string)), 'help'];
    io.stderr(`tokengate: unknown command "${first}"${didYouMean(first, firstWords)}\nRun 'tokengate --help' for the list of commands.\n`);
    return 2;
  }

  const { command, args } = found;
  try {
    const input = parseCommandArgs(command, args);
    if (input === 'help') {
      io.stdout(commandHelp(command));
      return 0;
    }
    return await command.run(input, io);
  } catch (error) {
    const { message, exitCode } = describeError(error);
    io.stderr(`tokengate ${command.name}: ${message}\n`);
    if (error instanceof UsageError) io.stderr(`Run 'tokengate ${command.name} --help' for usage.\n`);
    if (io.env.TOKENGATE_DEBUG === '1' && error instanceof Error) io.stderr(`${error.stack ?? ''}\n`);
    return exitCode;
  }
}

function subcommandsOf(group: string): string[] {
  return COMMANDS.filter((command) => command.name.startsWith(`${group} `)).map((command) => command.name.slice(group.length + 1));
}

/** kubectl's "Did you mean this?" for a mistyped command word; empty when nothing is close. */
function didYouMean(typed: string, candidates: string[], group?: string): string {
  const close = suggestions(typed, candidates).slice(0, 3);
  if (close.length === 0) return '';
  return `\nDid you mean ${close.length === 1 ? 'this' : 'one of these'}?\n${close.map((word) => `  tokengate ${group ? `${group} ` : ''}${word}`).join('\n')}`;
}

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
