import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { connectedComponents } from './components.ts';
import { arcCount, csrFromEdges, degree } from './csr.ts';
import { barabasiAlbert, erdosRenyi } from './random-graphs.ts';

describe('erdosRenyi', () => {
  it('gives the same edges for the same seed and different edges for another', () => {
    const a = erdosRenyi(500, 3, new Rng(1));
    const b = erdosRenyi(500, 3, new Rng(1));
    const c = erdosRenyi(500, 3, new Rng(2));
    expect(Array.from(a.from)).toEqual(Array.from(b.from));
    expect(Array.from(a.to)).toEqual(Array.from(b.to));
    expect(Array.from(a.to)).not.toEqual(Array.from(c.to));
  });

  it('has mean degree close to k and no self loops or duplicate edges', () => {
    const n = 20000;
    const edges = erdosRenyi(n, 4, new Rng(3));
    const meanDegree = (2 * edges.from.length) / n;
    // Edge count is Binomial(n(n−1)/2, p): its standard deviation gives ±0.02 on the mean degree.
    expect(Math.abs(meanDegree - 4)).toBeLessThan(0.1);
    const g = csrFromEdges(edges, { undirected: true });
    expect(arcCount(g)).toBe(2 * edges.from.length);
  });

  it('has the Poisson degree variance ≈ k, as G(n, p) should', () => {
    const n = 20000;
    const g = csrFromEdges(erdosRenyi(n, 4, new Rng(4)), { undirected: true });
    let sum = 0;
    let sumSq = 0;
    for (let v = 0; v < n; v++) {
      const d = degree(g, v);
      sum += d;
      sumSq += d * d;
    }
    const mean = sum / n;
    expect(Math.abs(sumSq / n - mean * mean - 4)).toBeLessThan(0.25);
  });

  it('handles the degenerate cases p = 0 and p = 1', () => {
    expect(erdosRenyi(10, 0, new Rng(1)).from.length).toBe(0);
    expect(erdosRenyi(6, 5, new Rng(1)).from.length).toBe(15);
    expect(erdosRenyi(1, 3, new Rng(1)).from.length).toBe(0);
  });
});

describe('barabasiAlbert', () => {
  it('gives the same edges for the same seed', () => {
    const a = barabasiAlbert(300, 2, new Rng(9));
    const b = barabasiAlbert(300, 2, new Rng(9));
    expect(Array.from(a.from)).toEqual(Array.from(b.from));
    expect(Array.from(a.to)).toEqual(Array.from(b.to));
  });

  it('is connected with m(n − m) distinct edges, minimum degree m and hubs', () => {
    const n = 5000;
    const m = 2;
    const edges = barabasiAlbert(n, m, new Rng(10));
    expect(edges.from.length).toBe(m * (n - m));
    const g = csrFromEdges(edges, { undirected: true });
    expect(arcCount(g)).toBe(2 * m * (n - m));
    expect(connectedComponents(g).largestSize).toBe(n);
    let minDegree = Infinity;
    let maxDegree = 0;
    for (let v = 0; v < n; v++) {
      minDegree = Math.min(minDegree, degree(g, v));
      maxDegree = Math.max(maxDegree, degree(g, v));
    }
    expect(minDegree).toBe(m);
    // A k⁻³ tail puts the largest hub near m√n ≈ 140; an ER graph of the same density tops out near 12.
    expect(maxDegree).toBeGreaterThan(50);
  });

  it('rejects m outside [1, n)', () => {
    expect(() => barabasiAlbert(5, 0, new Rng(1))).toThrow(RangeError);
    expect(() => barabasiAlbert(5, 5, new Rng(1))).toThrow(RangeError);
  });
});
