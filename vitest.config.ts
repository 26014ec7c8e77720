import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The machines have 2 cores and the tests start real worker threads: run files one at a
// time so that they do not starve each other.
export default defineConfig({
  // Tests that drive the protocol reach behind the public classes through the built
  // internal module, which the package's exports leave out.
  resolve: { alias: { 'ringbus/internal': fileURLToPath(new URL('./dist/internal.js', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
