/**
 * MATPOWER's DC power flow (`makeBdc` + `dcpf` + the flow and slack updates of `rundcpf`), per
 * island. For an in-service branch k from f to t with reactance x, turns ratio τ (TAP, 0 → 1) and
 * phase shift φ:  b_k = 1 / (x·τ),  P_k = baseMVA · b_k · (θ_f − θ_t − φ).  Bus injections are
 * (Pg − Pd − Gs)/baseMVA plus the shift's equivalent injections; each island's reference bus keeps
 * its case angle and its first in-service generator takes the island's mismatch.
 */
import { SingularMatrixError, SparseLdlt } from './sparse.ts';
import { busActive, type GridNetwork } from './network.ts';
import { BusType } from './matpower.ts';

const DEG = Math.PI / 180;

/** Connected parts of the active buses over the in-service branches. */
export interface Islands {
  /** Island of each bus; -1 for isolated (type 4) buses. */
  readonly islandOf: Int32Array;
  readonly count: number;
}

/**
 * Islands of the network with the given branches in service (union–find, path halving). Islands
 * are numbered by their lowest bus index, so the numbering is deterministic.
 */
export function findIslands(net: GridNetwork, branchOn: Uint8Array = net.branchInService): Islands {
  const n = net.busIds.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const root = (v: number): number => {
    while (parent[v] !== v) {
      parent[v] = parent[parent[v]!]!;
      v = parent[v]!;
    }
    return v;
  };
  for (let k = 0; k < net.from.length; k++) {
    if (branchOn[k] === 0) continue;
    const a = net.from[k]!;
    const b = net.to[k]!;
    if (!busActive(net, a) || !busActive(net, b)) continue;
    const ra = root(a);
    const rb = root(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const islandOf = new Int32Array(n).fill(-1);
  const numberOfRoot = new Int32Array(n).fill(-1);
  let count = 0;
  for (let v = 0; v < n; v++) {
    if (!busActive(net, v)) continue;
    const r = root(v);
    if (numberOfRoot[r] === -1) numberOfRoot[r] = count++;
    islandOf[v] = numberOfRoot[r]!;
  }
  return { islandOf, count };
}

/** Per-unit series susceptance b_k = 1/(x·τ) of every branch (in service or not). */
export function branchSusceptancePu(net: GridNetwork): Float64Array {
  const b = new Float64Array(net.from.length);
  for (let k = 0; k < b.length; k++) b[k] = 1 / (net.xPu[k]! * net.tap[k]!);
  return b;
}

/** Net injection (MW) of every bus: in-service generation − Pd − Gs (generators at their given Pg). */
export function busInjectionsMw(net: GridNetwork, pgMw: Float64Array = net.pgMw, genOn: Uint8Array = net.genInService): Float64Array {
  const p = new Float64Array(net.busIds.length);
  for (let v = 0; v < p.length; v++) p[v] = -(net.pdMw[v]! + net.gsMw[v]!);
  for (let g = 0; g < net.genBus.length; g++) if (genOn[g] !== 0) p[net.genBus[g]!]! += pgMw[g]!;
  return p;
}

/**
 * A reusable DC solver for one network: the sparse structure of B is analysed once (all branches,
 * in service or not), and each solve refactors numerically for the branches in service and the
 * reference buses given. Use it for many solves of one grid (cascades, contingencies, the live twin).
 *
 * @example
 * const solver = new DcSolver(net);
 * const islands = findIslands(net);
 * const refs = chooseReferences(net, islands, 'matpower');
 * const { angleRad, flowMw } = solver.solve({ branchOn: net.branchInService, injectionMw: busInjectionsMw(net), islands, references: refs });
 */
export class DcSolver {
  readonly susceptance: Float64Array;
  private readonly chol: SparseLdlt;
  private readonly diag: Float64Array;
  private readonly off: Float64Array;
  private readonly rhs: Float64Array;
  private readonly grounded: Uint8Array;
  /** What the current factorisation was built for: the next solve with the same branches and references reuses it. */
  private factoredBranchOn: Uint8Array | null = null;
  private readonly factoredGrounded: Uint8Array;
  /** Numeric (re)factorisations done, and solves that reused the last one (the live twin reports both). */
  factorisations = 0;
  reuses = 0;

  constructor(readonly net: GridNetwork) {
    const n = net.busIds.length;
    this.susceptance = branchSusceptancePu(net);
    for (let k = 0; k < this.susceptance.length; k++) {
      if (net.branchInService[k] !== 0 && !(Number.isFinite(this.susceptance[k]!) && this.susceptance[k] !== 0)) {
        throw new RangeError(`branch ${net.branchIds[k]} has reactance ${net.xPu[k]} × tap ${net.tap[k]}: the DC model needs a non-zero reactance`);
      }
    }
    // Parallel branches are folded by the factorisation (duplicate edges add up).
    this.chol = SparseLdlt.analyse(n, net.from, net.to);
    this.diag = new Float64Array(n);
    this.off = new Float64Array(net.from.length);
    this.rhs = new Float64Array(n);
    this.grounded = new Uint8Array(n);
    this.factoredGrounded = new Uint8Array(n);
  }

  /** True when the last factorisation was for exactly these in-service branches and grounded buses. */
  private sameFactorisation(branchOn: Uint8Array): boolean {
    const last = this.factoredBranchOn;
    if (last === null || last.length !== branchOn.length) return false;
    for (let k = 0; k < last.length; k++) if ((last[k] !== 0) !== (branchOn[k] !== 0)) return false;
    const g = this.grounded;
    const h = this.factoredGrounded;
    for (let v = 0; v < g.length; v++) if (g[v] !== h[v]) return false;
    return true;
  }

  /**
   * Angle changes (rad) for injection changes (MW) with the factorisation of the last solve: the
   * references stay grounded, so a change that sums to zero over each island is balanced inside
   * it. The tool of PTDF, LODF and sensitivity studies (and of a state estimator's gain matrix).
   */
  solveIncrement(deltaInjectionMw: Float64Array): Float64Array {
    const n = this.net.busIds.length;
    const rhs = new Float64Array(n);
    for (let v = 0; v < n; v++) rhs[v] = this.grounded[v] ? 0 : deltaInjectionMw[v]! / this.net.baseMva;
    return this.chol.solve(rhs, rhs);
  }

  /** Columns of L recomputed by the last (re)factorisation (all of them the first time). */
  get lastRefactoredColumns(): number {
    return this.chol.lastColumns;
  }

  /** Off-diagonal entries of L (fill of the factorisation, for the record). */
  get factorNonZeros(): number {
    return this.chol.nonZeros;
  }

  /**
   * Solves one DC power flow. `references[i]` is island i's reference bus, or -1 for an island that
   * is not energised (its angles and flows are 0). Reference angles are the case's (MATPOWER keeps
   * Va of the reference bus).
   */
  solve(input: { branchOn: Uint8Array; injectionMw: Float64Array; islands: Islands; references: Int32Array }): { angleRad: Float64Array; flowMw: Float64Array } {
    const { net, susceptance: b, diag, off, rhs, grounded } = this;
    const { branchOn, injectionMw, islands, references } = input;
    const n = net.busIds.length;
    const base = net.baseMva;
    grounded.fill(0);
    for (let v = 0; v < n; v++) {
      const island = islands.islandOf[v]!;
      if (island < 0 || references[island]! < 0) grounded[v] = 1;
    }
    for (const ref of references) if (ref >= 0) grounded[ref] = 1;
    diag.fill(0);
    for (let v = 0; v < n; v++) rhs[v] = grounded[v] ? 0 : injectionMw[v]! / base;
    for (let k = 0; k < b.length; k++) {
      off[k] = 0;
      if (branchOn[k] === 0) continue;
      const f = net.from[k]!;
      const t = net.to[k]!;
      const bk = b[k]!;
      const shiftInjection = bk * net.shiftDeg[k]! * DEG;
      if (!grounded[f]) {
        diag[f]! += bk;
        rhs[f]! += shiftInjection;
      }
      if (!grounded[t]) {
        diag[t]! += bk;
        rhs[t]! -= shiftInjection;
      }
      if (!grounded[f] && !grounded[t]) off[k] = -bk;
    }
    for (let v = 0; v < n; v++) if (grounded[v]) diag[v] = 1;
    // Injections alone changed (the live twin's telemetry and demand): B is the same matrix, so the
    // factorisation is reused and the solve costs two triangular sweeps.
    if (this.sameFactorisation(branchOn)) this.reuses++;
    else {
      this.factoredBranchOn = null;
      try {
        // Only the columns the topology change reaches (and their elimination-tree ancestors) are
        // recomputed: a trip refactors one path of the tree, not the whole grid.
        this.chol.refactor(diag, off);
      } catch (error) {
        if (error instanceof SingularMatrixError) throw new RangeError(`DC power flow: the B matrix is singular at bus ${net.busIds[error.node]} (${error.message})`, { cause: error });
        throw error;
      }
      this.factorisations++;
      this.factoredBranchOn = Uint8Array.from(branchOn);
      this.factoredGrounded.set(grounded);
    }
    const angleRad = this.chol.solve(rhs);
    for (let v = 0; v < n; v++) {
      const island = islands.islandOf[v]!;
      const ref = island < 0 ? -1 : references[island]!;
      angleRad[v] = ref < 0 ? 0 : angleRad[v]! + net.vaDeg[ref]! * DEG;
    }
    const flowMw = new Float64Array(b.length);
    for (let k = 0; k < b.length; k++) {
      if (branchOn[k] === 0) continue;
      const f = net.from[k]!;
      const island = islands.islandOf[f]!;
      if (island < 0 || references[island]! < 0) continue;
      flowMw[k] = base * b[k]! * (angleRad[f]! - angleRad[net.to[k]!]! - net.shiftDeg[k]! * DEG);
    }
    return { angleRad, flowMw };
  }
}

/**
 * Picks each island's reference bus. `matpower`: a type-3 bus of the island with an in-service
 * generator (the first such), else the bus with the largest in-service generation; `largest-generation`:
 * always the bus with the largest generation (the cascade rule). Ties go to the lower bus index.
 * An island without an in-service generator (or without positive generation under
 * `largest-generation`) gets -1: it is not energised.
 */
export function chooseReferences(net: GridNetwork, islands: Islands, rule: 'matpower' | 'largest-generation', pgMw: Float64Array = net.pgMw, genOn: Uint8Array = net.genInService): Int32Array {
  const refs = new Int32Array(islands.count).fill(-1);
  const busGen = new Float64Array(net.busIds.length);
  const hasGen = new Uint8Array(net.busIds.length);
  for (let g = 0; g < net.genBus.length; g++) {
    if (genOn[g] === 0) continue;
    busGen[net.genBus[g]!]! += pgMw[g]!;
    hasGen[net.genBus[g]!] = 1;
  }
  const best = new Float64Array(islands.count).fill(Number.NEGATIVE_INFINITY);
  const typed = new Uint8Array(islands.count);
  for (let v = 0; v < net.busIds.length; v++) {
    const island = islands.islandOf[v]!;
    if (island < 0 || !hasGen[v]) continue;
    if (rule === 'largest-generation' && !(busGen[v]! > 0)) continue;
    if (rule === 'matpower' && net.busType[v] === BusType.Reference) {
      if (!typed[island]) {
        typed[island] = 1;
        refs[island] = v;
      }
      continue;
    }
    if (!typed[island] && busGen[v]! > best[island]!) {
      best[island] = busGen[v]!;
      refs[island] = v;
    }
  }
  return refs;
}

export interface DcPowerFlowResult {
  readonly angleRad: Float64Array;
  /** Flow at the from end of each branch, MW (0 out of service or in a dead island). */
  readonly flowMw: Float64Array;
  /** Generator outputs after the reference generators took their islands' mismatch. */
  readonly pgMw: Float64Array;
  readonly islands: Islands;
  readonly references: Int32Array;
  /** Load (Pd + Gs) of energised islands, and generation, MW. */
  readonly totalLoadMw: number;
  readonly totalGenerationMw: number;
  /** Load in islands without generation (not served), MW. */
  readonly unservedLoadMw: number;
}

/** A state of the network other than its case data: outages and generator outputs. */
export interface GridState {
  readonly branchOn?: Uint8Array;
  readonly genOn?: Uint8Array;
  readonly pgMw?: Float64Array;
}

/**
 * MATPOWER `rundcpf` on a network: in-service generators at their Pg, the reference bus of each
 * island (see chooseReferences, rule `matpower`) taking the mismatch. `state` overrides the case's
 * branch and generator status and outputs (a contingency, a live topology).
 */
export function dcPowerFlow(net: GridNetwork, solver: DcSolver = new DcSolver(net), state: GridState = {}): DcPowerFlowResult {
  const branchOn = state.branchOn ?? net.branchInService;
  const genOn = state.genOn ?? net.genInService;
  const basePg = state.pgMw ?? net.pgMw;
  const islands = findIslands(net, branchOn);
  const references = chooseReferences(net, islands, 'matpower', basePg, genOn);
  const injectionMw = busInjectionsMw(net, basePg, genOn);
  const { angleRad, flowMw } = solver.solve({ branchOn, injectionMw, islands, references });
  const pgMw = Float64Array.from(basePg);
  // Reference generator: its bus's net injection is the sum of the flows leaving it.
  const outflow = new Float64Array(net.busIds.length);
  for (let k = 0; k < flowMw.length; k++) {
    outflow[net.from[k]!]! += flowMw[k]!;
    outflow[net.to[k]!]! -= flowMw[k]!;
  }
  for (const ref of references) {
    if (ref < 0) continue;
    const slack = net.genBus.findIndex((bus, g) => bus === ref && genOn[g] !== 0);
    pgMw[slack]! += outflow[ref]! - injectionMw[ref]!;
  }
  let totalLoadMw = 0;
  let unservedLoadMw = 0;
  let totalGenerationMw = 0;
  for (let v = 0; v < net.busIds.length; v++) {
    const island = islands.islandOf[v]!;
    if (island < 0) continue;
    const load = net.pdMw[v]! + net.gsMw[v]!;
    if (references[island]! >= 0) totalLoadMw += load;
    else unservedLoadMw += load;
  }
  for (let g = 0; g < pgMw.length; g++) {
    const island = islands.islandOf[net.genBus[g]!]!;
    if (genOn[g] === 0 || island < 0 || references[island]! < 0) continue;
    totalGenerationMw += pgMw[g]!;
  }
  return { angleRad, flowMw, pgMw, islands, references, totalLoadMw, totalGenerationMw, unservedLoadMw };
}
