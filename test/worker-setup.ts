import { inject } from 'vitest';

// Services started by test/global-setup.ts (testcontainers) reach this worker's environment here,
// before any test file reads it.
for (const [name, url] of Object.entries(inject('serviceUrls'))) process.env[name] ??= url;
