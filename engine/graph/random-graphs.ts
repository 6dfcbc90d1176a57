/**
 * Seeded random graph generators returning undirected edge lists (each edge once). All randomness
 * comes from the given {@link Rng}, so one seed gives one graph on every machine.
 */

import type { EdgeList } from './csr.ts';
import type { Rng } from '../rng.ts';

/** Growable pair of Int32Arrays: generators do not know the edge count up front. */
class EdgeBuffer {
  from: Int32Array;
  to: Int32Array;
  length = 0;

  constructor(capacity: number) {
    const size = Math.max(16, Math.ceil(capacity));
    this.from = new Int32Array(size);
    this.to = new Int32Array(size);
  }

  push(a: number, b: number): void {
    if (this.length === this.from.length) {
      const grown = this.from.length * 2;
      const from = new Int32Array(grown);
      const to = new Int32Array(grown);
      from.set(this.from);
      to.set(this.to);
      this.from = from;
      this.to = to;
    }
    this.from[this.length] = a;
    this.to[this.length] = b;
    this.length++;
  }

  finish(nodeCount: number): EdgeList {
    return { nodeCount, from: this.from.slice(0, this.length), to: this.to.slice(0, this.length) };
  }
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`node count must be a non-negative integer, got ${n}`);
}

/**
 * Erdős–Rényi G(n, p) with p = meanDegree / (n − 1), so the expected mean degree is `meanDegree`.
 *
 * Geometric skipping (Batagelj & Brandes 2005, "Efficient generation of large random networks",
 * Phys. Rev. E 71, 036113): the gap to the next present pair among the n(n−1)/2 candidates is
 * geometric, so the cost is O(n + m) rather than O(n²). Edges come out with `from > to`.
 */
export function erdosRenyi(n: number, meanDegree: number, rng: Rng): EdgeList {
  checkCount(n);
  if (!(meanDegree >= 0)) throw new RangeError(`meanDegree must be ≥ 0, got ${meanDegree}`);
  const p = n > 1 ? Math.min(1, meanDegree / (n - 1)) : 0;
  const edges = new EdgeBuffer((meanDegree * n) / 2 + 1);
  if (p <= 0) return edges.finish(n);
  if (p >= 1) {
    for (let v = 1; v < n; v++) for (let w = 0; w < v; w++) edges.push(v, w);
    return edges.finish(n);
  }
  const logQ = Math.log(1 - p);
  let v = 1;
  let w = -1;
  while (v < n) {
    // 1 − next() is in (0, 1], so the logarithm is finite.
    w += 1 + Math.floor(Math.log(1 - rng.next()) / logQ);
    while (w >= v && v < n) {
      w -= v;
      v++;
    }
    if (v < n) edges.push(v, w);
  }
  return edges.finish(n);
}

/**
 * Barabási–Albert preferential attachment (Barabási & Albert 1999, Science 286, 509). Starts from
 * `m` isolated nodes; node `m` links to all of them; every later node links to `m` distinct
 * existing nodes chosen with probability proportional to degree. The result is connected, has
 * m (n − m) edges and a degree tail P(k) ~ k⁻³. This is the same process as NetworkX's classic
 * `barabasi_albert_graph` (not the same random stream).
 *
 * Proportional choice samples a uniform entry of the list of all edge endpoints so far, where each
 * node appears once per unit of degree. O(n m) time.
 */
export function barabasiAlbert(n: number, m: number, rng: Rng): EdgeList {
  checkCount(n);
  if (!Number.isInteger(m) || m < 1 || m >= Math.max(n, 2)) {
    throw new RangeError(`m must be an integer in [1, n), got m=${m}, n=${n}`);
  }
  const edges = new EdgeBuffer(m * (n - m));
  const endpoints = new Int32Array(2 * m * Math.max(0, n - m));
  let endpointCount = 0;
  const chosen = new Int32Array(m);
  for (let i = 0; i < m; i++) chosen[i] = i;
  for (let source = m; source < n; source++) {
    for (let i = 0; i < m; i++) {
      const target = chosen[i]!;
      edges.push(source, target);
      endpoints[endpointCount++] = source;
      endpoints[endpointCount++] = target;
    }
    if (source + 1 >= n) break;
    // Draw m distinct targets for the next node; m is small, so rejection with a linear scan
    // beats any set structure.
    let picked = 0;
    while (picked < m) {
      const candidate = endpoints[rng.int(endpointCount)]!;
      let duplicate = false;
      for (let j = 0; j < picked; j++) {
        if (chosen[j] === candidate) {
          duplicate = true;
          break;
        }
      }
      if (!duplicate) chosen[picked++] = candidate;
    }
  }
  return edges.finish(n);
}
