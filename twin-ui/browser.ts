/** Launches Debian's Chromium headless with software WebGL (SwiftShader); never downloads a browser. */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

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

/**
 * Counts the WebGL scene's pixels in each colour class (a JavaScript condition over `r`, `g`, `b`),
 * read in the page by copying the canvas into a 2D one (the page must be opened with `?preserve=1`).
 *
 * @example
 * const { red } = await countScenePixels(page, { red: 'r > 170 && g < 90 && b < 90' });
 */
export async function countScenePixels<K extends string>(page: Page, classes: Readonly<Record<K, string>>): Promise<Record<K | 'total', number>> {
  const tests = Object.entries<string>(classes).map(([name, condition]) => `if (${condition}) counts[${JSON.stringify(name)}]++;`).join('\n');
  return (await page.evaluate(`(() => {
    const gl = document.querySelector('[data-testid=scene] canvas');
    const c = document.createElement('canvas');
    c.width = gl.width; c.height = gl.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(gl, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = { total: d.length / 4, ${Object.keys(classes).map((k) => `${JSON.stringify(k)}: 0`).join(', ')} };
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2];
      ${tests}
    }
    return counts;
  })()`)) as Record<K | 'total', number>;
}
