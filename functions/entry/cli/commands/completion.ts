import * as z from 'zod';
import { parseValue, type Command, type OptionDef } from '../lib/command.ts';
import { OUTPUT_FORMATS } from '../lib/output.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Every command's words and options, plus `help`, as the completion scripts need them. */
interface Entry {
  words: string[];
  options: Array<[string, OptionDef]>;
}

const HELP: [string, OptionDef] = ['help', { type: 'boolean', short: 'h', description: 'show this help' }];

function entriesOf(commands: readonly Command[]): Entry[] {
  const entries = commands.map((command) => ({ words: command.name.split(' '), options: [...Object.entries(command.options), HELP] }));
  entries.push({ words: ['help'], options: [] });
  // two-word commands first: a shell `case` takes the first pattern that matches
  return entries.sort((a, b) => b.words.length - a.words.length);
}

/** First words (commands and groups), then for each group the words that may follow it. */
function vocabulary(entries: Entry[]): { top: string[]; groups: Map<string, string[]> } {
  const top = [...new Set(entries.map((entry) => entry.words[0] as string))];
  const groups = new Map<string, string[]>();
  for (const entry of entries) {
    if (entry.words.length < 2) continue;
    const [group, sub] = entry.words as [string, string];
    groups.set(group, [...(groups.get(group) ?? []), sub]);
  }
  return { top, groups };
}

const takesFile = (option: OptionDef) => option.type === 'string' && /FILE|PATH|DIR/.test(option.value ?? '');
const flagsOf = (entry: Entry) => entry.options.flatMap(([name, option]) => [`--${name}`, ...(option.short ? [`-${option.short}`] : [])]);

function bash(entries: Entry[]): string {
  const { top, groups } = vocabulary(entries);
  const cases = [
    ...entries.map((entry) => `    "${entry.words.join(' ')} "*) opts="${flagsOf(entry).join(' ')}" ;;`),
    ...[...groups].map(([group, subs]) => `    "${group} "*) words="${subs.join(' ')}" ;;`),
    `    "") words="${top.join(' ')}" ;;`,
  ];
  return [
    '# bash completion for tokengate; load it with: source <(tokengate completion bash)',
    '_tokengate() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  local line="${COMP_WORDS[*]:1:COMP_CWORD-1}"',
    '  [ -n "$line" ] && line="$line "',
    '  local opts="" words=""',
    '  case "$prev" in',
    `    -o|--output) COMPREPLY=($(compgen -W "${OUTPUT_FORMATS.join(' ')}" -- "$cur")); return ;;`,
    `    completion) COMPREPLY=($(compgen -W "${SHELLS.join(' ')}" -- "$cur")); return ;;`,
    '  esac',
    '  case "$line" in',
    ...cases,
    '  esac',
    '  if [ -n "$words" ]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); return; fi',
    '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi',
    '  COMPREPLY=()',
    '}',
    'complete -o default -F _tokengate tokengate',
    '',
  ].join('\n');
}

function zsh(entries: Entry[]): string {
  const { top, groups } = vocabulary(entries);
  const quote = (words: string[]) => words.map((word) => `'${word}'`).join(' ');
  const cases = [
    ...entries.map((entry) => `    ("${entry.words.join(' ')} "*) opts=(${quote(flagsOf(entry))}) ;;`),
    ...[...groups].map(([group, subs]) => `    ("${group} "*) subs=(${quote(subs)}) ;;`),
    `    (" ") subs=(${quote(top)}) ;;`,
  ];
  return [
    '#compdef tokengate',
    '# zsh completion for tokengate; load it with: source <(tokengate completion zsh)',
    '_tokengate() {',
    '  local -a opts subs',
    '  local line="${(j: :)words[2,CURRENT-1]} "',
    '  case "${words[CURRENT-1]}" in',
    `    (-o|--output) compadd -- ${OUTPUT_FORMATS.join(' ')}; return ;;`,
    `    (completion) compadd -- ${SHELLS.join(' ')}; return ;;`,
    '  esac',
    '  case "$line" in',
    ...cases,
    '  esac',
    '  if (( ${#subs} )); then compadd -a subs',
    '  elif [[ "$PREFIX" == -* ]]; then compadd -a opts',
    '  else _files',
    '  fi',
    '}',
    'compdef _tokengate tokengate',
    '',
  ].join('\n');
}

function fish(entries: Entry[], commands: readonly Command[]): string {
  const { top, groups } = vocabulary(entries);
  const text = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const summaryOf = (word: string) => commands.find((command) => command.name === word)?.summary ?? (groups.has(word) ? `${word} commands` : 'help of a command');
  const lines = [
    '# fish completion for tokengate; load it with: tokengate completion fish | source',
    'complete -c tokengate -f',
    ...top.map((word) => `complete -c tokengate -n __fish_use_subcommand -a ${word} -d ${text(summaryOf(word))}`),
  ];
  for (const [group, subs] of groups) {
    for (const sub of subs) {
      const summary = commands.find((command) => command.name === `${group} ${sub}`)?.summary ?? '';
      lines.push(`complete -c tokengate -n ${text(`__fish_seen_subcommand_from ${group}; and not __fish_seen_subcommand_from ${subs.join(' ')}`)} -a ${sub} -d ${text(summary)}`);
    }
  }
  lines.push(`complete -c tokengate -n ${text('__fish_seen_subcommand_from completion')} -a ${text(SHELLS.join(' '))}`);
  for (const entry of entries) {
    const condition = entry.words.map((word) => `__fish_seen_subcommand_from ${word}`).join('; and ');
    for (const [name, option] of entry.options) {
      const short = option.short ? ` -s ${option.short}` : '';
      const value = name === 'output' ? ` -x -a ${text(OUTPUT_FORMATS.join(' '))}` : takesFile(option) ? ' -r -F' : option.type === 'string' ? ' -x' : '';
      lines.push(`complete -c tokengate -n ${text(condition)} -l ${name}${short}${value} -d ${text(option.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script of a shell for these commands: words, groups, options and `-o` values. */
export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const entries = entriesOf(commands);
  return shell === 'bash' ? bash(entries) : shell === 'zsh' ? zsh(entries) : fish(entries, commands);
}

/** `tokengate completion bash|zsh|fish`, completing the commands that `commands()` lists. */
export function completionCommand(commands: () => Promise<readonly Command[]>): Command {
  return {
    name: 'completion',
    summary: 'Print the shell completion script for bash, zsh or fish.',
    description: [
      'bash:  source <(tokengate completion bash)            (or save it in /etc/bash_completion.d/tokengate)',
      'zsh:   source <(tokengate completion zsh)             (or save it as _tokengate in a directory of $fpath)',
      'fish:  tokengate completion fish | source             (or save it in ~/.config/fish/completions/tokengate.fish)',
    ].join('\n'),
    args: '<bash|zsh|fish>',
    options: {},
    positionals: { min: 1, max: 1 },
    examples: ['source <(tokengate completion bash)'],
    async run(input, io) {
      const shell = parseValue(z.enum(SHELLS, { error: `expected one of ${SHELLS.join(', ')}` }), input.positionals[0], 'shell');
      io.stdout(completionScript(shell, await commands()));
      return 0;
    },
  };
}
