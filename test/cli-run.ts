import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../gateways/cli/index.ts';

/** A fresh data directory: the default (./data) would carry one test's journal into the next. */
export const freshDataDir = (): string => mkdtempSync(join(tmpdir(), 'stratum-cli-test-'));

/**
 * `stratum <args>` in this process with `env` set for the call (undefined: unset) and its own data
 * directory unless `env` names one; returns the exit code and what it wrote to stderr.
 */
export async function runCli(args: readonly string[], extraEnv: Record<string, string | undefined> = {}): Promise<{ code: number; err: string }> {
  const env = { STRATUM_DATA_DIR: freshDataDir(), ...extraEnv };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  let err = '';
  try {
    const code = await main(['node', 'stratum', ...args], { out: () => {}, err: (s) => void (err += s) });
    return { code, err };
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}
