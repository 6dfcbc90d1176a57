#!/usr/bin/env node
// Entry point of the `stratum` command: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../gateways/cli.ts');
process.exitCode = await main(process.argv);
