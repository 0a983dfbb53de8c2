import { readFileSync } from 'node:fs';
import type { Command } from '../lib/command.ts';
import { OUTPUT_OPTION, outputFormat } from '../lib/options.ts';
import { formatJson, formatYaml } from '../lib/output.ts';

/**
 * The version in package.json, which the release is tagged with; `unknown` if it cannot be read. Found by
 * walking up from this module: four levels from the sources, three from the built CLI's chunks (dist/cli/chunks/).
 */
export function packageVersion(): string {
  let directory = new URL('.', import.meta.url);
  for (let level = 0; level < 6; level += 1) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', directory), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'tokengate') return manifest.version ?? 'unknown';
    } catch {
      // no package.json here: look one level up
    }
    directory = new URL('..', directory);
  }
  return 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the version of tokengate and of the Node.js running it.',
  args: '',
  options: { ...OUTPUT_OPTION },
  positionals: { min: 0, max: 0 },
  examples: ['tokengate version', 'tokengate version -o json'],
  async run(input, io) {
    const format = outputFormat(input);
    const info = { version: packageVersion(), node: process.versions.node, platform: `${process.platform}/${process.arch}` };
    if (format === 'json') io.stdout(formatJson(info));
    else if (format === 'yaml') io.stdout(formatYaml(info));
    else if (format === 'name') io.stdout(`${info.version}\n`);
    else io.stdout(`tokengate ${info.version} (node ${info.node}, ${info.platform})\n`);
    return 0;
  },
};
