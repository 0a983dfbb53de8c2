/**
 * Reads `go test -json` events of the conformance suite on stdin and prints what a person needs: the
 * suite's own lines (where tokengate served, the flood numbers), the output of failed tests, and a closing
 * `conformance: N passed, N failed, N skipped` line. Counts are leaf tests (subtests, not their parents).
 * With `--results FILE` it also writes the counts in the field names of vitest's JSON report, so `.ci/run`
 * adds them up with the other runs. Exits 1 when anything failed or nothing ran.
 */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as z from 'zod';

const eventSchema = z.object({
  Action: z.string(),
  Package: z.string().optional(),
  Test: z.string().optional(),
  Output: z.string().optional(),
});

const resultsFlag = process.argv.indexOf('--results');
const resultsFile = resultsFlag === -1 ? undefined : process.argv[resultsFlag + 1];

const outcomes = new Map<string, 'pass' | 'fail' | 'skip'>();
const outputs = new Map<string, string[]>();
const packageOutput: string[] = [];
let packageFailed = false;

for await (const line of createInterface({ input: process.stdin })) {
  let event: z.infer<typeof eventSchema>;
  try {
    event = eventSchema.parse(JSON.parse(line));
  } catch {
    packageOutput.push(`${line}\n`); // build errors are printed as plain text
    continue;
  }
  if (event.Action === 'output' && event.Output !== undefined) {
    if (event.Test === undefined) packageOutput.push(event.Output);
    else outputs.set(event.Test, [...(outputs.get(event.Test) ?? []), event.Output]);
    if (/^\s+\S+\.go:\d+: flood: /.test(event.Output)) process.stdout.write(event.Output.replace(/^\s+\S+\.go:\d+: /, ''));
  }
  if (event.Action === 'pass' || event.Action === 'fail' || event.Action === 'skip') {
    if (event.Test !== undefined) outcomes.set(event.Test, event.Action);
    else if (event.Action === 'fail') packageFailed = true;
  }
}

const names = [...outcomes.keys()];
const leaves = names.filter((name) => !names.some((other) => other.startsWith(`${name}/`)));
const count = (action: string) => leaves.filter((name) => outcomes.get(name) === action).length;
const passed = count('pass');
let failed = count('fail');
const skipped = count('skip');

// The suite's own lines; everything else of the package (klog lines of the client) only when it failed
// outside any test, e.g. in TestMain's set-up or the build.
const setupFailed = packageFailed && failed === 0;
for (const line of packageOutput) if (/^conformance: /.test(line) || setupFailed) process.stdout.write(line);
for (const name of leaves.filter((leaf) => outcomes.get(leaf) === 'fail')) {
  process.stdout.write(`\n--- ${name}\n${(outputs.get(name) ?? []).filter((text) => !/^(=== |--- )/.test(text)).join('')}`);
}
// A package that failed outside any test (setup, build, panic) or that ran nothing is a failure too.
if (setupFailed || passed + failed + skipped === 0) failed += 1;

console.log(`conformance: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (resultsFile) writeFileSync(resultsFile, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numTodoTests: 0 }));
process.exitCode = failed > 0 ? 1 : 0;
