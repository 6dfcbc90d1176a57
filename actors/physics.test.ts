import { describe, expect, it } from 'vitest';
import {
  MotterLaiCascade,
  Rng,
  barabasiAlbert,
  buildCsr,
  erdosRenyi,
  highestLoadNode,
  mutualGiantComponent,
  parseCity,
  type CityModel,
} from '../engine/index.ts';
import { StudyCity, runOnce, runStudy } from './studies.ts';

/** A generic single-layer city from an edge list (the analysts' format). */
function graphCity(nodeCount: number, from: ArrayLike<number>, to: ArrayLike<number>, layer = 'A'): CityModel {
  const links: Array<{ from: string; to: string }> = [];
  const seen = new Set<string>();
  for (let e = 0; e < from.length; e++) {
    const a = from[e]!;
    const b = to[e]!;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || seen.has(key)) continue;
    seen.add(key);
    links.push({ from: `${layer}${a}`, to: `${layer}${b}` });
  }
  return parseCity({ assets: Array.from({ length: nodeCount }, (_, i) => ({ id: `${layer}${i}`, layer })), links }, 'graph');
}

describe('Motter–Lai on the engine', () => {
  it('matches the reference cascade exactly on scale-free graphs (same failures, same G)', async () => {
    for (const seed of [1, 2, 3]) {
      const edges = barabasiAlbert(400, 2, new Rng(seed));
      const city = graphCity(400, edges.from, edges.to);
      const study = new StudyCity(city);
      for (const alpha of [0.05, 0.3]) {
        const reference = new MotterLaiCascade(buildCsr(400, edges.from, edges.to, { undirected: true }), alpha);
        const first = highestLoadNode(reference.initialLoads);
        reference.removeNodes([first]);
        const expected = reference.run();
        const { outcome } = await runOnce(study, { model: 'motter-lai', runs: 1, seed: 1, alpha, attack: { kind: 'highest-load' } }, 1);
        expect(outcome.triggered).toEqual([`A${first}`]);
        expect(outcome.giantComponentFraction).toBeCloseTo(expected.giantComponentFraction, 12);
        expect(Math.round(outcome.failedFraction * 400)).toBe(expected.failed + expected.removed);
      }
    }
  });

  it('G falls as alpha decreases under the highest-load attack (Motter & Lai 2002, Fig. 1)', async () => {
    const edges = barabasiAlbert(600, 2, new Rng(7));
    const study = new StudyCity(graphCity(600, edges.from, edges.to));
    const g = async (alpha: number): Promise<number> =>
      (await runStudy(study, { model: 'motter-lai', runs: 1, seed: 1, alpha, attack: { kind: 'highest-load' } })).giantComponentFraction!.mean;
    const [low, mid, high] = [await g(0.05), await g(0.4), await g(1.0)];
    expect(low).toBeLessThan(mid);
    expect(mid).toBeLessThanOrEqual(high);
    expect(high).toBeGreaterThan(0.9);
    expect(low).toBeLessThan(0.8);
  });

  it('a hand-worked case: a path of five, removing an end overloads nothing; removing the middle splits it', async () => {
    const city = graphCity(5, [0, 1, 2, 3], [1, 2, 3, 4]);
    const study = new StudyCity(city);
    // Loads on the intact path are 0, 3, 4, 3, 0.
    expect(Array.from(study.initialLoads())).toEqual([0, 3, 4, 3, 0]);
    const middle = await runOnce(study, { model: 'motter-lai', runs: 1, seed: 1, alpha: 0.1, attack: { kind: 'ids', ids: ['A2'] } }, 1);
    expect(middle.outcome.giantComponentFraction).toBeCloseTo(2 / 5, 12);
    const end = await runOnce(study, { model: 'motter-lai', runs: 1, seed: 1, alpha: 0.1, attack: { kind: 'ids', ids: ['A0'] } }, 1);
    // Without A0, loads become 0, 2, 2, 0 (A1, A2, A3 fall) — all below capacity: G = 4/5.
    expect(end.outcome.giantComponentFraction).toBeCloseTo(4 / 5, 12);
  });
});

/** Two coupled ER layers with one-to-one mutual hard dependencies. */
function coupledCity(n: number, k: number, seed: number): CityModel {
  const a = erdosRenyi(n, k, new Rng(seed));
  const b = erdosRenyi(n, k, new Rng(seed + 1000));
  const links: Array<{ from: string; to: string }> = [];
  for (const [layer, edges] of [['A', a], ['B', b]] as const) {
    const seen = new Set<string>();
    for (let e = 0; e < edges.from.length; e++) {
      const x = edges.from[e]!;
      const y = edges.to[e]!;
      const key = x < y ? `${x}-${y}` : `${y}-${x}`;
      if (x === y || seen.has(key)) continue;
      seen.add(key);
      links.push({ from: `${layer}${x}`, to: `${layer}${y}` });
    }
  }
  const assets = [...Array.from({ length: n }, (_, i) => ({ id: `A${i}`, layer: 'A' })), ...Array.from({ length: n }, (_, i) => ({ id: `B${i}`, layer: 'B' }))];
  const dependencies = Array.from({ length: n }, (_, i) => [{ from: `A${i}`, to: `B${i}` }, { from: `B${i}`, to: `A${i}` }]).flat();
  return parseCity({ assets, links, dependencies }, 'coupled');
}

describe('interdependent networks on the engine (Buldyrev et al. 2010)', () => {
  it('matches the reference mutual percolation for the same removal', async () => {
    const n = 800;
    const city = coupledCity(n, 4, 11);
    const study = new StudyCity(city);
    const { outcome } = await runOnce(study, { model: 'interdependent', runs: 1, seed: 5, attackLayer: 'A', removeFraction: 0.3 }, 5);
    const removed = new Uint8Array(2 * n);
    for (const id of outcome.triggered) removed[Number(id.slice(1))] = 1;
    const csr = (layer: 'A' | 'B') => {
      const from: number[] = [];
      const to: number[] = [];
      for (const l of city.links) if (l.from.startsWith(layer)) {
        from.push(Number(l.from.slice(1)));
        to.push(Number(l.to.slice(1)));
      }
      return buildCsr(n, from, to, { undirected: true });
    };
    const deps = {
      dependentLayer: Int32Array.from([...Array(n).fill(1), ...Array(n).fill(0)]),
      dependent: Int32Array.from([...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: n }, (_, i) => i)]),
      providerLayer: Int32Array.from([...Array(n).fill(0), ...Array(n).fill(1)]),
      provider: Int32Array.from([...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: n }, (_, i) => i)]),
    };
    const reference = mutualGiantComponent([csr('A'), csr('B')], deps, removed, { attackedLayer: 0 });
    expect(outcome.mutualGiantComponentFraction).toBeCloseTo(reference.fraction, 12);
  });

  it('collapses abruptly below p_c ≈ 2.4554/<k> and survives above it', async () => {
    const study = new StudyCity(coupledCity(2000, 4, 3));
    const at = async (p: number): Promise<number> =>
      (await runStudy(study, { model: 'interdependent', runs: 3, seed: 1, attackLayer: 'A', removeFraction: 1 - p })).mutualGiantComponentFraction!.mean;
    expect(await at(0.5)).toBeLessThan(0.1);
    expect(await at(0.8)).toBeGreaterThan(0.5);
  });
});

describe('stochastic propagation', () => {
  it('runs are reproducible by seed and the confidence interval brackets the mean', async () => {
    const assets = [{ id: 'p', layer: 'A' }, ...Array.from({ length: 100 }, (_, i) => ({ id: `d${i}`, layer: 'B' }))];
    const dependencies = assets.slice(1).map((a) => ({ from: 'p', to: a.id, probability: 0.4 }));
    const study = new StudyCity(parseCity({ assets, dependencies }, 'star'));
    const options = { model: 'stochastic' as const, runs: 20, seed: 9, attack: { kind: 'ids' as const, ids: ['p'] }, untilSeconds: 60 };
    const a = await runStudy(study, options);
    const b = await runStudy(study, options);
    expect(b.perRun.map((r) => r.stateHash)).toEqual(a.perRun.map((r) => r.stateHash));
    // Expected failed share: (1 + 0.4 × 100) / 101 ≈ 0.406.
    expect(a.failedFraction.mean).toBeGreaterThan(0.3);
    expect(a.failedFraction.mean).toBeLessThan(0.5);
    expect(a.failedFraction.ci95[0]).toBeLessThan(a.failedFraction.mean);
    expect(a.bottlenecks.causeMostFailures[0]?.id).toBe('p');
  });
});

describe('Monte Carlo over worker threads', () => {
  it('gives the same per-run results as running in one thread', async () => {
    const assets = [{ id: 'p', layer: 'A' }, ...Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, layer: 'B' }))];
    const dependencies = assets.slice(1).map((a) => ({ from: 'p', to: a.id, probability: 0.5 }));
    const study = new StudyCity(parseCity({ assets, dependencies }, 'star'));
    const options = { model: 'stochastic' as const, runs: 6, seed: 3, attack: { kind: 'ids' as const, ids: ['p'] }, untilSeconds: 60 };
    const single = await runStudy(study, options);
    const parallel = await runStudy(study, { ...options, workers: 2 });
    expect(parallel.perRun).toEqual(single.perRun);
    expect(parallel.bottlenecks).toEqual(single.bottlenecks);
  });
});
