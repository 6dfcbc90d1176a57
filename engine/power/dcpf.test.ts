import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dcPowerFlow } from './dcpf.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase } from './network.ts';
import { SHIPPED_CASES, sharedDataFile } from '../../test/shared-data.ts';

interface ReferenceCase {
  busNumbers: number[];
  angleDeg: number[];
  pFromMw: number[];
  pgMw: number[];
}
const reference = JSON.parse(readFileSync(new URL('./reference/dcpf-reference.json', import.meta.url), 'utf8')) as { cases: Record<string, ReferenceCase> };

describe('DC power flow against PYPOWER rundcpf (reference/dcpf_reference.py)', () => {
  for (const name of SHIPPED_CASES) {
    it(`${name}: every branch flow and generator output within 1e-6 MW, every angle within 1e-9°`, () => {
      const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name));
      const result = dcPowerFlow(net);
      const ref = reference.cases[name]!;
      expect(net.busIds).toEqual(ref.busNumbers.map((b) => `bus-${b}`));
      expect(result.flowMw.length).toBe(ref.pFromMw.length);
      ref.pFromMw.forEach((f, k) => expect(Math.abs(result.flowMw[k]! - f)).toBeLessThan(1e-6));
      ref.pgMw.forEach((p, g) => expect(Math.abs(result.pgMw[g]! - p)).toBeLessThan(1e-6));
      ref.angleDeg.forEach((a, v) => expect(Math.abs((result.angleRad[v]! * 180) / Math.PI - a)).toBeLessThan(1e-9));
      expect(result.totalGenerationMw).toBeCloseTo(result.totalLoadMw, 6);
    });
  }
});

const TWO_ISLANDS = `function mpc = two
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0 0 0 0 1 1 5 230 1 1.1 0.9;
  2 1 80 0 20 0 1 1 0 230 1 1.1 0.9;
  3 2 0 0 0 0 1 1 0 230 1 1.1 0.9;
  4 1 50 0 0 0 1 1 0 230 1 1.1 0.9;
  5 1 30 0 0 0 1 1 0 230 1 1.1 0.9;
];
mpc.gen = [
  1 100 0 0 0 1 100 1 200 0;
  3 10 0 0 0 1 100 1 200 0;
  3 25 0 0 0 1 100 1 200 0;
];
mpc.branch = [
  1 2 0 0.1 0 0 0 0 0 0 1 -360 360;
  3 4 0 0.2 0 0 0 0 0.95 3 1 -360 360;
];
`;

describe('DC power flow with several islands', () => {
  it('solves each island with its own reference; an island without generation is not energised', () => {
    const net = networkFromCase(parseMatpower(TWO_ISLANDS, 'two.m'));
    const r = dcPowerFlow(net);
    expect(r.islands.count).toBe(3);
    // Island {1,2}: type-3 bus 1 keeps its case angle (5°) and supplies 80 + 20 (Gs) MW.
    expect(r.flowMw[0]).toBeCloseTo(100, 9);
    expect((r.angleRad[0]! * 180) / Math.PI).toBeCloseTo(5, 12);
    expect(r.pgMw[0]).toBeCloseTo(100, 9);
    // Island {3,4}: no type-3 bus, bus 3 (35 MW of generation) is the reference; its first
    // generator takes the mismatch: 50 − 35 = +15 MW. The shifter does not change the flow.
    expect(r.flowMw[1]).toBeCloseTo(50, 9);
    expect(r.pgMw[1]).toBeCloseTo(25, 9);
    expect(r.pgMw[2]).toBeCloseTo(25, 9);
    // θ3 − θ4 − φ = P·x·τ/base.
    expect(r.angleRad[2]! - r.angleRad[3]! - (3 * Math.PI) / 180).toBeCloseTo((50 * 0.2 * 0.95) / 100, 12);
    // Bus 5 alone has load and no generator.
    expect(r.unservedLoadMw).toBe(30);
    expect(r.totalLoadMw).toBe(150);
    expect(r.totalGenerationMw).toBeCloseTo(150, 9);
  });
});
