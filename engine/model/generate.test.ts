import { describe, expect, it } from 'vitest';
import { generateCity } from './generate.ts';
import { parseCity } from './validate.ts';

describe('synthetic city generator', () => {
  it('gives a byte-identical city for the same seed and a different one for another seed', () => {
    const a = JSON.stringify(generateCity({ assets: 3000, seed: 11 }));
    const b = JSON.stringify(generateCity({ assets: 3000, seed: 11 }));
    const c = JSON.stringify(generateCity({ assets: 3000, seed: 12 }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('makes exactly the requested number of assets, with every layer, and a city that validates', () => {
    const doc = generateCity({ assets: 5000, seed: 3 });
    expect(doc.assets).toHaveLength(5000);
    const city = parseCity(doc, 'generated');
    const layers = new Set(city.assets.map((a) => a.layer));
    expect([...layers].sort()).toEqual(['emergency', 'power', 'telecom', 'transport', 'water']);
    expect(city.cohorts.length).toBeGreaterThan(0);
    const kinds = new Set(city.assets.map((a) => a.kind));
    for (const kind of ['generator', 'transmission-substation', 'distribution-substation', 'feeder', 'treatment-plant', 'pumping-station', 'main', 'core-router', 'tower', 'scada-centre', 'hospital', 'road']) {
      expect(kinds).toContain(kind);
    }
  });

  it('wires the cross-layer dependencies a real city has', () => {
    const doc = generateCity({ assets: 2000, seed: 5 });
    const kindOf = new Map(doc.assets.map((a) => [a.id, a.kind]));
    const pairs = new Set(doc.dependencies.map((d) => `${kindOf.get(d.from)}→${kindOf.get(d.to)}`));
    expect(pairs).toContain('distribution-substation→pumping-station');
    expect(pairs).toContain('feeder→tower');
    expect(pairs).toContain('scada-centre→transmission-substation');
    expect(pairs).toContain('feeder→hospital');
  });

  it('makes valid cities at every small size (no duplicate links when parents are reused)', () => {
    for (let assets = 100; assets <= 3000; assets += 100) expect(() => parseCity(generateCity({ assets, seed: assets }), `generated ${assets}`)).not.toThrow();
  });

  it('rejects sizes below 100', () => {
    expect(() => generateCity({ assets: 10, seed: 1 })).toThrow(/at least 100/);
  });
});
