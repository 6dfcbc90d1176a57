import { describe, expect, it } from 'vitest';
import { CauseCode, DcOverloadGrid, Engine, generateCity, networkFromCity, dcPowerFlow, matpowerToCity, networkFromCase, parseCity, syntheticGrid, type CityModel, type GridNetwork, type StateChange } from '../engine/index.ts';
import { createBehaviours } from './behaviours.ts';
import type { SolverState } from './layer-solver.ts';
import { gridMembership, tripDelayMs } from './trip-delay.ts';

// A seeded 100-bus grid whose ratings make the intact grid N-1 secure (engine/power/synthetic.ts);
// the shipped MATPOWER cases 118 and 300 carry no ratings, so nothing in them can overload.
const mpc = syntheticGrid({ buses: 100, seed: 3 });
const net = networkFromCase(mpc);
/** Bus 30 with 100 MW more than its Pd overloads three branches (up to 140 %). */
const PD30 = mpc.buses[29]!.pdMw;
const HEAVY = PD30 + 100;

function gridCity(cohortOnBus?: string): CityModel {
  const doc = matpowerToCity(mpc) as unknown as Record<string, unknown>;
  if (cohortOnBus !== undefined) doc['cohorts'] = [{ id: 'co-1', district: 'area-1', population: 50_000, elderlyShare: 0.2, mobilityLimitedShare: 0.05, riskAversion: 0.5, compliance: 0.7, reliesOn: [cohortOnBus] }];
  return parseCity(doc, mpc.name);
}

/** The live twin (default behaviours) on the grid, with every state change recorded. */
async function live(city: CityModel, driver: 'direct' | 'nact' = 'direct'): Promise<{ engine: Engine; changes: StateChange[] }> {
  const engine = await Engine.create({ city, behaviours: (index) => createBehaviours(index), seed: 1, driver });
  const changes: StateChange[] = [];
  engine.stream.subscribe((c: StateChange) => changes.push(c));
  return { engine, changes };
}

function solverState(engine: Engine): SolverState {
  const layer = engine.index.layers.indexOf('power');
  return engine.kernel.states[engine.index.solverOfLayer[layer]!] as SolverState;
}

/** Flows of a full MATPOWER DC power flow of the network at the solver's served loads and outputs. */
function fullResolve(state: NonNullable<SolverState['live']>): Float64Array {
  const at: GridNetwork = { ...net, pdMw: state.loadMw, gsMw: new Float64Array(net.busIds.length), pgMw: state.pgMw, branchInService: state.branchOn, genInService: state.genOn };
  return dcPowerFlow(at).flowMw;
}

/** The branch that will trip first under these flows (earliest due time), with its due delay. */
function firstDue(engine: Engine, flows: Float64Array): { branch: string; delayMs: number; loading: number } | null {
  const grid = new DcOverloadGrid(net, 1);
  const tau = gridMembership(engine.index).tauSeconds;
  let best: { branch: string; delayMs: number; loading: number } | null = null;
  for (let b = 0; b < flows.length; b++) {
    const loading = Math.abs(flows[b]!) / grid.ratingMw[b]!;
    if (!(loading > 1 + 1e-9)) continue;
    const delayMs = tripDelayMs(tau[engine.index.indexOf(net.branchIds[b]!)!]!, loading);
    if (best === null || delayMs < best.delayMs) best = { branch: net.branchIds[b]!, delayMs, loading };
  }
  return best;
}

describe('DC flow as the live power model (a seeded 100-bus grid in the live twin)', () => {
  it('sends every branch the flow of the balanced case, equal to a full MATPOWER re-solve, with the sign kept for direction', async () => {
    const { engine } = await live(gridCity());
    await engine.runUntil(1000);
    const state = solverState(engine).live!;
    const expected = new DcOverloadGrid(net, 1).baseFlowMw;
    for (let b = 0; b < expected.length; b++) expect(state.flowMw[b]).toBeCloseTo(expected[b]!, 6);
    const resolved = fullResolve(state);
    for (let b = 0; b < expected.length; b++) expect(Math.abs(state.flowMw[b]! - resolved[b]!)).toBeLessThan(1e-6);
    expect(engine.describe(engine.index.indexOf('br-7')!)['load']).toBeCloseTo(Math.abs(expected[6]!), 6);
    expect(engine.describe(engine.index.indexOf('br-7')!)['capacity']).toBe(new DcOverloadGrid(net, 1).ratingMw[6]);
    await engine.stop();
  });

  it('a bus load raised by telemetry overloads branches; the first trips exactly after its inverse-time delay, none before', async () => {
    const { engine, changes } = await live(gridCity());
    await engine.runUntil(1000);
    engine.submit({ type: 'telemetry', target: 'bus-30', value: HEAVY }, { at: 10 });
    await engine.runUntil(10_000);
    const state = solverState(engine).live!;
    const resolved = fullResolve(state);
    for (let b = 0; b < resolved.length; b++) expect(Math.abs(state.flowMw[b]! - resolved[b]!)).toBeLessThan(1e-6);
    const first = firstDue(engine, state.flowMw);
    expect(first).not.toBeNull();
    expect(first!.delayMs).toBeGreaterThan(1000);
    const due = 10_000 + first!.delayMs;
    await engine.runUntil(due - 1);
    expect(engine.describe(engine.index.indexOf(first!.branch)!)['tripped']).toBe(false);
    expect(engine.describe(engine.index.indexOf(first!.branch)!)['overloadTripAt']).toBe(due / 1000);
    await engine.runUntil(due);
    expect(engine.describe(engine.index.indexOf(first!.branch)!)['tripped']).toBe(true);
    // Nothing tripped before the due time (a trip shows as the branch's status leaving Ok with load 0).
    const branchActors = new Set(net.branchIds.map((id) => engine.index.indexOf(id)!));
    const earlyTrips = changes.filter((c) => c.time < due && branchActors.has(c.actor) && c.after.level === 0);
    expect(earlyTrips).toEqual([]);
    await engine.stop();
  });

  it('a pending trip is cancelled when the flow falls back within its rating before the delay ends', async () => {
    const { engine } = await live(gridCity());
    await engine.runUntil(1000);
    engine.submit({ type: 'telemetry', target: 'bus-30', value: HEAVY }, { at: 10 });
    await engine.runUntil(10_000);
    const first = firstDue(engine, solverState(engine).live!.flowMw)!;
    const back = 10 + first.delayMs / 2000;
    engine.submit({ type: 'telemetry', target: 'bus-30', value: PD30 }, { at: back });
    await engine.runUntil(10_000 + 4 * first.delayMs);
    for (const id of net.branchIds) expect(engine.describe(engine.index.indexOf(id)!)['tripped']).toBe(false);
    expect(engine.describe(engine.index.indexOf(first.branch)!)['overloadTripAt']).toBeUndefined();
    await engine.stop();
  });

  it('tells branches only flow changes beyond the deadband (0.1 % of rating); the solver keeps the exact flows', async () => {
    const { engine, changes } = await live(gridCity());
    await engine.runUntil(1000);
    const before = Float64Array.from(solverState(engine).live!.flowMw);
    const seen = changes.length;
    engine.submit({ type: 'telemetry', target: 'bus-30', value: PD30 + 0.001 }, { at: 5 });
    await engine.runUntil(6000);
    const after = solverState(engine).live!.flowMw;
    expect(after.some((f, b) => f !== before[b])).toBe(true);
    const branchActors = new Set(net.branchIds.map((id) => engine.index.indexOf(id)!));
    expect(changes.slice(seen).filter((c) => branchActors.has(c.actor))).toEqual([]);
    await engine.stop();
  });

  it('cohort demand lands on the bus that feeds it (bus load = Pd + cohorts)', async () => {
    const { engine } = await live(gridCity('bus-30'));
    await engine.runUntil(1000);
    const bus = net.busIndex.get('bus-30')!;
    const before = solverState(engine).live!.loadMw[bus]!;
    expect(before).toBeCloseTo(PD30, 6);
    // 34 °C: the cohort's demand rises 30 % (cohort.ts), i.e. 0.3 × 50,000 × 0.0012 MW = 18 MW.
    engine.submit({ type: 'ambient', target: 'co-1', celsius: 34 }, { at: 5 });
    await engine.runUntil(6000);
    expect(solverState(engine).live!.loadMw[bus]!).toBeCloseTo(PD30 + 18, 6);
    await engine.stop();
  });

  it('telemetry above a generator Pmax is refused and changes nothing; on a branch it is a measurement that leaves the computed flow alone', async () => {
    const { engine } = await live(gridCity());
    const entries = engine.journal.entries.length;
    expect(() => engine.submit({ type: 'telemetry', target: 'gen-1', value: 1e6 }, { at: 1 })).toThrow(/above the Pmax of generator "gen-1"/);
    expect(engine.journal.entries.length).toBe(entries);
    const branch = engine.index.indexOf('br-1')!;
    await engine.runUntil(1);
    const before = engine.kernel.view(branch).load;
    engine.submit({ type: 'telemetry', target: 'br-1', value: before + 500 }, { at: 2 });
    expect(engine.journal.entries.length).toBe(entries + 1);
    await engine.runUntil(3);
    expect(engine.kernel.view(branch).load).toBeCloseTo(before, 9);
    await engine.stop();
  });

  it('a timed cascade replays identically, and the live (nact) and batch (direct) drivers give the same stream', async () => {
    const run = async (driver: 'direct' | 'nact'): Promise<string> => {
      const { engine, changes } = await live(gridCity(), driver);
      engine.submit({ type: 'telemetry', target: 'bus-30', value: HEAVY }, { at: 10 });
      engine.submit({ type: 'fail', target: 'br-40' }, { at: 20 });
      await engine.runUntil(3_600_000);
      // Overload trips happened at several distinct times: the cascade unfolded on the virtual clock.
      const branchActors = new Set(net.branchIds.map((id) => engine.index.indexOf(id)!));
      const tripTimes = new Set(changes.filter((c) => branchActors.has(c.actor) && c.after.level === 0 && c.cause?.code === CauseCode.Overload).map((c) => c.time));
      expect(tripTimes.size).toBeGreaterThan(1);
      const hash = engine.stream.stateHash();
      await engine.stop();
      return hash;
    };
    const a = await run('direct');
    expect(await run('direct')).toBe(a);
    expect(await run('nact')).toBe(a);
  });

});

describe('a generated city with its electrical power layer in the live twin', () => {
  it("carries DC flows equal to a full re-solve, and the cohorts' demand on a warm day lands on the buses feeding them", async () => {
    const city = parseCity(generateCity({ assets: 2000, seed: 5, grid: 'electrical' }), 'generated');
    const gridNet = networkFromCity(city);
    const engine = await Engine.create({ city, behaviours: (index) => createBehaviours(index), seed: 1, driver: 'direct' });
    await engine.runUntil(1000);
    const state = solverState(engine).live!;
    const at: GridNetwork = { ...gridNet, pdMw: state.loadMw, gsMw: new Float64Array(gridNet.busIds.length), pgMw: state.pgMw, branchInService: state.branchOn, genInService: state.genOn };
    const resolved = dcPowerFlow(at).flowMw;
    for (let b = 0; b < resolved.length; b++) expect(Math.abs(state.flowMw[b]! - resolved[b]!)).toBeLessThan(1e-6);
    // Nothing overloaded in the intact city.
    const grid = new DcOverloadGrid(gridNet, 1);
    for (let b = 0; b < resolved.length; b++) expect(Math.abs(state.flowMw[b]!)).toBeLessThanOrEqual(grid.ratingMw[b]!);
    const before = state.loadMw.reduce((s, v) => s + v, 0);
    // 25 °C: every cohort's demand rises 3 % (cohort.ts; hotter days trip the smallest feeders).
    engine.submit({ type: 'ambient', target: '*', celsius: 25 }, { at: 5 });
    await engine.runUntil(6000);
    const after = solverState(engine).live!.loadMw.reduce((s, v) => s + v, 0);
    const rise = city.cohorts.reduce((s, c) => s + 0.03 * c.population * 0.0012, 0);
    expect(after - before).toBeCloseTo(rise, 6);
    // A feeder destroyed: its whole demand leaves its substation's bus (nobody behind it is served).
    const feeder = city.cohorts[0]!.reliesOn.find((id) => id.startsWith('pw-fd-'))!;
    const feederLoad = engine.kernel.view(engine.index.indexOf(feeder)!).load;
    engine.submit({ type: 'fail', target: feeder }, { at: 7 });
    await engine.runUntil(8000);
    const lost = solverState(engine).live!.loadMw.reduce((s, v) => s + v, 0);
    expect(after - lost).toBeCloseTo(feederLoad, 3);
    await engine.stop();
  });
});
