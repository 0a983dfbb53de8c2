#!/usr/bin/env node
// Builds the tokengate CLI into dist/cli/ (git-ignored): functions/entry/cli/main.ts bundled with its
// dependencies by esbuild, one chunk per command (each command's modules load only when it runs), so the
// CLI starts as a compiled program would instead of compiling TypeScript at run time (tsx).
// Run by `npm ci` / `npm install` (the `prepare` script) and by `npm run build:cli`. bin/tokengate.js runs
// the build when it is newer than every source file, else the sources through tsx.
// Without esbuild (an install that omits devDependencies) it says so and exits 0: the CLI then runs
// the sources through tsx, as before.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/cli');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('tokengate: esbuild is not installed; the CLI will run from its TypeScript sources (tsx)');
  process.exit(0);
}

const started = performance.now();
// Built beside, then swapped in: a CLI started during the build runs the old build or the new one, whole.
const building = `${outdir}.building-${process.pid}`;
rmSync(building, { recursive: true, force: true });
mkdirSync(building, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'functions/entry/cli/main.ts' },
  outdir: building,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Error names (e.g. the SDK's `ResourceNotFoundException`, ours) are what describeError tells apart.
  keepNames: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // Left as packages that node resolves from node_modules: the native module (its binary is
  // platform-specific), and dynalite (`serve`'s embedded DynamoDB), which reads its own files via __dirname.
  external: ['@node-rs/argon2', 'dynalite'],
  // Bundled CommonJS dependencies call require(); give each ESM chunk one.
  banner: { js: "import { createRequire as __tgCreateRequire } from 'node:module'; const require = __tgCreateRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
// bin/tokengate.js compares the sources' modification times with this stamp's.
writeFileSync(join(building, 'BUILT'), `${new Date().toISOString()}\n`);
rmSync(outdir, { recursive: true, force: true });
renameSync(building, outdir);
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
const files = Object.keys(result.metafile.outputs).length;
console.error(`tokengate: built the CLI into ${relative(process.cwd(), outdir) || '.'} (${files} files, ${(bytes / 1024).toFixed(0)} KiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
