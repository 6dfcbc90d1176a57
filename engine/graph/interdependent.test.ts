import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { buildCsr, csrFromEdges } from './csr.ts';
import type { DependencyList } from './interdependent.ts';
import { layerStarts, mutualGiantComponent, oneToOneDependencies, randomRemoval } from './interdependent.ts';
import { erdosRenyi } from './random-graphs.ts';

const deps = (rows: [number, number, number, number][]): DependencyList => ({
  dependentLayer: Int32Array.from(rows.map((r) => r[0])),
  dependent: Int32Array.from(rows.map((r) => r[1])),
  providerLayer: Int32Array.from(rows.map((r) => r[2])),
  provider: Int32Array.from(rows.map((r) => r[3])),
});

describe('mutualGiantComponent (hand-worked)', () => {
  it('keeps the larger fragment of the attacked layer and its partners', () => {
    const pathA = buildCsr(4, [0, 1, 2], [1, 2, 3], { undirected: true });
    const pathB = buildCsr(4, [0, 1, 2], [1, 2, 3], { undirected: true });
    const attack = Uint8Array.from([0, 1, 0, 0]); // only layer 0's mask: shorter than the system
    const r = mutualGiantComponent([pathA, pathB], oneToOneDependencies(4), attack);
    expect(Array.from(r.alive)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(r.fraction).toBe(0.5);
    expect(Array.from(r.layerFractions)).toEqual([0.5, 0.5]);
  });

  it('ping-pongs between layers until both agree', () => {
    // A: path 0–1–2–3–4–5. B: edges 3–0, 0–4, 4–5, 1–2. Attack A2.
    // Round 1: A keeps {3,4,5}; B's giant is {0,3,4,5}; dependencies then kill B0 (A0 dead).
    // Round 2: B's {3,4,5} has only the edge 4–5, so B3 drops out; A3 follows its partner.
    // Round 3: A {4,5} and B {4,5} are connected and paired: nothing changes.
    const a = buildCsr(6, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], { undirected: true });
    const b = buildCsr(6, [3, 0, 4, 1], [0, 4, 5, 2], { undirected: true });
    const attack = new Uint8Array(12);
    attack[2] = 1;
    const r = mutualGiantComponent([a, b], oneToOneDependencies(6), attack);
    expect(Array.from(r.alive)).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
    expect(r.fraction).toBeCloseTo(1 / 3, 12);
    expect(r.iterations).toBe(3);
  });

  it('kills a node as soon as any one of several providers is dead', () => {
    // Layer 1 node 0 needs layer 0 nodes 0 and 2; layer 0 node 2 is isolated, hence outside the giant.
    const a = buildCsr(3, [0], [1], { undirected: true });
    const b = buildCsr(2, [0], [1], { undirected: true });
    const r = mutualGiantComponent([a, b], deps([[1, 0, 0, 0], [1, 0, 0, 2]]), new Uint8Array(0), {
      attackedLayer: 1,
    });
    // Layer 1 loses node 0, so it is left with {1}, still one component.
    expect(Array.from(r.alive)).toEqual([1, 1, 0, 0, 1]);
    expect(r.fraction).toBe(0.5);
    expect(Array.from(r.layerStart)).toEqual(Array.from(layerStarts([a, b])));
  });

  it('rejects dependencies on nodes that do not exist', () => {
    const a = buildCsr(2, [0], [1], { undirected: true });
    expect(() => mutualGiantComponent([a, a], deps([[0, 0, 1, 5]]), new Uint8Array(0))).toThrow(RangeError);
    expect(() => mutualGiantComponent([a, a], deps([[0, 0, 2, 0]]), new Uint8Array(0))).toThrow(RangeError);
  });
});

/** Buldyrev et al.'s setting: two ER layers of mean degree k, one-to-one mutual dependencies, attack 1 − p of layer A. */
function coupledEr(n: number, p: number, seed: number): number {
  const rng = new Rng(seed);
  const a = csrFromEdges(erdosRenyi(n, 4, rng), { undirected: true });
  const b = csrFromEdges(erdosRenyi(n, 4, rng), { undirected: true });
  return mutualGiantComponent([a, b], oneToOneDependencies(n), randomRemoval(n, 1 - p, rng)).fraction;
}

describe('mutualGiantComponent on coupled Erdős–Rényi graphs (Buldyrev et al. 2010)', () => {
  const mean = (values: number[]): number => values.reduce((s, x) => s + x, 0) / values.length;

  it('collapses below p_c = 2.4554/⟨k⟩ ≈ 0.614 and survives well above it (N = 2000, ⟨k⟩ = 4)', () => {
    const seeds = [1, 2, 3, 4];
    expect(mean(seeds.map((s) => coupledEr(2000, 0.55, s)))).toBeLessThan(0.1);
    // Theory (N → ∞): P∞ = p (1 − e^{−k P∞})² ⇒ P∞(0.75) ≈ 0.637.
    const high = mean(seeds.map((s) => coupledEr(2000, 0.75, s)));
    expect(high).toBeGreaterThan(0.5);
    expect(Math.abs(high - 0.637)).toBeLessThan(0.03);
  });

  it('has an abrupt (first-order) transition: every run ends near 0 or above 0.3, never in between', () => {
    const n = 20000;
    const results: [number, number][] = [];
    for (const p of [0.6, 0.62, 0.64, 0.66, 0.68]) {
      for (const seed of [11, 12]) results.push([p, coupledEr(n, p, seed)]);
    }
    for (const [, g] of results) expect(g < 0.02 || g > 0.3).toBe(true);
    const at = (p: number): number => mean(results.filter((r) => r[0] === p).map((r) => r[1]));
    expect(at(0.6)).toBeLessThan(0.02);
    // P∞ jumps from 0 to ≈ 0.35 just above p_c, ≈ 0.43 at 0.64 and ≈ 0.52 at 0.68.
    expect(at(0.64)).toBeGreaterThan(0.35);
    expect(at(0.68)).toBeGreaterThan(0.45);
  });
});

describe('randomRemoval', () => {
  it('removes exactly round(fraction × n) nodes, reproducibly', () => {
    const a = randomRemoval(1000, 0.3, new Rng(4));
    expect(a.reduce((s, x) => s + x, 0)).toBe(300);
    expect(Array.from(randomRemoval(1000, 0.3, new Rng(4)))).toEqual(Array.from(a));
  });
});
