import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinRings, midpointAlong, NearestIndex, ringArea, voronoiCell } from './geometry.ts';

describe('importer geometry', () => {
  it('NearestIndex finds what a brute-force search finds (ties to the lower index), filters included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -3000, max: 3000 }), fc.integer({ min: -3000, max: 3000 })), { minLength: 1, maxLength: 80 }),
        fc.tuple(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: -5000, max: 5000 })),
        fc.integer({ min: 2, max: 5 }),
        (points, [qx, qy], modulo) => {
          const index = new NearestIndex(
            points.map((p) => p[0]),
            points.map((p) => p[1]),
            150,
          );
          const brute = (accept: (i: number) => boolean): number => {
            let best = -1;
            let bestD = Infinity;
            points.forEach(([x, y], i) => {
              const d = (x - qx) ** 2 + (y - qy) ** 2;
              if (accept(i) && d < bestD) [best, bestD] = [i, d];
            });
            return best;
          };
          expect(index.nearest(qx, qy)).toBe(brute(() => true));
          const some = (i: number): boolean => i % modulo === 0;
          expect(index.nearest(qx, qy, some)).toBe(brute(some));
          expect(index.nearest(qx, qy, () => false)).toBe(-1);
        },
      ),
      { seed: 19, numRuns: 300 },
    );
  });
  it('Voronoi cells tile the box: their areas add up to it', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 499 })), { minLength: 2, maxLength: 12, selector: (p) => `${p[0]},${p[1]}` }), (seeds) => {
        const box = [0, 0, 1000, 500] as const;
        let total = 0;
        seeds.forEach((_, i) => {
          const cell = voronoiCell(seeds, i, box);
          total += ringArea(cell);
        });
        expect(total).toBeCloseTo(500_000, 0);
      }),
      { seed: 19, numRuns: 200 },
    );
  });
  it('joins open ways into rings, whichever way they run, and drops chains that never close', () => {
    expect(joinRings([[1, 2, 3], [3, 4, 1]]).map((r) => [...r].sort())).toEqual([[1, 2, 3, 4]]);
    expect(joinRings([[1, 2, 3], [1, 4, 3]]).map((r) => r.length)).toEqual([4]);
    expect(joinRings([[1, 2, 3], [5, 6]])).toEqual([]);
  });
  it('puts a path midpoint halfway along its length', () => {
    expect(midpointAlong([0, 0, 10, 0, 10, 30])).toEqual([10, 10]);
    expect(ringArea([0, 0, 10, 0, 10, 10, 0, 10])).toBe(100);
  });
});
