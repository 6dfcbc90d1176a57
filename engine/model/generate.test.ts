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

  it('has several generators and treatment plants, and a power grid that is N-1 secure in connectivity', () => {
    for (const [assets, seed] of [[100, 1], [600, 2], [10_000, 7]] as const) {
      const doc = generateCity({ assets, seed });
      const power = doc.assets.filter((a) => a.layer === 'power');
      expect(power.filter((a) => a.kind === 'generator').length).toBeGreaterThanOrEqual(3);
      expect(doc.assets.filter((a) => a.kind === 'treatment-plant').length).toBeGreaterThanOrEqual(2);
      const ids = power.map((a) => a.id);
      const at = new Map(ids.map((id, k) => [id, k]));
      const adjacency = ids.map(() => [] as number[]);
      for (const l of doc.links) {
        const [p, q] = [at.get(l.from), at.get(l.to)];
        if (p === undefined || q === undefined) continue;
        adjacency[p]!.push(q);
        adjacency[q]!.push(p);
      }
      const sources = power.flatMap((a, k) => (a.source ? [k] : []));
      // Remove each power asset in turn: every other one still reaches a generator.
      for (let removed = 0; removed < ids.length; removed++) {
        const seen = new Uint8Array(ids.length);
        seen[removed] = 1;
        const stack = sources.filter((k) => k !== removed);
        for (const k of stack) seen[k] = 1;
        while (stack.length > 0) {
          for (const w of adjacency[stack.pop()!]!) {
            if (seen[w]) continue;
            seen[w] = 1;
            stack.push(w);
          }
        }
        expect(seen.every((v) => v === 1), `${assets} assets: losing ${ids[removed]} cuts power assets off`).toBe(true);
      }
    }
  });

  it('puts chance where it is real: standby power rides through some grid losses', () => {
    const doc = generateCity({ assets: 5000, seed: 3 });
    const kindOf = new Map(doc.assets.map((a) => [a.id, a.kind]));
    const chance = (to: string) => new Set(doc.dependencies.filter((d) => d.kind === 'power' && kindOf.get(d.to) === to).map((d) => d.probability));
    expect([...chance('treatment-plant')]).toEqual([0.25]);
    expect([...chance('pumping-station')]).toEqual([0.6]);
    expect([...chance('tower')]).toEqual([0.8]);
  });

  it('rejects sizes below 100', () => {
    expect(() => generateCity({ assets: 10, seed: 1 })).toThrow(/at least 100/);
  });
});
