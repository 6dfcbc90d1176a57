#!/usr/bin/env node
// `npm run bench`: runs bench/index.ts under tsx with an exposed GC (for heap figures) and room
// for a million actors.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../bench/index.ts', import.meta.url));
const result = spawnSync(
  process.execPath,
  ['--expose-gc', '--max-old-space-size=20000', '--import', 'tsx', entry, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exitCode = result.status ?? 1;
