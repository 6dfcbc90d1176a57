import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity } from '../engine/index.ts';
import { loadLibraryScenario, submitScenario } from './index.ts';

describe('hazards on a generated city whose water runs on EPANET', () => {
  it('the earthquake leaves mains leaking (extensive damage) and others closed (complete damage) in the hydraulic solver', async () => {
    const city = parseCity(generateCity({ assets: 3000, seed: 1, water: 'epanet' }), 'generated');
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    submitScenario(engine, loadLibraryScenario('earthquake'));
    await engine.runUntil(2 * 3_600_000);
    const solver = engine.describe(engine.index.actorCount - 1) as { hydraulics: string; leaking: string[]; closedLinks: string[]; leakFlowM3s: number };
    expect(solver.hydraulics).toMatch(/EPANET/);
    expect(solver.leaking.length).toBeGreaterThan(0);
    expect(solver.closedLinks.length).toBeGreaterThan(0);
    expect(solver.leakFlowM3s).toBeGreaterThan(0);
    for (const id of solver.leaking) expect(city.assets.find((a) => a.id === id)!.kind).toBe('main');
    await engine.stop();
  });
});
