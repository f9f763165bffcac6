import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Long-running suites (torture, multi-node) opt in to longer timeouts themselves.
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
