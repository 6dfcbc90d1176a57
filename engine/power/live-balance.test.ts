import { describe, expect, it } from 'vitest';
import { findIslands } from './dcpf.ts';
import { balanceLive } from './live-balance.ts';
import { networkFromCase } from './network.ts';
import type { MatpowerCase } from './matpower.ts';

/** Four buses in two islands (1–2 and 3–4), a generator on buses 1, 2 and 3. */
function twoIslands(): ReturnType<typeof networkFromCase> {
  const bus = (number: number, pd: number) => ({ number, type: number === 1 ? 3 : 1, pdMw: pd, qdMvar: 0, gsMw: 0, bsMvar: 0, area: 1, vmPu: 1, vaDeg: 0, baseKv: 230, vmaxPu: 1.1, vminPu: 0.9, line: 0 });
  const gen = (b: number, pg: number, pmax: number) => ({ bus: b, pgMw: pg, qgMvar: 0, vgPu: 1, inService: true, pmaxMw: pmax, pminMw: 0, line: 0 });
  const branch = (from: number, to: number) => ({ from, to, rPu: 0, xPu: 0.1, bPu: 0, rateAMva: 0, rateBMva: 0, rateCMva: 0, tap: 0, shiftDeg: 0, inService: true, line: 0 });
  const mpc: MatpowerCase = { name: 't', baseMva: 100, buses: [bus(1, 0), bus(2, 100), bus(3, 0), bus(4, 50)], gens: [gen(1, 60, 80), gen(2, 20, 100), gen(3, 30, 40)], branches: [branch(1, 2), branch(3, 4)] };
  return networkFromCase(mpc);
}

describe('live island balancing', () => {
  const net = twoIslands();
  const islands = findIslands(net);
  const on = new Uint8Array([1, 1, 1]);
  const pmax = Float64Array.from([80, 100, 40]);

  it('shares a shortfall by headroom to Pmax, and sheds load when the island cannot cover it', () => {
    // Island 1: load 100, schedule 80 (60 + 20), headroom 20 + 80 = 100 → +20 shared 1:4.
    // Island 2: load 50, schedule 30, Pmax 40 → generator at 40, load scaled to 40.
    const r = balanceLive(net, islands, on, Float64Array.from(net.pdMw), Float64Array.from([60, 20, 30]), pmax);
    expect(Array.from(r.pgMw)).toEqual([64, 36, 40]);
    expect(r.loadMw[1]).toBeCloseTo(100, 12);
    expect(r.loadMw[3]).toBeCloseTo(40, 12);
    expect(r.shedMw).toBeCloseTo(10, 12);
    // Reference: the bus with the largest generation in each island.
    expect(Array.from(r.references)).toEqual([0, 2]);
  });

  it('backs every generator off together when the schedule exceeds the load', () => {
    const r = balanceLive(net, islands, on, Float64Array.from([0, 40, 0, 20]), Float64Array.from([60, 20, 30]), pmax);
    expect(r.pgMw[0]! + r.pgMw[1]!).toBeCloseTo(40, 12);
    expect(r.pgMw[0]! / r.pgMw[1]!).toBeCloseTo(3, 12);
    expect(r.pgMw[2]).toBeCloseTo(20, 12);
    expect(r.shedMw).toBe(0);
  });

  it('loses the load of an island whose generators are all out', () => {
    const r = balanceLive(net, islands, new Uint8Array([1, 1, 0]), Float64Array.from(net.pdMw), Float64Array.from([60, 20, 30]), pmax);
    expect(r.loadMw[3]).toBe(0);
    expect(r.references[1]).toBe(-1);
    expect(r.shedMw).toBeCloseTo(50, 12);
  });
});
