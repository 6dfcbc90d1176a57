import type { Rng } from '../engine/rng.ts';

/**
 * A random connected graph on n nodes (a random spanning tree) plus up to `extra` further edges
 * (self loops dropped), for the sparse factorisation tests. Tests only.
 */
export function randomGraph(rng: Rng, n: number, extra: number): { from: Int32Array; to: Int32Array } {
  const from: number[] = [];
  const to: number[] = [];
  for (let v = 1; v < n; v++) {
    from.push(v);
    to.push(rng.int(v));
  }
  for (let e = 0; e < extra; e++) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (a !== b) {
      from.push(a);
      to.push(b);
    }
  }
  return { from: Int32Array.from(from), to: Int32Array.from(to) };
}
