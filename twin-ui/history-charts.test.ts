/**
 * The history charts in a real browser against a real engine: the inspector's trend over a chosen
 * range (and beside a second asset), and the incident chart of people without service, live and in
 * a replay session.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity } from '../engine/index.ts';
import { cityFromSource, saveRecording } from '../scenarios/index.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';
import { launchChromium } from './browser.ts';
import { ensureUiBuilt } from './build-ui.ts';

const SHOTS = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url));
const UI_DIST = join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
const ADMIN = 'history-ui-admin-token-0123';
const CITY = { generate: { assets: 300, seed: 7 } } as const;
const HOUR = 3_600_000;

let server: ServerInternals;
let browser: Browser;
const RECORDINGS = mkdtempSync(join(tmpdir(), 'twin-history-recordings-'));

const attr = async (page: Page, selector: string, name: string): Promise<number> => Number(await page.getAttribute(selector, name));

describe('history charts in the twin UI', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureUiBuilt();
    // A recorded drill for the session: the transformer burns at 30 s of its run.
    const rec = await Engine.create({ city: cityFromSource(CITY), behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
    rec.submit({ type: 'fail', target: 'wt-ps-0', hazard: 'flood' }, { at: 30, source: 'scenario:drill' });
    // The main the first cohort relies on: the generated water network is redundant, the station alone cuts nobody off.
    rec.submit({ type: 'fail', target: 'wt-mn-37', hazard: 'flood' }, { at: 30, source: 'scenario:drill' });
    await rec.runUntil(HOUR);
    saveRecording(rec, { city: CITY, dir: RECORDINGS, id: 'drill', title: 'drill' });
    await rec.stop();
    server = await startServerWith(
      { city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: ADMIN, uiDir: UI_DIST },
      { paused: true, env: { STRATUM_RECORDINGS: RECORDINGS, STRATUM_LEDGER_FILE: join(RECORDINGS, 'ledger.ndjson') } },
    );
    // The live incident: a transformer fails 20 minutes into the run; two hours pass.
    server.engine.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 1_200, source: 'test' });
    // And the feeder the first cohort relies on: the generated grid is N-1 secure, the transformer alone cuts nobody off.
    server.engine.submit({ type: 'fail', target: 'pw-fd-68', hazard: 'fire' }, { at: 1_200, source: 'test' });
    await server.engine.runUntil(2 * HOUR);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(RECORDINGS, { recursive: true, force: true });
  });

  it('shows the trend of the selected asset over 1 h, 24 h and since the incident, beside a second asset, and the incident chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await page.goto(`${server.url}/#token=${ADMIN}`);
      await page.waitForFunction(`window.__twin?.store.getState().index?.assetCount > 0`, undefined, { timeout: 20_000 });
      // The incident chart (live): people lost power after the failure.
      await page.waitForFunction(`Number(document.querySelector('[data-testid=incident-chart]')?.getAttribute('data-peak')) > 0`, undefined, { timeout: 20_000 });
      expect(await page.textContent('[data-testid=incident-chart]')).toMatch(/incident began 00:20/);
      await page.evaluate(`(() => { const t = window.__twin.store; t.select(t.getState().index.indexOf.get('pw-tx-1')); })()`);
      await page.waitForSelector('[data-testid=asset-trend]');
      // 1 h at the server's default step (≤ 200 buckets: 30 s → 120).
      await page.waitForFunction(`Number(document.querySelector('[data-testid=asset-trend]')?.getAttribute('data-points')) === 120`, undefined, { timeout: 15_000 });
      // The last hour (1 h to 2 h) holds no status change: the failure was at 20 min.
      expect(await page.$('[data-testid=asset-trend] .status-changes')).toBeNull();
      await page.click('[data-testid=asset-trend] button:has-text("24 h")');
      await page.waitForFunction(`document.querySelector('[data-testid=asset-trend]')?.getAttribute('data-range') === '24h'`);
      // 24 h back from 2 h of virtual time is clipped at the run's start: 2 h at 1 min.
      await page.waitForFunction(`Number(document.querySelector('[data-testid=asset-trend]')?.getAttribute('data-points')) === 120`, undefined, { timeout: 15_000 });
      expect(await page.textContent('[data-testid=asset-trend] .status-changes')).toMatch(/00:20 ok → failed \(damage\)/);
      await page.click('[data-testid=asset-trend] button:has-text("since the incident")');
      await page.waitForFunction(`document.querySelector('[data-testid=asset-trend]')?.textContent.includes('incident began 00:20')`, undefined, { timeout: 15_000 });
      await page.fill('[data-testid=trend-compare]', 'pw-tx-0');
      await page.waitForFunction(`document.querySelector('[data-testid=asset-trend]')?.getAttribute('data-compare') === 'pw-tx-0'`);
      await page.fill('[data-testid=trend-compare]', 'no-such-asset');
      expect(await page.textContent('[data-testid=asset-trend]')).toContain('No asset "no-such-asset"');
      await page.fill('[data-testid=trend-compare]', 'pw-tx-0');
      // Both assets drawn: load and service level of each.
      await page.waitForFunction(`Number(document.querySelector('[data-testid=asset-trend]')?.getAttribute('data-series')) === 4`, undefined, { timeout: 15_000 });
      await page.screenshot({ path: join(SHOTS, 'history-trend.png') });
      // The chart canvas has drawn something (chart.js on a 2D canvas).
      const drawn = await page.evaluate(`(() => { const c = document.querySelector('[data-testid=asset-trend] canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`);
      expect(Number(drawn)).toBeGreaterThan(500);
    } finally {
      await page.close();
    }
  }, 90_000);

  it('follows a replay session: the incident chart shows the session’s own history', async () => {
    const res = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ recording: 'drill', kind: 'replay', paused: true }) });
    const id = ((await res.json()) as { session: { id: string } }).session.id;
    await fetch(`${server.url}/api/sessions/${id}/clock`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'seek', toMs: HOUR - 60_000 }) });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await page.goto(`${server.url}/#token=${ADMIN}`);
      await page.waitForFunction(`window.__twin?.store.getState().index?.assetCount > 0`, undefined, { timeout: 20_000 });
      await page.waitForFunction(`[...document.querySelectorAll('[data-testid=source] option')].some((o) => o.value === ${JSON.stringify(id)})`, undefined, { timeout: 15_000 });
      await page.selectOption('[data-testid=source]', id);
      await page.waitForFunction(`document.querySelector('[data-testid=incident-chart]')?.getAttribute('data-source') === ${JSON.stringify(id)}`);
      // The drill's pumping station flooded at 30 s: water is out in the session (the live run lost power only).
      await page.waitForFunction(`document.querySelector('[data-testid=incident-chart]')?.textContent.includes('incident began 00:00')`, undefined, { timeout: 20_000 });
      expect(await attr(page, '[data-testid=incident-chart]', 'data-peak')).toBeGreaterThan(0);
      await page.screenshot({ path: join(SHOTS, 'history-incident-session.png') });
    } finally {
      await page.close();
    }
  }, 90_000);
});
