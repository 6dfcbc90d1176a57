import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { SingularMatrixError } from './sparse.ts';
import { SparseLu } from './sparse-lu.ts';
import { randomGraph } from '../../test/random-graph.ts';

/** Dense Gaussian elimination with partial pivoting: the independent check. */
function denseSolve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let best = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[best]![c]!)) best = r;
    [m[c], m[best]] = [m[best]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      if (f !== 0) for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/** A random connected graph with extra edges, and an unsymmetric, row-diagonally-dominant matrix on its pattern. */
function randomSystem(rng: Rng, n: number, extra: number): { from: Int32Array; to: Int32Array; a: number[][] } {
  const { from, to } = randomGraph(rng, n, extra);
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let e = 0; e < from.length; e++) {
    a[from[e]!]![to[e]!] = rng.range(-1, 1);
    a[to[e]!]![from[e]!] = rng.range(-1, 1);
  }
  for (let i = 0; i < n; i++) {
    const offSum = a[i]!.reduce((s, x, j) => (j === i ? s : s + Math.abs(x)), 0);
    a[i]![i] = (rng.chance(0.5) ? 1 : -1) * (offSum + rng.range(0.1, 2));
  }
  return { from, to, a };
}

function load(lu: SparseLu, a: number[][]): Float64Array {
  const values = new Float64Array(lu.entries);
  a.forEach((row, i) =>
    row.forEach((x, j) => {
      if (x === 0 && i !== j) return;
      const at = lu.entry(i, j);
      expect(at).toBeGreaterThanOrEqual(0);
      values[at]! += x;
    }),
  );
  return values;
}

describe('SparseLu', () => {
  it('solves the 2×2 example of its documentation', () => {
    const lu = SparseLu.analyse(2, Int32Array.of(0), Int32Array.of(1));
    const a = new Float64Array(lu.entries);
    a[lu.entry(0, 0)] = 4;
    a[lu.entry(0, 1)] = 1;
    a[lu.entry(1, 0)] = 2;
    a[lu.entry(1, 1)] = 3;
    lu.factor(a);
    const x = lu.solve(Float64Array.of(5, 5));
    expect(x[0]).toBeCloseTo(1, 14);
    expect(x[1]).toBeCloseTo(1, 14);
  });

  it('agrees with a dense pivoting solve on random unsymmetric diagonally dominant matrices (fill included)', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + rng.int(60);
      const { from, to, a } = randomSystem(rng, n, rng.int(2 * n));
      const lu = SparseLu.analyse(n, from, to);
      lu.factor(load(lu, a));
      const b = Array.from({ length: n }, () => rng.range(-10, 10));
      const x = lu.solve(Float64Array.from(b));
      const expected = denseSolve(a, b);
      expected.forEach((e, i) => expect(Math.abs(x[i]! - e)).toBeLessThan(1e-10 * Math.max(1, Math.abs(e))));
      // The residual too, and refactoring with new values on the same analysis.
      a.forEach((row, i) => expect(Math.abs(row.reduce((s, v, j) => s + v * x[j]!, 0) - b[i]!)).toBeLessThan(1e-9));
    }
  });

  it('analyseBlocks: nodes owning 0, 1 or 2 unknowns, coupled densely within a node and with adjacent nodes, agrees with a dense solve', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const nodes = 2 + rng.int(40);
      const graph = randomSystem(rng, nodes, rng.int(nodes));
      const blockStart = new Int32Array(nodes + 1);
      for (let v = 0; v < nodes; v++) blockStart[v + 1] = blockStart[v]! + rng.int(3);
      const n = blockStart[nodes]!;
      if (n === 0) continue;
      const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
      const couple = (u: number, w: number): void => {
        for (let i = blockStart[u]!; i < blockStart[u + 1]!; i++) for (let j = blockStart[w]!; j < blockStart[w + 1]!; j++) if (i !== j) a[i]![j] = rng.range(-1, 1);
      };
      for (let v = 0; v < nodes; v++) couple(v, v);
      for (let e = 0; e < graph.from.length; e++) {
        couple(graph.from[e]!, graph.to[e]!);
        couple(graph.to[e]!, graph.from[e]!);
      }
      for (let i = 0; i < n; i++) a[i]![i] = a[i]!.reduce((s, x) => s + Math.abs(x), 0) + rng.range(0.1, 2);
      const lu = SparseLu.analyseBlocks(nodes, graph.from, graph.to, blockStart);
      lu.factor(load(lu, a));
      const b = Array.from({ length: n }, () => rng.range(-10, 10));
      const x = lu.solve(Float64Array.from(b));
      denseSolve(a, b).forEach((e, i) => expect(Math.abs(x[i]! - e)).toBeLessThan(1e-10 * Math.max(1, Math.abs(e))));
    }
  });

  it('reuses one analysis for new values, including zeros on the pattern', () => {
    const rng = new Rng(3);
    const { from, to, a } = randomSystem(rng, 30, 40);
    const lu = SparseLu.analyse(30, from, to);
    lu.factor(load(lu, a));
    a[from[0]!]![to[0]!] = 0; // an entry of the pattern that is now zero
    a[5]![5]! *= 3;
    lu.factor(load(lu, a));
    const b = Array.from({ length: 30 }, (_, i) => i - 15);
    const x = lu.solve(Float64Array.from(b));
    denseSolve(a, b).forEach((e, i) => expect(x[i]).toBeCloseTo(e, 10));
  });

  it('names the unknown whose pivot vanishes instead of returning a wrong answer', () => {
    // [[1, 1], [1, 1]] is singular: the second pivot is 0.
    const lu = SparseLu.analyse(2, Int32Array.of(0), Int32Array.of(1));
    const a = new Float64Array(lu.entries).fill(1);
    expect(() => lu.factor(a)).toThrow(SingularMatrixError);
    expect(lu.entry(0, 1)).toBeGreaterThanOrEqual(0);
  });

  it('says when an entry is off the analysed pattern', () => {
    const lu = SparseLu.analyse(3, Int32Array.of(0), Int32Array.of(1));
    expect(lu.entry(0, 2)).toBe(-1);
    expect(() => lu.factor(new Float64Array(3))).toThrow(/values must have 5 entries/);
  });
});
