/**
 * REFERENCE implementation of the Motter–Lai overload cascade (A. E. Motter & Y.-C. Lai, "Cascade-
 * based attacks on complex networks", Phys. Rev. E 66, 065102(R), 2002). Used by tests and as the
 * oracle for the engine's actor-driven version, which drives the same {@link MotterLaiCascade.step}.
 *
 * Model: the load L_i of node i is its shortest-path betweenness (see betweenness.ts). Capacity is
 * C_i = (1 + α) L_i(0) on the intact graph. After an initial removal, loads are recomputed on the
 * alive nodes; every node with L_i > C_i fails in the same step; repeat until no node fails. The
 * damage is G = N' / N, the largest connected component of the survivors over the original N.
 */

import { BetweennessSolver } from './betweenness.ts';
import { connectedComponents } from './components.ts';
import type { Csr } from './csr.ts';

/** Options for {@link MotterLaiCascade}. */
export interface MotterLaiOptions {
  /**
   * A node fails when load > capacity × (1 + epsilon). The slack absorbs float noise from summing
   * the same pair dependencies in a different order, so a node whose load is unchanged never fails.
   * Default 1e-9.
   */
  readonly relativeEpsilon?: number;
  /** Passed to the betweenness solver; detected from the CSR when omitted. */
  readonly undirected?: boolean;
  /**
   * A solver for this same graph to reuse (its buffers are shared; cascades using one solver must
   * not step concurrently, which single-threaded JS guarantees between awaits).
   */
  readonly solver?: BetweennessSolver;
  /**
   * L(0) of the intact graph if already known, e.g. when sweeping α on one graph; copied, not
   * retained. Saves the one full betweenness computation the constructor would otherwise do.
   */
  readonly initialLoads?: Float64Array;
}

/** Outcome of {@link MotterLaiCascade.run}. */
export interface CascadeSummary {
  /** Number of steps in which at least one node failed by overload. */
  readonly steps: number;
  /** Nodes that failed by overload (the initially removed nodes are not counted). */
  readonly failed: number;
  /** Nodes removed by {@link MotterLaiCascade.removeNodes}. */
  readonly removed: number;
  /** Largest connected component of the alive nodes divided by the original node count. */
  readonly giantComponentFraction: number;
}

/**
 * Index of the alive node with the highest value (lowest index on ties), or -1 if none is alive.
 * The Motter–Lai "load-based attack" removes this node.
 */
export function highestLoadNode(loads: Float64Array, alive?: Uint8Array): number {
  let best = -1;
  let bestLoad = -Infinity;
  for (let v = 0; v < loads.length; v++) {
    if (alive !== undefined && alive[v] === 0) continue;
    const load = loads[v]!;
    if (load > bestLoad) {
      bestLoad = load;
      best = v;
    }
  }
  return best;
}

/**
 * A Motter–Lai cascade as a stepper: {@link removeNodes} applies the trigger, each {@link step}
 * recomputes loads and fails the overloaded nodes, {@link run} steps until quiescent.
 *
 * @example
 * const cascade = new MotterLaiCascade(g, 0.1);
 * cascade.removeNodes([highestLoadNode(cascade.initialLoads)]);
 * const { giantComponentFraction } = cascade.run();
 */
export class MotterLaiCascade {
  readonly graph: Csr;
  readonly alpha: number;
  /** L_i(0) on the intact graph. */
  readonly initialLoads: Float64Array;
  /** C_i = (1 + α) L_i(0). */
  readonly capacity: Float64Array;
  /** 1 = alive. Mutated by {@link removeNodes} and {@link step}. */
  readonly alive: Uint8Array;
  /** Loads computed by the latest {@link step} (initially L(0)). */
  readonly loads: Float64Array;
  private readonly solver: BetweennessSolver;
  private readonly threshold: number;
  private stepsWithFailures = 0;
  private failedCount = 0;
  private removedCount = 0;

  constructor(g: Csr, alpha: number, options: MotterLaiOptions = {}) {
    if (!(alpha >= 0)) throw new RangeError(`alpha must be ≥ 0, got ${alpha}`);
    this.graph = g;
    this.alpha = alpha;
    this.threshold = 1 + (options.relativeEpsilon ?? 1e-9);
    const n = g.nodeCount;
    if (options.solver !== undefined && options.solver.graph !== g) {
      throw new Error('the shared solver was built for a different graph');
    }
    this.solver =
      options.solver ??
      (options.undirected === undefined
        ? new BetweennessSolver(g)
        : new BetweennessSolver(g, { undirected: options.undirected }));
    this.alive = new Uint8Array(n).fill(1);
    if (options.initialLoads !== undefined && options.initialLoads.length !== n) {
      throw new RangeError(`initialLoads has ${options.initialLoads.length} entries, graph has ${n}`);
    }
    this.initialLoads = options.initialLoads?.slice() ?? this.solver.compute(this.alive);
    this.capacity = new Float64Array(n);
    for (let v = 0; v < n; v++) this.capacity[v] = (1 + alpha) * this.initialLoads[v]!;
    this.loads = this.initialLoads.slice();
  }

  /** Removes nodes as the trigger (or an external attack between steps). Already dead ids are ignored. */
  removeNodes(ids: ArrayLike<number>): void {
    const n = this.graph.nodeCount;
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`node ${v} is not in [0, ${n})`);
      if (this.alive[v] === 1) {
        this.alive[v] = 0;
        this.removedCount++;
      }
    }
  }

  /**
   * Recomputes the loads over the alive nodes and fails, all at once, every node whose load exceeds
   * its capacity. Failing them together (rather than one by one) is the paper's synchronous update.
   *
   * @returns the ids that failed in this step, ascending; empty when the cascade has stopped.
   */
  step(): number[] {
    const n = this.graph.nodeCount;
    const loads = this.solver.compute(this.alive, this.loads);
    const failed: number[] = [];
    for (let v = 0; v < n; v++) {
      if (this.alive[v] === 1 && loads[v]! > this.capacity[v]! * this.threshold) failed.push(v);
    }
    for (const v of failed) this.alive[v] = 0;
    if (failed.length > 0) {
      this.stepsWithFailures++;
      this.failedCount += failed.length;
    }
    return failed;
  }

  /** Steps until no node fails (or `maxSteps` steps have failed nodes) and summarises. */
  run(maxSteps = Number.POSITIVE_INFINITY): CascadeSummary {
    let taken = 0;
    while (taken < maxSteps && this.step().length > 0) taken++;
    return this.summary();
  }

  /** Counts so far and the current giant component fraction. */
  summary(): CascadeSummary {
    return {
      steps: this.stepsWithFailures,
      failed: this.failedCount,
      removed: this.removedCount,
      giantComponentFraction: this.giantComponentFraction(),
    };
  }

  /** Largest connected component of the alive nodes ÷ N (the paper's G). */
  giantComponentFraction(): number {
    const n = this.graph.nodeCount;
    if (n === 0) return 0;
    return connectedComponents(this.graph, this.alive).largestSize / n;
  }
}
