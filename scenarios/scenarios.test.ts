import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBehaviours, LIVE_OPTIONS, type AssetState } from '../actors/index.ts';
import { CityIndex, Engine, generateCity, parseCity, ValidationError } from '../engine/index.ts';
import {
  DEFAULT_FRAGILITY,
  drawDamage,
  expandScenario,
  listLibrary,
  loadLibraryScenario,
  lognormalCdf,
  parseScenario,
  parseScenarioText,
  resolveScenario,
  SCHEMA_FILE,
  scenarioJsonSchemaText,
  submitScenario,
  campbellPga,
} from './index.ts';
import type { HazardKind } from './fragility.ts';

const city = parseCity(generateCity({ assets: 2000, seed: 3 }), 'gen-2000');
const index = new CityIndex(city);

describe('fragility curves', () => {
  it('are monotone non-decreasing in intensity for every hazard and kind', () => {
    for (const hazard of Object.keys(DEFAULT_FRAGILITY) as HazardKind[]) {
      for (const [kind, curve] of Object.entries(DEFAULT_FRAGILITY[hazard])) {
        let last = 0;
        for (let i = 1; i <= 400; i++) {
          const p = lognormalCdf((curve.median * i) / 100, curve);
          expect(p, `${hazard}/${kind} at ${i}%`).toBeGreaterThanOrEqual(last);
          last = p;
        }
        expect(lognormalCdf(curve.median, curve)).toBeCloseTo(0.5, 6);
      }
    }
  });
  it('draw nested damage states: for one draw, more intensity never means less damage', () => {
    const curve = { median: 1, beta: 0.4 };
    for (let k = 0; k < 50; k++) {
      const u = (k + 0.5) / 50;
      let last = 0;
      for (let i = 1; i <= 60; i++) {
        const s = drawDamage(i / 20, curve, u).severity;
        expect(s).toBeGreaterThanOrEqual(last);
        last = s;
      }
    }
  });
  it('attenuates shaking with distance (Campbell 1981) and grows with magnitude', () => {
    expect(campbellPga(7, 10)).toBeGreaterThan(campbellPga(7, 30));
    expect(campbellPga(7, 10)).toBeGreaterThan(campbellPga(6, 10));
    expect(campbellPga(7, 10)).toBeCloseTo(0.294, 2);
  });
});

describe('scenario format', () => {
  it('publishes a JSON Schema that matches the zod schema', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(scenarioJsonSchemaText());
  });
  it('names the file, the path and the reason of every problem', () => {
    const text = 'name: bad\nevents:\n  - { at: -1, type: fail, target: x }\n  - { at: 5, type: flood, depth: 1, waterLevel: 2 }\n  - { at: 5, type: storm, track: [{x: 0, y: 0, hour: 0}], maxWind: 40, radius: 100 }\n  - { at: 5, type: volcano }\n';
    let error: unknown;
    try {
      parseScenarioText(text, 'drills/bad.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.source).toBe('drills/bad.yaml');
    const paths = v.problems.map((p) => p.path);
    expect(paths).toContain('$.events[0].at');
    expect(paths).toContain('$.events[1].depth');
    expect(paths).toContain('$.events[2].track');
    expect(paths.some((p) => p.startsWith('$.events[3]'))).toBe(true);
    expect(v.message).toContain('drills/bad.yaml: $.events[0].at: must be ≥ 0 seconds');
  });
  it('never half-runs: an unknown target or an empty selector leaves the journal empty', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    const bad = parseScenario({ name: 'half', events: [{ at: 0, type: 'fail', target: 'pw-tx-0' }, { at: 10, type: 'fail', target: 'no-such-asset' }] }, 'test');
    expect(() => submitScenario(engine, bad)).toThrow(/no-such-asset/);
    const empty = parseScenario({ name: 'empty', events: [{ at: 0, type: 'fail', target: 'pw-tx-0' }, { at: 0, type: 'fail', target: { kind: 'volcano' } }] }, 'test');
    expect(() => submitScenario(engine, empty)).toThrow(/matches no asset/);
    expect(engine.journal.length).toBe(0);
    await engine.stop();
  });
});

describe('hazard expansion', () => {
  it('is deterministic for a city and a seed, and the seed matters', () => {
    const storm = loadLibraryScenario('storm-crossing');
    const a = expandScenario(storm, index, 7);
    const b = expandScenario(storm, index, 7);
    const c = expandScenario(storm, index, 8);
    expect(a.length).toBeGreaterThan(10);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    for (let i = 1; i < a.length; i++) expect(a[i]!.at).toBeGreaterThanOrEqual(a[i - 1]!.at);
  });
  it('damages more with a stronger hazard (same draws)', () => {
    const quake = (magnitude: number) => parseScenario({ name: 'q', events: [{ at: 0, type: 'earthquake', epicentre: { x: '50%', y: '50%' }, magnitude }] }, 'test');
    const weak = expandScenario(quake(5.5), index, 1);
    const strong = expandScenario(quake(7), index, 1);
    expect(strong.length).toBeGreaterThan(weak.length);
    const strongTargets = new Set(strong.map((e) => e.command.target));
    for (const e of weak) expect(strongTargets.has(e.command.target)).toBe(true);
  });
  it('floods only inside the polygon, by water level over terrain', () => {
    const s = parseScenario({ name: 'f', events: [{ at: 0, type: 'flood', area: [{ x: '0%', y: '0%' }, { x: '30%', y: '0%' }, { x: '30%', y: '100%' }, { x: '0%', y: '100%' }], waterLevel: 3 }] }, 'test');
    const events = expandScenario(s, index, 1);
    expect(events.length).toBeGreaterThan(0);
    const maxX = Math.max(...city.assets.map((a) => a.position!.x));
    for (const e of events) {
      const a = city.assets[index.indexOf(e.command.target)!]!;
      expect(a.position!.x).toBeLessThanOrEqual(0.3 * maxX + 1e-6);
      expect(e.command).toMatchObject({ type: 'fail', hazard: 'flood' });
    }
  });
  it('spreads a SCADA compromise over telecom links to the assets it controls', () => {
    const s = parseScenario({ name: 's', events: [{ at: 0, type: 'scada-compromise', spread: 1, hops: 1, misoperate: 1 }] }, 'test');
    const events = expandScenario(s, index, 1);
    const targets = events.map((e) => e.command.target);
    expect(targets[0]).toBe('tc-scada-0');
    expect(targets.some((t) => t.startsWith('tc-agg-'))).toBe(true);
    expect(targets.some((t) => t.startsWith('pw-tx-'))).toBe(true);
  });

  it('ends a ransomware attack by clearing the cyber condition only: a hospital also hit by a flood stays damaged', async () => {
    const hospital = city.assets.find((a) => a.kind === 'hospital')!.id;
    const s = parseScenario({
      name: 'ransomware-then-flood',
      events: [
        { at: 0, type: 'ransomware', target: hospital, severity: 0.5, durationHours: 2 },
        { at: 600, type: 'fail', target: hospital, severity: 0.6, hazard: 'flood' },
      ],
    }, 'test');
    expect(expandScenario(s, index, 1).map((e) => e.command.type)).toEqual(['cyber', 'fail', 'secure']);
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i, { ...LIVE_OPTIONS, selfRepair: false }), seed: 1, driver: 'direct' });
    try {
      submitScenario(engine, s);
      const a = index.indexOf(hospital)!;
      await engine.runUntil(3_600_000);
      const during = engine.kernel.states[a] as AssetState;
      expect(during.cyber).toBe(0.5);
      expect(during.health).toBeCloseTo(0.4, 6);
      await engine.runUntil(3 * 3_600_000);
      const after = engine.kernel.states[a] as AssetState;
      expect(after.cyber).toBe(0);
      expect(after.health).toBeCloseTo(0.4, 6);
    } finally {
      await engine.stop();
    }
  });
});

describe('library', () => {
  it('has at least eight documented scenarios, each runnable by name on generated cities of different sizes', async () => {
    const entries = listLibrary();
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const name of ['summer-heatwave', 'river-flood', 'storm-crossing', 'earthquake', 'scada-compromise', 'storm-and-cyber', 'hospital-ransomware', 'substation-fire']) {
      expect(entries.map((e) => e.name)).toContain(name);
    }
    const other = new CityIndex(parseCity(generateCity({ assets: 3000, seed: 11 }), 'gen-3000'));
    for (const e of entries) {
      expect(e.description.length).toBeGreaterThan(20);
      const s = resolveScenario(e.name);
      expect(expandScenario(s, index, 1).length, e.name).toBeGreaterThan(0);
      expect(expandScenario(s, other, 1).length, e.name).toBeGreaterThan(0);
    }
    expect(() => resolveScenario('no-such-scenario')).toThrow(/library: .*river-flood/);
  });

  it('hospital-ransomware hits two different hospitals and ends each attack at its own time', () => {
    const expanded = expandScenario(loadLibraryScenario('hospital-ransomware'), index, 1);
    const attacks = expanded.filter((x) => x.command.type === 'cyber');
    expect(attacks).toHaveLength(2);
    const [first, second] = attacks.map((x) => (x.command as { target: string }).target);
    expect(second).not.toBe(first);
    const endOf = (id: string | undefined) => expanded.filter((x) => x.command.type === 'secure' && (x.command as { target: string }).target === id).map((x) => x.at);
    expect(endOf(first)).toEqual([300 + 36 * 3600]);
    expect(endOf(second)).toEqual([21_900 + 24 * 3600]);
  });

  it('hospital-ransomware in a city with one hospital: the second attack (ifNone: skip) is left out, a plain selector is still refused', () => {
    const hospitals = city.assets.filter((a) => a.kind === 'hospital').map((a) => a.id);
    const one = parseCity(
      {
        assets: city.assets.filter((a) => a.kind !== 'hospital' || a.id === hospitals[0]).map((a) => ({ id: a.id, layer: a.layer, kind: a.kind, ...(a.position === null ? {} : { position: a.position }) })),
        links: [],
        dependencies: [],
      },
      'one-hospital',
    );
    const expanded = expandScenario(loadLibraryScenario('hospital-ransomware'), new CityIndex(one), 1);
    expect(expanded.filter((x) => x.command.type === 'cyber').map((x) => (x.command as { target: string }).target)).toEqual([hospitals[0]]);
    const strict = parseScenario({ name: 'strict', events: [{ at: 0, type: 'ransomware', target: { kind: 'hospital', pick: 'first', skip: 1 }, severity: 0.5 }] }, 'strict');
    expect(() => expandScenario(strict, new CityIndex(one), 1)).toThrow(/matches no asset/);
  });
});

describe('timed attacks', () => {
  it('overlapping attacks on one asset end when the last one ends, not when the first scheduled end comes', () => {
    const hospital = city.assets.find((a) => a.kind === 'hospital')!.id;
    const scenario = parseScenario({
      name: 'overlap',
      events: [
        { at: 0, type: 'ransomware', target: hospital, severity: 0.5, durationHours: 10 },
        { at: 3600, type: 'ransomware', target: hospital, severity: 0.4, durationHours: 2 },
        { at: 20 * 3600, type: 'ransomware', target: hospital, severity: 0.4, durationHours: 1 },
      ],
    }, 'inline');
    const ends = expandScenario(scenario, index, 1).filter((x) => x.command.type === 'secure').map((x) => x.at);
    expect(ends).toEqual([10 * 3600, 21 * 3600]);
  });

  it('a selector can skip candidates: nearest with skip 1 is the second nearest', () => {
    const pick = (skip: number) => expandScenario(parseScenario({ name: 's', events: [{ at: 0, type: 'fail', target: { kind: 'hospital', pick: 'nearest', skip } }] }, 'inline'), index, 1)[0]!.command;
    expect((pick(1) as { target: string }).target).not.toBe((pick(0) as { target: string }).target);
  });
});
