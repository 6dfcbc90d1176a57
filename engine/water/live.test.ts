import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { epanetWorkspace } from './hydraulics.ts';
import { LiveWaterModel } from './live.ts';

const NET1 = 'engine/water/networks/Net1.inp';
interface Case {
  pressureM: Record<string, number>;
  demandM3s: Record<string, number>;
  requiredM3s: Record<string, number>;
}
const reference = JSON.parse(readFileSync('engine/water/reference/wntr-pda-results.json', 'utf8')) as { leakCoefficientM3sPerSqrtM: number; cases: Record<string, Case> };
const PDA = { minPressureM: 0, requiredPressureM: 90, pressureExponent: 0.5 };

beforeAll(async () => {
  await epanetWorkspace();
});

describe('live EPANET snapshots against WNTR (pressure-driven analysis)', () => {
  const model = (): LiveWaterModel => LiveWaterModel.open(readFileSync(NET1, 'utf8'), NET1, PDA);

  for (const [name, pumpClosed, leak] of [['pump-on', false, false], ['pump-off', true, false], ['pump-off-leak', true, true]] as const) {
    it(`${name}: pressures within 1 mm and customers' demand satisfaction within 1e-4 of WNTR's`, () => {
      const m = model();
      const closed = new Uint8Array(m.linkIds.length);
      if (pumpClosed) closed[m.linkPosition('9')] = 1;
      const leaks = new Float64Array(m.isJunctionNode.length);
      if (leak) leaks[m.nodeIndex.get('21')! - 1] = reference.leakCoefficientM3sPerSqrtM;
      const result = m.solve(0, closed, Float64Array.from(m.tankInitM), leaks);
      const expected = reference.cases[name]!;
      m.junctionIds.forEach((id, j) => {
        const p = expected.pressureM[id]!;
        expect(result.pressureM[j]!, id).toBeCloseTo(p, 3);
        const required = expected.requiredM3s[id]!;
        if (required <= 0) return;
        // WNTR's demand at a leaking junction includes the leak (C·√p): customers get the rest.
        const leakFlow = leak && id === '21' ? reference.leakCoefficientM3sPerSqrtM * Math.sqrt(p) : 0;
        // The twin keeps satisfaction to four decimals (half a unit of rounding, plus EPANET's float noise).
        expect(Math.abs(result.satisfaction[j]! - (expected.demandM3s[id]! - leakFlow) / required), id).toBeLessThanOrEqual(1e-4);
      });
      if (leak) expect(result.leakFlowM3s).toBeCloseTo(reference.leakCoefficientM3sPerSqrtM * Math.sqrt(expected.pressureM['21']!), 5);
      m.close();
    });
  }

  it('a leak removed leaves the model as it was (emitters are diffed like closures)', () => {
    const m = model();
    const closed = new Uint8Array(m.linkIds.length);
    const levels = Float64Array.from(m.tankInitM);
    const before = m.solve(0, closed, levels);
    const leaks = new Float64Array(m.isJunctionNode.length);
    leaks[m.nodeIndex.get('21')! - 1] = reference.leakCoefficientM3sPerSqrtM;
    expect(m.solve(0, closed, levels, leaks).pressureM[0]).toBeLessThan(before.pressureM[0]!);
    expect(Array.from(m.solve(0, closed, levels).pressureM)).toEqual(Array.from(before.pressureM));
    m.close();
  });
});
