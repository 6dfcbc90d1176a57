import { describe, expect, it } from 'vitest';
import { Engine, Status, parseCity, parseMatpower, matpowerToCity, voltageServiceLevel } from '../engine/index.ts';
import { createBehaviours } from './behaviours.ts';
import type { SolverState } from './layer-solver.ts';

// Two buses (limits 0.94–1.06) and a line; a cohort relies on the load bus.
const mpc = parseMatpower(`function mpc = t
mpc.baseMVA = 100;
mpc.bus = [1 3 0 0 0 0 1 1 0 135 1 1.06 0.94; 2 1 50 10 0 0 1 1 0 135 1 1.06 0.94];
mpc.gen = [1 50 0 100 -100 1 100 1 200 0];
mpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360];
`, 't.m');

async function twoBuses(): Promise<Engine> {
  const doc = matpowerToCity(mpc) as unknown as Record<string, unknown>;
  doc['cohorts'] = [{ id: 'co-2', district: 'area-1', population: 1000, elderlyShare: 0.2, mobilityLimitedShare: 0.05, riskAversion: 0.5, compliance: 0.7, reliesOn: ['bus-2'] }];
  return Engine.create({ city: parseCity(doc, 't'), behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
}

describe('a bus under a voltage input', () => {
  it('serves by the voltage rule: degraded above Vmax or below Vmin, failed when collapsed, ok again inside; its cohort follows; the DC flows do not move', async () => {
    const engine = await twoBuses();
    try {
      await engine.runUntil(1000);
      const bus = engine.index.indexOf('bus-2')!;
      const cohort = engine.index.indexOf('co-2')!;
      const solver = engine.index.solverOfLayer[engine.index.layers.indexOf('power')]!;
      const live = (engine.kernel.states[solver] as SolverState).live;
      const at = async (vmPu: number): Promise<void> => {
        engine.submit({ type: 'voltage', target: 'bus-2', vmPu });
        await engine.runUntil(engine.now + 1000);
      };
      await at(1.09);
      const over = Math.round(voltageServiceLevel(1.09, 0.94, 1.06) * 1e6) / 1e6;
      expect(over).toBeCloseTo((1.15 * 1.06 - 1.09) / (0.15 * 1.06), 6);
      expect(engine.kernel.statusOf(bus)).toBe(Status.Degraded);
      expect(engine.kernel.view(bus).level).toBe(over);
      expect(engine.describe(cohort)['served']).toEqual([over]);
      await at(0.9);
      expect(engine.kernel.view(bus).level).toBe(Math.round(((0.9 - 0.85 * 0.94) / (0.15 * 0.94)) * 1e6) / 1e6);
      await at(0);
      expect(engine.kernel.statusOf(bus)).toBe(Status.Failed);
      expect(engine.describe(cohort)['served']).toEqual([0]);
      expect(engine.describe(bus)).toMatchObject({ vmPu: 0, voltageService: 0 });
      await at(1.0);
      expect(engine.kernel.statusOf(bus)).toBe(Status.Ok);
      expect(engine.describe(cohort)['served']).toEqual([1]);
      // The bus stayed operable throughout: the layer solver never re-solved.
      expect((engine.kernel.states[solver] as SolverState).live).toBe(live);
    } finally {
      await engine.stop();
    }
  });
});
