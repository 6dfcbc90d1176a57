import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { sharedDataFile } from '../../test/shared-data.ts';
import { branchSusceptancePu, findIslands } from './dcpf.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase } from './network.ts';
import { SparseLdlt } from './sparse.ts';
import { syntheticGrid } from './synthetic.ts';

/** B of a grid with some branches out and bus 0 grounded: diagonal and off-diagonal per branch. */
function bMatrix(from: Int32Array, to: Int32Array, b: Float64Array, on: Uint8Array, n: number): { diag: Float64Array; off: Float64Array } {
  const diag = new Float64Array(n);
  const off = new Float64Array(from.length);
  for (let k = 0; k < from.length; k++) {
    if (!on[k]) continue;
    const [f, t] = [from[k]!, to[k]!];
    if (f !== 0) diag[f]! += b[k]!;
    if (t !== 0) diag[t]! += b[k]!;
    if (f !== 0 && t !== 0) off[k] = -b[k]!;
  }
  diag[0] = 1;
  return { diag, off };
}

describe('SparseLdlt.refactor (only the columns a change reaches)', () => {
  it('gives bit for bit the solutions of a full factorisation after branch outages and returns, recomputing fewer columns', () => {
    const net = networkFromCase(syntheticGrid({ buses: 900, seed: 4, secureRatings: false }));
    const n = net.busIds.length;
    const b = branchSusceptancePu(net);
    const partial = SparseLdlt.analyse(n, net.from, net.to);
    const full = SparseLdlt.analyse(n, net.from, net.to);
    const rng = new Rng(9);
    const on = new Uint8Array(net.from.length).fill(1);
    const rhs = Float64Array.from({ length: n }, (_, v) => (v === 0 ? 0 : rng.range(-1, 1)));
    let first = true;
    let fewer = 0;
    for (let step = 0; step < 40; step++) {
      // Take a random branch out or put it back, unless that would split the grid.
      const k = rng.int(net.from.length);
      on[k] = on[k] ? 0 : 1;
      if (findIslands(net, on).count !== 1) on[k] = 1;
      const { diag, off } = bMatrix(net.from, net.to, b, on, n);
      partial.refactor(diag, off);
      full.factor(diag, off);
      if (!first && partial.lastColumns < n) fewer++;
      first = false;
      const x = partial.solve(rhs);
      const y = full.solve(rhs);
      // Bit for bit: the same operations in the same order as a full factorisation.
      for (let v = 0; v < n; v++) expect(x[v]).toBe(y[v]);
    }
    expect(fewer).toBeGreaterThan(30);
  });

  it('agrees on an indefinite B (case300: series capacitors)', () => {
    const text = readFileSync(sharedDataFile('grids/case300.m'), 'utf8');
    const net = networkFromCase(parseMatpower(text, 'case300'));
    const n = net.busIds.length;
    const b = branchSusceptancePu(net);
    const on = Uint8Array.from(net.branchInService);
    const connected = (): boolean => findIslands(net, on).count === findIslands(net).count;
    const partial = SparseLdlt.analyse(n, net.from, net.to);
    const full = SparseLdlt.analyse(n, net.from, net.to);
    const rhs = Float64Array.from({ length: n }, (_, v) => (v === 0 ? 0 : Math.sin(v)));
    partial.factor(bMatrix(net.from, net.to, b, on, n).diag, bMatrix(net.from, net.to, b, on, n).off);
    for (const k of [5, 40, 200, 301, 377]) {
      on[k] = 0;
      if (!connected()) {
        on[k] = 1;
        continue;
      }
      const { diag, off } = bMatrix(net.from, net.to, b, on, n);
      partial.refactor(diag, off);
      full.factor(diag, off);
      const x = partial.solve(rhs);
      const y = full.solve(rhs);
      for (let v = 0; v < n; v++) expect(x[v]).toBe(y[v]);
    }
  });
});
