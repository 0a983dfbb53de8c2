import { defineConfig } from 'vitest/config';

/**
 * `npm run test:soak` (through test/soak/run.ts, which sets SOAK=1 and collects the figures): the long
 * property budgets, the long fault runs, the abuse bounds and the load run. Files run one at a time so
 * that timings and RSS are not distorted by each other on a small machine.
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/entry/authenticate/properties.test.ts',
      'test/unit/services/authenticate/abuse.test.ts',
      'test/integration/hostile/**/*.test.ts',
      'test/integration/faults/**/*.test.ts',
      'test/soak/**/*.test.ts',
    ],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
