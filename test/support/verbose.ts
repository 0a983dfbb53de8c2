/**
 * Test reports (fault tallies, timings) printed only when asked with TOKENGATE_TEST_VERBOSE=1, so that a
 * plain `npm test` shows vitest's own summary and nothing else on stdout.
 */
const VERBOSE = process.env.TOKENGATE_TEST_VERBOSE === '1';

/** `console.log` when TOKENGATE_TEST_VERBOSE=1, otherwise nothing. */
export function report(...values: unknown[]): void {
  if (VERBOSE) console.log(...values);
}

/** `console.table` when TOKENGATE_TEST_VERBOSE=1, otherwise nothing. */
export function reportTable(data: unknown): void {
  if (VERBOSE) console.table(data);
}
