import { readFileSync } from 'node:fs';
import type { Command } from '../lib/command.ts';
import { OUTPUT_OPTION, outputFormat } from '../lib/options.ts';
import { formatJson, formatYaml } from '../lib/output.ts';

/** The version in package.json, which the release is tagged with; `unknown` if it cannot be read. */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
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
