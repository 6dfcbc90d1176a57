import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { randomSmallGraph } from './brute-force.ts';
import { connectedComponents, reachableFrom } from './components.ts';
import { buildCsr } from './csr.ts';

describe('connectedComponents', () => {
  it('numbers components in order of their lowest node and finds the largest', () => {
    // {0, 4}, {1, 2, 5}, {3}
    const g = buildCsr(6, [4, 5, 2], [0, 2, 1], { undirected: true });
    const c = connectedComponents(g);
    expect(Array.from(c.componentOf)).toEqual([0, 1, 1, 2, 0, 1]);
    expect(Array.from(c.sizes)).toEqual([2, 3, 1]);
    expect(c.count).toBe(3);
    expect(c.largest).toBe(1);
    expect(c.largestSize).toBe(3);
  });

  it('excludes dead nodes, which split the graph, and breaks size ties by lowest component id', () => {
    const path = buildCsr(5, [0, 1, 2, 3], [1, 2, 3, 4], { undirected: true });
    const alive = Uint8Array.from([1, 1, 0, 1, 1]);
    const c = connectedComponents(path, alive);
    expect(Array.from(c.componentOf)).toEqual([0, 0, -1, 1, 1]);
    expect(c.largest).toBe(0);
    expect(c.largestSize).toBe(2);
  });

  it('reports no largest component when every node is dead', () => {
    const g = buildCsr(3, [0], [1], { undirected: true });
    const c = connectedComponents(g, new Uint8Array(3));
    expect(c.largest).toBe(-1);
    expect(c.largestSize).toBe(0);
    expect(c.count).toBe(0);
    expect(Array.from(c.componentOf)).toEqual([-1, -1, -1]);
  });

  it('finds weakly connected components of a directed graph', () => {
    const g = buildCsr(4, [1, 3], [0, 2], { undirected: false });
    expect(Array.from(connectedComponents(g).componentOf)).toEqual([0, 0, 1, 1]);
  });

  it('writes into a caller-supplied buffer', () => {
    const g = buildCsr(3, [0], [1], { undirected: true });
    const buffer = new Int32Array(3);
    const c = connectedComponents(g, undefined, buffer);
    expect(c.componentOf).toBe(buffer);
    expect(Array.from(buffer)).toEqual([0, 0, 1]);
    const longer = new Int32Array(5).fill(9);
    const view = connectedComponents(g, undefined, longer).componentOf;
    expect(Array.from(view)).toEqual([0, 0, 1]);
    expect(view.buffer).toBe(longer.buffer);
  });

  it('agrees with breadth-first reachability on random graphs with dead nodes', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + rng.int(30);
      const { from, to } = randomSmallGraph(n, 1.5 / n, rng, false);
      const g = buildCsr(n, from, to, { undirected: true });
      const alive = Uint8Array.from({ length: n }, () => (rng.chance(0.8) ? 1 : 0));
      const c = connectedComponents(g, alive);
      for (let v = 0; v < n; v++) {
        if (alive[v] === 0) continue;
        const reached = reachableFrom(g, [v], alive);
        for (let w = 0; w < n; w++) {
          const same = alive[w] === 1 && c.componentOf[w] === c.componentOf[v];
          expect(reached[w] === 1).toBe(same);
        }
      }
    }
  });
});

describe('reachableFrom', () => {
  it('follows arc directions and stops at dead nodes', () => {
    const g = buildCsr(5, [0, 1, 2, 4], [1, 2, 3, 0], { undirected: false });
    expect(Array.from(reachableFrom(g, [0]))).toEqual([1, 1, 1, 1, 0]);
    expect(Array.from(reachableFrom(g, [0], Uint8Array.from([1, 1, 0, 1, 1])))).toEqual([1, 1, 0, 0, 0]);
  });

  it('reaches nothing from a dead source and merges several sources', () => {
    const g = buildCsr(4, [0, 2], [1, 3], { undirected: true });
    expect(Array.from(reachableFrom(g, [0], Uint8Array.from([0, 1, 1, 1])))).toEqual([0, 0, 0, 0]);
    expect(Array.from(reachableFrom(g, [1, 3]))).toEqual([1, 1, 1, 1]);
  });
});
