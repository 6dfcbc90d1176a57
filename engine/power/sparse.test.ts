import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { SingularMatrixError, SparseLdlt } from './sparse.ts';
import { randomGraph } from '../../test/random-graph.ts';

/** Dense A = diag + Σ edges, for checking. */
function dense(n: number, from: Int32Array, to: Int32Array, diag: Float64Array, off: Float64Array): number[][] {
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? diag[i]! : 0)));
  for (let e = 0; e < from.length; e++) {
    a[from[e]!]![to[e]!]! += off[e]!;
    a[to[e]!]![from[e]!]! += off[e]!;
  }
  return a;
}

describe('SparseLdlt', () => {
  it('solves the 2×2 example of its documentation', () => {
    const chol = SparseLdlt.analyse(2, Int32Array.of(0), Int32Array.of(1));
    chol.factor(Float64Array.of(2, 2), Float64Array.of(-1));
    const x = chol.solve(Float64Array.of(1, 1));
    expect(x[0]).toBeCloseTo(1, 14);
    expect(x[1]).toBeCloseTo(1, 14);
  });

  it('solves random grounded Laplacians (parallel edges, zero entries) to 1e-10 residual, for seeds 1–30', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = new Rng(seed);
      const n = 5 + rng.int(120);
      const { from, to } = randomGraph(rng, n, rng.int(2 * n));
      const off = Float64Array.from(from, () => (rng.next() < 0.1 ? 0 : -(0.5 + 10 * rng.next())));
      const diag = new Float64Array(n);
      for (let e = 0; e < from.length; e++) {
        diag[from[e]!]! -= off[e]!;
        diag[to[e]!]! -= off[e]!;
      }
      for (let v = 0; v < n; v++) diag[v]! += 0.1 + rng.next(); // grounding keeps it definite
      const chol = SparseLdlt.analyse(n, from, to);
      chol.factor(diag, off);
      const b = Float64Array.from({ length: n }, () => rng.next() - 0.5);
      const x = chol.solve(b);
      const a = dense(n, from, to, diag, off);
      for (let i = 0; i < n; i++) {
        const ax = a[i]!.reduce((s, aij, j) => s + aij * x[j]!, 0);
        expect(Math.abs(ax - b[i]!)).toBeLessThan(1e-10);
      }
    }
  });

  it('factors a nonsingular indefinite matrix (a series capacitor: negative susceptance)', () => {
    const from = Int32Array.of(0, 1, 2);
    const to = Int32Array.of(1, 2, 0);
    const off = Float64Array.of(-10, 4, -5); // branch 1–2 has negative susceptance
    const diag = Float64Array.of(15 + 1, 10 - 4, -4 + 5);
    const chol = SparseLdlt.analyse(3, from, to);
    chol.factor(diag, off);
    const b = Float64Array.of(1, -2, 0.5);
    const x = chol.solve(b);
    const a = dense(3, from, to, diag, off);
    for (let i = 0; i < 3; i++) expect(a[i]!.reduce((s, aij, j) => s + aij * x[j]!, 0)).toBeCloseTo(b[i]!, 12);
  });

  it('names the node of a zero pivot (a floating island)', () => {
    const chol = SparseLdlt.analyse(3, Int32Array.of(0, 1), Int32Array.of(1, 2));
    expect(() => chol.factor(Float64Array.of(1, 1, 0), Float64Array.of(-1, 0))).toThrow(SingularMatrixError);
  });

  it('keeps fill low on a ring (minimum degree: at most one extra entry per column)', () => {
    const n = 200;
    const from = Int32Array.from({ length: n }, (_, i) => i);
    const to = Int32Array.from({ length: n }, (_, i) => (i + 1) % n);
    expect(SparseLdlt.analyse(n, from, to).nonZeros).toBeLessThanOrEqual(2 * n);
  });
});
