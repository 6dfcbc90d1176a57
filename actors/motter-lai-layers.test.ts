import { describe, expect, it } from 'vitest';
import { parseCity } from '../engine/index.ts';
import { StudyCity, runStudy } from './studies.ts';

describe('Motter–Lai on a multi-layer city', () => {
  it('reports G per layer with links and names those layers; an attack on one layer leaves the other at 1', async () => {
    // Layer A: a path of 9 (cutting the middle halves it). Layer B: a larger grid-like ring, untouched.
    // Layer C: assets without links (the model does not run there).
    const a = Array.from({ length: 9 }, (_, i) => ({ id: `a${i}`, layer: 'A' }));
    const b = Array.from({ length: 30 }, (_, i) => ({ id: `b${i}`, layer: 'B' }));
    const c = [{ id: 'c0', layer: 'C' }];
    const city = parseCity({
      assets: [...a, ...b, ...c],
      links: [
        ...a.slice(1).map((x, i) => ({ from: a[i]!.id, to: x.id })),
        ...b.map((x, i) => ({ from: x.id, to: b[(i + 1) % b.length]!.id })),
      ],
    }, 'two-layers');
    const result = await runStudy(new StudyCity(city), { model: 'motter-lai', runs: 1, seed: 1, alpha: 10, attack: { kind: 'ids', ids: ['a4'] } });
    expect(Object.keys(result.giantComponentByLayer!)).toEqual(['A', 'B']);
    expect(result.parameters['layers']).toBe('A,B');
    expect(result.giantComponentByLayer!['A']!.mean).toBeCloseTo(4 / 9, 12);
    expect(result.giantComponentByLayer!['B']!.mean).toBe(1);
    // The single number over all links is the largest layer's share of the whole city: 30 / 40.
    expect(result.giantComponentFraction!.mean).toBeCloseTo(30 / 40, 12);
  });
});
