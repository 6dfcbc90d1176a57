import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { epanetCityDocument, parseCity, type CityModel, type Engine } from '../engine/index.ts';
import { engineFor, statusOf } from '../test/fixtures.ts';

const HOUR = 3_600_000;
const NET1 = 'engine/water/networks/Net1.inp';

/** Net1 as the water layer, its pump fed by one power plant, and a cohort at junction 32. */
function net1City(settings: Record<string, number> = {}): CityModel {
  const document = epanetCityDocument(readFileSync(NET1, 'utf8'), NET1);
  return parseCity(
    {
      ...document,
      epanet: { ...document.epanet, ...settings },
      assets: [...document.assets, { id: 'plant', layer: 'power', kind: 'generator' }],
      dependencies: [{ from: 'plant', to: 'pump:9', kind: 'power' }],
      cohorts: [{ id: 'people-32', district: 'default', population: 1000, reliesOn: ['32'] }],
    },
    NET1,
  );
}

interface Tank {
  id: string;
  levelM: number;
  inflowM3s: number;
  hoursToEmpty: number | null;
  atRisk: boolean;
}
function solverOf(engine: Engine): { tanks: Tank[]; closedLinks: string[]; junctionsShort: number; solves: number } {
  const solver = engine.index.actorCount - 1; // the only layer with links is water
  return engine.describe(solver) as never;
}
const level = (engine: Engine, id: string): number => engine.kernel.view(engine.index.indexOf(id)!).level;

describe('hydraulic water solver (EPANET in the live twin)', () => {
  it('serves every junction fully while the pump runs and the tank fills', async () => {
    const engine = await engineFor(net1City());
    await engine.runUntil(2 * HOUR);
    expect(level(engine, '32')).toBe(1);
    const tank = solverOf(engine).tanks[0]!;
    expect(tank.inflowM3s).toBeGreaterThan(0);
    expect(tank.levelM).toBeGreaterThan(120 * 0.3048); // above its initial 120 ft
    expect(tank.atRisk).toBe(false);
    await engine.stop();
  });

  it('a pump whose power is lost stops: the tank drains over virtual time, is forecast at risk, then junctions and their cohort lose water', async () => {
    const engine = await engineFor(net1City());
    engine.submit({ type: 'fail', target: 'plant' }, { at: 3600 });
    await engine.runUntil(HOUR + 1000);
    expect(statusOf(engine, 'pump:9')).toBe('failed');
    const draining = solverOf(engine);
    expect(draining.closedLinks).toEqual(['pump:9']);
    expect(draining.tanks[0]!.inflowM3s).toBeLessThan(0);
    expect(draining.tanks[0]!.atRisk).toBe(true); // the 6 h horizon
    const forecast = draining.tanks[0]!.hoursToEmpty!;
    expect(forecast).toBeGreaterThan(1);
    expect(forecast).toBeLessThan(6);
    expect(level(engine, '32')).toBe(1); // the tank still holds the pressure up

    await engine.runUntil(HOUR + 3 * HOUR);
    const later = solverOf(engine).tanks[0]!;
    expect(later.levelM).toBeLessThan(draining.tanks[0]!.levelM - 1);

    await engine.runUntil(12 * HOUR);
    expect(solverOf(engine).tanks[0]!.levelM).toBeCloseTo(100 * 0.3048, 6); // at its minimum level
    expect(level(engine, '32')).toBeLessThan(0.5);
    expect(engine.kernel.view(engine.index.indexOf('people-32')!).level).toBeLessThan(1);
    await engine.stop();
  });

  it('takes its alert horizon and PDA pressures from the city file, and refuses bad ones with their JSON path', async () => {
    const engine = await engineFor(net1City({ tankAlertHorizonSeconds: 1800 }));
    engine.submit({ type: 'fail', target: 'plant' }, { at: 3600 });
    await engine.runUntil(HOUR + 1000);
    const tank = solverOf(engine).tanks[0]!;
    expect(tank.hoursToEmpty!).toBeGreaterThan(0.5);
    expect(tank.atRisk).toBe(false); // more than half an hour left
    await engine.stop();
    // Requiring 90 m of pressure leaves Net1's junctions (about 80 m) short of water from the start.
    const demanding = await engineFor(net1City({ requiredPressureM: 90 }));
    await demanding.runUntil(1000);
    expect(level(demanding, '32')).toBeLessThan(1);
    expect(level(demanding, '32')).toBeGreaterThan(0.5);
    await demanding.stop();
    expect(() => net1City({ minPressureM: 30, requiredPressureM: 10 })).toThrow(/\$\.epanet\.requiredPressureM: requiredPressureM must be above minPressureM/);
  });

  it("shows EPANET's readings in the assets' inspector details: junction pressure, tank level, pump flow (0 once stopped)", async () => {
    const engine = await engineFor(net1City());
    await engine.runUntil(HOUR);
    const details = (id: string): Record<string, unknown> => engine.describe(engine.index.indexOf(id)!);
    expect(details('32')['pressureM']).toBeGreaterThan(70);
    expect(details('2')['tankLevelM']).toBeGreaterThan(36);
    expect(details('pump:9')['flowM3s']).toBeGreaterThan(0.05);
    engine.submit({ type: 'fail', target: 'plant' }, { at: 2 * 3600 });
    await engine.runUntil(2 * HOUR + 1000);
    const full = details('2')['tankLevelM'] as number;
    await engine.runUntil(3 * HOUR);
    expect(details('pump:9')['flowM3s']).toBe(0);
    expect(details('2')['tankLevelM']).toBeLessThan(full - 0.5); // draining without its pump
    await engine.stop();
  });

  it('the chain against WNTR: a pump losing power at 0:00 lowers pressures, and junction 32 and its cohort lose water by the PDA share WNTR finds (required 90 m)', async () => {
    const wntr = JSON.parse(readFileSync('engine/water/reference/wntr-pda-results.json', 'utf8')) as { cases: Record<string, { pressureM: Record<string, number>; demandM3s: Record<string, number>; requiredM3s: Record<string, number> }> };
    const share = (name: string, id: string): number => wntr.cases[name]!.demandM3s[id]! / wntr.cases[name]!.requiredM3s[id]!;
    const outcome = async (powerLost: boolean): Promise<{ pressure: number; junction: number; cohort: number }> => {
      const engine = await engineFor(net1City({ requiredPressureM: 90 }));
      if (powerLost) engine.submit({ type: 'fail', target: 'plant' }, { at: 0 });
      await engine.runUntil(1000);
      const out = {
        pressure: engine.describe(engine.index.indexOf('32')!)['pressureM'] as number,
        junction: level(engine, '32'),
        cohort: engine.kernel.view(engine.index.indexOf('people-32')!).level,
      };
      await engine.stop();
      return out;
    };
    const running = await outcome(false);
    const stopped = await outcome(true);
    expect(running.pressure).toBeCloseTo(wntr.cases['pump-on']!.pressureM['32']!, 2);
    expect(stopped.pressure).toBeCloseTo(wntr.cases['pump-off']!.pressureM['32']!, 2);
    expect(stopped.pressure).toBeLessThan(running.pressure - 1);
    expect(Math.abs(running.junction - share('pump-on', '32'))).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(stopped.junction - share('pump-off', '32'))).toBeLessThanOrEqual(1e-4);
    expect(stopped.junction).toBeLessThan(running.junction);
    // The cohort relies on junction 32 alone: its water service is the junction's share.
    expect(stopped.cohort).toBeLessThan(running.cohort);
    expect(Math.abs(stopped.cohort - share('pump-off', '32'))).toBeLessThanOrEqual(1e-3);
  });

  it('a main damaged but standing leaks (an EPANET emitter) until repaired; destroyed, it closes', async () => {
    const engine = await engineFor(net1City());
    await engine.runUntil(1000);
    const pressure = (): number => engine.describe(engine.index.indexOf('21')!)['pressureM'] as number;
    const intact = pressure();
    engine.submit({ type: 'fail', target: 'pipe:21', severity: 0.6, hazard: 'shaking' }, { at: 2 });
    await engine.runUntil(3000);
    const leaking = engine.describe(engine.index.actorCount - 1) as { leaking: string[]; leakFlowM3s: number; closedLinks: string[] };
    expect(leaking.leaking).toEqual(['pipe:21']);
    expect(leaking.closedLinks).toEqual([]);
    expect(leaking.leakFlowM3s).toBeGreaterThan(0.01); // about 80 L/s through 6 % of a 254 mm pipe at ~70 m
    expect(pressure()).toBeLessThan(intact - 5);
    engine.submit({ type: 'restore', target: 'pipe:21' }, { at: 4 });
    await engine.runUntil(5000);
    expect((engine.describe(engine.index.actorCount - 1) as { leaking: string[] }).leaking).toEqual([]);
    expect(pressure()).toBeCloseTo(intact, 6);
    engine.submit({ type: 'fail', target: 'pipe:21', severity: 1 }, { at: 6 });
    await engine.runUntil(7000);
    const broken = engine.describe(engine.index.actorCount - 1) as { leaking: string[]; closedLinks: string[] };
    expect(broken.closedLinks).toEqual(['pipe:21']);
    expect(broken.leaking).toEqual([]);
    await engine.stop();
  });

  it('with minSolveIntervalSeconds a change waits for the end of the interval, and changes inside it are solved together', async () => {
    const engine = await engineFor(net1City({ minSolveIntervalSeconds: 600 }));
    engine.submit({ type: 'fail', target: 'plant' }, { at: 100 });
    engine.submit({ type: 'fail', target: 'pipe:21', severity: 0.6 }, { at: 200 });
    await engine.runUntil(500_000);
    const waiting = solverOf(engine) as ReturnType<typeof solverOf> & { leaking: string[] };
    expect(waiting.solves).toBe(1); // only the start's snapshot
    expect(waiting.tanks[0]!.inflowM3s).toBeGreaterThan(0); // still the pumped state
    await engine.runUntil(601_000);
    const solved = solverOf(engine) as ReturnType<typeof solverOf> & { leaking: string[] };
    expect(solved.solves).toBe(2); // both changes in one snapshot at 600 s
    expect(solved.closedLinks).toEqual(['pump:9']);
    expect(solved.leaking).toEqual(['pipe:21']);
    expect(solved.tanks[0]!.inflowM3s).toBeLessThan(0);
    await engine.stop();
  });

  it('a broken main is closed: damaging pipe 10 (pump → town) leaves the town on the tank alone', async () => {
    const engine = await engineFor(net1City());
    engine.submit({ type: 'fail', target: 'pipe:10', hazard: 'shaking' }, { at: 3600 });
    await engine.runUntil(HOUR + 1000);
    const after = solverOf(engine);
    expect(after.closedLinks).toEqual(['pipe:10']);
    expect(after.tanks[0]!.inflowM3s).toBeLessThan(0);
    await engine.stop();
  });

  it('gives the same state-change hash with the nact and the direct driver', async () => {
    const hashes: string[] = [];
    for (const driver of ['nact', 'direct'] as const) {
      const engine = await engineFor(net1City(), { driver });
      engine.submit({ type: 'fail', target: 'plant' }, { at: 3600 });
      engine.submit({ type: 'repair', target: 'plant' }, { at: 7 * 3600 });
      await engine.runUntil(12 * HOUR);
      hashes.push(engine.summary().stateHash);
      expect(engine.summary().events).toBeGreaterThan(5);
      await engine.stop();
    }
    expect(hashes[0]).toBe(hashes[1]);
  });
});
