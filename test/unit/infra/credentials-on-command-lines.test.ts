// Docs and examples never put a credential on a command line, where `ps` (and shell history) shows it to
// every user of the host: credentials go through files (`--credential-file`, `curl -H @file`) instead.
//
// Scope: the README, SECURITY.md, everything under infra/, and the sections of docs/deploy.md this check
// was written with ("Configuration", "Custom domain and mutual TLS"). Widen it as the other docs follow.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

/** Shapes of a credential or token given as an argument. */
const ON_A_COMMAND_LINE: Array<[string, RegExp]> = [
  ['--credential with a value (not --credential-file)', /--credential(?:[ =])(?!-)["']?\S/],
  ['an Authorization header as an argument', /-H\s+["']?Authorization:/i],
  ['a bearer token expanded into an argument', /Bearer\s+["']?\$[({A-Za-z]/],
  ['--token with a variable or command substitution', /--token[ =]["']?\$/],
  ['a credential file expanded into an argument', /["']\$\(cat [^)]*(?:credential|token|secret)[^)]*\)["']/i],
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The text of the level-3 sections of a Markdown file with these headings. */
function sections(file: string, headings: string[]): string {
  const text = readFileSync(file, 'utf8');
  return headings
    .map((heading) => {
      const start = text.indexOf(`\n### ${heading}\n`);
      if (start < 0) throw new Error(`${relative(root, file)}: no section "${heading}"`);
      const end = text.indexOf('\n### ', start + 5);
      return text.slice(start, end < 0 ? undefined : end);
    })
    .join('\n');
}

const documents: Array<[string, string]> = [
  ['README.md', readFileSync(join(root, 'README.md'), 'utf8')],
  ['SECURITY.md', readFileSync(join(root, 'SECURITY.md'), 'utf8')],
  ...filesUnder(join(root, 'infra')).map((f): [string, string] => [relative(root, f), readFileSync(f, 'utf8')]),
  ['docs/deploy.md (Configuration; Custom domain and mutual TLS)', sections(join(root, 'docs/deploy.md'), ['Configuration', 'Custom domain and mutual TLS'])],
];

describe('docs and examples', () => {
  it('show no credential on a command line: files or standard input instead', () => {
    const found: string[] = [];
    for (const [name, text] of documents) {
      text.split('\n').forEach((line, index) => {
        for (const [what, pattern] of ON_A_COMMAND_LINE) if (pattern.test(line)) found.push(`${name}:${index + 1}: ${what}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('recognise the shapes they must not show', () => {
    const caught = (line: string) => ON_A_COMMAND_LINE.some(([, pattern]) => pattern.test(line));
    expect(caught('tokengate webhook-config c --url U --credential "$(cat credential.txt)"')).toBe(true);
    expect(caught('curl -H "Authorization: Bearer $(cat credential.txt)" http://x')).toBe(true);
    expect(caught('kubectl --token "$TOKEN" auth whoami')).toBe(true);
    expect(caught('tokengate webhook-config c --url U --credential-file /etc/tokengate/credential')).toBe(false);
    expect(caught('curl -H @auth.header http://x')).toBe(false);
  });
});
