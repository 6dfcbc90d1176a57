import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { generateCity } from '../model/generate.ts';
import { parseCity } from '../model/validate.ts';
import { withEpanetNetwork } from './city-network.ts';
import { runHydraulics } from './hydraulics.ts';
import { parseInp } from './inp.ts';

describe('an EPANET network for a generated city', () => {
  it('maps treatment works, pumping stations and mains onto reservoirs, pumps and junctions with the same ids, deterministically', () => {
    const document = generateCity({ assets: 2000, seed: 3 });
    const a = withEpanetNetwork(document, 3);
    expect(JSON.stringify(withEpanetNetwork(document, 3))).toBe(JSON.stringify(a));
    const city = parseCity(a, 'generated');
    const network = parseInp(city.epanet!.inp, 'generated.inp');
    const water = city.assets.filter((x) => x.layer === 'water');
    for (const asset of water) {
      const type = asset.props['epanetType'];
      if (asset.kind === 'treatment-plant') expect(type).toBe('reservoir');
      else if (asset.kind === 'pumping-station') expect(type).toBe('pump');
      else expect(type).toBe('junction');
      const found = type === 'pump' ? network.links.some((l) => l.id === asset.id && l.type === 'pump') : network.nodes.some((n) => n.id === asset.id && n.type === type);
      expect(found, asset.id).toBe(true);
    }
    const stations = water.filter((x) => x.kind === 'pumping-station').length;
    expect(network.nodes.filter((n) => n.type === 'tank')).toHaveLength(stations);
    // Every station has a power provider (the generator gives each a distribution substation).
    for (const station of water.filter((x) => x.kind === 'pumping-station')) {
      expect(city.dependencies.some((d) => d.to === station.id && city.assets.find((x) => x.id === d.from)!.layer === 'power')).toBe(true);
    }
  });

  it('keeps every main between 20 and 80 m of pressure over a day (EPANET)', async () => {
    const document = withEpanetNetwork(generateCity({ assets: 2000, seed: 5 }), 5);
    const result = await runHydraulics(document.epanet.inp, 'generated.inp');
    const mains = new Set(document.assets.filter((x) => x.kind === 'main').map((x) => x.id));
    const pressures = result.times.flatMap((t) => Object.entries(result.pressureM[String(t)]!).filter(([id]) => mains.has(id)).map(([, p]) => p));
    expect(pressures.length).toBe(mains.size * 25);
    expect(Math.min(...pressures)).toBeGreaterThan(20);
    expect(Math.max(...pressures)).toBeLessThan(80);
  });

  it('gives a station without a power provider the nearest power asset, and refuses a water layer it cannot build', () => {
    const document = {
      assets: [
        { id: 'works', layer: 'water', kind: 'treatment-plant', position: { x: 0, y: 0 } },
        { id: 'station', layer: 'water', kind: 'pumping-station', position: { x: 100, y: 0 } },
        { id: 'main', layer: 'water', kind: 'main', position: { x: 200, y: 0 }, baseLoad: 1 },
        { id: 'far', layer: 'power', position: { x: 5000, y: 0 } },
        { id: 'near', layer: 'power', position: { x: 120, y: 30 } },
      ],
      links: [{ from: 'works', to: 'station', kind: 'trunk-main' }, { from: 'station', to: 'main', kind: 'main' }],
      dependencies: [],
    };
    const city = parseCity(withEpanetNetwork(document, 1), 'tiny');
    expect(city.dependencies).toContainEqual(expect.objectContaining({ from: 'near', to: 'station', kind: 'power', strength: 1 }));
    expect(() => withEpanetNetwork({ assets: [{ id: 'm', layer: 'water', kind: 'main' }] }, 1, 'bad.json')).toThrow(ValidationError);
    expect(() => withEpanetNetwork({ assets: [{ id: 'm', layer: 'water', kind: 'main' }] }, 1, 'bad.json')).toThrow(/bad\.json: \$\.assets\[0\]\.position: water asset "m" needs a position/);
  });
});
