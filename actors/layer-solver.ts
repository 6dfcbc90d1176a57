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
import { dcLayerFor, initialLiveState, solveDcLive, solveDcRound, type DcFlowState, type DcLiveState } from './dc-flow.ts';

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
  /** Load model `dc`: the power layer's balanced dispatch and the flows last sent. */
  readonly dc?: DcFlowState;
  /** The live twin (load model `local`) in an electrical layer: reported demand and the DC flows. */
  readonly live?: DcLiveState;
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

/** Above this many searches (distinct neighbours of the cut members) a full solve is cheaper. */
const MAX_RACING_SEARCHES = 48;

/** Scratch space for incremental solves, per layer graph (like the betweenness buffers: not state). */
interface RaceScratch {
  stamp: number;
  readonly visited: Int32Array;
  readonly owner: Int32Array;
  readonly isSource: Uint8Array;
}
const raceScratch = new WeakMap<LayerGraph, RaceScratch>();

function scratchFor(graph: LayerGraph): RaceScratch {
  let scratch = raceScratch.get(graph);
  if (scratch === undefined) {
    const n = graph.members.length;
    const isSource = new Uint8Array(n);
    for (let i = 0; i < graph.sources.length; i++) isSource[graph.sources[i]!] = 1;
    scratch = { stamp: 0, visited: new Int32Array(n), owner: new Int32Array(n), isSource };
    raceScratch.set(graph, scratch);
  }
  return scratch;
}

/**
 * `solveConnectivity` for a batch in which members only stopped working, in time proportional to
 * what breaks off rather than to the layer. With removals only, the new main part lies inside the
 * old one, and the old one falls apart into *pieces*, each holding an operable neighbour of a removed
 * member. One breadth-first search starts from each such neighbour and they run in turns; searches
 * that meet join into one group, and a group whose searches have all run dry is a complete piece.
 * As soon as at most one group is still running, every piece is known: the finished ones by their
 * members, the running one as "the rest of the old part". So a failure that cuts nothing off costs
 * the few steps until its neighbours' searches meet, and one that cuts off a branch costs the branch.
 *
 * With sources, a group stops as soon as it reaches a source (it is connected whatever else
 * happens) and the search ends when every group has reached one or run dry.
 *
 * Returns undefined when only a full solve can tell (nothing of the old part is left to search
 * from, or, without sources, a tie between a finished piece and the running group, whose lowest
 * member is not known): the caller then runs `solveConnectivity`. The result is always equal to `solveConnectivity`'s (tested on random graphs).
 */
export function solveAfterRemovals(
  graph: LayerGraph,
  operable: Uint8Array,
  previous: Uint8Array,
  previousCount: number,
  removed: readonly number[],
): { connected: Uint8Array; count: number } | undefined {
  const { offsets, targets } = graph;
  const cut = removed.filter((r) => previous[r] === 1);
  if (cut.length === 0) return { connected: previous, count: previousCount };
  const scratch = scratchFor(graph);
  const stamp = ++scratch.stamp;
  const { visited, owner, isSource } = scratch;
  const inOldPart = (v: number): boolean => previous[v] === 1 && operable[v] === 1;

  // One search per distinct operable neighbour of a removed member of the old part.
  const queues: number[][] = [];
  for (const r of cut) {
    for (let e = offsets[r]!; e < offsets[r + 1]!; e++) {
      const w = targets[e]!;
      if (!inOldPart(w) || visited[w] === stamp) continue;
      visited[w] = stamp;
      owner[w] = queues.length;
      queues.push([w]);
    }
  }
  const k = queues.length;
  // Many cut points at once (a storm's round): racing that many searches costs more than one
  // full pass over the layer, which is what the caller does instead.
  if (k === 0 || k > MAX_RACING_SEARCHES) return undefined;
  const parent = Int32Array.from({ length: k }, (_, i) => i);
  const running = new Int32Array(k).fill(1);
  const size = new Float64Array(k).fill(1);
  const lowest = Int32Array.from(queues, (q) => q[0]!);
  const sources = Uint8Array.from(queues, (q) => isSource[q[0]!]!);
  const sourced = graph.sources.length > 0;
  // A group needs work while it has searches left and, with sources, has not reached one yet (a group
  // that reached a source is connected whatever else happens). Without sources the search stops when
  // at most one group needs work; with sources when none does.
  const needs = (r: number): number => (running[r]! > 0 && (!sourced || sources[r] === 0) ? 1 : 0);
  let needy = 0;
  for (let i = 0; i < k; i++) needy += needs(i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const join = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    needy -= needs(ra) + needs(rb);
    parent[rb] = ra;
    running[ra]! += running[rb]!;
    size[ra]! += size[rb]!;
    lowest[ra] = Math.min(lowest[ra]!, lowest[rb]!);
    sources[ra] = sources[ra]! | sources[rb]!;
    needy += needs(ra);
  };
  const heads = new Int32Array(k);
  // Searches still stepping; each turn drops those that ran dry or whose group needs no more work.
  let active = Array.from({ length: k }, (_, i) => i);
  while ((sourced ? needy > 0 : needy > 1) && active.length > 0) {
    const next: number[] = [];
    for (const i of active) {
      const queue = queues[i]!;
      if (heads[i]! >= queue.length || needs(find(i)) === 0) continue;
      next.push(i);
      const v = queue[heads[i]!++]!;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
        const w = targets[e]!;
        if (!inOldPart(w)) continue;
        if (visited[w] !== stamp) {
          visited[w] = stamp;
          owner[w] = i;
          queue.push(w);
          const r = find(i);
          size[r]! += 1;
          if (w < lowest[r]!) lowest[r] = w;
          if (isSource[w] && sources[r] === 0) {
            needy -= needs(r);
            sources[r] = 1;
            needy += needs(r);
          }
        } else join(i, owner[w]!);
      }
      if (heads[i]! >= queue.length) {
        const r = find(i);
        needy -= needs(r);
        running[r]! -= 1;
        needy += needs(r);
      }
    }
    active = next;
  }

  // Each group's members: the nodes its searches visited (their queues, read from the start).
  const groups = new Map<number, number[][]>();
  for (let i = 0; i < k; i++) {
    const root = find(i);
    const list = groups.get(root);
    if (list === undefined) groups.set(root, [queues[i]!]);
    else list.push(queues[i]!);
  }
  const roots = [...groups.keys()];
  const membersOf = (root: number): number[] => groups.get(root)!.flat();
  const withoutPieces = (lost: readonly number[]): { connected: Uint8Array; count: number } => {
    const connected = Uint8Array.from(previous);
    let lostSize = 0;
    for (const r of cut) connected[r] = 0;
    for (const root of lost) {
      lostSize += size[root]!;
      for (const v of membersOf(root)) connected[v] = 0;
    }
    return { connected, count: previousCount - cut.length - lostSize };
  };

  // With sources every piece is settled: it reached a source (connected) or ran dry without one (cut off).
  if (sourced) return withoutPieces(roots.filter((r) => sources[r] === 0));

  // Without sources the pieces are the finished groups (complete) and at most one running group,
  // the rest of the old part, whose size is what the others leave.
  const finished = roots.filter((r) => running[r] === 0);
  const rest = roots.find((r) => running[r]! > 0);
  const restSize = previousCount - cut.length - finished.reduce((sum, r) => sum + size[r]!, 0);
  // Without sources: the piece that keeps most of the old part (all its members were in it) — the
  // largest; ties go to the lowest member number, which the running group's is not known for.
  let best = -1;
  for (const r of finished) if (best < 0 || size[r]! > size[best]! || (size[r] === size[best] && lowest[r]! < lowest[best]!)) best = r;
  if (rest !== undefined) {
    if (best >= 0 && size[best] === restSize) return undefined;
    if (best < 0 || restSize > size[best]!) return withoutPieces(finished);
  }
  const connected = new Uint8Array(graph.members.length);
  for (const v of membersOf(best)) connected[v] = 1;
  return { connected, count: size[best]! };
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
    /** Members that stopped working in this batch; null once one came back (then only a full solve will do). */
    let removed: number[] | null = [];
    /** The first member that stopped working in this batch: what a cut-off or overload is blamed on. */
    let trigger = -1;
    let topology = false;
    let live = state.live ?? null;
    const liveLayer = this.options.loadModel === 'local' ? dcLayerFor(state.graph, ctx.index, this.options.ratingFactor ?? 1) : null;
    if (liveLayer !== null && live === null) live = initialLiveState(liveLayer);
    let demand = live?.demandMw ?? null;
    for (const m of batch) {
      if (m.kind === MessageKind.Start) started = true;
      if (m.kind === MessageKind.Demand && m.from >= 0 && demand !== null) {
        // A member of the electrical layer reports its demand (a bus its load, a generator its schedule).
        const k = ctx.index.layerPosition[m.from]!;
        if (demand[k] === m.value) continue;
        if (demand === live!.demandMw) demand = Float64Array.from(demand);
        demand[k] = m.value;
        changed = true;
        continue;
      }
      if (m.kind !== MessageKind.Operable || m.from < 0) continue;
      const k = ctx.index.layerPosition[m.from]!;
      const value = m.value >= 0.5 ? 1 : 0;
      if (operable[k] === value) continue;
      if (operable === state.operable) operable = Uint8Array.from(operable);
      operable[k] = value;
      if (value === 0 && trigger < 0) trigger = m.from;
      if (value === 0) removed?.push(k);
      else removed = null;
      changed = true;
      topology = true;
    }
    if (!changed && !started) return state;
    const members = state.graph.members;
    const aux = trigger < 0 ? ctx.self : trigger;

    let connected = state.connected;
    let connectedCount = state.connectedCount;
    if (this.options.connectivity && (topology || started)) {
      const solved =
        (!started && removed !== null ? solveAfterRemovals(state.graph, operable, state.connected, state.connectedCount, removed) : undefined) ??
        solveConnectivity(state.graph, operable, state.connected);
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
    let dc = state.dc ?? null;
    if (this.options.loadModel === 'dc') {
      const layer = dcLayerFor(state.graph, ctx.index, this.options.ratingFactor ?? 1);
      if (layer !== null) {
        const round = solveDcRound(layer, operable, dc, started);
        for (const s of round.sends) {
          if (s.capacityMw !== null) ctx.send(members[s.member]!, MessageKind.SetCapacity, s.capacityMw, aux, 0);
          ctx.send(members[s.member]!, MessageKind.FlowLoad, s.loadMw, aux, 0);
        }
        dc = round.state;
      }
    }
    if (liveLayer !== null && live !== null && demand !== null) {
      const round = solveDcLive(liveLayer, operable, { ...live, demandMw: demand }, started);
      for (const s of round.sends) {
        if (s.capacityMw !== null) ctx.send(members[s.member]!, MessageKind.SetCapacity, s.capacityMw, aux, 0);
        ctx.send(members[s.member]!, MessageKind.FlowLoad, s.loadMw, aux, 0);
      }
      live = round.state;
    }
    return { graph: state.graph, loads, operable, connected, connectedCount, solves: state.solves + 1, ...(dc === null ? {} : { dc }), ...(live === null ? {} : { live }) };
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

  /** The layer graph is the city's (rebuilt by `init`), so a snapshot leaves it out. */
  snapshot(s: SolverState): unknown {
    const { graph: _graph, ...rest } = s;
    return rest;
  }

  restore(saved: unknown, actor: number, index: CityIndex): SolverState {
    return { ...(saved as Omit<SolverState, 'graph'>), graph: this.init(actor, index).graph };
  }

  describe(s: SolverState, index: CityIndex): Record<string, unknown> {
    return {
      layer: index.layers[s.graph.layer],
      members: s.graph.members.length,
      connected: s.connectedCount,
      sources: s.graph.sources.length,
      solves: s.solves,
      ...(s.live === undefined ? {} : { model: 'dc-live', loadServedMw: sum(s.live.loadMw), generationMw: sum(s.live.pgMw), shedMw: s.live.shedMw }),
    };
  }
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
