import { defineConfig } from 'vitest/config';

// The machines have 2 cores and the tests start real worker threads: run files one at a
// time so that they do not starve each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
