import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listLibrary } from '../../scenarios/index.ts';
import { main } from './cli.ts';
import { BUNDLED_PLACE } from './places-cli.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'stratum-places-'));
const city = join(dir, 'helsinki.json');

beforeAll(async () => {
  const imported = await run('import', 'osm', '--in', BUNDLED_PLACE, '--out', city);
  expect(imported.code, imported.err).toBe(0);
});

describe('stratum import osm', () => {
  it('writes a city that validates, with the ODbL attribution and a JSON report', async () => {
    const report = JSON.parse((await run('import', 'osm', '--in', BUNDLED_PLACE, '--out', join(dir, 'again.json'))).out) as { buildings: number; districts: number };
    expect(report.buildings).toBeGreaterThan(400);
    expect(report.districts).toBeGreaterThanOrEqual(2);
    const validated = await run('validate', '--city', city);
    expect(validated.code).toBe(0);
    expect(JSON.parse(validated.out)).toMatchObject({ valid: true });
    const doc = JSON.parse(readFileSync(city, 'utf8')) as { geography: { attribution: string; licence: string } };
    expect(doc.geography.attribution).toBe('© OpenStreetMap contributors');
    expect(doc.geography.licence).toMatch(/ODbL/);
  });

  it('refuses bad flags with a one-line message naming the flag, and writes nothing', async () => {
    const out = join(dir, 'never.json');
    const wrongFile = await run('import', 'osm', '--in', 'city.json', '--out', out);
    expect(wrongFile.code).not.toBe(0);
    expect(wrongFile.err).toMatch(/--in must name an \.osm\.pbf, \.pbf or \.osm file/);
    const wrongLayer = await run('import', 'osm', '--in', BUNDLED_PLACE, '--out', out, '--synthesize', 'power,gas');
    expect(wrongLayer.code).not.toBe(0);
    expect(wrongLayer.err).toMatch(/--synthesize takes a comma-separated list/);
    const missing = await run('import', 'osm', '--in', join(dir, 'missing.osm.pbf'), '--out', out);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/missing\.osm\.pbf.*cannot read file/);
    expect(existsSync(out)).toBe(false);
  });

  it('runs every scenario of the library on the imported city', async () => {
    const baseline = JSON.parse((await run('simulate', '--city', city, '--driver', 'direct', '--until', '3600', '--json')).out) as { failed: number; degraded: number };
    // Every layer is connected to its sources at the start: nothing is down before a hazard.
    expect(baseline).toMatchObject({ failed: 0, degraded: 0 });
    for (const entry of listLibrary()) {
      const r = await run('simulate', '--city', city, '--scenario', entry.name, '--driver', 'direct', '--json');
      expect(r.code, `${entry.name}: ${r.err}`).toBe(0);
      const summary = JSON.parse(r.out) as { inputs: number; events: number };
      expect(summary.inputs, entry.name).toBeGreaterThan(0);
      expect(summary.events, entry.name).toBeGreaterThan(0);
    }
  });
});
