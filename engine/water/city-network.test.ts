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

  it("is a generated city's water layer on request (generateCity water: 'epanet'), each station fed from its nearest works by a main sized for its district", () => {
    const plain = generateCity({ assets: 3000, seed: 8 });
    const document = generateCity({ assets: 3000, seed: 8, water: 'epanet' });
    expect(JSON.stringify(document)).toBe(JSON.stringify(withEpanetNetwork(plain, 8, plain.name)));
    const network = parseInp(document.epanet!.inp, 'generated.inp');
    const works = document.assets.filter((a) => a.kind === 'treatment-plant');
    const heads = new Set(network.nodes.filter((n) => n.type === 'reservoir').map((n) => n.elevationM));
    expect(heads.size).toBe(1); // one hydraulic grade: no water poured between clear wells through the ring
    for (const station of document.assets.filter((a) => a.kind === 'pumping-station')) {
      const feeder = network.links.find((l) => l.id === `${station.id}~feed`)!;
      expect(feeder.to).toBe(`${station.id}~in`);
      const distance = (id: string): number => {
        const w = works.find((x) => x.id === id)!;
        return Math.hypot(w.position.x - station.position.x, w.position.y - station.position.y);
      };
      expect(Math.min(...works.map((w) => distance(w.id)))).toBeCloseTo(distance(feeder.from), 6);
      expect(feeder.pipe!.diameterM).toBeGreaterThanOrEqual(0.15);
    }
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
    // With a substation in the city, the nearest substation feeds the pump, not a nearer asset of another kind.
    const withSubstation = { ...document, assets: [...document.assets, { id: 'sub', layer: 'power', kind: 'distribution-substation', position: { x: 900, y: 0 } }] };
    const fed = parseCity(withEpanetNetwork(withSubstation, 1), 'tiny');
    expect(fed.dependencies.filter((d) => d.to === 'station').map((d) => d.from)).toEqual(['sub']);
    expect(() => withEpanetNetwork({ assets: [{ id: 'm', layer: 'water', kind: 'main' }] }, 1, 'bad.json')).toThrow(ValidationError);
    expect(() => withEpanetNetwork({ assets: [{ id: 'm', layer: 'water', kind: 'main' }] }, 1, 'bad.json')).toThrow(/bad\.json: \$\.assets\[0\]\.position: water asset "m" needs a position/);
  });
});
