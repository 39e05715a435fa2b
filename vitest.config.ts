import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that start real node processes are heavy on a 2-core machine.
    maxWorkers: 2,
  },
});
