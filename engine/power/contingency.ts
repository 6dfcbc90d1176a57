/**
 * N-1 screening with distribution factors on the DC model: for every in-service branch and
 * generator, the post-contingency flows and the branches over their rating (RATE_A; 0 = unlimited).
 *
 * Branch k (f → t) out: one solve of B·Δθ = e_f − e_t gives the PTDF of every branch l for that
 * transfer; LODF_lk = PTDF_l / (1 − PTDF_k), and the post-outage flow is f_l + LODF_lk · f_k. An
 * outage that splits an island (PTDF_k = 1, a bridge) separates a part without the reference: it
 * gets its own reference (the rule of chooseReferences, `matpower`), which takes that part's former
 * export over the bridge — one solve with the intact factorisation; a part without generation
 * loses its load and its flows. Both are what a full re-solve gives (tested).
 *
 * Generator g out: its output is taken up by the other in-service generators of its island in
 * proportion to their output (a governor response, not one slack bus); one solve of the balanced
 * injection change gives the flow changes. A generator that was its island's only producer is
 * re-solved in full (the island is lost).
 */
import { DcSolver, dcPowerFlow, type DcPowerFlowResult } from './dcpf.ts';
import type { GridNetwork } from './network.ts';

export interface Overload {
  readonly id: string;
  readonly flowMw: number;
  readonly ratingMw: number;
  /** |flow| / rating. */
  readonly loading: number;
}

export interface ContingencyResult {
  readonly outage: string;
  readonly kind: 'branch' | 'generator';
  /** Computed by a full re-solve because the outage splits an island or leaves one without generation. */
  readonly resolved: boolean;
  /** Load in islands left without generation, MW. */
  readonly lostLoadMw: number;
  readonly overloads: readonly Overload[];
  /** Overloads on branches that were within their rating in the intact grid. */
  readonly newOverloads: number;
  /** Largest loading of any rated branch after the outage. */
  readonly maxLoading: number;
}

export interface ScreeningResult {
  readonly base: DcPowerFlowResult;
  readonly baseOverloads: readonly Overload[];
  /** Every screened outage, in network order (branches, then generators). */
  readonly contingencies: readonly ContingencyResult[];
  /** Post-contingency flows per outage, when asked for (tests compare them with a full re-solve). */
  readonly flows?: readonly Float64Array[];
}

/** Outage-independent threshold: a PTDF this close to 1 means the branch is a bridge. */
const BRIDGE_TOLERANCE = 1e-6;

function overloadsOf(net: GridNetwork, flowMw: Float64Array, skip = -1): { overloads: Overload[]; maxLoading: number } {
  const overloads: Overload[] = [];
  let maxLoading = 0;
  for (let l = 0; l < flowMw.length; l++) {
    const rating = net.rateAMw[l]!;
    if (l === skip || !(rating > 0)) continue;
    const loading = Math.abs(flowMw[l]!) / rating;
    if (loading > maxLoading) maxLoading = loading;
    if (loading > 1 + 1e-9) overloads.push({ id: net.branchIds[l]!, flowMw: flowMw[l]!, ratingMw: rating, loading });
  }
  overloads.sort((a, b) => b.loading - a.loading);
  return { overloads, maxLoading };
}

/**
 * Screens every single branch and generator outage.
 *
 * @example
 * const r = screenN1(networkFromCase(parseMatpower(text, 'case1354pegase.m')));
 * r.contingencies.filter((c) => c.overloads.length > 0).length;
 */
export function screenN1(net: GridNetwork, options: { keepFlows?: boolean; solver?: DcSolver; onFlows?: (flowMw: Float64Array) => void } = {}): ScreeningResult {
  const solver = options.solver ?? new DcSolver(net);
  const base = dcPowerFlow(net, solver);
  const f0 = base.flowMw;
  const b = solver.susceptance;
  const m = net.branchIds.length;
  const n = net.busIds.length;
  const contingencies: ContingencyResult[] = [];
  const flows: Float64Array[] = [];
  const delta = new Float64Array(n);
  const baseOverloads = overloadsOf(net, f0).overloads;
  const overloadedBefore = new Set(baseOverloads.map((o) => o.id));
  const record = (outage: string, kind: 'branch' | 'generator', flowMw: Float64Array, resolved: boolean, lostLoadMw: number, skip: number): void => {
    const { overloads, maxLoading } = overloadsOf(net, flowMw, skip);
    const newOverloads = overloads.filter((o) => !overloadedBefore.has(o.id)).length;
    contingencies.push({ outage, kind, resolved, lostLoadMw, overloads, newOverloads, maxLoading });
    if (options.keepFlows) flows.push(flowMw);
    options.onFlows?.(flowMw);
  };
  const fullResolve = (branchOn: Uint8Array, genOn: Uint8Array): { flowMw: Float64Array; lostLoadMw: number } => {
    const r = dcPowerFlow(net, solver, { branchOn, genOn, pgMw: net.pgMw });
    return { flowMw: r.flowMw, lostLoadMw: r.unservedLoadMw - base.unservedLoadMw };
  };
  // dcPowerFlow above left the solver factored for the intact grid; full re-solves refactor it, so
  // they are done after all factor-based ones.
  const deferred: Array<() => void> = [];
  const order: number[] = [];
  const results = new Map<number, () => void>();
  const adjacency = branchAdjacency(net);

  for (let k = 0; k < m; k++) {
    if (net.branchInService[k] === 0) continue;
    order.push(k);
    const f = net.from[k]!;
    const t = net.to[k]!;
    const island = base.islands.islandOf[f]!;
    if (island < 0 || base.references[island]! < 0) {
      results.set(k, () => record(net.branchIds[k]!, 'branch', Float64Array.from(f0, (x, l) => (l === k ? 0 : x)), false, 0, k));
      continue;
    }
    delta.fill(0);
    delta[f] = net.baseMva;
    delta[t] = -net.baseMva;
    const dTheta = solver.solveIncrement(delta);
    const ptdfK = b[k]! * (dTheta[f]! - dTheta[t]!);
    if (Math.abs(1 - ptdfK) < BRIDGE_TOLERANCE) {
      const bridge = bridgeOutage(net, solver, base, adjacency, k);
      if (bridge === null) {
        deferred.push(() => {
          const branchOn = Uint8Array.from(net.branchInService);
          branchOn[k] = 0;
          const r = fullResolve(branchOn, net.genInService);
          results.set(k, () => record(net.branchIds[k]!, 'branch', r.flowMw, true, r.lostLoadMw, k));
        });
      } else results.set(k, () => record(net.branchIds[k]!, 'branch', bridge.flowMw, true, bridge.lostLoadMw, k));
      continue;
    }
    const shift = f0[k]! / (1 - ptdfK);
    const post = new Float64Array(m);
    for (let l = 0; l < m; l++) {
      if (net.branchInService[l] === 0 || l === k) continue;
      post[l] = f0[l]! + b[l]! * (dTheta[net.from[l]!]! - dTheta[net.to[l]!]!) * shift;
    }
    results.set(k, () => record(net.branchIds[k]!, 'branch', post, false, 0, k));
  }

  const genOrder: number[] = [];
  for (let g = 0; g < net.genBus.length; g++) {
    if (net.genInService[g] === 0) continue;
    genOrder.push(g);
    const bus = net.genBus[g]!;
    const island = base.islands.islandOf[bus]!;
    const lost = base.pgMw[g]!;
    let others = 0;
    for (let h = 0; h < net.genBus.length; h++) {
      if (h !== g && net.genInService[h] !== 0 && base.islands.islandOf[net.genBus[h]!] === island && base.pgMw[h]! > 0) others += base.pgMw[h]!;
    }
    if (island < 0 || base.references[island]! < 0) {
      results.set(-1 - g, () => record(net.genIds[g]!, 'generator', Float64Array.from(f0), false, 0, -1));
      continue;
    }
    if (!(others > 0)) {
      deferred.push(() => {
        const genOn = Uint8Array.from(net.genInService);
        genOn[g] = 0;
        const r = fullResolve(net.branchInService, genOn);
        results.set(-1 - g, () => record(net.genIds[g]!, 'generator', r.flowMw, true, r.lostLoadMw, -1));
      });
      continue;
    }
    delta.fill(0);
    delta[bus]! -= lost;
    for (let h = 0; h < net.genBus.length; h++) {
      if (h !== g && net.genInService[h] !== 0 && base.islands.islandOf[net.genBus[h]!] === island && base.pgMw[h]! > 0) delta[net.genBus[h]!]! += (lost * base.pgMw[h]!) / others;
    }
    const dTheta = solver.solveIncrement(delta);
    const post = new Float64Array(m);
    for (let l = 0; l < m; l++) {
      if (net.branchInService[l] === 0) continue;
      post[l] = f0[l]! + net.baseMva * b[l]! * (dTheta[net.from[l]!]! - dTheta[net.to[l]!]!);
    }
    results.set(-1 - g, () => record(net.genIds[g]!, 'generator', post, false, 0, -1));
  }

  for (const run of deferred) run();
  for (const k of order) results.get(k)!();
  for (const g of genOrder) results.get(-1 - g)!();
  return { base, baseOverloads, contingencies, ...(options.keepFlows ? { flows } : {}) };
}

/** Branches at each bus (CSR), for the search of the part a bridge cuts off. */
function branchAdjacency(net: GridNetwork): { offsets: Int32Array; branches: Int32Array } {
  const n = net.busIds.length;
  const offsets = new Int32Array(n + 1);
  for (let k = 0; k < net.from.length; k++) {
    offsets[net.from[k]! + 1]!++;
    offsets[net.to[k]! + 1]!++;
  }
  for (let v = 0; v < n; v++) offsets[v + 1]! += offsets[v]!;
  const fill = offsets.slice(0, n);
  const branches = new Int32Array(offsets[n]!);
  for (let k = 0; k < net.from.length; k++) {
    branches[fill[net.from[k]!]!++] = k;
    branches[fill[net.to[k]!]!++] = k;
  }
  return { offsets, branches };
}

/** Buses reachable from `start` over in-service branches other than `without`; null if it reaches `stop`. */
function sideOf(net: GridNetwork, adjacency: { offsets: Int32Array; branches: Int32Array }, start: number, without: number, stop: number): number[] | null {
  const seen = new Set<number>([start]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    if (v === stop) return null;
    for (let p = adjacency.offsets[v]!; p < adjacency.offsets[v + 1]!; p++) {
      const k = adjacency.branches[p]!;
      if (k === without || net.branchInService[k] === 0) continue;
      const w = net.from[k] === v ? net.to[k]! : net.from[k]!;
      if (!seen.has(w)) {
        seen.add(w);
        queue.push(w);
      }
    }
  }
  return queue;
}

/**
 * Post-outage flows of a bridge with the intact factorisation (see the module comment), or null
 * when the cut-off part would need more than one new reference (it cannot: it is connected).
 */
function bridgeOutage(net: GridNetwork, solver: DcSolver, base: DcPowerFlowResult, adjacency: { offsets: Int32Array; branches: Int32Array }, k: number): { flowMw: Float64Array; lostLoadMw: number } | null {
  const f = net.from[k]!;
  const t = net.to[k]!;
  const ref = base.references[base.islands.islandOf[f]!]!;
  let side = sideOf(net, adjacency, t, k, ref);
  let exportMw = -base.flowMw[k]!; // what the cut-off side sends over the bridge
  if (side === null) {
    side = sideOf(net, adjacency, f, k, ref);
    exportMw = base.flowMw[k]!;
  }
  if (side === null) return null;
  const inSide = new Uint8Array(net.busIds.length);
  for (const v of side) inSide[v] = 1;
  // The new reference of the cut-off part, by the same rule as a full re-solve.
  let newRef = -1;
  let best = Number.NEGATIVE_INFINITY;
  let typed = false;
  const busGen = new Map<number, number>();
  for (let g = 0; g < net.genBus.length; g++) {
    const v = net.genBus[g]!;
    if (net.genInService[g] !== 0 && inSide[v]) busGen.set(v, (busGen.get(v) ?? 0) + net.pgMw[g]!);
  }
  for (const v of [...busGen.keys()].sort((a, b) => a - b)) {
    if (net.busType[v] === 3) {
      if (!typed) newRef = v;
      typed = true;
    } else if (!typed && busGen.get(v)! > best) {
      best = busGen.get(v)!;
      newRef = v;
    }
  }
  const delta = new Float64Array(net.busIds.length);
  delta[newRef >= 0 ? newRef : side[0]!] = -exportMw;
  const dTheta = solver.solveIncrement(delta);
  const b = solver.susceptance;
  const flowMw = new Float64Array(net.branchIds.length);
  let lostLoadMw = 0;
  for (let l = 0; l < flowMw.length; l++) {
    if (net.branchInService[l] === 0 || l === k) continue;
    if (newRef < 0 && inSide[net.from[l]!]) continue; // a dead part carries nothing
    flowMw[l] = base.flowMw[l]! + net.baseMva * b[l]! * (dTheta[net.from[l]!]! - dTheta[net.to[l]!]!);
  }
  if (newRef < 0) for (const v of side) lostLoadMw += net.pdMw[v]! + net.gsMw[v]!;
  return { flowMw, lostLoadMw };
}

/**
 * Post-outage generator outputs for a generator contingency as screenN1 models it (the others of
 * its island take up its output in proportion to theirs); for full re-solves in tests and tools.
 */
export function redispatchAfterGeneratorOutage(net: GridNetwork, base: DcPowerFlowResult, g: number): Float64Array {
  const island = base.islands.islandOf[net.genBus[g]!]!;
  const pg = Float64Array.from(base.pgMw);
  let others = 0;
  for (let h = 0; h < pg.length; h++) if (h !== g && net.genInService[h] !== 0 && base.islands.islandOf[net.genBus[h]!] === island && pg[h]! > 0) others += pg[h]!;
  const lost = pg[g]!;
  for (let h = 0; h < pg.length; h++) if (h !== g && net.genInService[h] !== 0 && base.islands.islandOf[net.genBus[h]!] === island && base.pgMw[h]! > 0) pg[h]! += (lost * base.pgMw[h]!) / others;
  pg[g] = 0;
  return pg;
}
