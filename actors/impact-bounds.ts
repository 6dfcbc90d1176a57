import type { CityIndex } from '../engine/index.ts';
import { layerGraph, type LayerGraph } from './layer-solver.ts';

/** Service levels are kept to six decimals (asset.ts): a supply below half a unit of that rounds to 0. */
const FAILED_SUPPLY = 0.5e-6;

/**
 * Upper bounds on the impact of single failures under the stochastic model, so `criticality` can
 * skip simulations that cannot change its answer.
 *
 * The bound of asset `a` is the size of its worst-case closure: `a` fails; every dependency with a
 * chance above 0 passes the failure (as if every probability were 1); a dependent fails once its
 * failed providers alone bring its supply (∏ 1 − strength) to 0; in each layer with links a member
 * connected at the start fails once it can no longer reach an operable source (layers without
 * sources: once it is outside the largest remaining piece of the main component). Repairs, latency
 * and chance can only remove failures from this closure, so the simulated impact never exceeds it.
 *
 * One assumption, stated: a provider that only degrades (level above 0) never brings a dependent
 * to 0 (a product of levels above 0 would need more than six decimals to round to 0).
 */
export class ImpactBounds {
  private readonly graphs: Array<LayerGraph | undefined>;
  /** Per layer with links: members connected at the start (local numbering). */
  private readonly initial: Array<Uint8Array | undefined>;
  private readonly failed: Uint8Array;
  private readonly supply: Float64Array;
  private readonly touched: number[] = [];

  constructor(private readonly index: CityIndex) {
    this.graphs = index.layers.map(() => undefined);
    this.initial = index.layers.map(() => undefined);
    for (const layer of index.solverLayer) {
      const graph = layerGraph(index, layer);
      this.graphs[layer] = graph;
      this.initial[layer] = connectedMembers(graph, new Uint8Array(graph.members.length), undefined);
    }
    this.failed = new Uint8Array(index.assetCount);
    this.supply = new Float64Array(index.assetCount).fill(1);
  }

  /** Assets (counting `asset` itself) that can fail when `asset` alone fails. */
  bound(asset: number): number {
    const index = this.index;
    const failed = this.failed;
    const supply = this.supply;
    const touched = this.touched;
    const queue: number[] = [];
    const fail = (a: number): void => {
      failed[a] = 1;
      touched.push(a);
      queue.push(a);
    };
    fail(asset);
    const dirty = new Set<number>();
    let count = 0;
    for (;;) {
      while (queue.length > 0) {
        const x = queue.pop()!;
        count++;
        if (this.graphs[index.layerOf[x]!] !== undefined) dirty.add(index.layerOf[x]!);
        for (let k = index.depsByProvider.offsets[x]!; k < index.depsByProvider.offsets[x + 1]!; k++) {
          const edge = index.depsByProvider.items[k]!;
          const y = index.depTo[edge]!;
          if (y >= index.assetCount || failed[y] || !(index.depProbability[edge]! > 0)) continue;
          if (supply[y] === 1) touched.push(y);
          supply[y] = supply[y]! * (1 - index.depStrength[edge]!);
          if (supply[y]! < FAILED_SUPPLY) fail(y);
        }
      }
      if (dirty.size === 0) break;
      for (const layer of [...dirty].sort((p, q) => p - q)) {
        const graph = this.graphs[layer]!;
        const removed = new Uint8Array(graph.members.length);
        for (let k = 0; k < graph.members.length; k++) removed[k] = failed[graph.members[k]!]!;
        const start = this.initial[layer]!;
        const now = connectedMembers(graph, removed, start);
        for (let k = 0; k < graph.members.length; k++) {
          if (start[k] && !now[k] && !removed[k]) fail(graph.members[k]!);
        }
      }
      dirty.clear();
      if (queue.length === 0) break;
    }
    for (const a of touched) {
      failed[a] = 0;
      supply[a] = 1;
    }
    touched.length = 0;
    return count;
  }
}

/**
 * Members connected over members not removed: reachable from a source that is not removed or, in a
 * layer without sources, in the largest piece among the members of `main` (the start's main
 * component; without `main`, the largest component of the layer).
 */
function connectedMembers(graph: LayerGraph, removed: Uint8Array, main: Uint8Array | undefined): Uint8Array {
  const n = graph.members.length;
  const out = new Uint8Array(n);
  const stack: number[] = [];
  const flood = (seed: number, mark: Uint8Array | Int32Array, label: number): number => {
    let size = 0;
    mark[seed] = label;
    stack.push(seed);
    while (stack.length > 0) {
      const v = stack.pop()!;
      size++;
      for (let e = graph.offsets[v]!; e < graph.offsets[v + 1]!; e++) {
        const w = graph.targets[e]!;
        if (!removed[w] && mark[w] === 0) {
          mark[w] = label;
          stack.push(w);
        }
      }
    }
    return size;
  };
  if (graph.sources.length > 0) {
    for (const s of graph.sources) if (!removed[s] && out[s] === 0) flood(s, out, 1);
    return out;
  }
  const label = new Int32Array(n);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let v = 0; v < n; v++) {
    if (removed[v] || label[v] !== 0 || (main !== undefined && !main[v])) continue;
    const size = flood(v, label, ++next);
    if (size > bestSize) {
      bestSize = size;
      best = next;
    }
  }
  for (let v = 0; v < n; v++) out[v] = best !== 0 && label[v] === best ? 1 : 0;
  return out;
}
