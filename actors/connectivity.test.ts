import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/index.ts';
import { solveAfterRemovals, solveConnectivity, type LayerGraph } from './layer-solver.ts';

/** An undirected graph in the solver's layout from an edge list. */
function graphOf(n: number, edges: readonly [number, number][], sources: readonly number[]): LayerGraph {
  const adjacency: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    adjacency[a]!.push(b);
    adjacency[b]!.push(a);
  }
  const offsets = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) offsets[v + 1] = offsets[v]! + adjacency[v]!.length;
  return { layer: 0, members: Int32Array.from({ length: n }, (_, i) => i), offsets, targets: Int32Array.from(adjacency.flat()), sources: Int32Array.from(sources) };
}

/** Grids with holes (roads), trees with a few cross links (radial networks), and sparse random graphs. */
function randomGraph(rng: Rng, sourced: boolean): LayerGraph {
  const shape = Math.floor(rng.next() * 3);
  const edges: [number, number][] = [];
  let n: number;
  if (shape === 0) {
    const w = 3 + Math.floor(rng.next() * 14);
    const h = 3 + Math.floor(rng.next() * 14);
    n = w * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (x + 1 < w && rng.next() < 0.9) edges.push([y * w + x, y * w + x + 1]);
        if (y + 1 < h && rng.next() < 0.9) edges.push([y * w + x, (y + 1) * w + x]);
      }
    }
  } else if (shape === 1) {
    n = 10 + Math.floor(rng.next() * 200);
    for (let v = 1; v < n; v++) edges.push([Math.floor(rng.next() * v), v]);
    for (let e = 0; e < n / 10; e++) edges.push([Math.floor(rng.next() * n), Math.floor(rng.next() * n)]);
  } else {
    n = 10 + Math.floor(rng.next() * 150);
    for (let e = 0; e < n * 1.2; e++) edges.push([Math.floor(rng.next() * n), Math.floor(rng.next() * n)]);
  }
  const sources = sourced ? Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => Math.floor(rng.next() * n)) : [];
  return graphOf(n, edges.filter(([a, b]) => a !== b), [...new Set(sources)]);
}

describe('incremental connectivity after removals', () => {
  it('equals the full solve on random graphs, with and without sources, over long removal/repair sequences', () => {
    let incremental = 0;
    let fallbacks = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new Rng(seed);
      const graph = randomGraph(rng, seed % 2 === 0);
      const n = graph.members.length;
      let operable: Uint8Array = new Uint8Array(n).fill(1);
      let solved = solveConnectivity(graph, operable);
      for (let step = 0; step < 40; step++) {
        const next = Uint8Array.from(operable);
        const removed: number[] = [];
        if (rng.next() < 0.8) {
          const count = 1 + Math.floor(rng.next() * 4);
          for (let j = 0; j < count; j++) {
            const v = Math.floor(rng.next() * n);
            if (next[v] === 1) {
              next[v] = 0;
              removed.push(v);
            }
          }
        } else {
          for (let v = 0; v < n; v++) if (next[v] === 0 && rng.next() < 0.3) next[v] = 1;
        }
        const full = solveConnectivity(graph, next, solved.connected);
        if (removed.length > 0 || next.every((x, i) => x === operable[i])) {
          const fast = solveAfterRemovals(graph, next, solved.connected, solved.count, removed);
          if (fast === undefined) fallbacks++;
          else {
            incremental++;
            expect(fast.count, `seed ${seed} step ${step}`).toBe(full.count);
            expect(Array.from(fast.connected), `seed ${seed} step ${step}`).toEqual(Array.from(full.connected));
          }
        }
        operable = next;
        solved = full;
      }
    }
    // The fast path answers almost always; the fallback is for the rare ties and wiped-out parts.
    expect(incremental).toBeGreaterThan(10 * fallbacks);
  });
});
