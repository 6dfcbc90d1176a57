import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DcOverloadGrid, Engine, matpowerToCity, networkFromCase, parseCity, parseMatpower, type StateChange } from '../engine/index.ts';
import { sharedDataFile } from '../test/shared-data.ts';
import { createBehaviours } from './behaviours.ts';
import { LIVE_OPTIONS } from './options.ts';

/**
 * Runs a trigger on the engine's actors (load model dc, zero trip delay) and lists the branches
 * that tripped, in the order their trips reached the state-change stream.
 */
async function tripsOnActors(caseName: string, ratingFactor: number, trigger: readonly string[]): Promise<string[]> {
  const mpc = parseMatpower(readFileSync(sharedDataFile(`grids/${caseName}.m`), 'utf8'), caseName);
  const city = parseCity(matpowerToCity(mpc), caseName);
  const options = { ...LIVE_OPTIONS, loadModel: 'dc' as const, ratingFactor, tripResetSeconds: null, selfRepair: false, dependencies: false };
  const engine = await Engine.create({ city, behaviours: (index) => createBehaviours(index, options), seed: 1, driver: 'direct' });
  const order: string[] = [];
  const seen = new Set<number>();
  engine.stream.subscribe((c: StateChange) => {
    // A change whose asset is now tripped (its own overload, not a lost island blamed on a flow).
    if (c.actor < engine.index.assetCount && !seen.has(c.actor) && engine.describe(c.actor)['tripped'] === true) {
      seen.add(c.actor);
      order.push(engine.index.nameOf(c.actor));
    }
  });
  for (const id of trigger) engine.submit({ type: 'fail', target: id }, { at: 1, source: 'test' });
  await engine.runUntil(60_000);
  await engine.stop();
  return order;
}

describe('power flows in the live engine (layer solver, load model dc)', () => {
  it('a trigger on case1354pegase trips on the actors exactly the branches the dc-overload rules trip', async () => {
    const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile('grids/case1354pegase.m'), 'utf8'), 'case1354pegase'));
    const grid = new DcOverloadGrid(net, 0.8);
    // A pair that cascades over 15 generations (from the SciPy peer's reference set).
    const trigger = ['br-228', 'br-1473'];
    const expected = grid.run(trigger);
    expect(expected.generations).toBeGreaterThan(1);
    // Rounds publish in ascending actor order (buses, then branches in row order), so the stream
    // lists each generation's trips in the rules' own order.
    expect(await tripsOnActors('case1354pegase', 0.8, trigger)).toEqual(expected.tripped.flat());
  });
});
