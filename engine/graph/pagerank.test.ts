import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { randomSmallGraph } from './brute-force.ts';
import { buildCsr } from './csr.ts';
import { pagerank } from './pagerank.ts';

describe('pagerank', () => {
  it('solves the two-node chain with a dangling node: x1 = (1 + d) / (2 + d)', () => {
    const { scores, converged } = pagerank(buildCsr(2, [0], [1], { undirected: false }));
    expect(converged).toBe(true);
    expect(scores[1]).toBeCloseTo(1.85 / 2.85, 9);
    expect(scores[0]).toBeCloseTo(1 / 2.85, 9);
  });

  it('solves an undirected star by hand: c = (1−d)/n + d·4ℓ, ℓ = (1−d)/n + d·c/4', () => {
    const g = buildCsr(5, [0, 0, 0, 0], [1, 2, 3, 4], { undirected: true });
    const { scores } = pagerank(g, { tolerance: 1e-13 });
    const centre = 0.132 / 0.2775;
    expect(scores[0]).toBeCloseTo(centre, 9);
    for (let v = 1; v < 5; v++) expect(scores[v]).toBeCloseTo(0.03 + 0.2125 * centre, 9);
  });

  it('matches NetworkX on a small digraph with a source node', () => {
    // nx.pagerank on DiGraph 0→1, 0→2, 1→2, 2→0, 3→2 (values recorded from NetworkX 3.6).
    const g = buildCsr(4, [0, 0, 1, 2, 3], [1, 2, 2, 0, 2], { undirected: false });
    const { scores } = pagerank(g, { tolerance: 1e-13 });
    const expected = [0.3725268513284351, 0.1958239118145841, 0.39414923685698056, 0.0375];
    for (let v = 0; v < 4; v++) expect(scores[v]).toBeCloseTo(expected[v]!, 9);
  });

  it('is uniform on a directed cycle', () => {
    const { scores } = pagerank(buildCsr(4, [0, 1, 2, 3], [1, 2, 3, 0], { undirected: false }));
    for (const x of scores) expect(x).toBeCloseTo(0.25, 12);
  });

  it('sums to 1 on random directed graphs with dangling nodes and is deterministic', () => {
    const rng = new Rng(8);
    for (let trial = 0; trial < 10; trial++) {
      const n = 5 + rng.int(60);
      const { from, to } = randomSmallGraph(n, 1.5 / n, rng, true);
      const g = buildCsr(n, from, to, { undirected: false });
      const a = pagerank(g);
      const sum = a.scores.reduce((s, x) => s + x, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
      expect(Array.from(pagerank(g).scores)).toEqual(Array.from(a.scores));
    }
  });

  it('reports non-convergence when the iteration cap is hit', () => {
    const g = buildCsr(3, [0, 1], [1, 2], { undirected: true });
    const result = pagerank(g, { maxIterations: 2, tolerance: 0 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBe(2);
  });
});
