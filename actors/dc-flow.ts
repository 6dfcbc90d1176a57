/**
 * The power layer's electrical flows inside the layer solver actor (load model `dc`): each round
 * the solver maps which buses, branches and generators are operable, applies the dc-overload rules
 * 2–3 (island balancing, MATPOWER DC flows; engine/power/cascade.ts) and sends each branch its
 * |flow| as its load; at start it sends each branch its rating r = max(K × RATE_A, 1.1 × |f0|) as
 * its capacity. A branch whose load exceeds its capacity trips (asset.ts, relative tolerance 1e-9),
 * reports itself not operable, and the next round re-solves: rule 4, as messages on the virtual
 * clock. Trip delay is zero here (a batch study); timed trips are not built yet.
 */
import { DcOverloadGrid, networkFromCity, type CityIndex } from '../engine/index.ts';
import type { LayerGraph } from './layer-solver.ts';

/** The balanced dispatch carried from round to round (rule 2 acts on the current state). */
export interface DcFlowState {
  readonly loadMw: Float64Array;
  readonly pgMw: Float64Array;
  /** |flow| per branch last sent. */
  readonly sentMw: Float64Array;
}

interface DcLayer {
  readonly grid: DcOverloadGrid;
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
    layer = { grid: new DcOverloadGrid(net, ratingFactor), branchOf, genOf, busOf, memberOfBus };
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
