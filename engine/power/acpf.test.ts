import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AcPowerFlowError, acPowerFlow } from './acpf.ts';
import { matpowerToCity } from './city.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase, networkFromCity, type GridNetwork } from './network.ts';
import { SHIPPED_CASES, sharedDataFile } from '../../test/shared-data.ts';

interface ReferenceCase {
  iterations: number;
  busNumbers: number[];
  vmPu: number[];
  vaDeg: number[];
  pFromMw: number[];
  qFromMvar: number[];
  pToMw: number[];
  qToMvar: number[];
}
const reference = JSON.parse(readFileSync(new URL('./reference/acpf-reference.json', import.meta.url), 'utf8')) as { cases: Record<string, ReferenceCase> };
const largestDifference = (ours: ArrayLike<number>, theirs: readonly number[]): number => theirs.reduce((worst, x, i) => Math.max(worst, Math.abs(ours[i]! - x)), 0);
const shipped = (name: string): GridNetwork => networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name));

describe('AC power flow against PYPOWER runpf (reference/acpf_reference.py)', () => {
  for (const name of SHIPPED_CASES) {
    it(`${name}: every |ΔVm| ≤ 1e-6 pu, |ΔVa| ≤ 1e-6°, branch P and Q at both ends within 1e-4, in PYPOWER's iteration count`, () => {
      const net = shipped(name);
      const r = acPowerFlow(net);
      const ref = reference.cases[name]!;
      expect(net.busIds).toEqual(ref.busNumbers.map((b) => `bus-${b}`));
      expect(r.converged).toBe(true);
      expect(r.iterations).toBe(ref.iterations);
      expect(r.maxMismatchPu).toBeLessThan(1e-8);
      expect(largestDifference(r.vmPu, ref.vmPu)).toBeLessThanOrEqual(1e-6);
      expect(largestDifference(r.vaDeg, ref.vaDeg)).toBeLessThanOrEqual(1e-6);
      expect(largestDifference(r.pFromMw, ref.pFromMw)).toBeLessThanOrEqual(1e-4);
      expect(largestDifference(r.qFromMvar, ref.qFromMvar)).toBeLessThanOrEqual(1e-4);
      expect(largestDifference(r.pToMw, ref.pToMw)).toBeLessThanOrEqual(1e-4);
      expect(largestDifference(r.qToMvar, ref.qToMvar)).toBeLessThanOrEqual(1e-4);
      // Energy balance: generation = load + branch losses + shunt conductance.
      expect(r.totalGenerationMw).toBeCloseTo(r.totalLoadMw + r.lossesMw + r.shuntMw, 5);
    });
  }

  it('gives the same answer from the imported city as from the .m file', () => {
    const text = readFileSync(sharedDataFile('grids/case118.m'), 'utf8');
    const fromCase = acPowerFlow(networkFromCase(parseMatpower(text, 'case118')));
    const city = JSON.parse(JSON.stringify(matpowerToCity(parseMatpower(text, 'case118')))) as Parameters<typeof networkFromCity>[0];
    const fromCity = acPowerFlow(networkFromCity(city));
    expect(Array.from(fromCity.vmPu)).toEqual(Array.from(fromCase.vmPu));
    expect(Array.from(fromCity.pFromMw)).toEqual(Array.from(fromCase.pFromMw));
  });
});

const SMALL = `function mpc = small
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0 0 0 0 1 1.02 5 230 1 1.1 0.9;
  2 1 80 30 0 10 1 1 0 230 1 1.1 0.9;
  3 2 20 5 0 0 1 1 0 230 1 1.1 0.9;
  4 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
  5 1 30 10 0 0 1 1 0 230 1 1.1 0.9;
];
mpc.gen = [
  1 100 0 0 0 1.02 100 1 200 0;
  3 40 0 0 0 1.01 100 1 200 0;
];
mpc.branch = [
  1 2 0.01 0.1 0.02 0 0 0 0 0 1 -360 360;
  2 3 0.02 0.2 0 0 0 0 0.98 2 1 -360 360;
  1 3 0.01 0.15 0.01 0 0 0 0 0 1 -360 360;
  4 5 0.01 0.1 0 0 0 0 0 0 1 -360 360;
];
`;

describe('acPowerFlow on small networks', () => {
  const net = networkFromCase(parseMatpower(SMALL, 'small.m'));

  it('holds the set points and meets every injection to the tolerance', () => {
    const r = acPowerFlow(net);
    expect(r.vmPu[0]).toBe(1.02);
    expect(r.vaDeg[0]).toBeCloseTo(5, 12);
    expect(r.vmPu[2]).toBeCloseTo(1.01, 12);
    // Bus 2 (PQ, 10 MVAr shunt): what leaves it over its branches equals its injection.
    const vm2 = r.vmPu[1]!;
    const outP = r.pToMw[0]! + r.pFromMw[1]!;
    const outQ = r.qToMvar[0]! + r.qFromMvar[1]!;
    expect(outP).toBeCloseTo(-80, 6);
    expect(outQ).toBeCloseTo(-30 + 10 * vm2 * vm2, 6);
    // The reference generator took the balance; the PV generator kept its P.
    expect(r.pgMw[1]).toBe(40);
    expect(r.pgMw[0]! + 40).toBeCloseTo(100 + r.lossesMw, 6);
  });

  it('leaves an island without generation dark and counts its load as unserved', () => {
    const r = acPowerFlow(net);
    expect(r.islands.count).toBe(2);
    expect(Array.from(r.vmPu.subarray(3))).toEqual([0, 0]);
    expect(r.pFromMw[3]).toBe(0);
    expect(r.unservedLoadMw).toBe(80);
    expect(r.totalLoadMw).toBe(100);
  });

  it('stops with the iteration count, the largest mismatch and its bus when Newton does not converge', () => {
    const heavy: GridNetwork = { ...net, pdMw: Float64Array.from(net.pdMw, (p) => p * 40) };
    let error: unknown;
    try {
      acPowerFlow(heavy);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AcPowerFlowError);
    const e = error as AcPowerFlowError;
    expect(e.message).toMatch(/did not converge in \d+ Newton iteration\(s\): largest mismatch .* pu \([PQ]\) at bus-\d/);
    expect(e.busId).toMatch(/^bus-[23]$/);
    expect(() => acPowerFlow(net, { maxIterations: 1 })).toThrow(/did not converge in 1 Newton iteration/);
  });

  it('rejects a branch with zero impedance by name', () => {
    const zero: GridNetwork = { ...net, rPu: new Float64Array(4), xPu: Float64Array.of(0.1, 0, 0.15, 0.1) };
    expect(() => acPowerFlow(zero)).toThrow(/branch br-2 has impedance 0 \+ j0/);
  });
});
