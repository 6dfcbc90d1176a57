import {
  BetweennessSolver,
  MessageKind,
  Status,
  type ActorView,
  type Behaviour,
  type Cause,
  type CityIndex,
  type SimMessage,
  type StepContext,
} from '../engine/index.ts';
import type { BehaviourOptions } from './options.ts';

/** A layer's links in the layer's own numbering (member k ↔ asset `members[k]`). */
export interface LayerGraph {
  readonly layer: number;
  readonly members: Int32Array;
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
  readonly sources: Int32Array;
}

export interface SolverState {
  readonly graph: LayerGraph;
  /** Flow model: each member's current load (betweenness over the operable part); null otherwise. */
  readonly loads: Float64Array | null;
  /** Per member: 1 while the asset says it is operable. */
  readonly operable: Uint8Array;
  /** Per member: 1 while connected to a source (or the giant component when the layer declares none). */
  readonly connected: Uint8Array;
  /** Members connected at the last solve. */
  readonly connectedCount: number;
  readonly solves: number;
}

/** Betweenness work buffers per layer graph: a cache of scratch space, not state (results are returned). */
const flowSolvers = new WeakMap<LayerGraph, BetweennessSolver>();

function flowSolverFor(graph: LayerGraph): BetweennessSolver {
  let solver = flowSolvers.get(graph);
  if (solver === undefined) {
    solver = new BetweennessSolver({ nodeCount: graph.members.length, offsets: graph.offsets, targets: graph.targets }, { undirected: true });
    flowSolvers.set(graph, solver);
  }
  return solver;
}

/** Builds the layer's local graph from the city index. */
export function layerGraph(index: CityIndex, layer: number): LayerGraph {
  const start = index.layerMembers.offsets[layer]!;
  const members = index.layerMembers.items.subarray(start, index.layerMembers.offsets[layer + 1]!);
  const offsets = new Int32Array(members.length + 1);
  const targets: number[] = [];
  const sources: number[] = [];
  for (let k = 0; k < members.length; k++) {
    const asset = members[k]!;
    if (index.isSource[asset]) sources.push(k);
    for (let e = index.links.offsets[asset]!; e < index.links.offsets[asset + 1]!; e++) {
      targets.push(index.layerPosition[index.links.items[e]!]!);
    }
    offsets[k + 1] = targets.length;
  }
  return { layer, members, offsets, targets: Int32Array.from(targets), sources: Int32Array.from(sources) };
}

/**
 * Marks the members reachable over operable members. With sources: reachable from any operable
 * source. Without sources the layer's main component is followed by continuity: the operable
 * component that keeps most of the previously connected members (the largest one when nothing was
 * connected before; ties to the lowest member number). While members only fail this is exactly the
 * largest connected component (Buldyrev et al.'s rule), and unlike "always the largest" it is
 * monotone: a member coming back can only grow the main component, so a dependency loop between
 * two halves of a layer cannot flip the choice back and forth forever within one instant.
 */
export function solveConnectivity(graph: LayerGraph, operable: Uint8Array, previous?: Uint8Array): { connected: Uint8Array; count: number } {
  const n = graph.members.length;
  const connected = new Uint8Array(n);
  const queue = new Int32Array(n);
  const { offsets, targets } = graph;
  const flood = (seeds: ArrayLike<number>, mark: Uint8Array, value: number): number => {
    let head = 0;
    let tail = 0;
    for (let i = 0; i < seeds.length; i++) {
      const s = seeds[i]!;
      if (operable[s] && mark[s] === 0) {
        mark[s] = value;
        queue[tail++] = s;
      }
    }
    while (head < tail) {
      const v = queue[head++]!;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
        const w = targets[e]!;
        if (operable[w] && mark[w] === 0) {
          mark[w] = value;
          queue[tail++] = w;
        }
      }
    }
    return tail;
  };
  if (graph.sources.length > 0) {
    return { connected, count: flood(graph.sources, connected, 1) };
  }
  // No sources: find the giant component of the operable part.
  const label = new Uint8Array(n);
  let bestStart = -1;
  let bestSize = 0;
  let bestKept = 0;
  for (let v = 0; v < n; v++) {
    if (!operable[v] || label[v]) continue;
    const size = flood([v], label, 1);
    // The flood left this component's members at the front of the queue.
    let kept = 0;
    if (previous !== undefined) for (let i = 0; i < size; i++) kept += previous[queue[i]!]!;
    if (kept > bestKept || (kept === bestKept && size > bestSize)) {
      bestSize = size;
      bestStart = v;
      bestKept = kept;
    }
  }
  if (bestStart >= 0) flood([bestStart], connected, 1);
  return { connected, count: bestSize };
}

/**
 * The flow solver of one layer (an actor like any other). It learns which members are operable,
 * re-solves connectivity once per round however many members changed (the coalesced batch), and
 * tells exactly the members whose connectivity flipped.
 */
export class LayerSolverBehaviour implements Behaviour<SolverState> {
  constructor(private readonly options: BehaviourOptions) {}

  init(actor: number, index: CityIndex): SolverState {
    const layer = index.solverLayer[actor - index.assetCount - index.cohortCount]!;
    const graph = layerGraph(index, layer);
    const operable = new Uint8Array(graph.members.length).fill(1);
    return { graph, loads: null, operable, connected: new Uint8Array(graph.members.length).fill(1), connectedCount: graph.members.length, solves: 0 };
  }

  step(state: SolverState, batch: readonly SimMessage[], ctx: StepContext): SolverState {
    let operable = state.operable;
    let changed = false;
    let started = false;
    /** The first member that stopped working in this batch: what a cut-off or overload is blamed on. */
    let trigger = -1;
    for (const m of batch) {
      if (m.kind === MessageKind.Start) started = true;
      if (m.kind !== MessageKind.Operable || m.from < 0) continue;
      const k = ctx.index.layerPosition[m.from]!;
      const value = m.value >= 0.5 ? 1 : 0;
      if (operable[k] === value) continue;
      if (operable === state.operable) operable = Uint8Array.from(operable);
      operable[k] = value;
      if (value === 0 && trigger < 0) trigger = m.from;
      changed = true;
    }
    if (!changed && !started) return state;
    const members = state.graph.members;
    const aux = trigger < 0 ? ctx.self : trigger;

    let connected = state.connected;
    let connectedCount = state.connectedCount;
    if (this.options.connectivity) {
      const solved = solveConnectivity(state.graph, operable, state.connected);
      connected = solved.connected;
      connectedCount = solved.count;
      for (let k = 0; k < members.length; k++) {
        if (connected[k] !== state.connected[k]) ctx.send(members[k]!, MessageKind.Connected, connected[k]!, aux, 0);
      }
    }

    let loads = state.loads;
    if (this.options.loadModel === 'flow') {
      // Motter–Lai: loads are the betweenness over the operable part, recomputed once per round.
      const next = flowSolverFor(state.graph).compute(operable);
      for (let k = 0; k < members.length; k++) {
        if (started) {
          ctx.send(members[k]!, MessageKind.SetCapacity, (1 + this.options.alpha) * next[k]!, aux, 0);
          ctx.send(members[k]!, MessageKind.FlowLoad, next[k]!, aux, 0);
        } else if (operable[k] && next[k] !== loads![k]) {
          ctx.send(members[k]!, MessageKind.FlowLoad, next[k]!, aux, 0);
        }
      }
      loads = next;
    }
    return { graph: state.graph, loads, operable, connected, connectedCount, solves: state.solves + 1 };
  }

  view(s: SolverState): ActorView {
    const n = s.graph.members.length;
    return { status: Status.Ok, level: n === 0 ? 1 : s.connectedCount / n, load: 0, stress: 0 };
  }

  cause(): Cause | null {
    return null;
  }

  fault(s: SolverState): SolverState {
    return s;
  }

  describe(s: SolverState, index: CityIndex): Record<string, unknown> {
    return {
      layer: index.layers[s.graph.layer],
      members: s.graph.members.length,
      connected: s.connectedCount,
      sources: s.graph.sources.length,
      solves: s.solves,
    };
  }
}
