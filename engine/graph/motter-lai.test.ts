import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { BetweennessSolver } from './betweenness.ts';
import { bruteForceLoads, randomSmallGraph } from './brute-force.ts';
import type { Csr } from './csr.ts';
import { buildCsr, csrFromEdges } from './csr.ts';
import { MotterLaiCascade, highestLoadNode } from './motter-lai.ts';
import { barabasiAlbert } from './random-graphs.ts';

/** Ring 0–1–2–3–4–5–0: every node carries load 2 (1 as the middle of its neighbours, ½ + ½ from opposite pairs). */
const ring6 = (): Csr => buildCsr(6, [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0], { undirected: true });

describe('MotterLaiCascade (hand-worked)', () => {
  it('gives every node of a 6-ring load 2 and capacity (1 + α)·2', () => {
    const cascade = new MotterLaiCascade(ring6(), 0.1);
    expect(Array.from(cascade.initialLoads)).toEqual([2, 2, 2, 2, 2, 2]);
    for (const c of cascade.capacity) expect(c).toBeCloseTo(2.2, 12);
  });

  it('at α = 0.1, removing one ring node overloads the three middle nodes of the remaining path', () => {
    // Without node 0 the ring is the path 1–2–3–4–5 with loads 0, 3, 4, 3, 0 > 2.2 for 2, 3, 4.
    const cascade = new MotterLaiCascade(ring6(), 0.1);
    cascade.removeNodes([0]);
    expect(cascade.step()).toEqual([2, 3, 4]);
    expect(Array.from(cascade.loads)).toEqual([0, 0, 3, 4, 3, 0]);
    expect(cascade.step()).toEqual([]);
    expect(cascade.summary()).toEqual({ steps: 1, failed: 3, removed: 1, giantComponentFraction: 1 / 6 });
  });

  it('at α = 0.6 only the path centre (load 4 > 3.2) fails', () => {
    const cascade = new MotterLaiCascade(ring6(), 0.6);
    cascade.removeNodes([0]);
    const summary = cascade.run();
    expect(summary).toEqual({ steps: 1, failed: 1, removed: 1, giantComponentFraction: 2 / 6 });
    expect(Array.from(cascade.alive)).toEqual([0, 1, 1, 0, 1, 1]);
  });

  it('at α = 1 nothing fails: a load exactly equal to capacity (4 = 2·2) is tolerated', () => {
    const cascade = new MotterLaiCascade(ring6(), 1);
    cascade.removeNodes([0]);
    expect(cascade.run()).toEqual({ steps: 0, failed: 0, removed: 1, giantComponentFraction: 5 / 6 });
  });

  it('propagates over two steps on K5 minus the edges 0–4 and 1–3', () => {
    // Intact: {0,4} splits over 1, 2, 3 and {1,3} over 0, 2, 4, so L = ⅓ each except node 2 (⅔).
    // Without 0: {1,3} splits over 2 and 4 → node 4 carries ½ > 1.1·⅓ and fails.
    // Without 0, 4: the path 1–2–3 gives node 2 load 1 > 1.1·⅔ and it fails.
    const g = buildCsr(5, [0, 0, 0, 1, 1, 2, 2, 3], [1, 2, 3, 2, 4, 3, 4, 4], { undirected: true });
    const cascade = new MotterLaiCascade(g, 0.1);
    const third = 1 / 3;
    const expected = [third, third, 2 * third, third, third];
    cascade.initialLoads.forEach((l, v) => expect(l).toBeCloseTo(expected[v]!, 12));
    cascade.removeNodes([0]);
    expect(cascade.step()).toEqual([4]);
    expect(cascade.step()).toEqual([2]);
    expect(cascade.step()).toEqual([]);
    expect(cascade.summary()).toEqual({ steps: 2, failed: 2, removed: 1, giantComponentFraction: 1 / 5 });
  });

  it('ignores repeated or already dead ids in removeNodes and rejects unknown ones', () => {
    const cascade = new MotterLaiCascade(ring6(), 0.1);
    cascade.removeNodes([0, 0]);
    cascade.removeNodes([0]);
    expect(cascade.summary().removed).toBe(1);
    expect(() => cascade.removeNodes([6])).toThrow(RangeError);
  });

  it('picks the highest-load alive node, lowest index on ties', () => {
    expect(highestLoadNode(Float64Array.from([1, 5, 5, 2]))).toBe(1);
    expect(highestLoadNode(Float64Array.from([1, 5, 5, 2]), Uint8Array.from([1, 0, 1, 1]))).toBe(2);
    expect(highestLoadNode(Float64Array.from([1]), Uint8Array.from([0]))).toBe(-1);
  });

  it('fails the same nodes at the same steps as a cascade driven by brute-force loads', () => {
    const rng = new Rng(31);
    for (let trial = 0; trial < 15; trial++) {
      const n = 8 + rng.int(12);
      const { from, to } = randomSmallGraph(n, 2.5 / n, rng, false);
      const g = buildCsr(n, from, to, { undirected: true });
      const alpha = [0, 0.1, 0.3][trial % 3]!;
      const cascade = new MotterLaiCascade(g, alpha);
      const trigger = highestLoadNode(cascade.initialLoads);
      cascade.removeNodes([trigger]);

      const capacity = bruteForceLoads(g, true).map((l) => (1 + alpha) * l);
      const alive = new Uint8Array(n).fill(1);
      alive[trigger] = 0;
      for (;;) {
        const loads = bruteForceLoads(g, true, alive);
        const expected: number[] = [];
        for (let v = 0; v < n; v++) if (alive[v] === 1 && loads[v]! > capacity[v]! * (1 + 1e-9)) expected.push(v);
        expect(cascade.step()).toEqual(expected);
        if (expected.length === 0) break;
        for (const v of expected) alive[v] = 0;
      }
    }
  });
});

describe('MotterLaiCascade on Barabási–Albert graphs (Motter & Lai 2002, qualitative)', () => {
  const seeds = [1, 2, 3];
  const graphs = seeds.map((seed) => csrFromEdges(barabasiAlbert(1000, 2, new Rng(seed)), { undirected: true }));
  const solvers = graphs.map((g) => new BetweennessSolver(g, { undirected: true }));
  const loads = solvers.map((s) => s.compute());

  const meanG = (attack: (i: number) => number, alpha: number): number => {
    let total = 0;
    graphs.forEach((g, i) => {
      const cascade = new MotterLaiCascade(g, alpha, { solver: solvers[i]!, initialLoads: loads[i]! });
      cascade.removeNodes([attack(i)]);
      total += cascade.run().giantComponentFraction;
    });
    return total / graphs.length;
  };

  it('removing the highest-load node hurts more as the tolerance α falls', () => {
    const highest = (i: number): number => highestLoadNode(loads[i]!);
    const tolerant = meanG(highest, 1.0);
    const fragile = meanG(highest, 0.1);
    expect(tolerant).toBeGreaterThan(fragile + 0.4);
    expect(fragile).toBeLessThan(0.2);
  });

  it('removing a random node barely hurts at a tolerance where a load attack is devastating', () => {
    const rng = new Rng(100);
    const random = meanG(() => rng.int(1000), 0.5);
    const targeted = meanG((i) => highestLoadNode(loads[i]!), 0.5);
    expect(random).toBeGreaterThan(0.98);
    expect(targeted).toBeLessThan(random - 0.2);
  });
});
