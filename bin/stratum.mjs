#!/usr/bin/env node
// Entry point of the `stratum` command: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

// `stratum criticality … | head`: a reader that stops early is not an error (no EPIPE stack trace).
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

register();
const { main } = await import('../gateways/cli/index.ts');
process.exitCode = await main(process.argv);
