import { describe, expect, it } from 'vitest';
import { generateWaterNetwork, writeInp } from './generate-network.ts';
import { runHydraulics } from './hydraulics.ts';
import { parseInp } from './inp.ts';

describe('generated EPANET networks', () => {
  it('are identical for the same seed and differ for another', () => {
    const a = writeInp(generateWaterNetwork({ junctions: 400, seed: 3 }));
    expect(writeInp(generateWaterNetwork({ junctions: 400, seed: 3 }))).toBe(a);
    expect(writeInp(generateWaterNetwork({ junctions: 400, seed: 4 }))).not.toBe(a);
  });

  it('have the asked junctions, a ring of trunk mains, tanks, pumps with curves and daily patterns, and read back as valid .inp', () => {
    const network = generateWaterNetwork({ junctions: 1600, seed: 1 });
    expect(network.junctions).toHaveLength(1600);
    expect(network.pipes.filter((p) => p.kind === 'trunk-main')).toHaveLength(4 * 39); // the perimeter of a 40 × 40 grid
    expect(network.tanks.length).toBe(2);
    expect(network.pumps.length).toBe(1);
    const parsed = parseInp(writeInp(network), 'generated.inp');
    expect(parsed.nodes.filter((n) => n.type === 'junction')).toHaveLength(1600);
    expect(parsed.patterns.get('RES')).toHaveLength(24);
    const mean = parsed.patterns.get('RES')!.reduce((a, b) => a + b, 0) / 24;
    expect(mean).toBeCloseTo(1, 3);
  });

  it('keep every junction between 20 and 100 m of pressure over a day while tanks fill and drain and pumps cycle (EPANET)', async () => {
    const text = writeInp(generateWaterNetwork({ junctions: 500, seed: 11 }));
    const result = await runHydraulics(text, 'generated.inp');
    expect(result.times).toHaveLength(25);
    const pressures = result.times.flatMap((t) => Object.values(result.pressureM[String(t)]!));
    expect(Math.min(...pressures)).toBeGreaterThan(20);
    expect(Math.max(...pressures)).toBeLessThan(100);
    const levels = result.times.map((t) => result.tankLevelM[String(t)]!['T0']!);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(1);
    const pump = result.times.map((t) => result.flowM3s[String(t)]!['PU0']!);
    expect(pump.some((q) => q === 0)).toBe(true);
    expect(pump.some((q) => q > 0)).toBe(true);
  });
});
