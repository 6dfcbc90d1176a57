import { describe, expect, it } from 'vitest';
import { CityIndex, generateCity, parseCity, type CityModel } from '../engine/index.ts';
import { ImpactBounds } from './impact-bounds.ts';
import { StudyCity, criticality, runOnce } from './studies.ts';

/** Impact of every asset failing alone (one stochastic run each, the seed criticality uses). */
async function everyImpact(study: StudyCity, seed: number): Promise<number[]> {
  const impacts: number[] = [];
  for (let a = 0; a < study.index.assetCount; a++) {
    const { outcome } = await runOnce(study, { model: 'stochastic', runs: 1, seed, attack: { kind: 'ids', ids: [study.index.ids[a]!] } }, seed);
    impacts.push(Math.round(outcome.failedFraction * study.index.assetCount));
  }
  return impacts;
}

/**
 * A city shaped like the one that fooled the old screening: one generator at the edge of a long
 * radial grid (low betweenness, low PageRank), a busy meshed core and a water works fed by one
 * substation — the source and the works take out most of the city; the core does not.
 */
function edgeSourceCity(): CityModel {
  const assets: Array<{ id: string; layer: string; kind?: string }> = [{ id: 'gen', layer: 'power', kind: 'generator' }];
  const links: Array<{ from: string; to: string }> = [{ from: 'gen', to: 'sub-0' }];
  const dependencies: Array<{ from: string; to: string; probability?: number }> = [];
  for (let i = 0; i < 6; i++) {
    assets.push({ id: `sub-${i}`, layer: 'power', kind: 'substation' });
    if (i > 0) links.push({ from: `sub-${i - 1}`, to: `sub-${i}` });
  }
  links.push({ from: 'sub-5', to: 'sub-1' }); // a meshed core: sub-1…sub-5 in a ring
  for (let i = 0; i < 30; i++) {
    assets.push({ id: `fd-${i}`, layer: 'power', kind: 'feeder' });
    links.push({ from: `sub-${1 + (i % 5)}`, to: `fd-${i}` });
  }
  assets.push({ id: 'works', layer: 'water', kind: 'treatment-plant' });
  dependencies.push({ from: 'sub-3', to: 'works' });
  for (let i = 0; i < 20; i++) {
    assets.push({ id: `main-${i}`, layer: 'water', kind: 'main' });
    links.push({ from: i === 0 ? 'works' : `main-${i - 1}`, to: `main-${i}` });
  }
  for (let i = 0; i < 40; i++) {
    assets.push({ id: `rd-${i}`, layer: 'transport', kind: 'road' });
    if (i > 0) links.push({ from: `rd-${i - 1}`, to: `rd-${i}` });
    if (i >= 8) links.push({ from: `rd-${i - 8}`, to: `rd-${i}` });
  }
  return parseCity({ assets, links, dependencies }, 'edge-source');
}

describe('criticality', () => {
  it('lists the only generator and the water works first, though both are peripheral by betweenness and PageRank', async () => {
    const study = new StudyCity(edgeSourceCity());
    const result = await criticality(study, { top: 5, seed: 1 });
    // gen, the cut vertices between it and the meshed core, the substation that feeds the works, the works.
    expect(result.rows.map((r) => r.id)).toEqual(['gen', 'sub-0', 'sub-1', 'sub-3', 'works']);
    expect(result.rows[0]!.impact).toBe(study.index.assetCount - 40); // everything but the roads
    expect(result.simulated).toBeLessThan(study.index.assetCount);
  });

  it('gives exactly the list that simulating every asset gives, on a generated city with chance in its dependencies', async () => {
    const study = new StudyCity(parseCity(generateCity({ assets: 300, seed: 7 }), 'gen-300'));
    const all = await everyImpact(study, 4);
    const result = await criticality(study, { top: 12, seed: 4 });
    const brute = all.map((impact, a) => ({ id: study.index.ids[a]!, impact })).sort((x, y) => y.impact - x.impact);
    expect(result.rows.map((r) => r.impact)).toEqual(brute.slice(0, 12).map((r) => r.impact));
    for (const r of result.rows) expect(r.impact).toBe(all[study.index.indexOf(r.id)!]);
    expect(result.simulated).toBeLessThan(study.index.assetCount);
  }, 60_000);

  it('never bounds an asset below its simulated impact (every asset of a generated city, several seeds)', async () => {
    const study = new StudyCity(parseCity(generateCity({ assets: 300, seed: 3 }), 'gen-300b'));
    const bounds = new ImpactBounds(new CityIndex(study.city));
    for (const seed of [1, 2]) {
      const all = await everyImpact(study, seed);
      all.forEach((impact, a) => expect(impact, study.index.ids[a]).toBeLessThanOrEqual(bounds.bound(a)));
    }
  }, 60_000);
});
