import { COMMAND_ENTRIES, loadCommands, type CommandEntry } from './registry.ts';
import { suggestions } from './lib/suggest.ts';
import { UsageError } from './lib/errors.ts';
import { processIo, type CliIo } from './lib/io.ts';

// What `tokengate --help` needs is imported here; everything else (the commands, the option parser with
// its zod schemas, the table client) is imported when a command runs, so each command pays only for what
// it uses. `npm ci` bundles this file into dist/cli/ with one chunk per command (scripts/build-cli.mjs).

export { loadCommands };
export type { CommandEntry };

/** The exit codes of every command, as the overview help and the README document them. */
export const EXIT_CODES = [
  ['0', 'done (review: accepted)'],
  ['1', 'failed or refused: the message says why (review: refused or not a Rancher token; sync: a cluster failed)'],
  ['2', 'wrong usage: unknown command or option, missing or invalid argument'],
] as const;

/** Picks the command named by the leading words of argv (`clusters add …`), with the rest as its arguments. */
export function findCommand(argv: string[]): { command: CommandEntry; args: string[] } | undefined {
  for (const command of COMMAND_ENTRIES) {
    const words = command.name.split(' ');
    if (words.every((word, index) => argv[index] === word)) return { command, args: argv.slice(words.length) };
  }
  return undefined;
}

function overview(): string {
  const width = Math.max(...COMMAND_ENTRIES.map((command) => command.name.length)) + 2;
  return [
    'tokengate: Kubernetes webhook token authentication for Rancher tokens, from one DynamoDB table.',
    '',
    'Usage: tokengate <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMAND_ENTRIES.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
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
  const members = COMMAND_ENTRIES.filter((command) => command.name.startsWith(`${group} `));
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
    const { packageVersion } = await import('./commands/version.ts');
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  // `tokengate help clusters add` is `tokengate clusters add --help`
  if (first === 'help') return main([...argv.slice(1), '--help'], io);
  const found = findCommand(argv);
  if (!found) {
    const group = COMMAND_ENTRIES.some((command) => command.name.startsWith(`${first} `)) ? first : undefined;
    if (group) {
      const asked = argv[1] === '--help' || argv[1] === '-h';
      if (!asked) {
        const unknown = argv[1] === undefined ? 'missing command' : `unknown command "${argv[1]}"${didYouMean(argv[1], subcommandsOf(group), group)}`;
        io.stderr(`tokengate ${group}: ${unknown}\n`);
      }
      (asked ? io.stdout : io.stderr)(groupHelp(group));
      return asked ? 0 : 2;
    }
    const firstWords = [...new Set(COMMAND_ENTRIES.map((command) => command.name.split(' ')[0] as string)), 'help'];
    io.stderr(`tokengate: unknown command "${first}"${didYouMean(first, firstWords)}\nRun 'tokengate --help' for the list of commands.\n`);
    return 2;
  }

  const { command: entry, args } = found;
  try {
    const [{ commandHelp, parseCommandArgs }, command] = await Promise.all([import('./lib/command.ts'), entry.load()]);
    const input = parseCommandArgs(command, args);
    if (input === 'help') {
      io.stdout(commandHelp(command));
      return 0;
    }
    return await command.run(input, io);
  } catch (error) {
    const { describeError } = await import('./describe-error.ts');
    const { message, exitCode } = describeError(error);
    io.stderr(`tokengate ${entry.name}: ${message}\n`);
    if (error instanceof UsageError) io.stderr(`Run 'tokengate ${entry.name} --help' for usage.\n`);
    if (io.env.TOKENGATE_DEBUG === '1' && error instanceof Error) io.stderr(`${error.stack ?? ''}\n`);
    return exitCode;
  }
}

function subcommandsOf(group: string): string[] {
  return COMMAND_ENTRIES.filter((command) => command.name.startsWith(`${group} `)).map((command) => command.name.slice(group.length + 1));
}

/** kubectl's "Did you mean this?" for a mistyped command word; empty when nothing is close. */
function didYouMean(typed: string, candidates: string[], group?: string): string {
  const close = suggestions(typed, candidates).slice(0, 3);
  if (close.length === 0) return '';
  return `\nDid you mean ${close.length === 1 ? 'this' : 'one of these'}?\n${close.map((word) => `  tokengate ${group ? `${group} ` : ''}${word}`).join('\n')}`;
}
