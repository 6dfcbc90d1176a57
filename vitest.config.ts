import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['engine/**/*.test.ts', 'actors/**/*.test.ts', 'scenarios/**/*.test.ts', 'gateways/**/*.test.ts', 'twin-ui/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/worker-setup.ts'],
    testTimeout: 60_000,
    // No retries, in CI or locally: a test that passes only on a second try hides a bug (issue 12).
    retry: 0,
    reporters: process.env['CI'] === 'true' ? ['verbose'] : ['default'],
    hookTimeout: 120_000,
    // Two cores: run test files two at a time, each in its own process (nact keeps global state).
    pool: 'forks',
    maxWorkers: 2,
  },
});
