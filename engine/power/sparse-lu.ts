/**
 * Sparse LU of a square matrix whose pattern is structurally symmetric (A[i][j] ≠ 0 ⇔ A[j][i] ≠ 0),
 * such as the Newton–Raphson Jacobian of an AC power flow: its rows (P and Q mismatches) and
 * columns (angles and magnitudes) pair up bus by bus, and a branch couples both ends both ways.
 *
 * Why hand-written: no maintained npm package does sparse LU well. `mathjs`'s `slu` (a CSparse
 * port) works on its boxed generic matrices and redoes the symbolic work on every call;
 * `ml-matrix` and friends are dense (O(n³): a 2,000-bus Jacobian of ~3,500 unknowns is ~4·10¹⁰
 * flops per iteration); a dense fallback is not provided, small cases take the same path. The
 * symbolic work here is the repo's own (`SparseLdlt.analyse`: minimum degree on the graph of the
 * pattern, which also yields L's pattern; `analyseBlocks` orders a node graph instead); for a
 * structurally symmetric matrix factored without row exchanges, U's pattern is the transpose of
 * L's, so one analysis serves every Newton iteration and U's values sit in the same slots as L's.
 *
 * Pivoting: none (static pivoting on the diagonal in the fill-reducing order). Row exchanges would
 * break the shared symbolic structure and need a dynamic pattern; the power flow Jacobian has a
 * strong diagonal (∂P_i/∂θ_i and ∂Q_i/∂V_i are sums of the branch terms off the diagonal, plus
 * shunts and loads), which is what makes the classic power-system solvers (Tinney's ordering in
 * every production power flow since the 1960s) factor it in a fixed order. A pivot that comes out
 * zero, non-finite or below 1e-14 of its column's largest entry is reported as singular
 * (`SingularMatrixError` naming the original unknown) rather than giving a wrong answer.
 */
import { SingularMatrixError, SparseLdlt, rowsOf, slotInColumn } from './sparse.ts';

const TINY_PIVOT = 1e-14;

/**
 * A symbolic and numeric factorisation P·A·Pᵀ = L·U (L unit lower, U upper). Values are given in
 * one array laid out by `analyse` (`entry(i, j)` says where A[i][j] goes), so a caller maps its
 * entries once and refills the same slots for every factorisation.
 *
 * @example
 * // A = [[4, 1], [2, 3]]
 * const lu = SparseLu.analyse(2, Int32Array.of(0), Int32Array.of(1));
 * const a = new Float64Array(lu.entries);
 * a[lu.entry(0, 0)] = 4; a[lu.entry(0, 1)] = 1; a[lu.entry(1, 0)] = 2; a[lu.entry(1, 1)] = 3;
 * lu.factor(a);
 * lu.solve(Float64Array.of(5, 5)); // → [1, 1]
 */
export class SparseLu {
  readonly perm: Int32Array;
  readonly inverse: Int32Array;
  /** L's strictly lower pattern in compressed columns (permuted numbering, rows ascending); U's strictly upper part by rows is its transpose. */
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** U's diagonal in elimination order. */
  readonly pivots: Float64Array;
  private readonly rows: { readonly ptr: Int32Array; readonly col: Int32Array; readonly slot: Int32Array };
  private readonly workLower: Float64Array;
  private readonly workUpper: Float64Array;
  private readonly work: Float64Array;

  private constructor(readonly size: number, perm: Int32Array, colPtr: Int32Array, rowIdx: Int32Array) {
    this.perm = perm;
    this.inverse = new Int32Array(size);
    for (let k = 0; k < size; k++) this.inverse[perm[k]!] = k;
    this.colPtr = colPtr;
    this.rowIdx = rowIdx;
    this.lower = new Float64Array(this.rowIdx.length);
    this.upper = new Float64Array(this.rowIdx.length);
    this.pivots = new Float64Array(size);
    this.rows = rowsOf(size, this.colPtr, this.rowIdx);
    this.workLower = new Float64Array(size);
    this.workUpper = new Float64Array(size);
    this.work = new Float64Array(size);
  }

  /**
   * Analyses the pattern: the diagonal plus A[a][b] and A[b][a] for every pair (edgeFrom[e],
   * edgeTo[e]). Parallel pairs and either orientation are fine; self loops are not.
   */
  static analyse(n: number, edgeFrom: Int32Array, edgeTo: Int32Array): SparseLu {
    const symbolic = SparseLdlt.analyse(n, edgeFrom, edgeTo);
    return new SparseLu(n, symbolic.perm, symbolic.colPtr, symbolic.rowIdx);
  }

  /**
   * Analyses a matrix made of dense blocks on a graph: node v owns the unknowns
   * blockStart[v] … blockStart[v + 1] − 1 (any number, none included), which are coupled with one
   * another and with every unknown of the nodes adjacent to v (edges as in `analyse`). The order is
   * minimum degree on the node graph, each node's unknowns kept together — for a power flow
   * Jacobian, a bus's angle and magnitude — and L's pattern is the node pattern expanded block by
   * block, exactly the fill of scalar elimination in that order. Ordering the bus graph instead of
   * the larger graph of unknowns is cheaper (on ACTIVSg2000 the ordering took ~40 % of a cold AC
   * power flow before) and gives the same kind of fill.
   */
  static analyseBlocks(nodes: number, edgeFrom: Int32Array, edgeTo: Int32Array, blockStart: Int32Array): SparseLu {
    if (blockStart.length !== nodes + 1) throw new RangeError(`blockStart must have ${nodes + 1} entries (got ${blockStart.length})`);
    const symbolic = SparseLdlt.analyse(nodes, edgeFrom, edgeTo);
    const n = blockStart[nodes]!;
    const size = (k: number): number => blockStart[symbolic.perm[k]! + 1]! - blockStart[symbolic.perm[k]!]!;
    // Position in elimination order of the first unknown of the k-th eliminated node.
    const first = new Int32Array(nodes + 1);
    const perm = new Int32Array(n);
    for (let k = 0; k < nodes; k++) {
      first[k + 1] = first[k]! + size(k);
      for (let i = 0; i < size(k); i++) perm[first[k]! + i] = blockStart[symbolic.perm[k]!]! + i;
    }
    const colPtr = new Int32Array(n + 1);
    for (let k = 0; k < nodes; k++) {
      let below = 0;
      for (let q = symbolic.colPtr[k]!; q < symbolic.colPtr[k + 1]!; q++) below += size(symbolic.rowIdx[q]!);
      for (let i = 0; i < size(k); i++) colPtr[first[k]! + i + 1] = colPtr[first[k]! + i]! + (size(k) - 1 - i) + below;
    }
    const rowIdx = new Int32Array(colPtr[n]!);
    for (let k = 0; k < nodes; k++) {
      for (let i = 0; i < size(k); i++) {
        let at = colPtr[first[k]! + i]!;
        for (let j = i + 1; j < size(k); j++) rowIdx[at++] = first[k]! + j;
        // Node rows ascend, and so do their unknowns' positions.
        for (let q = symbolic.colPtr[k]!; q < symbolic.colPtr[k + 1]!; q++) {
          const r = symbolic.rowIdx[q]!;
          for (let j = 0; j < size(r); j++) rowIdx[at++] = first[r]! + j;
        }
      }
    }
    return new SparseLu(n, perm, colPtr, rowIdx);
  }

  /** Length of the values array `factor` takes: n diagonal entries, then L's and U's slots. */
  get entries(): number {
    return this.size + 2 * this.rowIdx.length;
  }

  /** Where A[i][j] goes in the values array; -1 when (i, j) is not on the analysed pattern. */
  entry(i: number, j: number): number {
    if (i === j) return i;
    const p = this.inverse[i]!;
    const q = this.inverse[j]!;
    const slot = slotInColumn(this.colPtr, this.rowIdx, Math.min(p, q), Math.max(p, q));
    if (slot < 0) return -1;
    return p > q ? this.size + slot : this.size + this.rowIdx.length + slot;
  }

  /**
   * Numeric factorisation (left-looking: column j of L and row j of U from the earlier columns
   * that reach them) of the values laid out as `entry` says.
   *
   * @throws SingularMatrixError naming the original unknown whose pivot was zero, non-finite or tiny.
   */
  factor(values: Float64Array): void {
    const { size: n, colPtr, rowIdx, lower, upper, pivots, perm, rows, workLower: xl, workUpper: xu } = this;
    if (values.length !== this.entries) throw new RangeError(`values must have ${this.entries} entries (got ${values.length})`);
    const nnz = rowIdx.length;
    for (let j = 0; j < n; j++) {
      let d = values[perm[j]!]!;
      let scale = Math.abs(d);
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) {
        const r = rowIdx[q]!;
        xl[r] = values[n + q]!;
        xu[r] = values[n + nnz + q]!;
        scale = Math.max(scale, Math.abs(xl[r]!));
      }
      for (let t = rows.ptr[j]!; t < rows.ptr[j + 1]!; t++) {
        const k = rows.col[t]!;
        const p = rows.slot[t]!;
        const ljk = lower[p]!;
        const ukj = upper[p]!;
        d -= ljk * ukj;
        const end = colPtr[k + 1]!;
        for (let q = p + 1; q < end; q++) {
          const r = rowIdx[q]!;
          xl[r]! -= lower[q]! * ukj;
          xu[r]! -= ljk * upper[q]!;
        }
      }
      if (!(Math.abs(d) > TINY_PIVOT * scale) || !Number.isFinite(d)) {
        xl.fill(0);
        xu.fill(0);
        throw new SingularMatrixError(perm[j]!, d);
      }
      pivots[j] = d;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) {
        const r = rowIdx[q]!;
        lower[q] = xl[r]! / d;
        upper[q] = xu[r]!;
        xl[r] = 0;
        xu[r] = 0;
      }
    }
  }

  /** Solves A·x = b with the last factorisation; `out` may be `b` itself. */
  solve(b: Float64Array, out: Float64Array = new Float64Array(this.size)): Float64Array {
    const { size: n, colPtr, rowIdx, lower, upper, pivots, perm, work: y } = this;
    for (let k = 0; k < n; k++) y[k] = b[perm[k]!]!;
    for (let j = 0; j < n; j++) {
      const yj = y[j]!;
      if (yj !== 0) for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) y[rowIdx[q]!]! -= lower[q]! * yj;
    }
    for (let j = n - 1; j >= 0; j--) {
      let s = y[j]!;
      for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) s -= upper[q]! * y[rowIdx[q]!]!;
      y[j] = s / pivots[j]!;
    }
    for (let k = 0; k < n; k++) out[perm[k]!] = y[k]!;
    y.fill(0);
    return out;
  }
}
