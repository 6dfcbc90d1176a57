/**
 * Connected components and reachability restricted to the alive part of a graph. Failures in a
 * cascade are modelled by clearing bits of an `alive` mask rather than by rebuilding the CSR, so
 * both functions take that mask.
 */

import type { Csr } from './csr.ts';

/** Result of {@link connectedComponents}. */
export interface Components {
  /** Component id of each node, or -1 for a dead node. */
  readonly componentOf: Int32Array;
  /** Number of nodes in each component, indexed by component id. */
  readonly sizes: Int32Array;
  /** Number of components (of alive nodes). */
  readonly count: number;
  /** Id of the largest component (lowest id on ties), or -1 if no node is alive. */
  readonly largest: number;
  /** Size of the largest component, 0 if no node is alive. */
  readonly largestSize: number;
}

/**
 * Connected components of the alive nodes. Arcs are read as undirected links, so for a directed
 * CSR this yields the weakly connected components. Components are numbered in the order of their
 * lowest node index, which makes the numbering (and the tie-break for the largest) independent of
 * edge order.
 *
 * Union–find over the arcs, always hanging the higher root under the lower one: then every root is
 * the lowest node of its set and `parent[v] <= v`, which lets one increasing sweep turn parents
 * into component ids in place. O((n + m) α(n)).
 *
 * @param alive 1 = alive, 0 = dead; omitted means every node is alive.
 * @param out optional buffer of length ≥ `nodeCount` to hold `componentOf` (reused across calls;
 *   the result is a view of its first `nodeCount` entries).
 */
export function connectedComponents(g: Csr, alive?: Uint8Array, out?: Int32Array): Components {
  const { nodeCount, offsets, targets } = g;
  if (alive !== undefined && alive.length < nodeCount) {
    throw new RangeError(`alive has ${alive.length} entries, graph has ${nodeCount} nodes`);
  }
  const parent = out ?? new Int32Array(nodeCount);
  if (parent.length < nodeCount) throw new RangeError('out buffer is shorter than nodeCount');
  for (let v = 0; v < nodeCount; v++) parent[v] = v;

  for (let u = 0; u < nodeCount; u++) {
    if (alive !== undefined && alive[u] === 0) continue;
    const hi = offsets[u + 1]!;
    for (let k = offsets[u]!; k < hi; k++) {
      const w = targets[k]!;
      if (alive !== undefined && alive[w] === 0) continue;
      // find with path halving
      let a = u;
      while (parent[a] !== a) {
        const grand = parent[parent[a]!]!;
        parent[a] = grand;
        a = grand;
      }
      let b = w;
      while (parent[b] !== b) {
        const grand = parent[parent[b]!]!;
        parent[b] = grand;
        b = grand;
      }
      if (a < b) parent[b] = a;
      else if (b < a) parent[a] = b;
    }
  }

  // parent[v] <= v, so by the time v is reached its parent slot already holds a component id.
  let count = 0;
  for (let v = 0; v < nodeCount; v++) {
    if (alive !== undefined && alive[v] === 0) {
      parent[v] = -1;
      continue;
    }
    const p = parent[v]!;
    parent[v] = p === v ? count++ : parent[p]!;
  }

  const sizes = new Int32Array(count);
  for (let v = 0; v < nodeCount; v++) {
    const c = parent[v]!;
    if (c >= 0) sizes[c]!++;
  }
  let largest = -1;
  let largestSize = 0;
  for (let c = 0; c < count; c++) {
    if (sizes[c]! > largestSize) {
      largestSize = sizes[c]!;
      largest = c;
    }
  }
  const componentOf = parent.length === nodeCount ? parent : parent.subarray(0, nodeCount);
  return { componentOf, sizes, count, largest, largestSize };
}

/**
 * Nodes reachable from any of `sources` by following arcs through alive nodes only (a dead source
 * reaches nothing, not even itself). Breadth-first search, O(n + m).
 *
 * @returns a mask with 1 for every reached node.
 */
export function reachableFrom(g: Csr, sources: ArrayLike<number>, alive?: Uint8Array): Uint8Array {
  const { nodeCount, offsets, targets } = g;
  const seen = new Uint8Array(nodeCount);
  const queue = new Int32Array(nodeCount);
  let tail = 0;
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!;
    if (!Number.isInteger(s) || s < 0 || s >= nodeCount) {
      throw new RangeError(`source ${s} is not in [0, ${nodeCount})`);
    }
    if (seen[s] === 1 || (alive !== undefined && alive[s] === 0)) continue;
    seen[s] = 1;
    queue[tail++] = s;
  }
  for (let head = 0; head < tail; head++) {
    const u = queue[head]!;
    const hi = offsets[u + 1]!;
    for (let k = offsets[u]!; k < hi; k++) {
      const w = targets[k]!;
      if (seen[w] === 1 || (alive !== undefined && alive[w] === 0)) continue;
      seen[w] = 1;
      queue[tail++] = w;
    }
  }
  return seen;
}
