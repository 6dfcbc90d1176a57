import { describe, expect, it } from 'vitest';
import { screenN1 } from './contingency.ts';
import { dcPowerFlow } from './dcpf.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase } from './network.ts';
import { syntheticGrid, toMatpowerText } from './synthetic.ts';

describe('synthetic grids', () => {
  const mpc = syntheticGrid({ buses: 300, seed: 4 });

  it('are the same for the same seed and survive a round trip through .m text', () => {
    expect(toMatpowerText(syntheticGrid({ buses: 300, seed: 4 }))).toBe(toMatpowerText(mpc));
    expect(toMatpowerText(syntheticGrid({ buses: 300, seed: 5 }))).not.toBe(toMatpowerText(mpc));
    const back = parseMatpower(toMatpowerText(mpc), 'synthetic.m');
    expect(back.buses.length).toBe(300);
    expect(back.branches.map((b) => [b.from, b.to, b.xPu, b.rateAMva])).toEqual(mpc.branches.map((b) => [b.from, b.to, b.xPu, b.rateAMva]));
  });

  it('are one meshed island with one reference bus and generation matching load', () => {
    const net = networkFromCase(mpc);
    const pf = dcPowerFlow(net);
    expect(pf.islands.count).toBe(1);
    expect(mpc.buses.filter((b) => b.type === 3)).toHaveLength(1);
    expect(mpc.branches.length).toBeGreaterThan(mpc.buses.length); // meshed, not a tree
    expect(Math.abs(pf.totalGenerationMw - pf.totalLoadMw)).toBeLessThan(1e-6);
  });

  it('have ratings that make the intact grid N-1 secure (no single outage overloads a branch)', () => {
    const screening = screenN1(networkFromCase(mpc));
    expect(screening.baseOverloads).toEqual([]);
    expect(screening.contingencies.filter((c) => c.overloads.length > 0)).toEqual([]);
    expect(mpc.branches.every((b) => b.rateAMva >= 10)).toBe(true);
  });
});
