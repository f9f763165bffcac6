import { defineConfig } from 'vitest/config';
import { compiledWorkerForTests } from './test/helpers/prebuilt-bins.ts';

export default defineConfig({
  // The servers tests start load the calendar worker the global setup compiled (test/helpers/prebuilt-bins.ts).
  plugins: [compiledWorkerForTests()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Test files share their fork's module graph: each fresh fork spent seconds importing the
    // server through the TypeScript transform (import 276 s of the suite's 854 s). Every file
    // starts its own servers and databases and stops them in afterAll, so nothing else is shared.
    isolate: false,
    // Long-running suites (torture, multi-node) opt in to longer timeouts themselves.
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
