/**
 * Shortest-path betweenness ("load" in Motter & Lai 2002) by Brandes' algorithm, for unweighted
 * graphs, restricted to the alive nodes.
 *
 * Load of v = Σ over pairs {s, t} of alive nodes with s ≠ v ≠ t of σ_st(v) / σ_st, where σ_st counts
 * shortest s–t paths and σ_st(v) those through v. Pairs are unordered on an undirected (symmetric)
 * CSR and ordered on a directed one; in both cases the result equals NetworkX's
 * `betweenness_centrality(G, normalized=False)`.
 *
 * Brandes, U. (2001). A faster algorithm for betweenness centrality. J. Math. Sociol. 25(2), 163.
 */

import type { Csr } from './csr.ts';
import { isSymmetric } from './csr.ts';
import type { Rng } from '../rng.ts';

/** `dist` marker of an excluded (dead) node: neither -1 (unreached) nor any real BFS level. */
const DEAD = 0x7fffffff;

/** Options for {@link BetweennessSolver}. */
export interface BetweennessOptions {
  /**
   * Whether the CSR is undirected (every arc has its reverse). Undirected loads count each
   * unordered pair once, i.e. Brandes' accumulated dependency is halved. Detected with
   * {@link isSymmetric} when omitted.
   */
  readonly undirected?: boolean;
}

/**
 * Computes betweenness over one graph many times (once per cascade step, say) with work buffers
 * allocated once: a full computation allocates nothing but, if `out` is omitted, its result.
 *
 * Each source costs one BFS plus one reverse sweep, O(m); a full computation is O(n m). Sources only
 * reach their own component, so fragmented graphs cost correspondingly less automatically.
 *
 * @example
 * const solver = new BetweennessSolver(g);
 * const loads = solver.compute(alive);
 */
export class BetweennessSolver {
  readonly graph: Csr;
  /** Whether pairs are counted unordered (loads halved). */
  readonly undirected: boolean;
  /** BFS level from the current source; -1 = not reached yet, {@link DEAD} = excluded. */
  private readonly dist: Int32Array;
  private readonly sigma: Float64Array;
  /** (1 + δ_s(w)) / σ_sw, cached when w's dependency is final so the sweep needs no division. */
  private readonly coef: Float64Array;
  /** Nodes in BFS order from the current source (doubles as the queue). */
  private readonly order: Int32Array;
  /** Successors (next-level out-neighbours) of the nodes, grouped in BFS order. */
  private readonly successors: Int32Array;
  /** successorEnd[i] = end of the successors of order[i] in {@link successors}. */
  private readonly successorEnd: Int32Array;
  private readonly allAlive: Uint8Array;

  constructor(g: Csr, options: BetweennessOptions = {}) {
    this.graph = g;
    this.undirected = options.undirected ?? isSymmetric(g);
    const n = g.nodeCount;
    this.dist = new Int32Array(n).fill(-1);
    this.sigma = new Float64Array(n);
    this.coef = new Float64Array(n);
    this.order = new Int32Array(n);
    this.successors = new Int32Array(g.offsets[n]!);
    this.successorEnd = new Int32Array(n);
    this.allAlive = new Uint8Array(n).fill(1);
  }

  /**
   * Exact load of every node over the alive subgraph; dead nodes get 0.
   *
   * @param alive 1 = alive; omitted means all alive.
   * @param out optional result buffer of length `nodeCount`; it is overwritten.
   */
  compute(alive?: Uint8Array, out?: Float64Array): Float64Array {
    const n = this.graph.nodeCount;
    const mask = this.maskOf(alive);
    const result = this.outOf(out);
    this.exclude(mask, DEAD);
    for (let s = 0; s < n; s++) {
      if (mask[s] !== 0) this.accumulate(s, result);
    }
    this.exclude(mask, -1);
    if (this.undirected) for (let v = 0; v < n; v++) result[v]! *= 0.5;
    return result;
  }

  /**
   * Adds the dependencies of the given sources only, times `scale` (after the undirected halving).
   * With all alive nodes as sources and `scale` 1 this equals {@link compute}; with a uniform sample
   * of k sources and `scale` = alive / k it is the unbiased estimate of Brandes & Pich (2007).
   * A source listed twice is counted twice.
   */
  computeFromSources(
    sources: ArrayLike<number>,
    alive?: Uint8Array,
    out?: Float64Array,
    scale = 1,
  ): Float64Array {
    const n = this.graph.nodeCount;
    const mask = this.maskOf(alive);
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i]!;
      if (!Number.isInteger(s) || s < 0 || s >= n) {
        throw new RangeError(`source ${s} is not in [0, ${n})`);
      }
    }
    const result = this.outOf(out);
    this.exclude(mask, DEAD);
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i]!;
      if (mask[s] !== 0) this.accumulate(s, result);
    }
    this.exclude(mask, -1);
    const factor = this.undirected ? 0.5 * scale : scale;
    if (factor !== 1) for (let v = 0; v < n; v++) result[v]! *= factor;
    return result;
  }

  private maskOf(alive: Uint8Array | undefined): Uint8Array {
    if (alive === undefined) return this.allAlive;
    if (alive.length < this.graph.nodeCount) {
      throw new RangeError(`alive has ${alive.length} entries, graph has ${this.graph.nodeCount}`);
    }
    return alive;
  }

  private outOf(out: Float64Array | undefined): Float64Array {
    const n = this.graph.nodeCount;
    if (out === undefined) return new Float64Array(n);
    if (out.length < n) throw new RangeError(`out has ${out.length} entries, need ${n}`);
    out.fill(0);
    return out;
  }

  /**
   * Marks dead nodes in `dist` (with {@link DEAD} before a computation, back to -1 after), so the
   * BFS needs no separate alive test per arc: a dead node is never "unreached" and never one level
   * further.
   */
  private exclude(mask: Uint8Array, value: number): void {
    const dist = this.dist;
    for (let v = 0; v < this.graph.nodeCount; v++) if (mask[v] === 0) dist[v] = value;
  }

  /** One Brandes iteration: BFS from s, then dependencies in reverse BFS order, added to `out`. */
  private accumulate(s: number, out: Float64Array): void {
    const { offsets, targets } = this.graph;
    const dist = this.dist;
    const sigma = this.sigma;
    const coef = this.coef;
    const order = this.order;
    const successors = this.successors;
    const successorEnd = this.successorEnd;

    // BFS counting shortest paths; every arc into the next level is recorded as a successor, so
    // the reverse sweep touches only the shortest-path DAG (typically far fewer than m arcs).
    dist[s] = 0;
    sigma[s] = 1;
    order[0] = s;
    let tail = 1;
    let recorded = 0;
    for (let head = 0; head < tail; head++) {
      const u = order[head]!;
      const next = dist[u]! + 1;
      const su = sigma[u]!;
      const hi = offsets[u + 1]!;
      for (let k = offsets[u]!; k < hi; k++) {
        const w = targets[k]!;
        const dw = dist[w]!;
        if (dw === -1) {
          dist[w] = next;
          sigma[w] = su;
          order[tail++] = w;
          successors[recorded++] = w;
        } else if (dw === next) {
          sigma[w]! += su;
          successors[recorded++] = w;
        }
      }
      successorEnd[head] = recorded;
    }

    // δ(v) = σ_v Σ_{w successor of v} (1 + δ(w)) / σ_w, in reverse BFS order so every successor is
    // final before it is read. Pulling from successors (rather than pushing to predecessors) works
    // unchanged on directed graphs, with no reverse CSR.
    for (let i = tail - 1; i > 0; i--) {
      const v = order[i]!;
      let acc = 0;
      const hi = successorEnd[i]!;
      for (let k = successorEnd[i - 1]!; k < hi; k++) acc += coef[successors[k]!]!;
      const sv = sigma[v]!;
      const dep = sv * acc;
      out[v]! += dep;
      coef[v] = (1 + dep) / sv;
    }

    // Only dist needs resetting: sigma and coef are written before they are read.
    for (let i = 0; i < tail; i++) dist[order[i]!] = -1;
  }
}

/**
 * Exact loads in one call (allocates a solver; use {@link BetweennessSolver} when repeating).
 */
export function betweenness(g: Csr, alive?: Uint8Array, options: BetweennessOptions = {}): Float64Array {
  return new BetweennessSolver(g, options).compute(alive);
}

/**
 * Approximate loads from `samples` distinct alive sources drawn uniformly, scaled by
 * alive / samples so the estimate is unbiased (Brandes & Pich 2007, "Centrality estimation in large
 * networks"). Cost O(samples · m) instead of O(n m); with samples ≥ alive it is exact.
 */
export function betweennessSampled(
  g: Csr,
  alive: Uint8Array | undefined,
  samples: number,
  rng: Rng,
  options: BetweennessOptions = {},
): Float64Array {
  const n = g.nodeCount;
  const pool: number[] = [];
  for (let v = 0; v < n; v++) if (alive === undefined || alive[v] !== 0) pool.push(v);
  const k = Math.max(0, Math.min(Math.floor(samples), pool.length));
  // Partial Fisher–Yates: the first k entries become a uniform sample without replacement.
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    const tmp = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = tmp;
  }
  const solver = new BetweennessSolver(g, options);
  if (k === 0) return new Float64Array(n);
  return solver.computeFromSources(pool.slice(0, k), alive, undefined, pool.length / k);
}
