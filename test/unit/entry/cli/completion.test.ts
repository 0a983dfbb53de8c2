import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { suggestions } from '../../../../functions/entry/cli/lib/suggest.ts';
import { runCli } from '../../../support/local-stack.ts';

const run = promisify(execFile);
const installed = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

async function scriptFile(shell: string): Promise<string> {
  const result = await runCli(['completion', shell]);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  const file = join(await mkdtemp(join(tmpdir(), 'tokengate-completion-')), `tokengate.${shell}`);
  await writeFile(file, result.stdout);
  return file;
}

describe('tokengate completion', () => {
  it('prints a bash script that bash parses and that completes commands, options and -o values', async () => {
    const file = await scriptFile('bash');
    await run('bash', ['-n', file]);
    const complete = async (...words: string[]) => {
      const array = words.map((word) => `'${word}'`).join(' ');
      const { stdout } = await run('bash', ['-c', `source '${file}'; COMP_WORDS=(tokengate ${array}); COMP_CWORD=${words.length}; _tokengate; echo "\${COMPREPLY[*]}"`]);
      return stdout.trim().split(' ');
    };
    expect(await complete('clusters', 'rot')).toEqual(['rotate-credential']);
    expect(await complete('tokens', 'list', 'c-1', '-o', '')).toEqual(['table', 'wide', 'json', 'yaml', 'name']);
    expect(await complete('serve', '--da')).toEqual(['--data-dir']);
    expect(await complete('compl')).toEqual(['completion']);
  });

  it.skipIf(!installed('zsh'))('prints a zsh script that zsh parses', async () => {
    await run('zsh', ['-n', await scriptFile('zsh')]);
  });

  it.skipIf(!installed('fish'))('prints a fish script that fish parses and that completes subcommands and options', async () => {
    const file = await scriptFile('fish');
    await run('fish', ['--no-execute', file]);
    const { stdout } = await run('fish', ['-c', `source '${file}'; complete -C 'tokengate clusters rot'; complete -C 'tokengate serve --data'`]);
    expect(stdout).toMatch(/^rotate-credential\t/m);
    expect(stdout).toMatch(/^--data-dir\t/m);
  });
});

describe('help, version and typos', () => {
  it('answers help <command> like <command> --help', async () => {
    const viaHelp = await runCli(['help', 'tokens', 'create']);
    expect(viaHelp).toEqual(await runCli(['tokens', 'create', '--help']));
    expect(viaHelp.code).toBe(0);
  });

  it('documents the exit codes in the overview', async () => {
    const { stdout } = await runCli(['help']);
    expect(stdout).toMatch(/Exit codes:\n {2}0 {2}done.*\n {2}1 {2}failed or refused.*\n {2}2 {2}wrong usage/);
  });

  it('prints the package version, also as JSON', async () => {
    const { version } = JSON.parse((await import('node:fs')).readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'));
    expect((await runCli(['version'])).stdout).toMatch(new RegExp(`^tokengate ${version.replace(/\./g, '\\.')} \\(node `));
    expect(JSON.parse((await runCli(['version', '-o', 'json'])).stdout)).toMatchObject({ version, node: process.versions.node });
  });

  it('suggests the command a typo meant, exit 2', async () => {
    const top = await runCli(['clustrs', 'list']);
    expect(top).toMatchObject({ code: 2, stdout: '' });
    expect(top.stderr).toContain('unknown command "clustrs"\nDid you mean this?\n  tokengate clusters\n');
    const sub = await runCli(['tokens', 'revok']);
    expect(sub.stderr).toContain('unknown command "revok"\nDid you mean this?\n  tokengate tokens revoke\n');
    expect((await runCli(['zzzzzz'])).stderr).not.toContain('Did you mean');
  });

  it('suggests only words within a few edits, nearest first', () => {
    expect(suggestions('sevre', ['serve', 'sync', 'review'])).toEqual(['serve']);
    expect(suggestions('tok', ['tokens', 'table'])).toEqual(['tokens']);
    expect(suggestions('xyz', ['serve', 'sync'])).toEqual([]);
  });
});
