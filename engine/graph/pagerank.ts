/**
 * PageRank by power iteration over a CSR (Page, Brin, Motwani & Winograd 1999):
 *
 *   x'(v) = (1 − d) / N + d Σ_{u → v} x(u) / out(u) + d D / N,   D = Σ_{u dangling} x(u)
 *
 * Dangling nodes (no out-arcs) spread their mass uniformly, so Σ x = 1 at every iteration. An
 * undirected CSR is read as the symmetric digraph. Deterministic: fixed start vector, fixed
 * summation order. O(m) per iteration.
 */

import type { Csr } from './csr.ts';

/** Options for {@link pagerank}. */
export interface PageRankOptions {
  /** Probability of following a link; default 0.85. */
  readonly damping?: number;
  /** Stop when the L1 change between iterations falls below this; default 1e-10. */
  readonly tolerance?: number;
  /** Give up after this many iterations; default 1000. */
  readonly maxIterations?: number;
}

/** Result of {@link pagerank}. */
export interface PageRankResult {
  /** Score of each node; sums to 1 (up to rounding). */
  readonly scores: Float64Array;
  readonly iterations: number;
  /** False if `maxIterations` was reached first. */
  readonly converged: boolean;
}

/**
 * PageRank scores of every node.
 *
 * @example
 * const { scores } = pagerank(buildCsr(2, [0], [1], { undirected: false }));
 * // scores ≈ [0.3509, 0.6491]: node 1 is dangling and gives its mass back uniformly
 */
export function pagerank(g: Csr, options: PageRankOptions = {}): PageRankResult {
  const damping = options.damping ?? 0.85;
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 1000;
  if (!(damping >= 0 && damping <= 1)) throw new RangeError(`damping ${damping} not in [0, 1]`);
  const { nodeCount: n, offsets, targets } = g;
  if (n === 0) return { scores: new Float64Array(0), iterations: 0, converged: true };

  let x = new Float64Array(n).fill(1 / n);
  let next = new Float64Array(n);
  const teleport = (1 - damping) / n;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    let dangling = 0;
    next.fill(0);
    for (let u = 0; u < n; u++) {
      const lo = offsets[u]!;
      const hi = offsets[u + 1]!;
      if (hi === lo) {
        dangling += x[u]!;
        continue;
      }
      const share = x[u]! / (hi - lo);
      for (let k = lo; k < hi; k++) next[targets[k]!]! += share;
    }
    const base = teleport + (damping * dangling) / n;
    let change = 0;
    for (let v = 0; v < n; v++) {
      const value = base + damping * next[v]!;
      next[v] = value;
      change += Math.abs(value - x[v]!);
    }
    const tmp = x;
    x = next;
    next = tmp;
    if (change < tolerance) {
      converged = true;
      break;
    }
  }
  return { scores: x, iterations, converged };
}
