import { parseArgs } from 'node:util';
import * as z from 'zod';
import type { CliIo } from './io.ts';
import { UsageError } from './errors.ts';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder of the value in the help, e.g. `URL`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandInput {
  values: OptionValues;
  positionals: string[];
}

/** One CLI command: what `--help` shows, what `parseArgs` accepts, and what it runs. */
export interface Command {
  /** Words that select it, e.g. `clusters add`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as the usage line shows them, e.g. `<clusterId> <file>…`. */
  args: string;
  description?: string;
  options: Record<string, OptionDef>;
  positionals: { min: number; max: number };
  examples?: string[];
  /** Runs the command; resolves with the exit code. */
  run(input: CommandInput, io: CliIo): Promise<number>;
}

const HELP_OPTION: OptionDef = { type: 'boolean', short: 'h', description: 'show this help' };

/**
 * Parses a command's arguments (after its name) with `node:util` parseArgs. Unknown options, missing
 * values and a wrong number of arguments are `UsageError`s; `--help` yields 'help'.
 */
export function parseCommandArgs(command: Command, args: string[]): CommandInput | 'help' {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: attachNegativeValues(command, args),
      options: Object.fromEntries(
        Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, option]) => [
          name,
          { type: option.type, ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    }) as { values: OptionValues; positionals: string[] };
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  if (parsed.values.help === true) return 'help';
  const { min, max } = command.positionals;
  const count = parsed.positionals.length;
  if (count < min) throw new UsageError(`missing argument: expected ${command.args}`);
  if (count > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  return parsed;
}

/**
 * `--expires-in -5h` and `--port -1`: parseArgs refuses a value that starts with a dash as ambiguous; a
 * dash followed by a digit is never an option here, so it is attached (`--expires-in=-5h`) and the
 * option's own schema explains what is wrong with it.
 */
function attachNegativeValues(command: Command, args: string[]): string[] {
  const takesValue = (arg: string): boolean => {
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    if (long !== undefined) return command.options[long]?.type === 'string';
    const short = /^-([a-zA-Z])$/.exec(arg)?.[1];
    return short !== undefined && Object.values(command.options).some((option) => option.short === short && option.type === 'string');
  };
  const result: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--') {
      result.push(...args.slice(index));
      break;
    }
    const next = args[index + 1];
    if (next !== undefined && /^-\d/.test(next) && takesValue(arg)) {
      result.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      index += 1;
    } else result.push(arg);
  }
  return result;
}

function parseArgsMessage(error: unknown): string {
  if (!(error instanceof Error)) return 'invalid arguments';
  // node's messages carry advice for a programmer ("To specify a positional argument starting with a
  // '-', place it at the end of the command after '--'"): keep the first sentence.
  const first = error.message.split(/\.\s/)[0] ?? error.message;
  const dashHint = /use '(--[^']+=-XYZ)'/.exec(error.message)?.[1];
  const message = first.replace(/^Unknown option/, 'unknown option').replace(/^Option/, 'option');
  return dashHint ? `${message}; for a value starting with a dash write ${dashHint}` : message;
}

/** The help text of one command. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: tokengate ${command.name}${command.args ? ` ${command.args}` : ''} [options]`, '', command.summary];
  if (command.description) lines.push('', command.description);
  const options = Object.entries({ ...command.options, help: HELP_OPTION });
  const labels = options.map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '    ';
    return `${short}--${name}${option.value ? ` ${option.value}` : ''}`;
  });
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  lines.push('', 'Options:');
  options.forEach(([, option], index) => lines.push(`  ${(labels[index] as string).padEnd(width)}${option.description}`));
  if (command.examples && command.examples.length > 0) {
    lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  }
  return `${lines.join('\n')}\n`;
}

/** A string option's value (the last one if repeated); undefined when absent. */
export function stringOption(input: CommandInput, name: string): string | undefined {
  const value = input.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable string option, in order; empty when absent. */
export function stringsOption(input: CommandInput, name: string): string[] {
  const value = input.values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

/** Whether a boolean option was given. */
export function flag(input: CommandInput, name: string): boolean {
  return input.values[name] === true;
}

/** Validates a raw argument with a schema; a failure is a `UsageError` naming the argument. */
export function parseValue<S extends z.ZodType>(schema: S, raw: unknown, label: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new UsageError(`${label}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
}
