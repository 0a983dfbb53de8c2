#!/usr/bin/env node
// Launcher of the tokengate CLI. `npm ci` builds the CLI into dist/cli/ (scripts/build-cli.mjs, the
// `prepare` script): bundled JavaScript that starts in tens of milliseconds, each command loading only
// what it uses. The launcher runs that build when it is fresh, i.e. newer than every file under
// functions/ and package.json (one stat per file, ~1 ms); otherwise — a developer editing the sources, or
// an install without esbuild — it runs the TypeScript sources through tsx (a second or two slower), with
// a one-line notice on stderr (TOKENGATE_QUIET_SOURCES=1 silences it). `npm run build:cli` rebuilds.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; Node 20 is this project's
// supported local runtime (docs/reference.md, "Runtime facts"), and the warning would bury the CLI's own messages on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Why the build cannot be used (missing, or older than a source file), or undefined when it is fresh. */
function staleness() {
  let built;
  try {
    built = statSync(join(root, 'dist/cli/BUILT')).mtimeMs;
  } catch {
    return 'the CLI is not built';
  }
  const newer = (path) => statSync(path).mtimeMs > built;
  if (newer(join(root, 'package.json'))) return 'package.json changed since the CLI was built';
  for (const entry of readdirSync(join(root, 'functions'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && newer(join(entry.parentPath ?? entry.path, entry.name))) return 'the sources changed since the CLI was built';
  }
  return undefined;
}

const stale = process.env.TOKENGATE_FROM_SOURCES === '1' ? 'TOKENGATE_FROM_SOURCES=1' : staleness();
let main;
if (stale === undefined) {
  ({ main } = await import('../dist/cli/main.mjs'));
} else {
  if (process.env.TOKENGATE_QUIET_SOURCES !== '1' && process.env.TOKENGATE_FROM_SOURCES !== '1') {
    process.stderr.write(`tokengate: running from the TypeScript sources (${stale}; \`npm run build:cli\` builds it)\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../functions/entry/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
