import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../gateways/cli/index.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'stratum-cli-'));

describe('stratum CLI', () => {
  it('generate writes the same file for the same seed', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect((await run('generate', '--assets', '500', '--seed', '4', '--out', a)).code).toBe(0);
    expect((await run('generate', '--assets', '500', '--seed', '4', '--out', b)).code).toBe(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
  });

  it('simulate --json prints one object with the stateHash, the same for both drivers', async () => {
    const city = join(dir, 'sim.json');
    await run('generate', '--assets', '600', '--seed', '2', '--out', city);
    const scenario = join(dir, 'storm.yaml');
    writeFileSync(scenario, 'name: test-storm\nevents:\n  - { at: 30, type: fail, target: pw-tx-0 }\n  - { at: 60, type: ambient, target: "*", celsius: 38 }\n');
    const live = await run('simulate', '--city', city, '--scenario', scenario, '--seed', '3', '--until', '7200', '--json');
    const batch = await run('simulate', '--city', city, '--scenario', scenario, '--seed', '3', '--until', '7200', '--json', '--driver', 'direct');
    expect(live.code).toBe(0);
    const a = JSON.parse(live.out) as { stateHash: string; events: number; failed: number; simulatedSeconds: number };
    const b = JSON.parse(batch.out) as { stateHash: string };
    expect(a.simulatedSeconds).toBe(7200);
    expect(a.events).toBeGreaterThan(0);
    expect(a.failed).toBeGreaterThan(0);
    expect(b.stateHash).toBe(a.stateHash);
  });

  it('simulate --cost-model prices the outage with the file and refuses a bad one by path', async () => {
    const city = join(dir, 'cost.json');
    await run('generate', '--assets', '400', '--seed', '5', '--out', city);
    const scenario = join(dir, 'cost-fail.yaml');
    // The feeder the first cohort relies on (a transmission substation alone cuts nobody off: the generated grid is N-1 secure).
    const feeder = (JSON.parse(readFileSync(city, 'utf8')) as { cohorts: Array<{ reliesOn: string[] }> }).cohorts[0]!.reliesOn[0]!;
    writeFileSync(scenario, `name: cost-fail\nevents:\n  - { at: 10, type: fail, target: ${feeder} }\n`);
    const base = await run('simulate', '--city', city, '--scenario', scenario, '--until', '7200', '--json', '--driver', 'direct');
    const model = join(dir, 'model.json');
    writeFileSync(model, JSON.stringify({ currency: 'GBP', personPerHour: { power: 7 }, assetPerHour: { 'transmission-substation': 0 } }));
    const priced = await run('simulate', '--city', city, '--scenario', scenario, '--until', '7200', '--json', '--driver', 'direct', '--cost-model', model);
    expect(priced.code).toBe(0);
    type Cost = { economicCost: { currency: string; total: number; people: number; assets: number }; peopleHoursWithout: { power: number }; stateHash: string };
    const a = JSON.parse(base.out) as Cost;
    const b = JSON.parse(priced.out) as Cost;
    expect(b.stateHash).toBe(a.stateHash);
    expect(b.economicCost.currency).toBe('GBP');
    expect(a.economicCost.people).toBeGreaterThan(0);
    // Power went from 3.5 to 7 per person-hour; water and telecom kept their defaults.
    expect(Math.abs(b.economicCost.people - (a.economicCost.people + 3.5 * a.peopleHoursWithout.power))).toBeLessThanOrEqual(2);
    const bad = join(dir, 'bad-model.json');
    writeFileSync(bad, JSON.stringify({ personPerHour: { power: -1, gas: 2 } }));
    const refused = await run('simulate', '--city', city, '--until', '60', '--cost-model', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('bad-model.json');
    expect(refused.err).toContain('personPerHour.power');
  });

  it('rejects bad flags and bad files with a non-zero exit and a message naming them', async () => {
    const badFlag = await run('generate', '--assets', 'many');
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toMatch(/--assets must be a whole number/);
    const missing = await run('simulate', '--city', join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.json: \$: cannot read file/);
    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ assets: [{ id: 'a', layer: 'x', capacity: -1 }] }));
    const bad = await run('validate', '--city', invalid);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/invalid\.json: \$\.assets\[0\]\.capacity/);
    const badScenario = join(dir, 'bad.yaml');
    writeFileSync(badScenario, 'name: bad\nevents:\n  - { at: 10, type: fail, target: no-such-asset }\n');
    const city = join(dir, 'sim.json');
    const half = await run('simulate', '--city', city, '--scenario', badScenario, '--json');
    expect(half.code).toBe(1);
    expect(half.err).toMatch(/\$\.events\[0\]\.target: unknown asset or cohort "no-such-asset"/);
  });

  it('cascade --json reports the model, runs, estimates and bottlenecks; --sweep gives rows; --report writes HTML', async () => {
    const graph = join(dir, 'graph.json');
    const ids = Array.from({ length: 30 }, (_, i) => `n${i}`);
    writeFileSync(graph, JSON.stringify({
      assets: ids.map((id) => ({ id, layer: 'A' })),
      links: ids.slice(1).map((id, i) => ({ from: ids[Math.floor(i / 2)]!, to: id })),
    }));
    const report = join(dir, 'report.html');
    const result = await run('cascade', '--city', graph, '--model', 'motter-lai', '--alpha', '0.1', '--attack', 'highest-degree', '--json', '--report', report);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.out) as { model: string; runs: number; giantComponentFraction: { mean: number; ci95: number[] }; failedFraction: { mean: number }; perRun: unknown[]; bottlenecks: unknown };
    expect(json.model).toBe('motter-lai');
    expect(json.runs).toBe(1);
    expect(json.giantComponentFraction.mean).toBeLessThan(1);
    expect(json.perRun).toHaveLength(1);
    expect(readFileSync(report, 'utf8')).toMatch(/<canvas id="sizes"/);
    const sweep = await run('cascade', '--city', graph, '--model', 'motter-lai', '--attack', 'highest-load', '--sweep', 'alpha=0:0.4:0.2', '--json');
    const rows = (JSON.parse(sweep.out) as { rows: Array<{ alpha: number }> }).rows;
    expect(rows.map((r) => r.alpha)).toEqual([0, 0.2, 0.4]);
    // The text form labels the closing summary as the last sweep value's, and its intervals stay in [0, 1].
    const text = await run('cascade', '--city', graph, '--model', 'motter-lai', '--attack', 'highest-load', '--sweep', 'alpha=0:0.4:0.2');
    expect(text.out).toMatch(/^alpha=0: giantComponentFraction /m);
    expect(text.out).toMatch(/^summary of the last sweep value \(alpha=0\.4\):\n {2}giantComponentFraction /m);
    for (const m of text.out.matchAll(/CI (-?[\d.]+) – (-?[\d.]+)/g)) {
      expect(Number(m[1])).toBeGreaterThanOrEqual(0);
      expect(Number(m[2])).toBeLessThanOrEqual(1);
    }
    const noTrigger = await run('cascade', '--city', graph, '--model', 'stochastic');
    expect(noTrigger.code).toBe(2);
    expect(noTrigger.err).toMatch(/--trigger/);
  });

  it('explain accepts a library scenario by name, as simulate does', async () => {
    const city = join(dir, 'explain-library.json');
    await run('generate', '--assets', '600', '--seed', '2', '--out', city);
    const result = await run('explain', '--city', city, '--scenario', 'storm-crossing', '--asset', 'pw-fd-3', '--until', '3600', '--json');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.out) as { scenario: string }).scenario).toBe('storm-crossing');
  });

  it('explain prints the chain from the input to the asset', async () => {
    const city = join(dir, 'chain.json');
    writeFileSync(city, JSON.stringify({
      assets: [{ id: 'sub', layer: 'power' }, { id: 'pump', layer: 'water' }, { id: 'hospital', layer: 'emergency' }],
      dependencies: [{ from: 'sub', to: 'pump', latency: 5 }, { from: 'pump', to: 'hospital', latency: 60 }],
    }));
    const scenario = join(dir, 'chain.json.scenario.json');
    writeFileSync(scenario, JSON.stringify({ name: 'sub-fire', events: [{ at: 10, type: 'fail', target: 'sub', hazard: 'fire' }] }));
    const result = await run('explain', '--city', city, '--scenario', scenario, '--asset', 'hospital', '--json');
    expect(result.code).toBe(0);
    const chain = (JSON.parse(result.out) as { chain: Array<{ id: string; time: number; cause: string; via: string }> }).chain;
    expect(chain).toEqual([
      { id: 'sub', time: 10, cause: 'damage', via: 'input' },
      { id: 'pump', time: 15, cause: 'dependency', via: 'sub' },
      { id: 'hospital', time: 75, cause: 'dependency', via: 'pump' },
    ]);
  });
});
