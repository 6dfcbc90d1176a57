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
 * Minimum-degree elimination order of a graph. The elimination graph is kept explicitly
 * (adjacency arrays merged with a stamp array), which is cheap for grids: their fill stays small.
 * Nodes wait in degree buckets (doubly linked lists), so each pick and each degree change is O(1);
 * the pick is the most recently queued node of the lowest degree, deterministic for a given graph.
 */
function minimumDegreeOrder(n: number, adjacency: number[][]): { perm: Int32Array; columns: number[][] } {
  const perm = new Int32Array(n);
  const columns: number[][] = [];
  const head = new Int32Array(n + 1).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  const degree = new Int32Array(n);
  const insert = (v: number, d: number): void => {
    degree[v] = d;
    prev[v] = -1;
    next[v] = head[d]!;
    if (head[d]! >= 0) prev[head[d]!] = v;
    head[d] = v;
  };
  const remove = (v: number): void => {
    if (prev[v]! >= 0) next[prev[v]!] = next[v]!;
    else head[degree[v]!] = next[v]!;
    if (next[v]! >= 0) prev[next[v]!] = prev[v]!;
  };
  for (let v = n - 1; v >= 0; v--) insert(v, adjacency[v]!.length);
  const stamp = new Int32Array(n).fill(-1);
  let low = 0;
  for (let k = 0; k < n; k++) {
    while (head[low]! < 0) low++;
    const v = head[low]!;
    remove(v);
    perm[k] = v;
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
      stamp[a] = a;
      for (const b of neighbours) {
        if (stamp[b] !== a) {
          stamp[b] = a;
          if (w < list.length) list[w] = b;
          else list.push(b);
          w++;
        }
      }
      if (w < list.length) list.length = w;
      if (w !== degree[a]) {
        remove(a);
        insert(a, w);
        if (w < low) low = w;
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
    for (let e = 0; e < edgeFrom.length; e++) {
      const a = edgeFrom[e]!;
      const b = edgeTo[e]!;
      if (a === b || a < 0 || b < 0 || a >= n || b >= n) throw new RangeError(`edge ${e} (${a}, ${b}) is a self loop or out of range 0..${n - 1}`);
    }
    // Adjacency without repeats (parallel edges share one entry of the pattern).
    const adjacency = Array.from({ length: n }, (): number[] => []);
    const mark = new Int32Array(n).fill(-1);
    const incident = new Int32Array(n + 1);
    for (let e = 0; e < edgeFrom.length; e++) {
      incident[edgeFrom[e]! + 1]!++;
      incident[edgeTo[e]! + 1]!++;
    }
    for (let v = 0; v < n; v++) incident[v + 1]! += incident[v]!;
    const fill = incident.slice(0, n);
    const other = new Int32Array(incident[n]!);
    for (let e = 0; e < edgeFrom.length; e++) {
      other[fill[edgeFrom[e]!]!++] = edgeTo[e]!;
      other[fill[edgeTo[e]!]!++] = edgeFrom[e]!;
    }
    for (let v = 0; v < n; v++) {
      const list = adjacency[v]!;
      for (let p = incident[v]!; p < incident[v + 1]!; p++) {
        const w = other[p]!;
        if (mark[w] !== v) {
          mark[w] = v;
          list.push(w);
        }
      }
    }
    const { perm, columns } = minimumDegreeOrder(n, adjacency);
    const inverse = new Int32Array(n);
    for (let k = 0; k < n; k++) inverse[perm[k]!] = k;
    const colPtr = new Int32Array(n + 1);
    for (let k = 0; k < n; k++) colPtr[k + 1] = colPtr[k]! + columns[k]!.length;
    const rowIdx = new Int32Array(colPtr[n]!);
    for (let k = 0; k < n; k++) {
      const column = columns[k]!;
      const rows = rowIdx.subarray(colPtr[k]!, colPtr[k + 1]!);
      for (let i = 0; i < column.length; i++) rows[i] = inverse[column[i]!]!;
      rows.sort();
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
