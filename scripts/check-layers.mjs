#!/usr/bin/env node
// Checks the import graph of functions/ against the layers of docs/architecture.md:
//   core ← services ← adapters ← entry
// A file may import only files of its own layer or a lower one; no two folders may import each other
// (directly or through a cycle); core and services may import only the few packages listed below.
// Prints every violation and exits 1 if there is any. Run by `npm test` (test/unit/architecture.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const functionsDir = path.join(root, 'functions');
const LAYERS = ['core', 'services', 'adapters', 'entry'];
/** Packages a layer may import besides Node's own modules (checked for core and services only). */
const ALLOWED_PACKAGES = {
  core: new Set(['zod', '@node-rs/argon2']),
  services: new Set(['zod', '@node-rs/argon2', 'p-limit']),
};
/** Node built-ins core may use: no I/O. */
const CORE_BUILTINS = new Set(['node:crypto']);

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

const layerOf = (file) => LAYERS.indexOf(path.relative(functionsDir, file).split(path.sep)[0]);
const rel = (file) => path.relative(root, file);

export function check() {
  const problems = [];
  const folderEdges = new Map();
  for (const file of filesUnder(functionsDir)) {
    const layer = layerOf(file);
    if (layer < 0) {
      problems.push(`${rel(file)}: not in a layer folder (${LAYERS.join(', ')})`);
      continue;
    }
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier);
        if (!target.startsWith(functionsDir + path.sep)) {
          problems.push(`${rel(file)} imports ${specifier}, outside functions/`);
          continue;
        }
        const targetLayer = layerOf(target);
        if (targetLayer > layer) problems.push(`${rel(file)} (${LAYERS[layer]}) imports ${rel(target)} (${LAYERS[targetLayer]}): upward`);
        const from = rel(path.dirname(file));
        const to = rel(path.dirname(target));
        if (from !== to) {
          if (!folderEdges.has(from)) folderEdges.set(from, new Map());
          if (!folderEdges.get(from).has(to)) folderEdges.get(from).set(to, `${rel(file)} → ${rel(target)}`);
        }
        continue;
      }
      const name = LAYERS[layer];
      if (name !== 'core' && name !== 'services') continue;
      const isBuiltin = specifier.startsWith('node:');
      const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      const allowed = isBuiltin ? name !== 'core' || CORE_BUILTINS.has(specifier) : ALLOWED_PACKAGES[name].has(pkg);
      if (!allowed) problems.push(`${rel(file)} (${name}) imports ${specifier}: not allowed in ${name}`);
    }
  }
  problems.push(...folderCycles(folderEdges));
  return problems;
}

/** Every cycle between folders (two folders importing each other, or a longer loop), named by one import per edge. */
function folderCycles(edges) {
  const problems = [];
  const state = new Map();
  const stack = [];
  const visit = (folder) => {
    state.set(folder, 'open');
    stack.push(folder);
    for (const next of edges.get(folder)?.keys() ?? []) {
      if (state.get(next) === 'open') {
        const loop = [...stack.slice(stack.indexOf(next)), next];
        const via = loop.slice(0, -1).map((from, index) => edges.get(from).get(loop[index + 1]));
        problems.push(`folders import each other: ${loop.join(' → ')} (${via.join('; ')})`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(folder, 'done');
  };
  for (const folder of edges.keys()) if (!state.has(folder)) visit(folder);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = check();
  for (const problem of problems) console.error(problem);
  console.error(problems.length === 0 ? 'layers: every import goes downward' : `layers: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
