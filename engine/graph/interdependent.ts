/**
 * REFERENCE implementation of mutual percolation in interdependent networks (S. V. Buldyrev,
 * R. Parshani, G. Paul, H. E. Stanley & S. Havlin, "Catastrophic cascade of failures in
 * interdependent networks", Nature 464, 1025–1028, 2010).
 *
 * A node keeps working only if it belongs to the giant (largest) connected component of its own
 * layer's working nodes AND all its providers in other layers work. Starting from an attack, the
 * two rules are applied alternately until nothing changes; the survivors form the mutually
 * connected giant component. For two ER layers with one-to-one dependencies and mean degree k the
 * transition is first order, at p_c = 2.4554 / k.
 *
 * ## Data shapes
 * - Layers are independent {@link Csr}s, each with its own local numbering `0 .. nodeCount − 1`.
 * - Masks over the whole system use a *global* numbering: layer 0's nodes first, then layer 1's,
 *   and so on; node `i` of layer `ℓ` is global id `layerStart[ℓ] + i` (see {@link layerStarts}).
 *   So for a two-layer system attacked in layer 0, a mask of layer 0's length works as is.
 * - Dependencies are a flat {@link DependencyList} of (layer, node) pairs: the dependent fails as
 *   soon as any one of its providers has failed ("hard" dependency).
 */

import { connectedComponents } from './components.ts';
import type { Csr } from './csr.ts';
import type { Rng } from '../rng.ts';

/**
 * Hard dependencies: for each index `i`, node `dependent[i]` of layer `dependentLayer[i]` needs
 * node `provider[i]` of layer `providerLayer[i]`. A node with several providers needs all of them.
 */
export interface DependencyList {
  readonly dependentLayer: Int32Array;
  readonly dependent: Int32Array;
  readonly providerLayer: Int32Array;
  readonly provider: Int32Array;
}

/** Options for {@link mutualGiantComponent}. */
export interface MutualPercolationOptions {
  /** Layer whose surviving fraction is reported as `fraction`; default 0. */
  readonly attackedLayer?: number;
  /** Safety bound on rounds; the process always ends within total-node-count rounds. */
  readonly maxIterations?: number;
}

/** Result of {@link mutualGiantComponent}. */
export interface MutualPercolationResult {
  /** Final working nodes, global numbering, 1 = alive. */
  readonly alive: Uint8Array;
  /** Alive nodes of the attacked layer ÷ that layer's node count (Buldyrev's P∞ when attacked by 1 − p). */
  readonly fraction: number;
  /** Surviving fraction of every layer. */
  readonly layerFractions: Float64Array;
  /** First global id of each layer, plus the total node count at the end. */
  readonly layerStart: Int32Array;
  /** Rounds (giant-component pass + dependency pass) until nothing changed, counting the last. */
  readonly iterations: number;
}

/** First global id of each layer, and the total node count as the last entry. */
export function layerStarts(layers: readonly Csr[]): Int32Array {
  const start = new Int32Array(layers.length + 1);
  for (let l = 0; l < layers.length; l++) start[l + 1] = start[l]! + layers[l]!.nodeCount;
  return start;
}

/**
 * One-to-one dependencies between two layers of `n` nodes each: node i of `layerA` depends on node
 * i of `layerB` and, if `mutual` (the Buldyrev et al. setting), node i of `layerB` on node i of
 * `layerA`. Independent random layers make the identity pairing as good as a random one.
 */
export function oneToOneDependencies(n: number, layerA = 0, layerB = 1, mutual = true): DependencyList {
  const count = mutual ? 2 * n : n;
  const list = {
    dependentLayer: new Int32Array(count),
    dependent: new Int32Array(count),
    providerLayer: new Int32Array(count),
    provider: new Int32Array(count),
  };
  for (let i = 0; i < n; i++) {
    list.dependentLayer[i] = layerA;
    list.dependent[i] = i;
    list.providerLayer[i] = layerB;
    list.provider[i] = i;
    if (mutual) {
      list.dependentLayer[n + i] = layerB;
      list.dependent[n + i] = i;
      list.providerLayer[n + i] = layerA;
      list.provider[n + i] = i;
    }
  }
  return list;
}

/**
 * A mask removing exactly round(fraction × n) nodes chosen uniformly at random (1 = removed).
 * Buldyrev et al. attack a fraction 1 − p of one layer.
 */
export function randomRemoval(n: number, fraction: number, rng: Rng): Uint8Array {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction ${fraction} not in [0, 1]`);
  const ids: number[] = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(ids);
  const removed = new Uint8Array(n);
  const count = Math.round(fraction * n);
  for (let i = 0; i < count; i++) removed[ids[i]!] = 1;
  return removed;
}

/**
 * Runs the Buldyrev et al. cascade to its fixed point. Each round: (1) in every layer, nodes
 * outside the largest connected component of that layer's alive nodes fail (ties: the component
 * with the lowest node index); (2) every node with a failed provider fails. Rounds repeat until
 * a round changes nothing. O(rounds × (n + m + dependencies)).
 *
 * @param layers the networks, each in its own local numbering.
 * @param dependencies hard dependencies between (layer, node) pairs.
 * @param initiallyRemoved 1 = attacked, global numbering; may be shorter than the total (missing
 *   entries are not attacked), e.g. just the attacked layer 0's mask.
 */
export function mutualGiantComponent(
  layers: readonly Csr[],
  dependencies: DependencyList,
  initiallyRemoved: Uint8Array,
  options: MutualPercolationOptions = {},
): MutualPercolationResult {
  const layerStart = layerStarts(layers);
  const total = layerStart[layers.length]!;
  const attackedLayer = options.attackedLayer ?? 0;
  if (layers.length > 0 && (attackedLayer < 0 || attackedLayer >= layers.length)) {
    throw new RangeError(`attackedLayer ${attackedLayer} is not a layer`);
  }
  if (initiallyRemoved.length > total) {
    throw new RangeError(`initiallyRemoved has ${initiallyRemoved.length} entries, system has ${total} nodes`);
  }

  const providersOf = compileDependencies(layers, layerStart, dependencies);
  const alive = new Uint8Array(total).fill(1);
  for (let v = 0; v < initiallyRemoved.length; v++) if (initiallyRemoved[v] !== 0) alive[v] = 0;

  let maxNodes = 0;
  for (const layer of layers) maxNodes = Math.max(maxNodes, layer.nodeCount);
  const labels = new Int32Array(maxNodes);
  const maxIterations = options.maxIterations ?? total + 1;
  let iterations = 0;
  let changed = true;
  while (changed && iterations < maxIterations) {
    changed = false;
    iterations++;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l]!;
      const view = alive.subarray(layerStart[l]!, layerStart[l + 1]!);
      const { componentOf, largest } = connectedComponents(layer, view, labels);
      for (let v = 0; v < layer.nodeCount; v++) {
        if (view[v] === 1 && componentOf[v] !== largest) {
          view[v] = 0;
          changed = true;
        }
      }
    }
    const { offsets, targets } = providersOf;
    for (let d = 0; d < total; d++) {
      if (alive[d] === 0) continue;
      const hi = offsets[d + 1]!;
      for (let k = offsets[d]!; k < hi; k++) {
        if (alive[targets[k]!] === 0) {
          alive[d] = 0;
          changed = true;
          break;
        }
      }
    }
  }

  const layerFractions = new Float64Array(layers.length);
  for (let l = 0; l < layers.length; l++) {
    const n = layers[l]!.nodeCount;
    let count = 0;
    for (let v = layerStart[l]!; v < layerStart[l + 1]!; v++) count += alive[v]!;
    layerFractions[l] = n === 0 ? 0 : count / n;
  }
  return {
    alive,
    fraction: layers.length === 0 ? 0 : layerFractions[attackedLayer]!,
    layerFractions,
    layerStart,
    iterations,
  };
}

/** Dependencies as a CSR over global ids: dependent → its providers. */
function compileDependencies(
  layers: readonly Csr[],
  layerStart: Int32Array,
  deps: DependencyList,
): { offsets: Int32Array; targets: Int32Array } {
  const total = layerStart[layers.length]!;
  const count = deps.dependent.length;
  if (deps.dependentLayer.length !== count || deps.provider.length !== count || deps.providerLayer.length !== count) {
    throw new RangeError('dependency arrays differ in length');
  }
  const globalId = (layer: number, node: number, i: number): number => {
    const size = layers[layer]?.nodeCount;
    if (size === undefined || !Number.isInteger(node) || node < 0 || node >= size) {
      throw new RangeError(`dependency ${i}: node ${node} of layer ${layer} does not exist`);
    }
    return layerStart[layer]! + node;
  };
  const offsets = new Int32Array(total + 1);
  const dependentIds = new Int32Array(count);
  const providerIds = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const d = globalId(deps.dependentLayer[i]!, deps.dependent[i]!, i);
    dependentIds[i] = d;
    providerIds[i] = globalId(deps.providerLayer[i]!, deps.provider[i]!, i);
    offsets[d + 1]!++;
  }
  for (let v = 0; v < total; v++) offsets[v + 1]! += offsets[v]!;
  const cursor = offsets.slice(0, total);
  const targets = new Int32Array(count);
  for (let i = 0; i < count; i++) targets[cursor[dependentIds[i]!]!++] = providerIds[i]!;
  return { offsets, targets };
}
