import { defineConfig } from 'vitest/config';

/**
 * `npm run test:multihost`: tests that build their own network hosts in Linux network
 * namespaces (root only). Kept out of `npm test`, whose include is test/**\/*.test.ts.
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/multihost/**/*.multihost.ts'],
    testTimeout: 240_000,
    hookTimeout: 90_000,
    maxWorkers: 1,
  },
});
