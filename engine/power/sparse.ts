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
 * Where row `row` of column `col` sits in a compressed-column pattern with ascending rows (binary
 * search), or -1 when it is not on the pattern.
 */
export function slotInColumn(colPtr: Int32Array, rowIdx: Int32Array, col: number, row: number): number {
  let lo = colPtr[col]!;
  let hi = colPtr[col + 1]! - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rowIdx[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return lo <= hi && rowIdx[lo] === row ? lo : -1;
}

/**
 * Opt-in handling of rank deficiency (observability analysis): a pivot with |d| ≤ tolerance × |A_vv|
 * is replaced by 1 and its original node appended to `replaced`, instead of failing.
 */
export interface SmallPivots {
  readonly tolerance: number;
  readonly replaced: number[];
}

/**
 * Minimum-degree elimination order of a graph given as deduplicated CSR adjacency. The elimination
 * graph is kept explicitly in one pooled Int32Array (each node's list has room to grow and moves to
 * the pool's end when it outgrows it), merged with a stamp array; cheap for grids, whose fill stays
 * small. Nodes wait in degree buckets (doubly linked lists), so each pick and each degree change is
 * O(1); the pick is the most recently queued node of the lowest degree, deterministic for a graph.
 * Returns the order and, per step, the neighbours at elimination (the pattern of L's column).
 */
function minimumDegreeOrder(n: number, offsets: Int32Array, targets: Int32Array): { perm: Int32Array; colPtr: Int32Array; colNodes: Int32Array } {
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  const cap = new Int32Array(n);
  let pool = new Int32Array(Math.max(16, 3 * targets.length + 4 * n));
  let end = 0;
  for (let v = 0; v < n; v++) {
    const d = offsets[v + 1]! - offsets[v]!;
    start[v] = end;
    len[v] = d;
    cap[v] = d + 4;
    pool.set(targets.subarray(offsets[v]!, offsets[v + 1]!), end);
    end += d + 4;
  }
  const perm = new Int32Array(n);
  const colPtr = new Int32Array(n + 1);
  let colNodes = new Int32Array(Math.max(16, 2 * targets.length));
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
  for (let v = n - 1; v >= 0; v--) insert(v, len[v]!);
  const stamp = new Int32Array(n).fill(-1);
  let low = 0;
  for (let k = 0; k < n; k++) {
    while (head[low]! < 0) low++;
    const v = head[low]!;
    remove(v);
    perm[k] = v;
    const vs = start[v]!;
    const vd = len[v]!;
    if (colPtr[k]! + vd > colNodes.length) {
      const grown = new Int32Array(2 * (colPtr[k]! + vd));
      grown.set(colNodes);
      colNodes = grown;
    }
    colNodes.set(pool.subarray(vs, vs + vd), colPtr[k]!);
    colPtr[k + 1] = colPtr[k]! + vd;
    const neighbours = colNodes.subarray(colPtr[k]!, colPtr[k + 1]!);
    // Eliminating v joins its neighbours into a clique (the fill of Gaussian elimination).
    for (let i = 0; i < vd; i++) {
      const a = neighbours[i]!;
      let s0 = start[a]!;
      let w = 0;
      for (let r = 0; r < len[a]!; r++) {
        const x = pool[s0 + r]!;
        if (x === v) continue;
        pool[s0 + w++] = x;
        stamp[x] = a;
      }
      stamp[a] = a;
      for (let j = 0; j < vd; j++) {
        const b = neighbours[j]!;
        if (stamp[b] === a) continue;
        stamp[b] = a;
        if (w === cap[a]) {
          // Out of room: move the list to the pool's end with twice the space.
          const room = 2 * w + 4;
          if (end + room > pool.length) {
            const grown = new Int32Array(2 * (end + room));
            grown.set(pool);
            pool = grown;
          }
          pool.copyWithin(end, s0, s0 + w);
          s0 = end;
          start[a] = end;
          cap[a] = room;
          end += room;
        }
        pool[s0 + w++] = b;
      }
      len[a] = w;
      if (w !== degree[a]) {
        remove(a);
        insert(a, w);
        if (w < low) low = w;
      }
    }
    len[v] = 0;
  }
  return { perm, colPtr, colNodes };
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
  /** A as the last factorisation saw it (diagonal in elimination order, off-diagonal in L's slots): what `refactor` compares with. */
  private readonly lastDiag: Float64Array;
  private readonly lastOff: Float64Array;
  private factored = false;
  /** L by rows (built on the first `refactor`): for row r, the columns k < r with L[r][k] ≠ 0 and the slot of L[r][k]. */
  private rows: { readonly ptr: Int32Array; readonly col: Int32Array; readonly slot: Int32Array } | null = null;
  /** Columns recomputed by the last `refactor` (n after a full `factor`). */
  lastColumns = 0;

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
    this.lastDiag = new Float64Array(size);
    this.lastOff = new Float64Array(rowIdx.length);
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
    // Adjacency without repeats (parallel edges share one entry of the pattern), as CSR.
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
    const mark = new Int32Array(n).fill(-1);
    const offsets = new Int32Array(n + 1);
    const targets = new Int32Array(other.length);
    let t = 0;
    for (let v = 0; v < n; v++) {
      for (let p = incident[v]!; p < incident[v + 1]!; p++) {
        const w = other[p]!;
        if (mark[w] !== v) {
          mark[w] = v;
          targets[t++] = w;
        }
      }
      offsets[v + 1] = t;
    }
    const { perm, colPtr, colNodes } = minimumDegreeOrder(n, offsets, targets.subarray(0, t));
    const inverse = new Int32Array(n);
    for (let k = 0; k < n; k++) inverse[perm[k]!] = k;
    const rowIdx = new Int32Array(colPtr[n]!);
    for (let q = 0; q < rowIdx.length; q++) rowIdx[q] = inverse[colNodes[q]!]!;
    for (let k = 0; k < n; k++) rowIdx.subarray(colPtr[k]!, colPtr[k + 1]!).sort();
    const edgeSlot = new Int32Array(edgeFrom.length);
    for (let e = 0; e < edgeFrom.length; e++) {
      const p = inverse[edgeFrom[e]!]!;
      const q = inverse[edgeTo[e]!]!;
      const col = Math.min(p, q);
      const row = Math.max(p, q);
      // The entry exists: an edge is part of A's pattern.
      edgeSlot[e] = slotInColumn(colPtr, rowIdx, col, row);
    }
    return new SparseLdlt(n, perm, colPtr, rowIdx, edgeSlot);
  }

  /**
   * Numeric factorisation of A with A[v][v] = diag[v] and A[a][b] += offDiagonal[e] for each edge e
   * given to analyse (zero is allowed: a removed branch).
   *
   * @throws SingularMatrixError naming the original node whose pivot was zero.
   */
  factor(diag: Float64Array, offDiagonal: Float64Array, smallPivots?: SmallPivots): void {
    const a = this.scatter(offDiagonal);
    this.factored = false;
    this.lastColumns = this.eliminate(diag, a, null, smallPivots);
    this.remember(diag, a);
    this.factored = smallPivots === undefined;
  }

  /**
   * Numeric factorisation of a matrix that differs from the last one factored in some entries:
   * only the columns whose entries changed and their ancestors in the elimination tree are
   * recomputed (column j of L depends on A's column j and on the columns below it in the tree);
   * the others are kept, and every column comes out bit for bit as a full `factor` would give it
   * (same operations in the same order), so results never depend on what was factored before. A
   * branch taken out changes two diagonal entries and one off-diagonal one: a trip refactors one
   * path of the tree (on ACTIVSg2000 a median of 106 of 2,000 columns). Falls back to `factor`
   * when there is no previous factorisation (or it used small pivots).
   *
   * @throws SingularMatrixError as `factor` does (the factorisation is then invalid: factor again).
   */
  refactor(diag: Float64Array, offDiagonal: Float64Array): void {
    if (!this.factored) return this.factor(diag, offDiagonal);
    const { size: n, colPtr, rowIdx, perm, lastDiag, lastOff } = this;
    const a = this.scatter(offDiagonal);
    const marked = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      if (diag[perm[j]!] !== lastDiag[j]) marked[j] = 1;
      for (let q = colPtr[j]!; q < colPtr[j + 1]! && marked[j] === 0; q++) if (a[q] !== lastOff[q]) marked[j] = 1;
    }
    // Close over the elimination tree (a column's parent is its first row below the diagonal).
    for (let j = 0; j < n; j++) if (marked[j] && colPtr[j]! < colPtr[j + 1]!) marked[rowIdx[colPtr[j]!]!] = 1;
    this.factored = false;
    this.lastColumns = this.eliminate(diag, a, marked);
    this.remember(diag, a);
    this.factored = true;
  }

  /** A's off-diagonal entries placed in L's slots. */
  private scatter(offDiagonal: Float64Array): Float64Array {
    const a = new Float64Array(this.rowIdx.length);
    for (let e = 0; e < offDiagonal.length; e++) a[this.edgeSlot[e]!]! += offDiagonal[e]!;
    return a;
  }

  private remember(diag: Float64Array, a: Float64Array): void {
    for (let j = 0; j < this.size; j++) this.lastDiag[j] = diag[this.perm[j]!]!;
    this.lastOff.set(a);
  }

  /**
   * Left-looking column LDLᵀ over the columns marked (all when `marked` is null), in elimination
   * order: column j = A's column j minus, for each earlier column k with L[j][k] ≠ 0 (by rows of L,
   * k ascending), L[j][k]·D[k]·L[j..][k]. Returns the number of columns computed.
   */
  private eliminate(diag: Float64Array, a: Float64Array, marked: Uint8Array | null, smallPivots?: SmallPivots): number {
    const { size: n, colPtr, rowIdx, values, diagonal, work: x, perm } = this;
    const rows = (this.rows ??= rowsOf(n, colPtr, rowIdx));
    let columns = 0;
    for (let j = 0; j < n; j++) {
      if (marked !== null && !marked[j]) continue;
      columns++;
      x[j] = diag[perm[j]!]!;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) x[rowIdx[q]!] = a[q]!;
      for (let t = rows.ptr[j]!; t < rows.ptr[j + 1]!; t++) {
        const k = rows.col[t]!;
        const p = rows.slot[t]!;
        const ljk = values[p]!;
        const scaled = ljk * diagonal[k]!;
        const end = colPtr[k + 1]!;
        x[j]! -= ljk * scaled;
        for (let q = p + 1; q < end; q++) x[rowIdx[q]!]! -= values[q]! * scaled;
      }
      let d = x[j]!;
      if (smallPivots !== undefined && Math.abs(d) <= smallPivots.tolerance * Math.max(Math.abs(diag[perm[j]!]!), Number.MIN_VALUE)) {
        // A (numerically) zero pivot of a positive semidefinite matrix: its whole remaining column
        // is zero too, so pivot 1 is the same as adding e_v·e_vᵀ to A — a pseudo-measurement of v.
        smallPivots.replaced.push(perm[j]!);
        d = 1;
      }
      if (d === 0 || !Number.isFinite(d)) {
        x.fill(0);
        throw new SingularMatrixError(perm[j]!, d);
      }
      diagonal[j] = d;
      x[j] = 0;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) {
        const r = rowIdx[q]!;
        values[q] = x[r]! / d;
        x[r] = 0;
      }
    }
    return columns;
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

/** The strictly lower part of L by rows: for row r, the columns k < r holding an entry and its slot. */
export function rowsOf(n: number, colPtr: Int32Array, rowIdx: Int32Array): { ptr: Int32Array; col: Int32Array; slot: Int32Array } {
  const ptr = new Int32Array(n + 1);
  for (let q = 0; q < rowIdx.length; q++) ptr[rowIdx[q]! + 1]!++;
  for (let r = 0; r < n; r++) ptr[r + 1]! += ptr[r]!;
  const fill = ptr.slice(0, n);
  const col = new Int32Array(rowIdx.length);
  const slot = new Int32Array(rowIdx.length);
  for (let k = 0; k < n; k++) {
    for (let q = colPtr[k]!; q < colPtr[k + 1]!; q++) {
      const r = rowIdx[q]!;
      col[fill[r]!] = k;
      slot[fill[r]!++] = q;
    }
  }
  return { ptr, col, slot };
}
