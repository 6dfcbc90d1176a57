import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './cli.ts';

async function stratum(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const NET1 = 'engine/water/networks/Net1.inp';

describe('water CLI', () => {
  it('import epanet writes a city file that validates and keeps the .inp ids', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'stratum-water-')), 'net1.json');
    const run = await stratum(['import', 'epanet', '--in', NET1, '--out', out]);
    expect(run.code).toBe(0);
    expect(run.err).toContain('9 junctions, 1 reservoirs, 1 tanks, 12 pipes, 1 pumps, 0 valves');
    const document = JSON.parse(readFileSync(out, 'utf8')) as { assets: { id: string; kind: string }[] };
    expect(document.assets.find((a) => a.id === '2')!.kind).toBe('tank');
    expect((await stratum(['validate', '--city', out])).out).toContain('"assets":24');
  });

  it('commands taking --city accept an .inp (its water layer)', async () => {
    const run = await stratum(['validate', '--city', NET1]);
    expect(JSON.parse(run.out)).toEqual({ valid: true, assets: 24, links: 26, dependencies: 0, cohorts: 0 });
  });

  it('hydraulics --json prints SI pressures, tank levels and flows at the asked times', async () => {
    const run = await stratum(['hydraulics', '--inp', NET1, '--close', '111', '--at', '0,7200', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out) as { times: number[]; pressureM: Record<string, Record<string, number>>; tankLevelM: Record<string, Record<string, number>>; flowM3s: Record<string, Record<string, number>>; units: Record<string, string> };
    expect(result.times).toEqual([0, 7200]);
    expect(Object.keys(result.pressureM)).toEqual(['0', '7200']);
    expect(Object.keys(result.pressureM['0']!)).toHaveLength(9);
    expect(result.flowM3s['7200']!['111']).toBe(0);
    expect(result.units).toMatchObject({ pressure: 'm', flow: 'm3/s', fileFlowUnits: 'GPM' });
    expect(result.tankLevelM['0']!['2']).toBeCloseTo(120 * 0.3048, 6); // initial level, 120 ft
  });

  it('water-network writes a generated .inp that hydraulics runs; a bad --junctions is a flag error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stratum-water-')), 'gen.inp');
    expect((await stratum(['water-network', '--junctions', '64', '--seed', '2', '--out', file])).code).toBe(0);
    const run = await stratum(['hydraulics', '--inp', file, '--at', '43200', '--json']);
    expect(Object.keys((JSON.parse(run.out) as { pressureM: Record<string, object> }).pressureM['43200']!)).toHaveLength(64);
    const both = await stratum(['water-network']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('needs exactly one of --junctions N');
    const bad = await stratum(['water-network', '--junctions', '3']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--junctions must be a whole number from 4');
  });

  it('water-network --city gives a generated city an EPANET water layer that simulate runs with the same hash on both drivers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-water-'));
    const plain = join(dir, 'city.json');
    const withWater = join(dir, 'city-water.json');
    expect((await stratum(['generate', '--assets', '600', '--seed', '4', '--out', plain])).code).toBe(0);
    expect((await stratum(['water-network', '--city', plain, '--seed', '4', '--out', withWater])).code).toBe(0);
    const document = JSON.parse(readFileSync(withWater, 'utf8')) as { epanet: { inp: string } };
    expect(document.epanet.inp).toContain('[PUMPS]');
    const runs = await Promise.all(['nact', 'direct'].map((driver) => stratum(['simulate', '--city', withWater, '--scenario', 'earthquake', '--until', '14400', '--driver', driver, '--json'])));
    const [a, b] = runs.map((r) => JSON.parse(r.out) as { stateHash: string; events: number });
    expect(a!.events).toBeGreaterThan(0);
    expect(a!.stateHash).toBe(b!.stateHash);
  });

  it('generate gives a generated city an EPANET water layer by default; --water connectivity opts out, a bad model is a flag error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-water-'));
    const hydraulic = join(dir, 'epanet.json');
    const graph = join(dir, 'graph.json');
    expect((await stratum(['generate', '--assets', '300', '--seed', '2', '--out', hydraulic])).code).toBe(0);
    expect((await stratum(['generate', '--assets', '300', '--seed', '2', '--water', 'connectivity', '--out', graph])).code).toBe(0);
    const withNetwork = JSON.parse(readFileSync(hydraulic, 'utf8')) as { epanet?: { inp: string }; assets: { id: string; props?: Record<string, unknown> }[] };
    expect(withNetwork.epanet!.inp).toContain('[TANKS]');
    expect(withNetwork.assets.find((a) => a.id === 'wt-ps-0')!.props!['epanetType']).toBe('pump');
    expect((JSON.parse(readFileSync(graph, 'utf8')) as { epanet?: unknown }).epanet).toBeUndefined();
    const bad = await stratum(['generate', '--assets', '300', '--water', 'pipes']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--water/);
  });

  it('an earthquake damages an imported network: pipes and pumps have the fragility of mains and pumping stations', async () => {
    const run = await stratum(['simulate', '--city', 'engine/water/networks/Net3.inp', '--scenario', 'earthquake', '--until', '7200', '--json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.out) as { inputs: number }).inputs).toBeGreaterThan(0); // the quake's damage to the network's pipes and pumps
  });

  it('a bad flag, an unknown link or a bad file exits non-zero naming what was wrong', async () => {
    const unknown = await stratum(['hydraulics', '--inp', NET1, '--close', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--close: no link "nope"/);
    const at = await stratum(['hydraulics', '--inp', NET1, '--at', 'noon']);
    expect(at.code).toBe(2);
    expect(at.err).toMatch(/--at must be comma-separated whole seconds/);
    const bad = join(mkdtempSync(join(tmpdir(), 'stratum-water-')), 'bad.inp');
    writeFileSync(bad, '[RESERVOIRS]\n R 100\n[JUNCTIONS]\n J 10 x\n');
    const file = await stratum(['hydraulics', '--inp', bad]);
    expect(file.code).toBe(1);
    expect(file.err).toContain(`${bad}: line 4: base demand must be a number (got "x")`);
  });
});
