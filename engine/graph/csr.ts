/**
 * Compressed sparse row (CSR) adjacency. Every graph algorithm in this folder runs over this one
 * shape, so that the flow-solver actors can build a layer's topology once and then run many
 * analyses over flat typed arrays without allocating per node.
 */

/**
 * A graph in compressed sparse row form. The out-neighbours of node `v` are
 * `targets[offsets[v] .. offsets[v + 1])`, sorted ascending, with no self loops and no duplicates.
 * An undirected graph stores every edge in both directions.
 */
export interface Csr {
  readonly nodeCount: number;
  /** Length `nodeCount + 1`; `offsets[nodeCount]` is the number of stored arcs. */
  readonly offsets: Int32Array;
  /** Length `offsets[nodeCount]`. */
  readonly targets: Int32Array;
}

/** An edge list over nodes `0 .. nodeCount - 1`; edge `i` joins `from[i]` and `to[i]`. */
export interface EdgeList {
  readonly nodeCount: number;
  readonly from: Int32Array;
  readonly to: Int32Array;
}

/** How {@link buildCsr} reads an edge list. */
export interface BuildCsrOptions {
  /** If true, each edge `(a, b)` is stored as the two arcs `a -> b` and `b -> a`. */
  readonly undirected: boolean;
}

function checkNode(value: number | undefined, nodeCount: number, index: number): number {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value >= nodeCount) {
    throw new RangeError(`edge ${index}: node ${String(value)} is not in [0, ${nodeCount})`);
  }
  return value;
}

/**
 * Builds a CSR graph from an edge list. Self loops and duplicate edges are dropped (they change no
 * shortest path or component, and duplicates would double-count in PageRank), and neighbour lists
 * are sorted so that every traversal visits nodes in the same order on every run.
 *
 * Runs in O(n + m log d) time, where d is the largest degree.
 *
 * @throws RangeError if a node id is outside `[0, nodeCount)` or the two arrays differ in length.
 * @example
 * const g = buildCsr(3, [0, 1], [1, 2], { undirected: true }); // the path 0 - 1 - 2
 */
export function buildCsr(
  nodeCount: number,
  from: ArrayLike<number>,
  to: ArrayLike<number>,
  options: BuildCsrOptions,
): Csr {
  if (!Number.isInteger(nodeCount) || nodeCount < 0) {
    throw new RangeError(`nodeCount must be a non-negative integer, got ${nodeCount}`);
  }
  if (from.length !== to.length) {
    throw new RangeError(`from has ${from.length} entries but to has ${to.length}`);
  }
  const edgeCount = from.length;
  const undirected = options.undirected;

  // Counting sort by source: count arcs per node, prefix-sum into offsets, then scatter.
  const start = new Int32Array(nodeCount + 1);
  for (let i = 0; i < edgeCount; i++) {
    const a = checkNode(from[i], nodeCount, i);
    const b = checkNode(to[i], nodeCount, i);
    if (a === b) continue;
    start[a + 1]!++;
    if (undirected) start[b + 1]!++;
  }
  for (let v = 0; v < nodeCount; v++) start[v + 1]! += start[v]!;
  const raw = new Int32Array(start[nodeCount]!);
  const cursor = start.slice(0, nodeCount);
  for (let i = 0; i < edgeCount; i++) {
    const a = from[i]!;
    const b = to[i]!;
    if (a === b) continue;
    raw[cursor[a]!++] = b;
    if (undirected) raw[cursor[b]!++] = a;
  }

  // Sort each neighbour list, then compact duplicates in place (the write index never passes the
  // read index, so one buffer suffices).
  const offsets = new Int32Array(nodeCount + 1);
  let write = 0;
  for (let v = 0; v < nodeCount; v++) {
    const lo = start[v]!;
    const hi = start[v + 1]!;
    offsets[v] = write;
    if (hi - lo > 1) raw.subarray(lo, hi).sort();
    let previous = -1;
    for (let k = lo; k < hi; k++) {
      const w = raw[k]!;
      if (w !== previous) {
        raw[write++] = w;
        previous = w;
      }
    }
  }
  offsets[nodeCount] = write;
  const targets = write === raw.length ? raw : raw.slice(0, write);
  return { nodeCount, offsets, targets };
}

/** {@link buildCsr} over an {@link EdgeList}. */
export function csrFromEdges(edges: EdgeList, options: BuildCsrOptions): Csr {
  return buildCsr(edges.nodeCount, edges.from, edges.to, options);
}

/** Number of out-neighbours of `v` (its degree, for an undirected graph). */
export function degree(g: Csr, v: number): number {
  return g.offsets[v + 1]! - g.offsets[v]!;
}

/** Number of stored arcs: twice the edge count for an undirected graph. */
export function arcCount(g: Csr): number {
  return g.offsets[g.nodeCount]!;
}

/** True if `b` is an out-neighbour of `a` (binary search in the sorted list). */
export function hasArc(g: Csr, a: number, b: number): boolean {
  let lo = g.offsets[a]!;
  let hi = g.offsets[a + 1]! - 1;
  const targets = g.targets;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const w = targets[mid]!;
    if (w === b) return true;
    if (w < b) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * True if every arc `a -> b` has its reverse `b -> a`, i.e. the CSR encodes an undirected graph.
 * Algorithms whose semantics differ for directed graphs (betweenness counts unordered pairs only
 * when the graph is symmetric) use this to decide. O(m log d).
 */
export function isSymmetric(g: Csr): boolean {
  const { nodeCount, offsets, targets } = g;
  for (let a = 0; a < nodeCount; a++) {
    const hi = offsets[a + 1]!;
    for (let k = offsets[a]!; k < hi; k++) {
      if (!hasArc(g, targets[k]!, a)) return false;
    }
  }
  return true;
}
