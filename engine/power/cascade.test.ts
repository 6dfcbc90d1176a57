import { describe, expect, it } from 'vitest';
import { DcOverloadGrid } from './cascade.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase } from './network.ts';

const TRIANGLE = `function mpc = triangle
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;
  2 1 60 0 0 0 1 1 0 230 1 1.1 0.9;
  3 1 30 0 10 0 1 1 0 230 1 1.1 0.9;
];
mpc.gen = [ 1 120 0 0 0 1 100 1 200 0 ];
mpc.branch = [
  1 2 0 0.1 0 60 0 0 0 0 1 -360 360;
  1 3 0 0.1 0 60 0 0 0 0 1 -360 360;
  2 3 0 0.1 0 10 0 0 0 0 1 -360 360;
];
`;

describe('dc-overload rules on a triangle (loads 60 and 30 + 10 Gs, one 120 MW generator)', () => {
  const net = networkFromCase(parseMatpower(TRIANGLE, 'triangle.m'));

  it('rule 1–2: the intact grid is balanced (generator scaled to the 100 MW load) and ratings are max(K·RATE_A, 1.1·|f0|)', () => {
    const grid = new DcOverloadGrid(net, 1);
    expect(grid.basePgMw[0]).toBeCloseTo(100, 12);
    // Equal reactances: f12 = 160/3, f13 = 140/3, f23 = −20/3 MW.
    expect(grid.baseFlowMw[0]).toBeCloseTo(160 / 3, 9);
    expect(grid.baseFlowMw[2]).toBeCloseTo(-20 / 3, 9);
    expect(Array.from(grid.ratingMw)).toEqual([60, 60, 10]);
    expect(new DcOverloadGrid(net, 0.5).ratingMw[0]).toBeCloseTo(1.1 * (160 / 3), 9);
  });

  it('rule 4: branches over their rating trip together; islands without generation lose their load', () => {
    // br-1 out: 100 MW over 1–3 (> 60) and 60 MW over 3–2 (> 10) trip in one generation.
    const outcome = new DcOverloadGrid(net, 1).run(['br-1']);
    expect(outcome.tripped).toEqual([['br-2', 'br-3']]);
    expect(outcome.dependentOutages).toBe(2);
    expect(outcome.generations).toBe(1);
    expect(outcome.loadShedMw).toBeCloseTo(100, 9);
    expect(outcome.loadShedFraction).toBeCloseTo(1, 12);
  });

  it('rule 2 after a trip: an island with spare generation scales its generators down to its load', () => {
    // K = 2: only 3–2 (60 MW > 20) trips; bus 2 is cut off (60 MW lost); {1, 3} keeps its 40 MW.
    const outcome = new DcOverloadGrid(net, 2).run(['br-1']);
    expect(outcome.tripped).toEqual([['br-3']]);
    expect(outcome.loadShedMw).toBeCloseTo(60, 9);
  });

  it('rule 2: an island whose only generator is out loses all its load', () => {
    const outcome = new DcOverloadGrid(net, 1).run(['gen-1']);
    expect(outcome.dependentOutages).toBe(0);
    expect(outcome.loadShedMw).toBeCloseTo(100, 9);
  });

  it('rejects unknown and out-of-service ids by name', () => {
    expect(() => new DcOverloadGrid(net).run(['br-9'])).toThrow(/unknown branch or generator "br-9"/);
  });
});
