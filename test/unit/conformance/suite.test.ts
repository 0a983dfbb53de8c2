import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The conformance suite is Go (test/conformance, docs/conformance.md) and runs apart from vitest:
// `npm run test:conformance`, and in CI after `npm test`. Here only what needs no Go build is checked, and a
// machine without Go is told the suite was skipped.
const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasGo) console.warn('conformance suite skipped: go not found (npm run test:conformance needs Go 1.26)');

const goMod = readFileSync(new URL('../../conformance/go.mod', import.meta.url), 'utf8');

describe('the conformance suite', () => {
  // Reported as a skipped test, so the summary of `npm test` shows it.
  if (!hasGo) it.skip('conformance suite skipped: go not found (npm run test:conformance needs Go 1.26)', () => {});

  it('pins the real webhook client modules at v0.37.2, without k8s.io/kubernetes or replace directives', () => {
    for (const module of ['k8s.io/apiserver', 'k8s.io/client-go', 'k8s.io/apimachinery', 'k8s.io/api']) {
      expect(goMod).toMatch(new RegExp(`^\\s*${module.replace(/\./g, '\\.')} v0\\.37\\.2$`, 'm'));
    }
    expect(goMod).not.toMatch(/k8s\.io\/kubernetes\b/);
    expect(goMod).not.toMatch(/^\s*replace\b/m);
  });
});
