/**
 * Sparse LDLᵀ (square-root-free Cholesky) factorisation of symmetric matrices whose off-diagonal
 * structure is a graph (a bus susceptance matrix, a WLS gain matrix). For a symmetric positive
 * definite matrix it is Cholesky (D > 0); without square roots it also factors the nonsingular
 * indefinite B matrices of grids with series capacitors (negative reactance, e.g. IEEE 300), as
 * MATPOWER's LU does. Hand-written: see CONTEXT.md for why no npm package was used.
 *
 * Analysis (once per structure): a minimum-degree elimination order on the graph, which at the
 * same time yields the exact pattern of L. Numeric factorisation (as often as the values change,
 * e.g. every cascade generation): left-looking column LDLᵀ into that fixed pattern. Entries may be
 * zero, so one analysis of the intact grid serves every topology that only removes edges.
 */

/** A zero (or non-finite) pivot: the matrix is singular, e.g. an island without a grounded reference. */
export class SingularMatrixError extends Error {
  constructor(readonly node: number, readonly pivot: number) {
    super(`matrix is singular: pivot ${pivot} at node ${node} (an island without a grounded reference?)`);
    this.name = 'SingularMatrixError';
  }
}

/**
 * Minimum-degree elimination order of a graph; ties go to the lower node number (deterministic).
 * The elimination graph is kept explicitly (adjacency arrays merged with a stamp array), which is
 * cheap for grids: their fill stays small.
 */
function minimumDegreeOrder(n: number, adjacency: number[][]): { perm: Int32Array; columns: number[][] } {
  const perm = new Int32Array(n);
  const eliminated = new Uint8Array(n);
  const columns: number[][] = [];
  // Binary heap of (degree, node), lazily updated: stale entries are skipped when popped.
  const heapDeg: number[] = [];
  const heapNode: number[] = [];
  const less = (i: number, j: number): boolean => heapDeg[i]! < heapDeg[j]! || (heapDeg[i] === heapDeg[j] && heapNode[i]! < heapNode[j]!);
  const swap = (i: number, j: number): void => {
    const d = heapDeg[i]!;
    heapDeg[i] = heapDeg[j]!;
    heapDeg[j] = d;
    const v = heapNode[i]!;
    heapNode[i] = heapNode[j]!;
    heapNode[j] = v;
  };
  const push = (deg: number, node: number): void => {
    heapDeg.push(deg);
    heapNode.push(node);
    for (let i = heapDeg.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!less(i, parent)) break;
      swap(i, parent);
      i = parent;
    }
  };
  const pop = (): number => {
    const top = heapNode[0]!;
    const lastDeg = heapDeg.pop()!;
    const lastNode = heapNode.pop()!;
    if (heapDeg.length > 0) {
      heapDeg[0] = lastDeg;
      heapNode[0] = lastNode;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heapDeg.length && less(l, m)) m = l;
        if (r < heapDeg.length && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return top;
  };
  const degree = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    degree[v] = adjacency[v]!.length;
    push(degree[v]!, v);
  }
  const stamp = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    let v = -1;
    while (heapDeg.length > 0) {
      const deg = heapDeg[0]!;
      const node = pop();
      if (eliminated[node] === 0 && degree[node] === deg) {
        v = node;
        break;
      }
    }
    perm[k] = v;
    eliminated[v] = 1;
    const neighbours = adjacency[v]!;
    columns.push(neighbours);
    // Eliminating v joins its neighbours into a clique (the fill of Gaussian elimination).
    for (const a of neighbours) {
      const list = adjacency[a]!;
      let w = 0;
      for (let r = 0; r < list.length; r++) {
        const x = list[r]!;
        if (x === v) continue;
        list[w++] = x;
        stamp[x] = a;
      }
      list.length = w;
      stamp[a] = a;
      for (const b of neighbours) {
        if (stamp[b] !== a) {
          stamp[b] = a;
          list.push(b);
        }
      }
      if (list.length !== degree[a]) {
        degree[a] = list.length;
        push(list.length, a);
      }
    }
    adjacency[v] = [];
  }
  return { perm, columns };
}

/**
 * A symbolic and numeric sparse factorisation P·A·Pᵀ = L·D·Lᵀ (L unit lower) of A = diag + Σ edges.
 *
 * @example
 * // A = [[2, -1], [-1, 2]]
 * const chol = SparseLdlt.analyse(2, Int32Array.of(0), Int32Array.of(1));
 * chol.factor(Float64Array.of(2, 2), Float64Array.of(-1));
 * chol.solve(Float64Array.of(1, 1)); // → [1, 1]
 */
export class SparseLdlt {
  /** perm[k] = original node eliminated k-th; inverse[node] = k. */
  readonly perm: Int32Array;
  readonly inverse: Int32Array;
  /** Strictly lower part of the unit lower L in compressed columns (permuted numbering), rows ascending. */
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  readonly values: Float64Array;
  /** D, in elimination order. */
  readonly diagonal: Float64Array;
  /** For each edge given to analyse: its slot in `values`. */
  private readonly edgeSlot: Int32Array;
  private readonly work: Float64Array;
  private readonly next: Int32Array;
  private readonly head: Int32Array;
  private readonly link: Int32Array;

  private constructor(readonly size: number, perm: Int32Array, colPtr: Int32Array, rowIdx: Int32Array, edgeSlot: Int32Array) {
    this.perm = perm;
    this.inverse = new Int32Array(size);
    for (let k = 0; k < size; k++) this.inverse[perm[k]!] = k;
    this.colPtr = colPtr;
    this.rowIdx = rowIdx;
    this.values = new Float64Array(rowIdx.length);
    this.diagonal = new Float64Array(size);
    this.edgeSlot = edgeSlot;
    this.work = new Float64Array(size);
    this.next = new Int32Array(size);
    this.head = new Int32Array(size);
    this.link = new Int32Array(size);
  }

  /** Number of stored off-diagonal entries of L (a measure of fill). */
  get nonZeros(): number {
    return this.rowIdx.length;
  }

  /**
   * Orders and analyses the structure: n nodes, edges (edgeFrom[e], edgeTo[e]). Parallel edges and
   * either orientation are fine; self loops are not allowed.
   */
  static analyse(n: number, edgeFrom: Int32Array, edgeTo: Int32Array): SparseLdlt {
    if (edgeFrom.length !== edgeTo.length) throw new RangeError('edgeFrom and edgeTo must have the same length');
    const adjacency = Array.from({ length: n }, (): number[] => []);
    const seen = new Set<number>();
    for (let e = 0; e < edgeFrom.length; e++) {
      const a = edgeFrom[e]!;
      const b = edgeTo[e]!;
      if (a === b || a < 0 || b < 0 || a >= n || b >= n) throw new RangeError(`edge ${e} (${a}, ${b}) is a self loop or out of range 0..${n - 1}`);
      const key = Math.min(a, b) * n + Math.max(a, b);
      if (seen.has(key)) continue; // parallel edges share one entry of the pattern
      seen.add(key);
      adjacency[a]!.push(b);
      adjacency[b]!.push(a);
    }
    const { perm, columns } = minimumDegreeOrder(n, adjacency);
    const inverse = new Int32Array(n);
    for (let k = 0; k < n; k++) inverse[perm[k]!] = k;
    const colPtr = new Int32Array(n + 1);
    for (let k = 0; k < n; k++) colPtr[k + 1] = colPtr[k]! + columns[k]!.length;
    const rowIdx = new Int32Array(colPtr[n]!);
    for (let k = 0; k < n; k++) {
      const rows = columns[k]!.map((v) => inverse[v]!).sort((x, y) => x - y);
      rowIdx.set(rows, colPtr[k]!);
    }
    const edgeSlot = new Int32Array(edgeFrom.length);
    for (let e = 0; e < edgeFrom.length; e++) {
      const p = inverse[edgeFrom[e]!]!;
      const q = inverse[edgeTo[e]!]!;
      const col = Math.min(p, q);
      const row = Math.max(p, q);
      // Binary search for the row in its column (the entry exists: an edge is part of A's pattern).
      let lo = colPtr[col]!;
      let hi = colPtr[col + 1]! - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rowIdx[mid]! < row) lo = mid + 1;
        else hi = mid;
      }
      edgeSlot[e] = lo;
    }
    return new SparseLdlt(n, perm, colPtr, rowIdx, edgeSlot);
  }

  /**
   * Numeric factorisation of A with A[v][v] = diag[v] and A[a][b] += offDiagonal[e] for each edge e
   * given to analyse (zero is allowed: a removed branch).
   *
   * @throws SingularMatrixError naming the original node whose pivot was zero.
   */
  factor(diag: Float64Array, offDiagonal: Float64Array): void {
    const { size: n, colPtr, rowIdx, values, diagonal, work: x, next, head, link, perm } = this;
    values.fill(0);
    for (let e = 0; e < offDiagonal.length; e++) values[this.edgeSlot[e]!]! += offDiagonal[e]!;
    head.fill(-1);
    for (let j = 0; j < n; j++) {
      // Scatter column j of A (its entries were placed in L's own slots).
      x[j] = diag[perm[j]!]!;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) x[rowIdx[q]!] = values[q]!;
      // Subtract every earlier column k with L[j][k] ≠ 0 (kept in a linked list per row).
      let k = head[j]!;
      while (k !== -1) {
        const nextK = link[k]!;
        const p = next[k]!;
        const ljk = values[p]!;
        const scaled = ljk * diagonal[k]!;
        const end = colPtr[k + 1]!;
        x[j]! -= ljk * scaled;
        for (let q = p + 1; q < end; q++) x[rowIdx[q]!]! -= values[q]! * scaled;
        next[k] = p + 1;
        if (p + 1 < end) {
          const r = rowIdx[p + 1]!;
          link[k] = head[r]!;
          head[r] = k;
        }
        k = nextK;
      }
      const d = x[j]!;
      if (d === 0 || !Number.isFinite(d)) throw new SingularMatrixError(perm[j]!, d);
      diagonal[j] = d;
      x[j] = 0;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) {
        const r = rowIdx[q]!;
        values[q] = x[r]! / d;
        x[r] = 0;
      }
      if (colPtr[j]! < colPtr[j + 1]!) {
        next[j] = colPtr[j]!;
        const r = rowIdx[colPtr[j]!]!;
        link[j] = head[r]!;
        head[r] = j;
      }
    }
  }

  /** Solves A·x = b with the last factorisation; `out` may be `b` itself. */
  solve(b: Float64Array, out: Float64Array = new Float64Array(this.size)): Float64Array {
    const { size: n, colPtr, rowIdx, values, diagonal, perm, work: y } = this;
    for (let k = 0; k < n; k++) y[k] = b[perm[k]!]!;
    for (let j = 0; j < n; j++) {
      const yj = y[j]!;
      if (yj !== 0) for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) y[rowIdx[q]!]! -= values[q]! * yj;
    }
    for (let j = 0; j < n; j++) y[j]! /= diagonal[j]!;
    for (let j = n - 1; j >= 0; j--) {
      let s = y[j]!;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) s -= values[q]! * y[rowIdx[q]!]!;
      y[j] = s;
    }
    for (let k = 0; k < n; k++) out[perm[k]!] = y[k]!;
    y.fill(0);
    return out;
  }
}
