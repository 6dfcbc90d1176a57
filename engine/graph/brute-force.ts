/**
 * Deliberately naive oracles for the tests: O(n³) and obviously correct, sharing no code with the
 * fast implementations. Not exported from index.ts.
 */

import type { Csr } from './csr.ts';
import { hasArc } from './csr.ts';
import type { Rng } from '../rng.ts';

/**
 * Load by definition: Floyd–Warshall distances, shortest-path counts by memoised recursion
 * σ(s, t) = Σ_{u: s→u, d(u,t) = d(s,t) − 1} σ(u, t), then Σ σ_sv σ_vt / σ_st over pairs with
 * d(s,v) + d(v,t) = d(s,t). Unordered pairs if `undirected`, ordered otherwise.
 */
export function bruteForceLoads(g: Csr, undirected: boolean, alive?: Uint8Array): number[] {
  const n = g.nodeCount;
  const on = (v: number): boolean => alive === undefined || alive[v] === 1;
  const d: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) {
      row.push(i === j ? 0 : on(i) && on(j) && hasArc(g, i, j) ? 1 : Infinity);
    }
    d.push(row);
  }
  for (let k = 0; k < n; k++) {
    if (!on(k)) continue;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const via = d[i]![k]! + d[k]![j]!;
        if (via < d[i]![j]!) d[i]![j] = via;
      }
    }
  }
  const memo = new Map<number, number>();
  const sigma = (s: number, t: number): number => {
    if (s === t) return 1;
    const key = s * n + t;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let count = 0;
    const dst = d[s]![t]!;
    if (Number.isFinite(dst)) {
      for (let u = 0; u < n; u++) {
        if (on(u) && hasArc(g, s, u) && d[u]![t] === dst - 1) count += sigma(u, t);
      }
    }
    memo.set(key, count);
    return count;
  };
  const load = new Array<number>(n).fill(0);
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < n; t++) {
      if (s === t || !on(s) || !on(t) || (undirected && t < s)) continue;
      const dst = d[s]![t]!;
      if (!Number.isFinite(dst)) continue;
      const total = sigma(s, t);
      for (let v = 0; v < n; v++) {
        if (v === s || v === t || !on(v)) continue;
        if (d[s]![v]! + d[v]![t]! === dst) load[v]! += (sigma(s, v) * sigma(v, t)) / total;
      }
    }
  }
  return load;
}

/** A random edge list: each of the n(n−1) ordered pairs (or n(n−1)/2 pairs) kept with probability p. */
export function randomSmallGraph(n: number, p: number, rng: Rng, directed: boolean): { from: number[]; to: number[] } {
  const from: number[] = [];
  const to: number[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = directed ? 0 : a + 1; b < n; b++) {
      if (a !== b && rng.chance(p)) {
        from.push(a);
        to.push(b);
      }
    }
  }
  return { from, to };
}
