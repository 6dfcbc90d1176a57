/**
 * The dc-overload cascade, rules exactly as documented (README "Cascade models", `--help`):
 *
 * 1. Ratings r_i = max(K × RATE_A_i, 1.1 × |f0_i|), f0 the flows of the intact grid after the
 *    balancing of rule 2; RATE_A = 0 means unlimited.
 * 2. In every island (connected part of the in-service branches), the intact grid included: no
 *    generation → all its load is lost; generation ≥ load → every generator scaled by
 *    load/generation; generation < load → every load scaled by generation/load. Loads are Pd + Gs.
 *    The island's reference bus is the one with the largest generation.
 * 3. DC flows per island with the MATPOWER model (dcpf.ts).
 * 4. Every in-service branch with |f| > r (relative tolerance 1e-9) trips, all at once; repeat
 *    from 2 until nothing trips.
 *
 * Balancing acts on the current state: load lost or scaled down stays so in later generations.
 * The first generation after a trigger of one or two branches that splits no island is computed
 * with the intact grid's factorisation (compensation, as LODF); every other generation refactors.
 * Both give the same flows to rounding (the SciPy peer agrees trip for trip).
 */
import { DcSolver, chooseReferences, findIslands, type Islands } from './dcpf.ts';
import type { GridNetwork } from './network.ts';

/** Relative tolerance of the trip test |f| > r·(1 + TRIP_TOLERANCE). */
export const TRIP_TOLERANCE = 1e-9;

/** Generation and load of the network's current state (mutable, per bus and per generator). */
interface Dispatch {
  readonly loadMw: Float64Array;
  readonly pgMw: Float64Array;
}

/**
 * Rule 2 on every island: scales generation or load so that each energised island balances, and
 * drops the load of islands without generation. Returns the reference bus per island (-1: dead).
 */
export function balanceIslands(net: GridNetwork, islands: Islands, genOn: Uint8Array, dispatch: Dispatch): Int32Array {
  const gen = new Float64Array(islands.count);
  const load = new Float64Array(islands.count);
  for (let v = 0; v < net.busIds.length; v++) {
    const i = islands.islandOf[v]!;
    if (i >= 0) load[i]! += dispatch.loadMw[v]!;
  }
  for (let g = 0; g < net.genBus.length; g++) {
    const i = islands.islandOf[net.genBus[g]!]!;
    if (genOn[g] !== 0 && i >= 0) gen[i]! += dispatch.pgMw[g]!;
  }
  const genScale = new Float64Array(islands.count).fill(1);
  const loadScale = new Float64Array(islands.count).fill(1);
  for (let i = 0; i < islands.count; i++) {
    if (!(gen[i]! > 0)) {
      loadScale[i] = 0;
      genScale[i] = 0;
    } else if (gen[i]! >= load[i]!) genScale[i] = load[i]! / gen[i]!;
    else loadScale[i] = gen[i]! / load[i]!;
  }
  for (let v = 0; v < net.busIds.length; v++) {
    const i = islands.islandOf[v]!;
    if (i >= 0 && loadScale[i] !== 1) dispatch.loadMw[v]! *= loadScale[i]!;
  }
  for (let g = 0; g < net.genBus.length; g++) {
    const i = islands.islandOf[net.genBus[g]!]!;
    if (i < 0 || genOn[g] === 0) continue;
    if (genScale[i] !== 1) dispatch.pgMw[g]! *= genScale[i]!;
  }
  return chooseReferences(net, islands, 'largest-generation', dispatch.pgMw, genOn);
}

function injections(net: GridNetwork, genOn: Uint8Array, dispatch: Dispatch, out: Float64Array): Float64Array {
  for (let v = 0; v < out.length; v++) out[v] = -dispatch.loadMw[v]!;
  for (let g = 0; g < net.genBus.length; g++) if (genOn[g] !== 0) out[net.genBus[g]!]! += dispatch.pgMw[g]!;
  return out;
}

/** A grid prepared for many dc-overload cascades: intact balanced state, its flows and the ratings. */
export class DcOverloadGrid {
  readonly solver: DcSolver;
  /** r_i (MW); Infinity where RATE_A is 0. */
  readonly ratingMw: Float64Array;
  /** Flows of the intact, balanced grid. */
  readonly baseFlowMw: Float64Array;
  readonly baseLoadMw: Float64Array;
  readonly basePgMw: Float64Array;
  /** Load served in the intact grid after balancing (Pd + Gs, MW). */
  readonly baseServedMw: number;

  /** Factored once for the intact grid: the first generation after a branch trigger uses it (LODF). */
  private readonly intact: DcSolver;
  private readonly intactReferences: Int32Array;
  readonly intactIslands: Islands;

  constructor(readonly net: GridNetwork, readonly ratingFactor = 1) {
    if (!(ratingFactor > 0) || !Number.isFinite(ratingFactor)) throw new RangeError(`rating factor must be a positive number (got ${ratingFactor})`);
    this.solver = new DcSolver(net);
    this.intact = new DcSolver(net);
    const dispatch: Dispatch = {
      loadMw: Float64Array.from(net.pdMw, (pd, v) => pd + net.gsMw[v]!),
      pgMw: Float64Array.from(net.pgMw, (pg, g) => (net.genInService[g] !== 0 ? pg : 0)),
    };
    const islands = findIslands(net, net.branchInService);
    const references = balanceIslands(net, islands, net.genInService, dispatch);
    const { flowMw } = this.solver.solve({ branchOn: net.branchInService, injectionMw: injections(net, net.genInService, dispatch, new Float64Array(net.busIds.length)), islands, references });
    this.baseFlowMw = flowMw;
    this.baseLoadMw = dispatch.loadMw;
    this.basePgMw = dispatch.pgMw;
    this.baseServedMw = servedMw(dispatch.loadMw);
    this.intactReferences = references;
    this.intactIslands = islands;
    this.intact.solve({ branchOn: net.branchInService, injectionMw: injections(net, net.genInService, dispatch, new Float64Array(net.busIds.length)), islands, references });
    this.ratingMw = Float64Array.from(net.rateAMw, (rate, k) => (rate > 0 ? Math.max(ratingFactor * rate, 1.1 * Math.abs(flowMw[k]!)) : Number.POSITIVE_INFINITY));
  }

  /** Branch or generator index of an id, for triggers. */
  resolve(id: string): { kind: 'branch' | 'generator'; index: number } {
    const branch = this.net.branchIds.indexOf(id);
    if (branch >= 0) {
      if (this.net.branchInService[branch] === 0) throw new RangeError(`branch ${id} is already out of service`);
      return { kind: 'branch', index: branch };
    }
    const gen = this.net.genIds.indexOf(id);
    if (gen >= 0) {
      if (this.net.genInService[gen] === 0) throw new RangeError(`generator ${id} is already out of service`);
      return { kind: 'generator', index: gen };
    }
    throw new RangeError(`unknown branch or generator "${id}"`);
  }

  /** Runs one cascade from the outage of the given branches and generators (ids). */
  run(trigger: readonly string[]): DcCascadeOutcome {
    const net = this.net;
    const branchOn = Uint8Array.from(net.branchInService);
    const genOn = Uint8Array.from(net.genInService);
    for (const id of trigger) {
      const { kind, index } = this.resolve(id);
      if (kind === 'branch') branchOn[index] = 0;
      else genOn[index] = 0;
    }
    const dispatch: Dispatch = { loadMw: Float64Array.from(this.baseLoadMw), pgMw: Float64Array.from(this.basePgMw) };
    const injection = new Float64Array(net.busIds.length);
    const tripped: string[][] = [];
    const ratings = this.ratingMw;
    const first = this.firstGenerationByLodf(trigger, branchOn);
    if (first !== null) {
      // The trigger split no island, so rule 2 changes nothing and these are the flows of rule 3.
      const trips: number[] = [];
      for (let k = 0; k < first.length; k++) {
        if (branchOn[k] !== 0 && Math.abs(first[k]!) > ratings[k]! * (1 + TRIP_TOLERANCE)) trips.push(k);
      }
      if (trips.length > 0) {
        for (const k of trips) branchOn[k] = 0;
        tripped.push(trips.map((k) => net.branchIds[k]!));
      }
      if (trips.length === 0) return this.outcome(trigger, tripped, dispatch);
    }
    for (;;) {
      const flowMw = this.generation(branchOn, genOn, dispatch, injection);
      const trips: number[] = [];
      for (let k = 0; k < flowMw.length; k++) {
        if (branchOn[k] !== 0 && Math.abs(flowMw[k]!) > ratings[k]! * (1 + TRIP_TOLERANCE)) trips.push(k);
      }
      if (trips.length === 0) break;
      for (const k of trips) branchOn[k] = 0;
      tripped.push(trips.map((k) => net.branchIds[k]!));
    }
    return this.outcome(trigger, tripped, dispatch);
  }

  /**
   * Rules 2 and 3 once: balances every island of the given topology in `dispatch` (mutated: the
   * cascade's state) and returns the DC flows. The live twin's power solver calls this each round.
   */
  generation(branchOn: Uint8Array, genOn: Uint8Array, dispatch: { loadMw: Float64Array; pgMw: Float64Array }, injection = new Float64Array(this.net.busIds.length)): Float64Array {
    const net = this.net;
    const islands = findIslands(net, branchOn);
    const references = balanceIslands(net, islands, genOn, dispatch);
    return this.solver.solve({ branchOn, injectionMw: injections(net, genOn, dispatch, injection), islands, references }).flowMw;
  }

  /**
   * Flows after the outage of the trigger's branches computed with the intact factorisation
   * (compensation / LODF: one solve per outaged branch and a small dense system), or null when the
   * trigger holds a generator, more than two branches, or splits an island (the general path).
   */
  private firstGenerationByLodf(trigger: readonly string[], branchOn: Uint8Array): Float64Array | null {
    const net = this.net;
    const out: number[] = [];
    for (const id of trigger) {
      const { kind, index } = this.resolve(id);
      if (kind !== 'branch' || out.includes(index)) return null;
      out.push(index);
    }
    if (out.length === 0 || out.length > 2) return null;
    for (const k of out) if (this.intactReferences[findIslandOf(this, net.from[k]!)]! < 0) return null;
    const b = this.intact.susceptance;
    const f0 = this.baseFlowMw;
    const delta = new Float64Array(net.busIds.length);
    // Column j: angle change for a unit (1 MW) transfer from the from-bus to the to-bus of out[j].
    const columns = out.map((k) => {
      delta.fill(0);
      delta[net.from[k]!] = 1;
      delta[net.to[k]!] = -1;
      return Float64Array.from(this.intact.solveIncrement(delta));
    });
    const ptdf = (l: number, j: number): number => net.baseMva * b[l]! * (columns[j]![net.from[l]!]! - columns[j]![net.to[l]!]!);
    // Solve (I − PTDF_TT)·x = f0_T for the compensating transfers x.
    let x: number[];
    if (out.length === 1) {
      const d = 1 - ptdf(out[0]!, 0);
      if (Math.abs(d) < 1e-6) return null;
      x = [f0[out[0]!]! / d];
    } else {
      const a11 = 1 - ptdf(out[0]!, 0);
      const a12 = -ptdf(out[0]!, 1);
      const a21 = -ptdf(out[1]!, 0);
      const a22 = 1 - ptdf(out[1]!, 1);
      const det = a11 * a22 - a12 * a21;
      if (Math.abs(det) < 1e-6) return null;
      const r1 = f0[out[0]!]!;
      const r2 = f0[out[1]!]!;
      x = [(r1 * a22 - a12 * r2) / det, (a11 * r2 - a21 * r1) / det];
    }
    const flows = new Float64Array(f0.length);
    for (let l = 0; l < flows.length; l++) {
      if (branchOn[l] === 0) continue;
      let f = f0[l]!;
      for (let j = 0; j < out.length; j++) f += ptdf(l, j) * x[j]!;
      flows[l] = f;
    }
    return flows;
  }

  private outcome(trigger: readonly string[], tripped: string[][], dispatch: Dispatch): DcCascadeOutcome {
    const loadShedMw = this.baseServedMw - servedMw(dispatch.loadMw);
    return {
      trigger: [...trigger],
      dependentOutages: tripped.reduce((s, g) => s + g.length, 0),
      loadShedMw,
      loadShedFraction: this.baseServedMw > 0 ? loadShedMw / this.baseServedMw : 0,
      generations: tripped.length,
      tripped,
    };
  }
}

/** Island of a bus in the intact grid. */
function findIslandOf(grid: DcOverloadGrid, bus: number): number {
  return grid.intactIslands.islandOf[bus]!;
}

function servedMw(loadMw: Float64Array): number {
  let s = 0;
  for (const l of loadMw) s += l;
  return s;
}

export interface DcCascadeOutcome {
  readonly trigger: readonly string[];
  /** Branches tripped by overload after the trigger. */
  readonly dependentOutages: number;
  /** Load served in the intact balanced grid minus load served at the end, MW. */
  readonly loadShedMw: number;
  readonly loadShedFraction: number;
  /** Rounds of rule 4 in which at least one branch tripped. */
  readonly generations: number;
  /** Branch ids tripped in each generation. */
  readonly tripped: ReadonlyArray<readonly string[]>;
}
