import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Path of a file in `shared/data/` beside the repository (CI clones it there) or one level further
 * up (a git worktree under a work directory). Tests only.
 */
export function sharedDataFile(relative: string): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  for (const up of ['..', '../..']) {
    const path = join(root, up, 'shared/data', relative);
    if (existsSync(path)) return path;
  }
  throw new Error(`shared/data/${relative} not found beside the repository (clone shared/ next to it)`);
}

export const SHIPPED_CASES = ['case118', 'case300', 'case1354pegase', 'case_ACTIVSg2000'] as const;
