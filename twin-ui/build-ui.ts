/**
 * Builds twin-ui/dist with Vite unless it is newer than every source file. Used by the end-to-end
 * tests and the bench so they always run the current UI.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_DIR = fileURLToPath(new URL('.', import.meta.url));
export const DIST_DIR = join(UI_DIR, 'dist');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function isStale(): boolean {
  const index = join(DIST_DIR, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const protocol = fileURLToPath(new URL('../gateways/protocol.ts', import.meta.url));
  const sources = Math.max(newest(join(UI_DIR, 'src')), statSync(join(UI_DIR, 'index.html')).mtimeMs, statSync(join(UI_DIR, 'vite.config.ts')).mtimeMs, existsSync(protocol) ? statSync(protocol).mtimeMs : 0);
  return sources > built;
}

/** Builds the UI if stale; returns true when it built. */
export async function ensureUiBuilt(): Promise<boolean> {
  if (!isStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(UI_DIR, 'vite.config.ts'), logLevel: 'warn' });
  return true;
}
