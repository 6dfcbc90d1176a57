/**
 * Bench group `places`: OpenStreetMap import throughput against pyosmium on the same file, and the
 * frame time of the imported city in headless Chromium (SwiftShader: no GPU, an upper bound).
 *
 * - `osmReadElementsPerSec`: our reader alone (osm-pbf-parser-node blocks, our framing), elements/s;
 * - `osmImportElementsPerSec`: read + import (streets split, footprints, synthesis, cohorts), elements/s;
 * - `osmPeerElementsPerSec`: pyosmium (libosmium, C++) reading the same file with node locations and
 *   multipolygon assembly (bench/peers/osmium_import.py), elements/s; skipped with a note when absent;
 * - `osmImportRatioVsPeer` = import ÷ peer (above 1: we import faster than the peer reads);
 * - `placesFrameTimeMsP50`/`P95`: requestAnimationFrame intervals with the imported centre of Helsinki
 *   served by a real engine (continuous rendering, `?frameloop=always`), 1280×720; beside it
 *   `placesSyntheticFrameTimeMsP50`, a generated city with as many assets, to show what the place adds.
 * Median of `repeats` runs each (after one warm-up for ours: the JIT).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCity, importOsm, loadCityFile, parseCity, readOsmFile, type CityModel } from '../engine/index.ts';
import { BUNDLED_PLACE } from '../gateways/cli/index.ts';

const PEER = fileURLToPath(new URL('./peers/osmium_import.py', import.meta.url));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runPlacesBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const repeats = options.quick ? 3 : 7;
  const out: Record<string, number | string> = { placesFile: 'engine/places/data/helsinki-centre.osm.pbf' };

  // ---- ours ----
  const readSeconds: number[] = [];
  const importSeconds: number[] = [];
  let elements = 0;
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const data = readOsmFile(BUNDLED_PLACE);
    const t1 = performance.now();
    importOsm(data, { source: 'helsinki-centre.osm.pbf' });
    const t2 = performance.now();
    elements = data.nodeIds.length + data.ways.length + data.relations.length;
    if (r === 0) continue;
    readSeconds.push((t1 - t0) / 1000);
    importSeconds.push((t2 - t0) / 1000);
  }
  out['osmElements'] = elements;
  out['osmReadElementsPerSec'] = Math.round(elements / median(readSeconds));
  out['osmImportElementsPerSec'] = Math.round(elements / median(importSeconds));
  out['osmImportMsP50'] = Math.round(median(importSeconds) * 1000);

  // ---- peer: pyosmium, live ----
  try {
    const line = execFileSync('python3', [PEER, BUNDLED_PLACE, String(repeats)], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const peer = JSON.parse(line.trim().split('\n').pop()!) as { elements: number; seconds: number[]; reader: string };
    if (peer.elements !== elements) throw new Error(`peer read ${peer.elements} elements, we read ${elements}`);
    out['osmPeer'] = peer.reader;
    out['osmPeerElementsPerSec'] = Math.round(peer.elements / median(peer.seconds));
    out['osmImportRatioVsPeer'] = Math.round(((out['osmImportElementsPerSec'] as number) / (out['osmPeerElementsPerSec'] as number)) * 100) / 100;
    out['osmReadRatioVsPeer'] = Math.round(((out['osmReadElementsPerSec'] as number) / (out['osmPeerElementsPerSec'] as number)) * 100) / 100;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    options.log(`  pyosmium peer skipped (pip install osmium): ${message}`);
    out['osmPeerSkipped'] = `pyosmium not available: ${message}`;
  }

  // ---- frame time of the imported city, and of a generated city of the same size beside it ----
  const place = loadCityFile(BUNDLED_PLACE);
  const seconds = options.quick ? 3 : 6;
  const real = await frameTime(place, seconds);
  const synthetic = await frameTime(parseCity(generateCity({ assets: place.assets.length, seed: 1 }), 'generated'), seconds);
  out['placesActors'] = real.actors;
  out['placesBuildings'] = place.geography?.buildings.length ?? 0;
  out['placesFrameTimeMsP50'] = real.p50;
  out['placesFrameTimeMsP95'] = real.p95;
  out['placesDrawCalls'] = real.drawCalls;
  out['placesSyntheticFrameTimeMsP50'] = synthetic.p50;
  out['placesSyntheticDrawCalls'] = synthetic.drawCalls;
  return out;
}

async function frameTime(city: CityModel, seconds: number): Promise<{ actors: number; p50: number; p95: number; drawCalls: number }> {
  const { startServerWith } = await import('../gateways/server.ts');
  const { ensureUiBuilt } = await import('../twin-ui/build-ui.ts');
  const { launchChromium } = await import('../twin-ui/browser.ts');
  const { frameIntervals } = await import('../twin-ui/bench/ui-bench.ts');
  await ensureUiBuilt();
  const admin = 'places-bench-admin-token-0123456789';
  const server = await startServerWith({ city, seed: 1, port: 0, quiet: true, speed: 60, adminToken: admin, uiDir: join(fileURLToPath(new URL('../twin-ui/', import.meta.url)), 'dist') });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}/?frameloop=always#token=${admin}`);
    const actors = city.assets.length + city.cohorts.length;
    await page.waitForFunction(`Number(document.querySelector('[data-testid=scene]')?.getAttribute('data-instances')) === ${actors}`, undefined, { timeout: 60_000 });
    await page.waitForTimeout(1500);
    const intervals = await frameIntervals(page, seconds);
    const drawCalls = Number(await page.getAttribute('[data-testid=scene]', 'data-draw-calls'));
    const sorted = intervals.slice(1).sort((a, b) => a - b);
    const q = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10;
    return { actors, p50: q(0.5), p95: q(0.95), drawCalls };
  } finally {
    await browser.close();
    await server.close();
  }
}
