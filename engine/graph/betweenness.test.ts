import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { BetweennessSolver, betweenness, betweennessSampled } from './betweenness.ts';
import { bruteForceLoads, randomSmallGraph } from './brute-force.ts';
import { buildCsr } from './csr.ts';

const path = (n: number, undirected = true) =>
  buildCsr(n, Array.from({ length: n - 1 }, (_, i) => i), Array.from({ length: n - 1 }, (_, i) => i + 1), {
    undirected,
  });
const star = (n: number) =>
  buildCsr(n, new Array<number>(n - 1).fill(0), Array.from({ length: n - 1 }, (_, i) => i + 1), { undirected: true });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    expect(Math.abs(actual[i]! - e)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(e)));
  }
}

describe('BetweennessSolver', () => {
  it('gives 0, 3, 4, 3, 0 on a path of five nodes', () => {
    expect(Array.from(betweenness(path(5)))).toEqual([0, 3, 4, 3, 0]);
  });

  it('gives the centre of a star (n − 1)(n − 2) / 2 and the leaves 0', () => {
    for (const n of [2, 3, 7, 50]) {
      const loads = betweenness(star(n));
      expect(loads[0]).toBe(((n - 1) * (n - 2)) / 2);
      for (let v = 1; v < n; v++) expect(loads[v]).toBe(0);
    }
  });

  it('splits ties equally: 0.5 for every node of a 4-cycle', () => {
    const cycle = buildCsr(4, [0, 1, 2, 3], [1, 2, 3, 0], { undirected: true });
    expect(Array.from(betweenness(cycle))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('splits ties on a diamond with a tail (0,1,2,3 square with 3–4 pendant)', () => {
    // {0,3}: ½ to 1 and 2. {0,4}: ½ to 1 and 2, 1 to 3. {1,2}: ½ to 0 and 3. {1,4}, {2,4}: 1 to 3.
    const g = buildCsr(5, [0, 0, 1, 2, 3], [1, 2, 3, 3, 4], { undirected: true });
    expect(Array.from(betweenness(g))).toEqual([0.5, 1, 1, 3.5, 0]);
  });

  it('counts ordered pairs on a directed graph', () => {
    expect(Array.from(betweenness(path(3, false)))).toEqual([0, 1, 0]);
    const cycle = buildCsr(3, [0, 1, 2], [1, 2, 0], { undirected: false });
    expect(Array.from(betweenness(cycle))).toEqual([1, 1, 1]);
  });

  it('ignores dead nodes, both as endpoints and as intermediaries', () => {
    expect(Array.from(betweenness(path(5), Uint8Array.from([1, 1, 0, 1, 1])))).toEqual([0, 0, 0, 0, 0]);
    const loads = betweenness(star(6), Uint8Array.from([1, 0, 1, 1, 1, 1]));
    expect(Array.from(loads)).toEqual([6, 0, 0, 0, 0, 0]); // (5 − 1)(5 − 2) / 2 among 4 live leaves
  });

  it('matches a brute-force all-pairs shortest-path count on 30 random undirected graphs', () => {
    const rng = new Rng(2024);
    for (let trial = 0; trial < 30; trial++) {
      const n = 4 + rng.int(18);
      const { from, to } = randomSmallGraph(n, 1.2 / Math.sqrt(n), rng, false);
      const g = buildCsr(n, from, to, { undirected: true });
      const alive = trial % 3 === 0 ? Uint8Array.from({ length: n }, () => (rng.chance(0.85) ? 1 : 0)) : undefined;
      expectClose(betweenness(g, alive), bruteForceLoads(g, true, alive));
    }
  });

  it('matches the brute-force count on random directed graphs', () => {
    const rng = new Rng(99);
    for (let trial = 0; trial < 15; trial++) {
      const n = 4 + rng.int(14);
      const { from, to } = randomSmallGraph(n, 1.5 / n + 0.1, rng, true);
      const g = buildCsr(n, from, to, { undirected: false });
      expectClose(betweenness(g), bruteForceLoads(g, false));
    }
  });

  it('reuses its buffers: repeated computations into one output agree exactly', () => {
    const rng = new Rng(5);
    const { from, to } = randomSmallGraph(40, 0.1, rng, false);
    const g = buildCsr(40, from, to, { undirected: true });
    const solver = new BetweennessSolver(g);
    const first = solver.compute().slice();
    const out = new Float64Array(40).fill(123);
    const alive = Uint8Array.from({ length: 40 }, (_, v) => (v % 4 === 0 ? 0 : 1));
    solver.compute(alive, out);
    expect(solver.compute(undefined, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(first));
  });

  it('sums only the given sources in computeFromSources', () => {
    // Path 0–1–2–3: from source 0 alone, 1 lies on 0→2 and 0→3, 2 on 0→3; halved for undirected.
    const solver = new BetweennessSolver(path(4));
    expect(Array.from(solver.computeFromSources([0]))).toEqual([0, 1, 0.5, 0]);
    expect(Array.from(solver.computeFromSources([0, 1, 2, 3]))).toEqual(Array.from(solver.compute()));
  });
});

describe('betweennessSampled', () => {
  it('is exact when every alive node is sampled', () => {
    const rng = new Rng(11);
    const { from, to } = randomSmallGraph(30, 0.12, rng, false);
    const g = buildCsr(30, from, to, { undirected: true });
    expectClose(betweennessSampled(g, undefined, 30, new Rng(1)), betweenness(g));
  });

  it('estimates the loads without bias when averaged over many samples', () => {
    const rng = new Rng(12);
    const { from, to } = randomSmallGraph(40, 0.08, rng, false);
    const g = buildCsr(40, from, to, { undirected: true });
    const exact = betweenness(g);
    const mean = new Float64Array(40);
    const sampler = new Rng(3);
    const runs = 300;
    for (let r = 0; r < runs; r++) {
      const estimate = betweennessSampled(g, undefined, 10, sampler);
      for (let v = 0; v < 40; v++) mean[v]! += estimate[v]! / runs;
    }
    const total = exact.reduce((a, b) => a + b, 0);
    const meanTotal = mean.reduce((a, b) => a + b, 0);
    expect(Math.abs(meanTotal - total) / total).toBeLessThan(0.05);
  });
});
