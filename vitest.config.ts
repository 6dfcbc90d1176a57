import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['engine/**/*.test.ts', 'actors/**/*.test.ts', 'scenarios/**/*.test.ts', 'gateways/**/*.test.ts', 'twin-ui/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/worker-setup.ts'],
    testTimeout: 60_000,
    // In CI (CI=true, as .ci/run sets it) a failed test gets one retry: a real failure fails twice,
    // and a pass on the retry is still listed in the log ("retry x1") to be fixed. Locally none.
    retry: process.env['CI'] === 'true' ? 1 : 0,
    reporters: process.env['CI'] === 'true' ? ['verbose'] : ['default'],
    hookTimeout: 120_000,
    // Two cores: run test files two at a time, each in its own process (nact keeps global state).
    pool: 'forks',
    maxWorkers: 2,
  },
});
