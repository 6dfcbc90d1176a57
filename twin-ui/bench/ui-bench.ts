/**
 * UI frame time for a large city in headless Chromium (software WebGL: SwiftShader, no GPU — the
 * numbers are an upper bound for a real control-room workstation).
 *
 * Serves twin-ui/dist from a throwaway static server, opens `#bench=N` (synthetic city and a 10 Hz
 * delta stream touching 2% of actors per frame, no engine), waits for the scene, then records
 * requestAnimationFrame intervals.
 *
 * @example
 * const r = await runUiBench({ assets: 100_000 }); // { uiFrameTimeMsP50: …, uiFrameTimeMsP95: … }
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DIST_DIR, ensureUiBuilt } from '../build-ui.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser.ts';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

export async function serveDist(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^([/\\])+/, '');
    const file = join(DIST_DIR, path === '' ? 'index.html' : path);
    if (!file.startsWith(DIST_DIR)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

/** requestAnimationFrame intervals (ms) in the page over `seconds`. */
export async function frameIntervals(page: Page, seconds: number): Promise<number[]> {
  // Page scripts are strings: tsx/esbuild would wrap named functions in `__name(…)`, unknown in the page.
  return (await page.evaluate(`new Promise((resolve) => {
      const out = [];
      let last = performance.now();
      const end = last + ${seconds * 1000};
      const step = (now) => { out.push(now - last); last = now; if (now < end) requestAnimationFrame(step); else resolve(out); };
      requestAnimationFrame(step);
    })`)) as number[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runUiBench(options: { assets: number; seconds?: number; width?: number; height?: number }): Promise<Record<string, number | string>> {
  await ensureUiBuilt();
  const site = await serveDist();
  const browser = await launchChromium();
  const out: Record<string, number | string> = { uiAssets: options.assets };
  try {
    // Two passes: the default overview (auto level of detail: points beyond half the city's span)
    // and forced instanced meshes (what a zoomed-in view draws), so both costs are visible.
    for (const [prefix, lod] of [['ui', 'auto'], ['uiMeshes', 'meshes']] as const) {
      const r = await measure(browser, `${site.url}index.html?lod=${lod}#bench=${options.assets}`, options);
      for (const [k, v] of Object.entries(r)) if (prefix === 'ui' || k.startsWith('FrameTime') || k === 'Lod') out[`${prefix}${k}`] = v;
    }
    return out;
  } finally {
    await browser.close();
    await site.close();
  }
}

async function measure(browser: Browser, url: string, options: { assets: number; seconds?: number; width?: number; height?: number }): Promise<Record<string, number | string>> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 } });
  try {
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-instances')) === ${options.assets}`, undefined, { timeout: 120_000 });
    const loadMs = Date.now() - t0;
    await page.waitForTimeout(1500);
    const seconds = options.seconds ?? 5;
    // Page scripts are strings: tsx/esbuild would wrap named functions in `__name(…)`, unknown in the page.
    const intervals = await frameIntervals(page, seconds);
    const extra = (await page.evaluate(`(() => {
      const b = window.__bench;
      const el = document.querySelector('[data-testid=scene]');
      const g = document.createElement('canvas').getContext('webgl2');
      const d = g && g.getExtension('WEBGL_debug_renderer_info');
      return { apply: b.applyTimes.slice(), changed: b.changedPerFrame, drawCalls: Number(el && el.getAttribute('data-draw-calls')), lod: String(el && el.getAttribute('data-lod')), renderer: g && d ? String(g.getParameter(d.UNMASKED_RENDERER_WEBGL)) : 'unknown' };
    })()`)) as { apply: number[]; changed: number; drawCalls: number; lod: string; renderer: string };
    const s = intervals.slice(1).sort((a, b) => a - b);
    const a = extra.apply.sort((x, y) => x - y);
    return {
      Frames: s.length,
      FrameTimeMsP50: Math.round(quantile(s, 0.5) * 10) / 10,
      FrameTimeMsP95: Math.round(quantile(s, 0.95) * 10) / 10,
      Fps: Math.round((s.length / seconds) * 10) / 10,
      Lod: extra.lod,
      DeltaActorsPerFrame: extra.changed,
      ApplyFrameMsP50: Math.round(quantile(a, 0.5) * 100) / 100,
      DrawCalls: extra.drawCalls,
      LoadMs: loadMs,
      Renderer: extra.renderer.includes('SwiftShader') ? 'SwiftShader (software, no GPU)' : extra.renderer,
    };
  } finally {
    await page.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 100_000);
  runUiBench({ assets: n }).then((r) => console.log(JSON.stringify(r, null, 2)), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
