/**
 * End to end with a real place: the bundled OpenStreetMap extract of central Helsinki, imported
 * and served by a real engine, drawn by Debian's Chromium (SwiftShader WebGL). A windstorm from the
 * scenario library crosses it; the buildings whose people lose power are shaded. Screenshots go to
 * artifacts/screenshots/ (place-*.png).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { loadCityFile } from '../engine/index.ts';
import { BUNDLED_PLACE } from '../gateways/cli/index.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';
import { ensureUiBuilt } from './build-ui.ts';
import { countScenePixels, launchChromium } from './browser.ts';

const SHOTS = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url));
const UI_DIST = join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
const ADMIN = 'place-e2e-admin-token-0123456789';

let server: ServerInternals;
let browser: Browser;
let actorCount = 0;

/** Canvas pixels that are building red (the no-power shade), read in the page (needs `?preserve=1`). */
async function shadedPixels(page: Page): Promise<number> {
  return (await countScenePixels(page, { red: 'r > 180 && r - g > 100 && r - b > 100' })).red;
}

describe('the twin shows a real place', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureUiBuilt();
    const city = loadCityFile(BUNDLED_PLACE);
    actorCount = city.assets.length + city.cohorts.length;
    // 1,200 virtual seconds per wall second: the storm's six hours pass in about 18 s.
    server = await startServerWith({ city, seed: 1, port: 0, quiet: true, speed: 1200, adminToken: ADMIN, uiDir: UI_DIST });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws the buildings, streets, scale bar, north arrow and attribution, then shades the storm outage', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      await page.goto(`${server.url}/?preserve=1#token=${ADMIN}`);
      await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-instances')) === ${actorCount}`, undefined, { timeout: 30_000 });
      await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-applied')) > 0`, undefined, { timeout: 30_000 });
      expect(await page.textContent('[data-testid=attribution]')).toContain('© OpenStreetMap contributors');
      expect(await page.isVisible('[aria-label="north arrow"]')).toBe(true);
      expect(await page.textContent('.scale-bar')).toMatch(/\d+ (m|km)/);
      const labels = (await page.$$eval('.place-label', (els) => els.map((e) => e.textContent))) as string[];
      expect(labels).toContain('Kluuvi');
      await page.waitForTimeout(500);
      expect(await shadedPixels(page)).toBe(0);
      await page.screenshot({ path: join(SHOTS, 'place-helsinki.png') });

      const res = await fetch(`${server.url}/api/scenarios/storm-crossing/run`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, await res.clone().text()).toBe(202);
      // The storm's eye passes mid-city at hour 3: feeders fail, and their buildings turn red.
      await page.waitForFunction(`Number(document.querySelector('[data-testid=headline] [data-layer=power]')?.getAttribute('data-out')) > 0`, undefined, { timeout: 40_000 });
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(SHOTS, 'place-helsinki-storm.png') });
      expect(await shadedPixels(page)).toBeGreaterThan(500);
      // Crisis mode dims what still works; the outage stays red; the crisis list fills.
      await page.click('[data-testid=crisis-toggle]');
      await page.waitForSelector('[data-testid=crisis-list] li', { timeout: 5000 });
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(SHOTS, 'place-helsinki-storm-crisis.png') });
      // The inspector opens on a click at the asset's true position.
      const target = 'pw-tx-0';
      const at = (await page.evaluate(`window.__twin.screenOf(${JSON.stringify(target)})`)) as { x: number; y: number };
      const box = (await page.locator('[data-testid=scene] canvas').boundingBox())!;
      await page.mouse.click(box.x + at.x, box.y + at.y);
      await page.waitForSelector(`[data-testid=inspector][data-actor="${target}"]`, { timeout: 5000 });
    } finally {
      await page.close();
    }
  }, 120_000);
});
