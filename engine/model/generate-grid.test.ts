import { describe, expect, it } from 'vitest';
import { networkFromCity } from '../power/network.ts';
import { screenN1 } from '../power/contingency.ts';
import { findIslands } from '../power/dcpf.ts';
import { generateCity } from './generate.ts';
import { parseCity } from './validate.ts';

describe('the electrical power layer of a generated city', () => {
  const doc = generateCity({ assets: 10_000, seed: 7, grid: 'electrical' });
  const city = parseCity(doc, 'generated');
  const net = networkFromCity(city);

  it('keeps the requested asset count and validates, with several generators on a meshed, connected transmission grid', () => {
    expect(doc.assets).toHaveLength(10_000);
    expect(net.genIds.length).toBeGreaterThanOrEqual(3);
    expect(findIslands(net).count).toBe(1);
    const lines = city.assets.filter((a) => a.kind === 'transmission-line').length;
    const transmissionBuses = city.assets.filter((a) => a.kind === 'transmission-substation').length;
    // Meshed: more transmission lines than a tree over the transmission buses would need.
    expect(lines).toBeGreaterThan(transmissionBuses);
    expect(city.assets.filter((a) => a.kind === 'transformer').length).toBe(2 * city.assets.filter((a) => a.kind === 'distribution-substation').length);
    // Generation is dispatched to the load (the feeders' base load on the distribution buses).
    const load = net.pdMw.reduce((s, v) => s + v, 0);
    const generation = net.pgMw.reduce((s, v) => s + v, 0);
    expect(Math.abs(load - generation) / load).toBeLessThan(1e-3);
  });

  it('is N-1 secure at K = 1: LODF screening finds no post-contingency overload (branches and generators)', () => {
    const screening = screenN1(net);
    expect(screening.baseOverloads).toEqual([]);
    expect(screening.contingencies.length).toBe(net.branchIds.length + net.genIds.length);
    expect(screening.contingencies.filter((c) => c.overloads.length > 0)).toEqual([]);
  });

  it('is the same for the same seed, and the default stays the connectivity graph', () => {
    expect(JSON.stringify(generateCity({ assets: 2000, seed: 3, grid: 'electrical' }))).toBe(JSON.stringify(generateCity({ assets: 2000, seed: 3, grid: 'electrical' })));
    expect(generateCity({ assets: 2000, seed: 3 }).assets.some((a) => a.electrical !== undefined)).toBe(false);
  });
});
