/**
 * The power layer's electrical flows inside the layer solver actor (load model `dc`): each round
 * the solver maps which buses, branches and generators are operable, applies the dc-overload rules
 * 2–3 (island balancing, MATPOWER DC flows; engine/power/cascade.ts) and sends each branch its
 * |flow| as its load; at start it sends each branch its rating r = max(K × RATE_A, 1.1 × |f0|) as
 * its capacity. A branch whose load exceeds its capacity trips (asset.ts, relative tolerance 1e-9),
 * reports itself not operable, and the next round re-solves: rule 4, as messages on the virtual
 * clock. Trip delay is zero here (a batch study); timed trips are not built yet.
 */
import { DcOverloadGrid, balanceLive, findIslands, networkFromCity, type CityIndex } from '../engine/index.ts';
import type { LayerGraph } from './layer-solver.ts';
import { initialDemandMw } from './trip-delay.ts';

/** The balanced dispatch carried from round to round (rule 2 acts on the current state). */
export interface DcFlowState {
  readonly loadMw: Float64Array;
  readonly pgMw: Float64Array;
  /** |flow| per branch last sent. */
  readonly sentMw: Float64Array;
}

export interface DcLayer {
  readonly grid: DcOverloadGrid;
  /**
   * Bus whose load a member's demand adds to (-1: none): a bus its own; a member without electrical
   * fields (a feeder) the nearest bus over the layer's links through such members (breadth first
   * from every bus at once, buses in index order: deterministic). Such a member adds the change of
   * its demand from its initial one (the bus's Pd holds that).
   */
  readonly feedsBus: Int32Array;
  /** Per generator: Pmax (Infinity when the case gives none). */
  readonly pmaxMw: Float64Array;
  /** Per member: the demand (MW) it starts with (trip-delay.ts `initialDemandMw`). */
  readonly initialDemandMw: Float64Array;
  /** Layer member of each network branch and generator. */
  readonly memberOfBranch: Int32Array;
  readonly memberOfGen: Int32Array;
  /** Network branch, generator or bus of each layer member (-1: none). */
  readonly branchOf: Int32Array;
  readonly genOf: Int32Array;
  readonly busOf: Int32Array;
  /** Layer member of each network bus. */
  readonly memberOfBus: Int32Array;
}

/** Per layer graph and rating factor: the prepared grid (a cache of derived data, not state). */
const layers = new WeakMap<LayerGraph, Map<number, DcLayer | null>>();

/** The electrical network of a layer, or null when its members carry no electrical buses. */
export function dcLayerFor(graph: LayerGraph, index: CityIndex, ratingFactor: number): DcLayer | null {
  let byFactor = layers.get(graph);
  if (byFactor === undefined) layers.set(graph, (byFactor = new Map()));
  if (byFactor.has(ratingFactor)) return byFactor.get(ratingFactor)!;
  const assets = Array.from(graph.members, (a) => index.city.assets[a]!);
  let layer: DcLayer | null = null;
  if (assets.some((a) => a.electrical?.kind === 'bus')) {
    const net = networkFromCity({ name: index.city.name, grid: index.city.grid, assets });
    const position = (ids: readonly string[]): Map<string, number> => new Map(ids.map((id, i) => [id, i]));
    const branches = position(net.branchIds);
    const gens = position(net.genIds);
    const memberOfBus = new Int32Array(net.busIds.length);
    const branchOf = new Int32Array(assets.length).fill(-1);
    const genOf = new Int32Array(assets.length).fill(-1);
    const busOf = new Int32Array(assets.length).fill(-1);
    assets.forEach((a, k) => {
      const bus = net.busIndex.get(a.id);
      if (bus !== undefined) {
        busOf[k] = bus;
        memberOfBus[bus] = k;
      }
      branchOf[k] = branches.get(a.id) ?? -1;
      genOf[k] = gens.get(a.id) ?? -1;
    });
    const memberOfBranch = new Int32Array(net.branchIds.length);
    const memberOfGen = new Int32Array(net.genIds.length);
    const pmaxMw = new Float64Array(net.genIds.length);
    assets.forEach((a, k) => {
      if (branchOf[k]! >= 0) memberOfBranch[branchOf[k]!] = k;
      if (genOf[k]! >= 0) {
        memberOfGen[genOf[k]!] = k;
        const e = a.electrical;
        pmaxMw[genOf[k]!] = e?.kind === 'generator' && e.pmaxMw !== null ? e.pmaxMw : Number.POSITIVE_INFINITY;
      }
    });
    layer = {
      grid: new DcOverloadGrid(net, ratingFactor),
      branchOf,
      genOf,
      busOf,
      memberOfBus,
      feedsBus: feedingBuses(graph, busOf, branchOf, genOf),
      pmaxMw,
      initialDemandMw: Float64Array.from(graph.members, (a) => initialDemandMw(index, a)),
      memberOfBranch,
      memberOfGen,
    };
  }
  byFactor.set(ratingFactor, layer);
  return layer;
}

/**
 * One round: the flows of the operable network. Returns the new state and, per member, the load
 * and capacity messages to send (`started`: every branch gets both).
 */
export function solveDcRound(layer: DcLayer, operable: Uint8Array, previous: DcFlowState | null, started: boolean): { state: DcFlowState; sends: Array<{ member: number; loadMw: number; capacityMw: number | null }> } {
  const { grid } = layer;
  const net = grid.net;
  const busUp = (bus: number): boolean => operable[layer.memberOfBus[bus]!] !== 0;
  const branchOn = new Uint8Array(net.branchIds.length);
  const genOn = new Uint8Array(net.genIds.length);
  for (let k = 0; k < operable.length; k++) {
    const b = layer.branchOf[k]!;
    if (b >= 0) branchOn[b] = net.branchInService[b] !== 0 && operable[k] !== 0 && busUp(net.from[b]!) && busUp(net.to[b]!) ? 1 : 0;
    const g = layer.genOf[k]!;
    if (g >= 0) genOn[g] = net.genInService[g] !== 0 && operable[k] !== 0 && busUp(net.genBus[g]!) ? 1 : 0;
  }
  const dispatch = previous === null
    ? { loadMw: Float64Array.from(grid.baseLoadMw), pgMw: Float64Array.from(grid.basePgMw) }
    : { loadMw: Float64Array.from(previous.loadMw), pgMw: Float64Array.from(previous.pgMw) };
  // A failed bus serves no load: its own island (all its branches are out) loses it.
  const flows = grid.generation(branchOn, genOn, dispatch);
  const sentMw = previous === null ? new Float64Array(flows.length).fill(Number.NaN) : Float64Array.from(previous.sentMw);
  const sends: Array<{ member: number; loadMw: number; capacityMw: number | null }> = [];
  for (let k = 0; k < operable.length; k++) {
    const b = layer.branchOf[k]!;
    if (b < 0) continue;
    const magnitude = Math.abs(flows[b]!);
    if (started || magnitude !== sentMw[b]) {
      sends.push({ member: k, loadMw: magnitude, capacityMw: started ? grid.ratingMw[b]! : null });
      sentMw[b] = magnitude;
    }
  }
  return { state: { loadMw: dispatch.loadMw, pgMw: dispatch.pgMw, sentMw }, sends };
}

/** See DcLayer.feedsBus. */
function feedingBuses(graph: LayerGraph, busOf: Int32Array, branchOf: Int32Array, genOf: Int32Array): Int32Array {
  const n = graph.members.length;
  const feeds = new Int32Array(n).fill(-1);
  const queue: number[] = [];
  for (let k = 0; k < n; k++) {
    if (busOf[k]! >= 0) {
      feeds[k] = busOf[k]!;
      queue.push(k);
    }
  }
  queue.sort((a, b) => busOf[a]! - busOf[b]!);
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (let e = graph.offsets[v]!; e < graph.offsets[v + 1]!; e++) {
      const w = graph.targets[e]!;
      // Only members without electrical fields take a bus's demand (branches and generators do not).
      if (feeds[w] !== -1 || busOf[w]! >= 0 || branchOf[w]! >= 0 || genOf[w]! >= 0) continue;
      feeds[w] = feeds[v]!;
      queue.push(w);
    }
  }
  return feeds;
}

/**
 * Live flows reach a branch when they moved by more than this share of its rating (0.1 %: a tenth of
 * the loading resolution the frames carry), or by LIVE_DEADBAND_MW on an unrated branch; the solver's
 * state keeps the exact flows (GET /api/grid). Batch studies send every change.
 */
export const LIVE_DEADBAND = 1e-3;
export const LIVE_DEADBAND_MW = 0.01;

/** The live twin's DC flow state: what members report, and the flows of the last solve. */
export interface DcLiveState {
  /** Per member: the demand it reported (a bus: its load; a generator: its schedule; others: their demand). */
  readonly demandMw: Float64Array;
  /** Per branch: signed flow at the from end (MW; 0 out of service). */
  readonly flowMw: Float64Array;
  /** Per branch and generator: in service at the last solve. */
  readonly branchOn: Uint8Array;
  readonly genOn: Uint8Array;
  /** Per bus: load served; per generator: output (MW). */
  readonly loadMw: Float64Array;
  readonly pgMw: Float64Array;
  /** Demand not served (dark islands, shortfalls), MW. */
  readonly shedMw: number;
  /** |flow| last sent per branch. */
  readonly sentMw: Float64Array;
}

/** The live state before the first solve: every member at its initial demand. */
export function initialLiveState(layer: DcLayer): DcLiveState {
  const net = layer.grid.net;
  return {
    demandMw: Float64Array.from(layer.initialDemandMw),
    flowMw: new Float64Array(net.branchIds.length),
    branchOn: new Uint8Array(net.branchIds.length),
    genOn: new Uint8Array(net.genIds.length),
    loadMw: new Float64Array(net.busIds.length),
    pgMw: new Float64Array(net.genIds.length),
    shedMw: 0,
    sentMw: new Float64Array(net.branchIds.length).fill(Number.NaN),
  };
}

/**
 * One live round: islands of the operable network, live balancing of the current demand and
 * schedule (engine/power/live-balance.ts), DC flows (the factorisation is reused when only
 * injections changed), and the |flow| of every branch whose flow changed (`started`: every branch,
 * with its rating as capacity).
 */
export function solveDcLive(layer: DcLayer, operable: Uint8Array, state: DcLiveState, started: boolean): { state: DcLiveState; sends: Array<{ member: number; loadMw: number; capacityMw: number | null }> } {
  const { grid } = layer;
  const net = grid.net;
  const busUp = (bus: number): boolean => operable[layer.memberOfBus[bus]!] !== 0;
  const branchOn = new Uint8Array(net.branchIds.length);
  const genOn = new Uint8Array(net.genIds.length);
  for (let b = 0; b < branchOn.length; b++) {
    branchOn[b] = net.branchInService[b] !== 0 && operable[layer.memberOfBranch[b]!] !== 0 && busUp(net.from[b]!) && busUp(net.to[b]!) ? 1 : 0;
  }
  const schedule = new Float64Array(net.genIds.length);
  for (let g = 0; g < genOn.length; g++) {
    const k = layer.memberOfGen[g]!;
    genOn[g] = net.genInService[g] !== 0 && operable[k] !== 0 && busUp(net.genBus[g]!) ? 1 : 0;
    schedule[g] = state.demandMw[k]!;
  }
  // Bus demand: the bus's own (Pd as it reports it, cohorts relying on it included) plus, for each
  // member without electrical fields that it feeds (a feeder), what that member's demand does
  // beyond its initial demand, which Pd already holds (a member out of service drops all of it).
  const demand = new Float64Array(net.busIds.length);
  for (let k = 0; k < operable.length; k++) {
    const bus = layer.feedsBus[k]!;
    if (bus < 0) continue;
    if (layer.busOf[k] === bus) demand[bus]! += state.demandMw[k]!;
    else demand[bus]! += (operable[k] !== 0 ? state.demandMw[k]! : 0) - layer.initialDemandMw[k]!;
  }
  for (let v = 0; v < demand.length; v++) demand[v] = busUp(v) ? Math.max(0, demand[v]!) : 0;
  const islands = findIslands(net, branchOn);
  const dispatch = balanceLive(net, islands, genOn, demand, schedule, layer.pmaxMw);
  const injection = new Float64Array(net.busIds.length);
  for (let v = 0; v < injection.length; v++) injection[v] = -dispatch.loadMw[v]!;
  for (let g = 0; g < genOn.length; g++) if (genOn[g] !== 0) injection[net.genBus[g]!]! += dispatch.pgMw[g]!;
  const { flowMw } = grid.solver.solve({ branchOn, injectionMw: injection, islands, references: dispatch.references });
  const sentMw = Float64Array.from(state.sentMw);
  const sends: Array<{ member: number; loadMw: number; capacityMw: number | null }> = [];
  for (let b = 0; b < flowMw.length; b++) {
    const magnitude = Math.abs(flowMw[b]!);
    const rating = grid.ratingMw[b]!;
    const last = sentMw[b]!;
    // A deadband, as SCADA reports have: a change at one bus moves every flow of the island a
    // little (the generators share it), and telling thousands of branches of a 0.01 % change costs
    // a message, a step and a frame entry each. Sent: a change beyond the deadband, any crossing of
    // the rating (so trips start and cancel exactly when they should), a branch going to or from 0.
    const band = Number.isFinite(rating) ? LIVE_DEADBAND * rating : LIVE_DEADBAND_MW;
    const crossed = (magnitude > rating) !== (last > rating);
    if (started || Number.isNaN(last) || crossed || Math.abs(magnitude - last) > band || (magnitude === 0) !== (last === 0)) {
      sends.push({ member: layer.memberOfBranch[b]!, loadMw: magnitude, capacityMw: started ? rating : null });
      sentMw[b] = magnitude;
    }
  }
  sends.sort((p, q) => p.member - q.member);
  return { state: { demandMw: state.demandMw, flowMw, branchOn, genOn, loadMw: dispatch.loadMw, pgMw: dispatch.pgMw, shedMw: dispatch.shedMw, sentMw }, sends };
}
