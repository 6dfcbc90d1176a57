import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { busInjectionsMw, dcPowerFlow } from './dcpf.ts';
import { estimateDcState, measurementValues, parseMeasurements, prepareDcEstimation, type Measurement } from './estimation.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase, type GridNetwork } from './network.ts';
import { SHIPPED_CASES, sharedDataFile } from '../../test/shared-data.ts';

interface ReferenceCase {
  initialJ: number;
  chi2Threshold: number;
  removed: Array<{ index: number; normalizedResidual: number }>;
  finalJ: number;
  angleDeg: number[];
  sigmaDeg: number[];
  pFromMw: number[];
}
const reference = JSON.parse(readFileSync(new URL('./reference/estimation-reference.json', import.meta.url), 'utf8')) as { cases: Record<string, ReferenceCase> };
const grid = (name: string): GridNetwork => networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name));
const measurementsOf = (name: string, net: GridNetwork): Measurement[] =>
  parseMeasurements(JSON.parse(readFileSync(new URL(`./reference/estimation/${name}-measurements.json`, import.meta.url), 'utf8')), net, name);

describe('DC WLS state estimation against an independent scipy.sparse implementation (reference/estimation_reference.py)', () => {
  for (const name of SHIPPED_CASES) {
    it(`${name}: same J, chi-square threshold, removed measurements (in order), angles, sigmas and flows`, () => {
      const net = grid(name);
      const result = estimateDcState(net, measurementsOf(name, net));
      const ref = reference.cases[name]!;
      expect(result.unobservable).toEqual([]);
      expect(result.initialJ).toBeCloseTo(ref.initialJ, 6);
      expect(result.chi2Threshold).toBeCloseTo(ref.chi2Threshold, 9);
      expect(result.removed.map((r) => r.index)).toEqual(ref.removed.map((r) => r.index));
      result.removed.forEach((r, i) => expect(Math.abs(r.normalizedResidual - ref.removed[i]!.normalizedResidual)).toBeLessThan(1e-6));
      expect(result.removed.length).toBeGreaterThan(0); // three gross errors were injected: the test can fail
      expect(result.finalJ).toBeCloseTo(ref.finalJ, 6);
      expect(result.consistent).toBe(true);
      const byId = new Map(result.buses.map((b) => [b.id, b]));
      net.busIds.forEach((id, v) => {
        expect(Math.abs(byId.get(id)!.angleDeg! - ref.angleDeg[v]!)).toBeLessThan(1e-8);
        expect(Math.abs(byId.get(id)!.sigmaDeg! - ref.sigmaDeg[v]!)).toBeLessThan(1e-8);
      });
      const flows = new Map(result.branches.map((b) => [b.id, b.pFromMw]));
      net.branchIds.forEach((id, k) => {
        if (net.branchInService[k]) expect(Math.abs(flows.get(id)! - ref.pFromMw[k]!)).toBeLessThan(1e-6);
      });
    });
  }
});

describe('DC WLS state estimation', () => {
  const net = grid('case118');
  const pf = dcPowerFlow(net);
  const injection = busInjectionsMw(net, pf.pgMw);
  const exact = (): Measurement[] => [
    ...net.branchIds.flatMap((id, k): Measurement[] => (net.branchInService[k] && k % 3 !== 0 ? [{ kind: 'flow', target: id, valueMw: pf.flowMw[k]!, sigmaMw: 1 }] : [])),
    ...net.busIds.map((id, v): Measurement => ({ kind: 'injection', target: id, valueMw: injection[v]!, sigmaMw: 2 })),
  ];

  it('recovers the power flow from exact measurements (J = 0, nothing removed)', () => {
    const result = estimateDcState(net, exact());
    expect(result.removed).toEqual([]);
    expect(result.finalJ).toBeLessThan(1e-12);
    result.branches.forEach((b) => expect(Math.abs(b.pFromMw! - pf.flowMw[net.branchIds.indexOf(b.id)]!)).toBeLessThan(1e-8));
  });

  it('finds one gross error by its normalised residual and removes only it', () => {
    const measurements = exact();
    const bad = measurements.findIndex((m) => m.target === 'br-50');
    measurements[bad] = { kind: 'flow', target: 'br-50', valueMw: pf.flowMw[49]! + 60, sigmaMw: 1 };
    const result = estimateDcState(net, measurements);
    expect(result.removed.map((r) => r.index)).toEqual([bad]);
    expect(result.removed[0]!.normalizedResidual).toBeGreaterThan(3);
    expect(result.consistent).toBe(true);
  });

  it('reports the buses the measurements do not determine instead of failing', () => {
    // Bus 117 hangs on one branch (from bus 12): without its injection, that flow and the injection
    // at bus 12 (which would give the flow from the others), nothing measures its angle.
    const radial = net.branchIds.findIndex((_, k) => net.busIds[net.to[k]!] === 'bus-117');
    const neighbour = net.busIds[net.from[radial]!]!;
    const measurements = exact().filter((m) => ![`bus-117`, neighbour, net.branchIds[radial]].includes(m.target));
    const result = estimateDcState(net, measurements);
    expect(result.unobservable).toEqual(['bus-117']);
    expect(result.buses.find((b) => b.id === 'bus-117')).toEqual({ id: 'bus-117', angleDeg: null, sigmaDeg: null });
    expect(result.branches.find((b) => b.id === net.branchIds[radial])?.pFromMw).toBeNull();
    // Everything else is still estimated exactly.
    result.branches.filter((b) => b.pFromMw !== null).forEach((b) => expect(Math.abs(b.pFromMw! - pf.flowMw[net.branchIds.indexOf(b.id)]!)).toBeLessThan(1e-8));
  });

  it('names every bad entry of a measurement file and its reason', () => {
    const bad = [
      { kind: 'flow', target: 'br-99999', valueMw: 1, sigmaMw: 1 },
      { kind: 'injection', target: 'bus-1', valueMw: 1, sigmaMw: -2 },
      { kind: 'angle', target: 'bus-nope', valueDeg: 1, sigmaDeg: 0.1 },
      { kind: 'voltage', target: 'bus-1' },
    ];
    try {
      parseMeasurements(bad, net, 'm.json');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const text = (error as Error).message;
      expect(text).toContain('$[1].sigmaMw');
      expect(text).toContain('$[3].kind');
    }
    try {
      parseMeasurements(bad.slice(0, 1).concat([{ kind: 'angle', target: 'bus-nope', valueDeg: 1, sigmaDeg: 0.1 }]), net, 'm.json');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('$[0].target: no branch "br-99999"');
      expect((error as Error).message).toContain('$[1].target: no bus "bus-nope"');
    }
  });

  it('keeps the factor while the same measurements are in use, and refactors after a removal', () => {
    const measurements = exact();
    const model = prepareDcEstimation(net, measurements);
    const values = measurementValues(measurements);
    model.estimate(values);
    expect(model.factorisations).toBe(1);
    // New readings, same sensors: the factor is reused and the estimate equals a fresh one.
    const shifted = values.map((x, i) => x + (i % 7) * 0.01);
    const reused = model.estimate(shifted);
    expect(model.factorisations).toBe(1);
    const fresh = estimateDcState(net, measurements.map((m, i) => (m.kind === 'angle' ? m : { ...m, valueMw: shifted[i]! })));
    reused.branches.forEach((b, k) => expect(Math.abs(b.pFromMw! - fresh.branches[k]!.pFromMw!)).toBeLessThan(1e-9));
    expect(reused.finalJ).toBeCloseTo(fresh.finalJ, 9);
    // A gross error: removed, so the next solve refactors.
    const bad = measurements.findIndex((m) => m.target === 'br-50');
    shifted[bad] = shifted[bad]! + 60;
    expect(model.estimate(shifted).removed.map((r) => r.index)).toEqual([bad]);
    expect(model.factorisations).toBeGreaterThan(1);
  });

  it('leaves excluded measurements out yet reports their estimated value and sigma', () => {
    const measurements = exact();
    const bad = measurements.findIndex((m) => m.target === 'br-50');
    measurements[bad] = { kind: 'flow', target: 'br-50', valueMw: pf.flowMw[49]! + 60, sigmaMw: 1 };
    const result = estimateDcState(net, measurements, { excluded: [bad] });
    expect(result.removed).toEqual([]);
    expect(result.normalizedResiduals[bad]).toBeNull();
    expect(result.finalJ).toBeLessThan(1e-9);
    expect(Math.abs(result.estimated[bad]!.value - pf.flowMw[49]!)).toBeLessThan(1e-8);
    expect(result.estimated[bad]!.sigma).toBeGreaterThan(0);
    expect(result.estimated[bad]!.sigma).toBeLessThan(2); // tighter than the injections it comes from
  });

  it('tests each island on its own: bad data in one island is removed there, the other island keeps its measurements', () => {
    // Cut the grid in two by taking the branches of bus 117's and another area's cut set out of service.
    const cut = Uint8Array.from(net.branchInService);
    const lhs = new Set(net.busIds.filter((_, v) => v < 60).map((id) => id));
    net.branchIds.forEach((_, k) => {
      if (lhs.has(net.busIds[net.from[k]!]!) !== lhs.has(net.busIds[net.to[k]!]!)) cut[k] = 0;
    });
    const split: GridNetwork = { ...net, branchInService: cut };
    const splitPf = dcPowerFlow(split);
    // Injections from the flows themselves (an island without a generator does not balance in a power flow).
    const inj = new Float64Array(split.busIds.length);
    split.branchIds.forEach((_, k) => {
      if (!cut[k]) return;
      inj[split.from[k]!]! += splitPf.flowMw[k]!;
      inj[split.to[k]!]! -= splitPf.flowMw[k]!;
    });
    const measurements: Measurement[] = [
      ...split.branchIds.flatMap((id, k): Measurement[] => (cut[k] ? [{ kind: 'flow', target: id, valueMw: splitPf.flowMw[k]!, sigmaMw: 1 }] : [])),
      ...split.busIds.map((id, v): Measurement => ({ kind: 'injection', target: id, valueMw: inj[v]!, sigmaMw: 2 })),
    ];
    const bad = measurements.findIndex((m) => m.kind === 'flow' && lhs.has(split.busIds[split.from[split.branchIds.indexOf(m.target)]!]!));
    (measurements[bad] as { valueMw: number }).valueMw += 50;
    const result = estimateDcState(split, measurements, { perIsland: true });
    expect(result.islands.length).toBeGreaterThanOrEqual(2);
    expect(result.removed.map((r) => r.index)).toEqual([bad]);
    expect(result.islands.every((i) => i.consistent)).toBe(true);
    expect(result.islands.reduce((s, i) => s + i.buses, 0)).toBe(split.busIds.length);
  });
});
