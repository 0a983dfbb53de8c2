// Every `tokengate …` command the setup docs tell a user to run must exist, with the options written there:
// a doc step that the CLI rejects is a lock-out at the worst moment. Scope: the pages that walk through the
// setups table (docs/register-a-cluster.md, docs/deploy.md, docs/rancher.md) and the manifests they point at.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../../functions/entry/cli/main.ts';

const root = resolve(import.meta.dirname, '../../..');
const FILES = ['docs/register-a-cluster.md', 'docs/deploy.md', 'docs/rancher.md', 'infra/kubernetes/apiserver/rancher-provisioned.yaml', 'infra/kubernetes/rancher-reader.yaml'];

/** The code a page shows: fenced blocks and inline code spans (and, for YAML, its comments). */
function codeOf(text: string): string[] {
  const fenced = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const inline = [...text.replace(/```[a-z]*\n[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
  return [...fenced, ...inline];
}

/** `tokengate <words> <args and options>` invocations in a piece of code, up to a redirect, pipe or comment. */
function invocations(code: string): string[][] {
  const found: string[][] = [];
  // a shell line continued with a backslash is one command; a redirect is `>` or `<` between spaces (`<id>` is not)
  for (const match of code.replace(/\\\n\s*/g, ' ').matchAll(/(?:^|[\s(`])tokengate ([^\n#|;&`)]*)/g)) {
    const words = match[1]!
      .split(/\s(?:2?>|<)\s/)[0]!
      .split(/\s+/)
      .map((word) => word.replace(/^\[+|\]+$/g, ''))
      .filter((word) => word !== '' && word !== '…' && word !== '<');
    if (words.length > 0) found.push(words);
  }
  return found;
}

const COMMANDS = await loadCommands();

function commandOf(words: string[]) {
  return COMMANDS.find((command) => command.name === words.slice(0, 2).join(' ')) ?? COMMANDS.find((command) => command.name === words[0]);
}

const uses = FILES.flatMap((file) =>
  codeOf(readFileSync(join(root, file), 'utf8')).flatMap((code) => invocations(code).map((words) => ({ file, words }))),
);

describe('tokengate commands in the setup docs', () => {
  it('finds the commands the setups table needs', () => {
    const names = new Set(uses.map(({ words }) => commandOf(words)?.name));
    for (const name of ['clusters add', 'rancher set', 'rancher show', 'sync', 'webhook-config', 'clusters set-kubeconfig', 'clusters list']) expect(names).toContain(name);
  });

  it.each(uses.map((use) => [`${use.file}: tokengate ${use.words.join(' ')}`, use] as const))('%s exists with those options', (_, { words }) => {
    const command = commandOf(words);
    expect(command, `no command "${words.slice(0, 2).join(' ')}"`).toBeDefined();
    const options = command!.options;
    for (const word of words.slice(command!.name.split(' ').length)) {
      const long = /^--([a-z][a-z-]*)(=.*)?$/.exec(word)?.[1];
      if (long !== undefined) expect(long in options || long === 'help', `${command!.name} has no --${long}`).toBe(true);
      const short = /^-([a-zA-Z])$/.exec(word)?.[1];
      if (short !== undefined) expect(Object.values(options).some((option) => option.short === short) || short === 'h', `${command!.name} has no -${short}`).toBe(true);
    }
  });

  it('deploy.md registers each cluster once per setup (a second clusters add would fail: the id is taken)', () => {
    const text = readFileSync(join(root, 'docs/deploy.md'), 'utf8');
    const sections = text.split(/\n(?=#{3,4} )/);
    for (const section of sections) {
      const added = codeOf(section)
        .flatMap((code) => invocations(code))
        .filter((words) => words[0] === 'clusters' && words[1] === 'add')
        .map((words) => words[2]);
      expect(added, section.split('\n')[0]).toEqual([...new Set(added)]);
    }
  });
});
