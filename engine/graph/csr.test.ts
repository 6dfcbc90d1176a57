import { describe, expect, it } from 'vitest';
import { arcCount, buildCsr, degree, hasArc, isSymmetric } from './csr.ts';

const neighbours = (g: ReturnType<typeof buildCsr>, v: number): number[] =>
  Array.from(g.targets.subarray(g.offsets[v], g.offsets[v + 1]));

describe('buildCsr', () => {
  it('drops self loops and duplicate edges and sorts neighbour lists', () => {
    const g = buildCsr(4, [2, 0, 0, 1, 3, 2, 0], [0, 2, 2, 1, 1, 3, 3], { undirected: true });
    expect(neighbours(g, 0)).toEqual([2, 3]);
    expect(neighbours(g, 1)).toEqual([3]);
    expect(neighbours(g, 2)).toEqual([0, 3]);
    expect(neighbours(g, 3)).toEqual([0, 1, 2]);
    expect(arcCount(g)).toBe(8);
    expect(degree(g, 3)).toBe(3);
  });

  it('stores a directed edge only in its own direction', () => {
    const g = buildCsr(3, [0, 1], [1, 2], { undirected: false });
    expect(neighbours(g, 0)).toEqual([1]);
    expect(neighbours(g, 2)).toEqual([]);
    expect(hasArc(g, 0, 1)).toBe(true);
    expect(hasArc(g, 1, 0)).toBe(false);
    expect(isSymmetric(g)).toBe(false);
    expect(isSymmetric(buildCsr(3, [0, 1], [1, 2], { undirected: true }))).toBe(true);
  });

  it('gives the same CSR whatever the order of the input edges', () => {
    const a = buildCsr(5, [0, 1, 2, 3, 4], [1, 2, 3, 4, 0], { undirected: true });
    const b = buildCsr(5, [3, 0, 2, 1, 0], [4, 4, 3, 2, 1], { undirected: true });
    expect(Array.from(a.offsets)).toEqual(Array.from(b.offsets));
    expect(Array.from(a.targets)).toEqual(Array.from(b.targets));
  });

  it('keeps isolated nodes with empty neighbour lists', () => {
    const g = buildCsr(3, [], [], { undirected: true });
    expect(Array.from(g.offsets)).toEqual([0, 0, 0, 0]);
    expect(degree(g, 1)).toBe(0);
  });

  it('rejects node ids outside the graph and mismatched arrays', () => {
    expect(() => buildCsr(3, [0], [3], { undirected: true })).toThrow(RangeError);
    expect(() => buildCsr(3, [-1], [0], { undirected: true })).toThrow(RangeError);
    expect(() => buildCsr(3, [0.5], [1], { undirected: true })).toThrow(RangeError);
    expect(() => buildCsr(3, [0, 1], [1], { undirected: true })).toThrow(RangeError);
  });
});
