/**
 * End to end: a real engine (startServerWith on port 0) serves the built UI; Debian's Chromium
 * (headless, SwiftShader WebGL) loads it, draws the city, injects through the panel, inspects by
 * clicking. Screenshots go to artifacts/screenshots/ (CI keeps them).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { epanetCityDocument, generateCity, matpowerToCity, parseCity, Status, syntheticGrid } from '../engine/index.ts';
import type { GridReply } from '../gateways/protocol.ts';
import { loadingColour, TRIPPED_COLOUR } from './src/net/grid.ts';
import { DEFAULT_FIELD_SIGMA, networkFromCity, parseMatpower, simulateField } from '../engine/index.ts';
import { sendField } from '../gateways/adapters/field-sender.ts';
import { sharedDataFile } from '../test/shared-data.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';
import { ensureUiBuilt } from './build-ui.ts';
import { browserAvailability, countScenePixels, launchChromium } from './browser.ts';

const SHOTS = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url));
const ADMIN = 'e2e-admin-token-0123456789';
const VIEWER = 'e2e-viewer-token-0123456789';

let server: ServerInternals;
let browser: Browser;
let actorCount = 0;
/** Where the server writes recordings (POST /api/recordings) and sessions read them. */
const RECORDINGS = mkdtempSync(join(tmpdir(), 'twin-e2e-recordings-'));

/** Pixels of the WebGL canvas by colour class (`?preserve=1`): lit at all, and failure red. */
function canvasPixels(page: Page): Promise<{ total: number; lit: number; red: number }> {
  return countScenePixels(page, { lit: 'r + g + b > 150', red: 'r > 170 && g < 90 && b < 90' });
}

async function openTwin(page: Page, token: string, url = server.url, actors = actorCount): Promise<void> {
  await page.goto(`${url}/?preserve=1#token=${token}`);
  await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-instances')) === ${actors}`, undefined, { timeout: 20_000 });
  await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-applied')) > 0`, undefined, { timeout: 20_000 });
}

/** A call to the server's HTTP API as the admin; throws with the server's message on an error status. */
async function api<T = unknown>(url: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The first asset of `kind` (or, when none of it is ok any more, of the kind's layer) that is ok in the page's store. */
async function okAssetOfKind(page: Page, kind: string): Promise<string> {
  return String(await page.evaluate(`(() => {
    const s = window.__twin.store.getState(); const ix = s.index; const kind = ${JSON.stringify(kind)};
    let layer = -1;
    for (let a = 0; a < ix.assetCount; a++) if (ix.kinds[ix.kindOf[a]] === kind) { layer = ix.layerOf[a]; if (s.fast.status[a] === 0) return ix.ids[a]; }
    for (let a = 0; a < ix.assetCount; a++) if (ix.layerOf[a] === layer && s.fast.status[a] === 0) return ix.ids[a];
    throw new Error('no ok asset of kind ' + kind + ' nor of its layer');
  })()`));
}

/**
 * WCAG contrast ratio of an element's text against its effective background (the nearest ancestor
 * with an opaque background colour), computed in the page.
 */
async function contrastOf(page: Page, selector: string): Promise<number> {
  return (await page.evaluate(`(() => {
    const el = document.querySelector(${JSON.stringify(selector)});
    if (!el) throw new Error('no element ' + ${JSON.stringify(selector)});
    const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    let bg = null;
    for (let n = el; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length === 3 || c[3] === 1) { bg = c; break; } }
    const fg = lum(rgb(getComputedStyle(el).color));
    const b = lum(bg ?? [0, 0, 0]);
    return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
  })()`)) as number;
}

/** Buttons a screen reader could not name: no letters or digits in their text and no aria-label (icons only). */
async function unnamedButtons(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('button')].filter((b) => !(b.textContent.replace(/[^\\p{L}\\p{N}]/gu, '') || b.getAttribute('aria-label'))).map((b) => b.outerHTML)`)) as string[];
}

const UI_DIST = join(fileURLToPath(new URL('.', import.meta.url)), 'dist');

async function outCount(page: Page, layer: string): Promise<number> {
  return Number(await page.getAttribute(`[data-testid=headline] [data-layer=${layer}]`, 'data-out'));
}

const chromium = browserAvailability();

describe.skipIf(chromium.skip)(`twin UI in a real browser against a real engine (${chromium.reason})`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureUiBuilt();
    const city = parseCity(generateCity({ assets: 1500, seed: 1 }), 'gen');
    actorCount = city.assets.length + city.cohorts.length;
    server = await startServerWith(
      { city, seed: 1, port: 0, quiet: true, speed: 30, adminToken: ADMIN, uiDir: UI_DIST },
      { env: { STRATUM_TOKENS: `vera:viewer:${VIEWER}`, STRATUM_RECORDINGS: RECORDINGS } },
    );
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(RECORDINGS, { recursive: true, force: true });
  });

  it('signs in from #token, draws every asset with one draw call per kind, and hides the token', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN);
      expect(page.url()).not.toContain(ADMIN);
      await page.waitForTimeout(500);
      const px = await canvasPixels(page);
      expect(px.lit / px.total).toBeGreaterThan(0.002);
      const kinds = Number(await page.evaluate(`window.__twin.store.getState().index.kinds.length`));
      const calls = Number(await page.getAttribute('[data-testid=scene]', 'data-draw-calls'));
      // Kinds + ground + districts + link/dependency line sets + cascades: bounded by kinds, not by assets.
      expect(calls).toBeLessThan(kinds + 20);
      expect(await page.textContent('[data-testid=connection]')).toContain('live');
      expect(await page.isVisible('[data-testid=inject-panel]')).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'twin-overview.png') });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('opens the inspector by clicking an asset, injects a failure through the panel, and the colours and headline change', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN);
      // An aggregation switch: its failure is visible in the telecom headline and cascades to the
      // towers behind it (a transmission substation no longer cascades: generated grids are N-1 secure).
      const target = await okAssetOfKind(page, 'aggregation-switch');
      const before = { telecom: await outCount(page, 'telecom'), px: await canvasPixels(page) };
      const at = (await page.evaluate(`window.__twin.screenOf(${JSON.stringify(target)})`)) as { x: number; y: number };
      const box = (await page.locator('[data-testid=scene] canvas').boundingBox())!;
      await page.mouse.click(box.x + at.x, box.y + at.y);
      await page.waitForSelector(`[data-testid=inspector][data-actor="${target}"]`, { timeout: 5000 });
      expect(await page.textContent('[data-testid=inject-target]')).toContain(target);
      await page.click('[data-testid=preview]');
      expect(await page.textContent('[data-testid=plan]')).toContain(target);
      await page.click('[data-testid=inject]');
      await page.waitForFunction(`Number(document.querySelector('[data-testid=headline] [data-layer=telecom]')?.getAttribute('data-out')) > ${before.telecom}`, undefined, { timeout: 15_000 });
      await page.waitForFunction(`document.querySelector('[data-testid=inspector-status]')?.textContent.includes('failed')`, undefined, { timeout: 10_000 });
      // The economic cost from /api/summary reaches the headline, formatted (€…).
      await page.waitForFunction(`Number(document.querySelector('[data-testid=cost]')?.getAttribute('data-total')) > 0`, undefined, { timeout: 15_000 });
      expect(await page.textContent('[data-testid=cost]')).toMatch(/^€\d/);
      await page.waitForTimeout(600);
      const after = { telecom: await outCount(page, 'telecom'), px: await canvasPixels(page) };
      expect(after.telecom).toBeGreaterThan(before.telecom + 1);
      expect(after.px.red).toBeGreaterThan(before.px.red);
      await page.screenshot({ path: join(SHOTS, 'twin-after-inject-inspector.png') });
      await page.click('[data-testid=crisis-toggle]');
      await page.waitForSelector('[data-testid=crisis-list] li', { timeout: 5000 });
      expect(await page.textContent('[data-testid=crisis-list]')).toContain(target);
      await page.screenshot({ path: join(SHOTS, 'twin-crisis-mode.png') });
    } finally {
      await page.close();
    }
  }, 60_000);

  it('reroutes demand to a linked asset from the inspector; a refused reroute becomes a toast naming what failed', async () => {
    // Its own engine: on the shared one, earlier tests' cascades could still reach the chosen assets.
    const city = parseCity(generateCity({ assets: 600, seed: 3 }), 'gen');
    const own = await startServerWith({ city, seed: 3, port: 0, quiet: true, speed: 30, adminToken: ADMIN, uiDir: UI_DIST });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN, own.url, city.assets.length + city.cohorts.length);
      // An ok asset carrying load, with at least two ok linked assets of its own layer.
      const pick = (await page.evaluate(`(() => {
        const s = window.__twin.store.getState(); const ix = s.index; const g = ix.linked;
        for (let a = 0; a < ix.assetCount; a++) {
          if (s.fast.status[a] !== 0 || !(s.fast.load[a] > 0)) continue;
          const ok = [...new Set(g.items.subarray(g.offsets[a], g.offsets[a + 1]))].filter((b) => b < ix.assetCount && s.fast.status[b] === 0);
          if (ok.length >= 2) return { from: ix.ids[a], blocked: ix.ids[ok[0]], to: ix.ids[ok[1]], actor: a };
        }
        throw new Error('no asset with two ok linked assets');
      })()`)) as { from: string; blocked: string; to: string; actor: number };
      // Make one destination impossible: an isolated asset takes no load. Wait until the engine has
      // applied it, so the refusal names exactly that.
      await api(own.url, 'POST', `/api/assets/${encodeURIComponent(pick.blocked)}/isolate`);
      const statusOf = (id: string): Status => own.engine.kernel.view(own.engine.index.indexOf(id)!).status;
      const deadline = Date.now() + 10_000;
      while (statusOf(pick.blocked) !== Status.Isolated) {
        if (Date.now() > deadline) throw new Error(`${pick.blocked} was not isolated within 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Let what the isolation sets off settle (30 virtual seconds, a second of wall time at 30× on a
      // quiet machine; counted on the virtual clock, so a busy machine waits longer instead of less);
      // the refusal must be about the destination, not the source.
      const isolatedAt = own.engine.now;
      const settleDeadline = Date.now() + 10_000;
      while (own.engine.now < isolatedAt + 30_000) {
        if (Date.now() > settleDeadline) throw new Error('the live run did not advance 30 virtual seconds within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect([statusOf(pick.from), statusOf(pick.to)]).toEqual([Status.Ok, Status.Ok]);
      await page.evaluate(`window.__twin.store.select(${pick.actor})`);
      await page.waitForSelector(`[data-testid=inspector][data-actor="${pick.from}"] [data-testid=reroute]`);
      await page.selectOption('[data-testid=reroute-to]', pick.blocked);
      await page.click('[data-testid=reroute-apply]');
      const refused = await page.waitForSelector('[data-testid=notices] .notice.error >> text=refused', { timeout: 10_000 });
      const text = (await refused.textContent()) ?? '';
      expect(text).toContain(`${pick.from} → ${pick.blocked}`);
      expect(text).toContain('409');
      expect(text).toContain('isolated');
      // Keyboard: focus the share slider and raise it by two steps (5% each) from 30%.
      await page.focus('[data-testid=reroute-share]');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.selectOption('[data-testid=reroute-to]', pick.to);
      await page.click('[data-testid=reroute-apply]');
      await page.waitForSelector(`[data-testid=notices] .notice >> text=Reroute 40% of ${pick.from} → ${pick.to} accepted`, { timeout: 10_000 });
      const audit = own.audit.list(50).filter((e) => e.action === 'reroute' && e.target === pick.from);
      expect(audit.map((e) => e.result)).toEqual(['conflict', 'ok']);
      await page.screenshot({ path: join(SHOTS, 'twin-reroute.png') });
    } finally {
      await page.close();
      await own.close();
    }
  }, 60_000);

  it('shows the connection-lost banner and a frozen, greyed scene when the engine stops, then recovers with fresh state on restart', async () => {
    const city = parseCity(generateCity({ assets: 600, seed: 2 }), 'gen');
    const actors = city.assets.length + city.cohorts.length;
    const options = { city, seed: 2, port: 0, quiet: true, speed: 30, adminToken: ADMIN, uiDir: UI_DIST };
    let own = await startServerWith(options);
    const port = Number(new URL(own.url).port);
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN, own.url, actors);
      const target = await okAssetOfKind(page, 'transmission-substation');
      await api(own.url, 'POST', '/api/inject', { type: 'fail', target, severity: 1 });
      await page.waitForFunction(`Number(document.querySelector('[data-testid=headline] [data-layer=power]')?.getAttribute('data-out')) > 0`, undefined, { timeout: 15_000 });
      expect(await page.isVisible('[data-testid=connection-banner]')).toBe(false);
      const outBefore = await outCount(page, 'power');

      await own.close();
      await page.waitForSelector('[data-testid=connection-banner]', { timeout: 15_000 });
      expect(await contrastOf(page, '[data-testid=connection-banner]')).toBeGreaterThanOrEqual(7);
      expect(await page.getAttribute('[data-testid=connection]', 'data-state')).toBe('lost');
      expect(await page.getAttribute('[data-testid=app]', 'data-stale')).toBe('true');
      expect(await page.evaluate(`getComputedStyle(document.querySelector('[data-testid=scene]')).filter`)).toContain('grayscale');
      // Frozen, not cleared: the last known picture stays on screen.
      expect(await outCount(page, 'power')).toBe(outBefore);
      // Nothing can be sent while the engine is out of reach: the controls say so by being off.
      expect(await page.isDisabled('[data-testid=inject]')).toBe(true);
      expect(await page.isDisabled('[data-testid=pause]')).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'twin-connection-lost.png') });

      // The same port: the page's socket reconnects by itself.
      own = await startServerWith({ ...options, port });
      await page.waitForSelector('[data-testid=connection][data-state=connected]', { timeout: 30_000 });
      await page.waitForSelector('[data-testid=notices] >> text=Connection recovered', { timeout: 5000 });
      // Fresh state from the new engine: nothing failed there.
      await page.waitForFunction(`Number(document.querySelector('[data-testid=headline] [data-layer=power]')?.getAttribute('data-out')) === 0`, undefined, { timeout: 15_000 });
      expect(await page.isVisible('[data-testid=connection-banner]')).toBe(false);
      expect(await page.getAttribute('[data-testid=app]', 'data-stale')).toBe('false');
      expect(await page.isDisabled('[data-testid=inject]')).toBe(false);
      await page.screenshot({ path: join(SHOTS, 'twin-connection-recovered.png') });
    } finally {
      await page.close();
      await own.close();
    }
  }, 90_000);

  it('records the live run, replays it with a scrubber (seeking back brings the earlier headline back), then trains with a handover and scores', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    const powerOut = `Number(document.querySelector('[data-testid=headline] [data-layer=power]')?.getAttribute('data-out'))`;
    try {
      await openTwin(page, ADMIN);
      // Something to replay: a failure in the live city, then record the run from the trainer panel.
      await api(server.url, 'POST', '/api/inject', { type: 'fail', target: await okAssetOfKind(page, 'transmission-substation'), severity: 1 });
      await page.waitForFunction(`${powerOut} > 0`, undefined, { timeout: 15_000 });
      await page.click('[data-testid=record-live]');
      await page.waitForSelector('[data-testid=notices] >> text=Recorded the live run', { timeout: 15_000 });
      const recording = await page.inputValue('[data-testid=recording]');
      expect(recording).not.toBe('');

      // Replay at 1000×: the banner says so, the scrubber shows, the replayed failures reach the headline.
      await page.check('[data-testid=kind-replay]');
      await page.selectOption('[data-testid=start-speed]', '1000');
      await page.click('[data-testid=start-session]');
      await page.waitForSelector('[data-testid=source-banner][data-kind=replay]', { timeout: 20_000 });
      expect(await page.textContent('[data-testid=source-banner]')).toContain('REPLAY — not live');
      expect(await contrastOf(page, '[data-testid=source-banner] span')).toBeGreaterThanOrEqual(7);
      expect(await page.textContent('[data-testid=connection]')).not.toContain('live');
      expect(await page.isVisible('[data-testid=inject-panel]')).toBe(false);
      expect(await unnamedButtons(page)).toEqual([]);
      await page.waitForSelector('[data-testid=source-banner][data-phase=finished]', { timeout: 30_000 });
      await page.waitForFunction(`${powerOut} > 0`, undefined, { timeout: 15_000 });
      const outAtEnd = await outCount(page, 'power');
      // A replay takes no operator actions.
      await page.evaluate(`window.__twin.store.select(0)`);
      await page.waitForSelector('[data-testid=operator-actions]');
      expect(await page.isDisabled('[data-testid=act-isolate]')).toBe(true);
      await page.evaluate(`window.__twin.store.select(null)`);
      await page.screenshot({ path: join(SHOTS, 'twin-replay-end.png') });

      // Seek back to the start with the keyboard: the headline goes back to before the failures.
      await page.focus('[data-testid=scrubber]');
      await page.keyboard.press('Home');
      await page.waitForFunction(`Number(document.querySelector('[data-testid=scrubber]')?.getAttribute('data-now')) < 60000`, undefined, { timeout: 20_000 });
      await page.waitForFunction(`${powerOut} < ${outAtEnd}`, undefined, { timeout: 20_000 });
      await page.screenshot({ path: join(SHOTS, 'twin-replay-seek-back.png') });

      // Training on the same recording: hand over after one minute of virtual time, at 10× (the
      // trainee acts while it plays on). Inputs made through /api/inject count as the recorded
      // operators' decisions, so after the handover the recorded failure is withheld.
      await page.selectOption('[data-testid=recording]', recording);
      await page.check('[data-testid=kind-training]');
      await page.fill('[data-testid=handover]', '1');
      await page.selectOption('[data-testid=start-speed]', '10');
      await page.click('[data-testid=start-session]');
      await page.waitForSelector('[data-testid=source-banner][data-kind=training]', { timeout: 20_000 });
      expect(await page.textContent('[data-testid=source-banner]')).toContain('TRAINING — not live');
      expect(await contrastOf(page, '[data-testid=source-banner] span')).toBeGreaterThanOrEqual(7);
      await page.waitForSelector('[data-testid=source-banner][data-phase=handed-over]', { timeout: 30_000 });
      // The trainee isolates an asset: it goes to the session, never to the live city.
      const asset = await okAssetOfKind(page, 'transmission-substation');
      await page.evaluate(`window.__twin.store.select(window.__twin.store.getState().index.indexOf.get(${JSON.stringify(asset)}))`);
      await page.click(`[data-testid=inspector][data-actor="${asset}"] [data-testid=act-isolate]`);
      await page.waitForSelector(`[data-testid=notices] >> text=Isolate ${asset} accepted (training session)`, { timeout: 10_000 });
      await page.waitForFunction(`document.querySelector('[data-testid=inspector-status]')?.textContent.includes('isolated')`, undefined, { timeout: 15_000 });
      const live = await api<{ status: string }>(server.url, 'GET', `/api/assets/${encodeURIComponent(asset)}`);
      expect(live.status).not.toBe('isolated');

      await page.click('[data-testid=finish]');
      await page.waitForSelector('[data-testid=score]', { timeout: 60_000 });
      const score = Number(await page.textContent('[data-testid=score-value]'));
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(100);
      expect(await page.textContent('[data-testid=score-metrics]')).toContain('People-hours without power');
      for (const cell of ['[data-testid=score-metrics] tbody tr:last-child td:last-child', '[data-testid=trainee-decisions] li small']) expect(await contrastOf(page, cell)).toBeGreaterThanOrEqual(4.5);
      expect(await page.textContent('[data-testid=trainee-decisions]')).toContain(`isolate ${asset}`);
      await page.screenshot({ path: join(SHOTS, 'twin-training-score.png') });
      await page.click('[data-testid=close-score]');
      // The result also comes with the session's details, for everyone watching it (trainees too).
      await page.waitForSelector('[data-testid=show-score]', { timeout: 10_000 });
      await page.click('[data-testid=show-score]');
      expect(Number(await page.textContent('[data-testid=score-value]'))).toBe(score);
      await page.click('[data-testid=close-score]');
      await page.click('[data-testid=close-session]');
      await page.waitForSelector('[data-testid=app][data-source=live]', { timeout: 10_000 });
      expect(await page.isVisible('[data-testid=source-banner]')).toBe(false);
    } catch (error) {
      // The toasts name what the server refused: keep them with the failure.
      console.error('notices:', await page.textContent('[data-testid=notices]').catch(() => ''), '| banner:', await page.textContent('[data-testid=source-banner]').catch(() => ''));
      await page.screenshot({ path: join(SHOTS, 'failed-session-flow.png') });
      throw error;
    } finally {
      await page.close();
      // Sessions left playing would slow the tests after this one.
      const { sessions } = await api<{ sessions: { id: string }[] }>(server.url, 'GET', '/api/sessions');
      for (const x of sessions) await api(server.url, 'DELETE', `/api/sessions/${x.id}`);
    }
  }, 180_000);

  it('reaches the new controls with the keyboard; icon buttons have names; text has contrast', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN);
      // An asset with links, so the inspector shows the reroute controls.
      await page.evaluate(`(() => { const ix = window.__twin.store.getState().index; const g = ix.linked;
        for (let a = 0; a < ix.assetCount; a++) if (g.offsets[a + 1] > g.offsets[a]) return window.__twin.store.select(a); })()`);
      await page.waitForSelector('[data-testid=reroute]');
      // Tab from the top of the page and note every control that takes the focus.
      await page.evaluate(`window.__reached = []; document.addEventListener('focusin', (e) => window.__reached.push(e.target.getAttribute('data-testid') ?? e.target.getAttribute('aria-label') ?? e.target.tagName))`);
      await page.focus('[data-testid=source]');
      // From the source picker to the reroute share is about 28 stops; each Tab costs a few hundred ms under SwiftShader.
      for (let i = 0; i < 32; i++) await page.keyboard.press('Tab');
      const reached = (await page.evaluate(`window.__reached`)) as string[];
      for (const id of ['source', 'record-live', 'recording', 'kind-replay', 'start-speed', 'act-isolate', 'reroute-to', 'reroute-share', 'crisis-toggle', 'Close the inspector']) expect(reached, `Tab reaches ${id}`).toContain(id);
      // Every button has a name a screen reader can say (text, aria-label or title).
      expect(await unnamedButtons(page)).toEqual([]);
      for (const selector of ['[data-testid=cost]', '[data-testid=trainer-panel] h2', '[data-testid=reroute] legend', '[data-testid=notices]', '.hint', '[data-testid=headline] .label']) {
        if ((await page.$(selector)) === null) continue;
        expect(await contrastOf(page, selector), selector).toBeGreaterThanOrEqual(4.5);
      }
    } finally {
      await page.close();
    }
  }, 120_000);

  it('a viewer signs in through the form and sees no inject panel', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    try {
      await page.goto(`${server.url}/`);
      await page.screenshot({ path: join(SHOTS, 'twin-sign-in.png') });
      await page.fill('[data-testid=token]', VIEWER);
      await page.press('[data-testid=token]', 'Enter');
      await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-applied')) > 0`, undefined, { timeout: 20_000 });
      await page.waitForSelector('text=viewer');
      expect(await page.isVisible('[data-testid=inject-panel]')).toBe(false);
      expect(await page.isVisible('[data-testid=pause]')).toBe(false);
      // The inspector opens for a viewer, without operator actions.
      await page.evaluate(`window.__twin.store.select(0)`);
      await page.waitForSelector('[data-testid=inspector]');
      expect(await page.isVisible('[data-testid=operator-actions]')).toBe(false);
      expect(await page.isVisible('[data-testid=trainer-panel]')).toBe(false);
    } finally {
      await page.close();
    }
  }, 30_000);

  it('refuses a wrong token with one clear message (no toasts on top of it)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/#token=not-a-token`);
      await page.waitForSelector('text=refused', { timeout: 10_000 });
      expect(await page.isVisible('[data-testid=sign-in]')).toBe(true);
      // Whatever else was going to complain has had its chance.
      await page.waitForTimeout(1500);
      const messages = (await page.evaluate(`[...document.querySelectorAll('.notice span, [role=alert]')].map((e) => e.textContent)`)) as string[];
      expect(messages).toEqual(['That token was refused.']);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('at 1280×720 mid-incident: one-line header, inject panel above the fold, the failures so far listed with causes, explain with times, feeding links as providers, a favicon', async () => {
    // Its own engine, paused after the incident: nothing fails after the page opens, so whatever
    // the "Latest failures" panel shows was loaded from the server.
    const city = parseCity(generateCity({ assets: 2000, seed: 4 }), 'gen');
    const own = await startServerWith({ city, seed: 4, port: 0, quiet: true, speed: 60, adminToken: ADMIN, uiDir: UI_DIST });
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      await api(own.url, 'POST', '/api/inject', { type: 'fail', target: 'pw-dx-2', severity: 1 });
      await api(own.url, 'POST', '/api/scenarios/storm-crossing/run');
      const deadline = Date.now() + 15_000;
      while ((await api<{ total: number }>(own.url, 'GET', '/api/assets?status=failed&limit=1')).total < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await api(own.url, 'POST', '/api/clock', { action: 'pause' });
      await openTwin(page, ADMIN, own.url, city.assets.length + city.cohorts.length);

      const box = async (selector: string) => (await page.locator(selector).first().boundingBox())!;
      expect((await box('header.topbar')).height).toBeLessThanOrEqual(44);
      expect((await box('[data-testid=headline]')).height).toBeLessThanOrEqual(80);
      const inject = await box('[data-testid=inject]');
      expect(inject.y + inject.height).toBeLessThanOrEqual((await box('.timeline')).y);
      expect((await box('[data-testid=source]')).width).toBeLessThanOrEqual(200);
      expect((await box('[data-testid=scene]')).width).toBeGreaterThanOrEqual(700);

      // Loaded, not streamed: the clock is paused.
      await page.waitForSelector('[aria-label="Latest failures"] li', { timeout: 15_000 });
      expect(await page.textContent('[aria-label="Latest failures"]')).toMatch(/damage|dependency|disconnected/);

      await page.evaluate(`window.__twin.store.select(window.__twin.store.getState().index.indexOf.get('pw-dx-2'))`);
      await page.waitForSelector('[data-testid=inspector][data-actor="pw-dx-2"]');
      expect(await page.textContent('[data-testid=providers-heading]')).toMatch(/^Providers \([1-9]\d*\)$/);
      expect(await page.textContent('[data-testid=inspector]')).toContain('feeding link');
      await page.click('text=Explain this failure');
      await page.waitForSelector('[data-testid=explain-chain] li', { timeout: 5000 });
      expect(await page.textContent('[data-testid=explain-chain]')).toMatch(/\d\d:\d\d:\d\d pw-dx-2 damage \(input\)/);
      // Healthy assets stay their status colour: the stress heat map is off until asked for.
      expect(await page.evaluate(`window.__twin.store.getState().heatmap`)).toBe(false);
      await page.screenshot({ path: join(SHOTS, 'twin-1280x720-mid-incident.png') });

      const icon = await fetch(`${own.url}/favicon.ico`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get('content-type')).toContain('image/svg+xml');
    } finally {
      await page.close();
      await own.close();
    }
  }, 90_000);

  it("shows a water asset's EPANET readings in the inspector: junction pressure coloured by demand served, tank level, pump running then stopped when its power fails", async () => {
    const inp = 'engine/water/networks/Net1.inp';
    const document = epanetCityDocument(readFileSync(inp, 'utf8'), inp);
    const city = parseCity({ ...document, assets: [...document.assets, { id: 'plant', layer: 'power', kind: 'generator' }], dependencies: [{ from: 'plant', to: 'pump:9', kind: 'power' }] }, inp);
    const own = await startServerWith({ city, seed: 1, port: 0, quiet: true, speed: 30, adminToken: ADMIN, uiDir: UI_DIST });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN, own.url, city.assets.length + city.cohorts.length);
      const select = (id: string): Promise<unknown> => page.evaluate(`window.__twin.store.select(window.__twin.store.getState().index.indexOf.get(${JSON.stringify(id)}))`);
      // The water panel: pressure colours with a legend in metres, every junction above the required 20 m, the pump running.
      await page.waitForSelector('[data-testid=water-panel][data-junctions="9"][data-below="0"][data-pumps-running="1"]', { timeout: 10_000 });
      expect(await page.textContent('[data-testid=pressure-legend]')).toMatch(/0.*20.*80.*pressure, m/);
      await page.screenshot({ path: join(SHOTS, 'twin-water-pressure.png') });
      await select('32');
      const pressure = await page.waitForSelector('[data-testid=inspector][data-actor="32"] [data-testid=water-pressure]', { timeout: 10_000 });
      expect(await pressure.textContent()).toMatch(/\d+\.\d m/);
      expect(await pressure.getAttribute('data-share')).toBe('1');
      await select('2');
      expect(await (await page.waitForSelector('[data-testid=water-tank-level]', { timeout: 10_000 })).textContent()).toMatch(/\d+\.\d\d m/);
      // The tank's level history (GET /api/assets/2/readings) as a trend in the inspector.
      await page.waitForSelector('[data-testid=inspector] [data-testid=water-trend]:not([data-points="0"])', { timeout: 10_000 });
      await select('pump:9');
      await page.waitForSelector('[data-testid=water-pump-state][data-running=yes]', { timeout: 10_000 });
      await api(own.url, 'POST', '/api/inject', { type: 'fail', target: 'plant' });
      const stopped = await page.waitForSelector('[data-testid=water-pump-state][data-running=no]', { timeout: 15_000 });
      expect(await stopped.textContent()).toBe('stopped');
      await page.waitForSelector('[data-testid=water-panel][data-pumps-running="0"][data-pumps-stopped="1"]', { timeout: 10_000 });
      await page.screenshot({ path: join(SHOTS, 'twin-water-pump.png') });
    } finally {
      await page.close();
      await own.close();
    }
  }, 60_000);
  it('draws the electrical grid coloured by loading with flow arrows; the N-1 panel lists overloads worst first and a click selects and flies to the branch', async () => {
    // A seeded 100-bus grid, N-1 secure when intact; 40 MW more at bus 30 makes some outages overload.
    const mpc = syntheticGrid({ buses: 100, seed: 3 });
    const city = parseCity(matpowerToCity(mpc), mpc.name);
    const own = await startServerWith({ city, seed: 1, port: 0, quiet: true, speed: 1, adminToken: ADMIN, uiDir: UI_DIST });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await api(own.url, 'POST', '/api/inject', { type: 'telemetry', target: 'bus-30', value: mpc.buses[29]!.pdMw + 40 });
      await openTwin(page, ADMIN, own.url, city.assets.length);
      await page.waitForFunction(`window.__twin.grid?.branches() === ${mpc.branches.length}`, undefined, { timeout: 20_000 });
      // The most loaded branch is drawn in its loading colour (the colour buffer the GPU gets), unlike a lightly loaded one.
      const grid = await api<GridReply>(own.url, 'GET', '/api/grid');
      const rated = grid.branches.filter((b) => b.loadingPct !== null && b.inService);
      const hot = rated.reduce((a, b) => (b.loadingPct! > a.loadingPct! ? b : a));
      const cool = rated.reduce((a, b) => (b.loadingPct! < a.loadingPct! ? b : a));
      const expected = new Float32Array(3);
      loadingColour(hot.loadingPct, expected, 0);
      await page.waitForFunction(`(() => { const c = window.__twin.grid.colourOf(${JSON.stringify(hot.id)}); const e = ${JSON.stringify(Array.from(expected))}; return c !== null && c.every((v, k) => Math.abs(v - e[k]) < 0.04); })()`, undefined, { timeout: 10_000 });
      const hotColour = (await page.evaluate(`window.__twin.grid.colourOf(${JSON.stringify(hot.id)})`)) as number[];
      const coolColour = (await page.evaluate(`window.__twin.grid.colourOf(${JSON.stringify(cool.id)})`)) as number[];
      expect(Math.max(...hotColour.map((v, k) => Math.abs(v - coolColour[k]!)))).toBeGreaterThan(0.2);
      expect(await page.isVisible('[data-testid=grid-legend]')).toBe(true);
      // The N-1 panel lists rows; the first row's click selects the outaged asset and flies to it.
      const first = await page.waitForSelector('[data-testid=n1-row]', { timeout: 20_000 });
      const outage = (await first.getAttribute('data-outage'))!;
      await page.click(`[data-testid=n1-row][data-outage="${outage}"] button >> nth=0`);
      await page.waitForSelector(`[data-testid=inspector][data-actor="${outage}"]`, { timeout: 5000 });
      const branch = grid.branches.find((b) => b.id === outage);
      if (branch !== undefined) {
        expect(await (await page.waitForSelector('[data-testid=grid-loading]', { timeout: 5000 })).textContent()).toMatch(/\d+%/);
        const mid = (await page.evaluate(`(() => { const s = window.__twin.store.getState(); const ix = s.index; const p = ix.positions; const a = ix.indexOf.get(${JSON.stringify(branch.from)}); const b = ix.indexOf.get(${JSON.stringify(branch.to)}); return [(p[3 * a] + p[3 * b]) / 2, (p[3 * a + 2] + p[3 * b + 2]) / 2]; })()`)) as number[];
        await page.waitForFunction(`(() => { const t = window.__twin.grid.target(); const m = ${JSON.stringify(mid)}; return t !== null && Math.hypot(t[0] - m[0], t[1] - m[1]) < 1; })()`, undefined, { timeout: 5000 });
      }
      await page.screenshot({ path: join(SHOTS, 'twin-grid-n1.png') });
      // A branch taken out of service is drawn in the tripped colour.
      await api(own.url, 'POST', `/api/assets/${cool.id}/isolate`);
      await page.waitForFunction(`(() => { const c = window.__twin.grid.colourOf(${JSON.stringify(cool.id)}); const e = ${JSON.stringify(Array.from(TRIPPED_COLOUR))}; return c !== null && c.every((v, k) => Math.abs(v - e[k]) < 1e-6); })()`, undefined, { timeout: 10_000 });
    } finally {
      await page.close();
      await own.close();
    }
  }, 90_000);

  it('live state estimation: a spoofed sensor shows as a bad-data alert, the inspector shows the estimate with σ and a BLOCK trust colour, and a pending action is refused from the operator\'s queue', async () => {
    const caseFile = sharedDataFile('grids/case118.m');
    const city = parseCity(matpowerToCity(parseMatpower(readFileSync(caseFile, 'utf8'), 'case118')), 'case118');
    const own = await startServerWith({ city, seed: 1, port: 0, quiet: true, speed: 1, adminToken: ADMIN, uiDir: UI_DIST }, { rateLimitPerMinute: 1_000_000, env: { STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_EVERY_S: '2' } });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    try {
      await openTwin(page, ADMIN, own.url, city.assets.length + city.cohorts.length);
      const run = simulateField(networkFromCity(city), { seconds: 1, rateHz: 1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map([['br-20', 60]]), pmu: [], seed: 12, sensorSet: 'scada' });
      await sendField(run, { kind: 'http', url: own.url, token: ADMIN, concurrency: 8 }, { pace: 0 });
      const alert = await page.waitForSelector('[data-testid=telemetry-alerts] li[data-kind="bad data"]', { timeout: 20_000 });
      expect(await alert.textContent()).toMatch(/br-20.*normalised residual/);
      // The estimation stream event reached the page (the inspector refetches on it).
      expect(Number(await page.evaluate('window.__twin.store.getState().estimationRuns'))).toBeGreaterThan(0);
      await page.evaluate(`window.__twin.store.select(window.__twin.store.getState().index.indexOf.get('br-20'))`);
      const value = await page.waitForSelector('[data-testid=inspector][data-actor="br-20"] [data-testid=estimate-value]', { timeout: 10_000 });
      expect(await value.textContent()).toMatch(/^\d+\.\d\d ± \d+\.\d\d MW$/);
      expect(Number(await page.getAttribute('[data-testid=estimate-trust]', 'data-score'))).toBeLessThan(40);
      expect(await page.textContent('[data-testid=estimate-trust]')).toContain('BLOCK');
      // The operator's queue: a pending action, refused with one click (ledgered server-side as a rejection).
      const { pending } = await api<{ pending: { id: number } }>(own.url, 'POST', '/api/actions/request', { action: 'isolate', target: 'br-21', reason: 'e2e' });
      await page.waitForSelector(`[data-testid=held-${pending.id}]`, { timeout: 10_000 });
      await page.screenshot({ path: join(SHOTS, 'twin-estimation.png') });
      await page.click(`[data-testid=refuse-${pending.id}]`);
      await page.waitForSelector(`[data-testid=held-${pending.id}]`, { state: 'detached', timeout: 10_000 });
      expect((await api<{ pending: unknown[] }>(own.url, 'GET', '/api/actions/guarded')).pending).toEqual([]);
    } finally {
      await page.close();
      await own.close();
    }
  }, 90_000);
});
