/** Launches Debian's Chromium headless with software WebGL (SwiftShader); never downloads a browser. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Whether the browser suite can run here. Without a Chromium it skips with the reason and the
 * command that enables it (so `npm test` passes on a fresh machine with Node alone); under
 * STRATUM_REQUIRE_SERVICES=1 (CI) it runs anyway and fails at launch, naming the path.
 */
export function browserAvailability(env: NodeJS.ProcessEnv = process.env, path = CHROMIUM): { skip: boolean; reason: string } {
  if (existsSync(path)) return { skip: false, reason: `Chromium at ${path}` };
  const enable = `install Debian's Chromium (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary`;
  if (env['STRATUM_REQUIRE_SERVICES'] === '1') return { skip: false, reason: `no browser at ${path} but STRATUM_REQUIRE_SERVICES=1: ${enable}` };
  return { skip: true, reason: `skipped: no browser at ${path} (${enable}, then npm test runs it)` };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage'],
  });
}
