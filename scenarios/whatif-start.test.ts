import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity } from '../engine/index.ts';
import { feedPoints, whatIf } from './index.ts';

const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);

describe('what-if from the live state', () => {
  it('copies started from the captured live state reach the same states as copies that replay the whole journal, without touching the live engine', async () => {
    const city = parseCity(generateCity({ assets: 800, seed: 12 }), 'generated');
    const ids = city.assets.map((a) => a.id);
    const live = await Engine.create({ city, behaviours, seed: 12, driver: 'nact' });
    for (let i = 0; i < 30; i++) {
      live.submit({ type: 'fail', target: ids[(i * 37) % ids.length]!, severity: 0.9 }, { at: 10 + i * 20 });
      if (i % 3 === 0) live.submit({ type: 'telemetry', target: ids[(i * 11) % ids.length]!, value: 70 }, { at: 15 + i * 20 });
    }
    await live.runUntil(900_000);
    const before = live.summary();
    const atMs = live.kernel.settledUntil;
    const command = { type: 'repair', target: ids[37]! } as const;
    const journal = live.journal.entries;
    const replayed = await whatIf({ city, seed: 12, behaviours, journal, feedAfter: feedPoints(journal), atMs, command, horizonSeconds: 7200 });
    const fromState = await whatIf({ city, seed: 12, behaviours, journal: [], start: live.captureState(), atMs, command, horizonSeconds: 7200 });
    // The same streams (hashes), hence the same states, with and without the action.
    expect(fromState.without.summary.stateHash).toBe(replayed.without.summary.stateHash);
    expect(fromState.with.summary.stateHash).toBe(replayed.with.summary.stateHash);
    expect(fromState.with.summary.stateHash).not.toBe(fromState.without.summary.stateHash);
    expect({ failed: fromState.delta.failed, degraded: fromState.delta.degraded }).toEqual({ failed: replayed.delta.failed, degraded: replayed.delta.degraded });
    expect(Math.abs(fromState.delta.cost - replayed.delta.cost)).toBeLessThanOrEqual(1); // totals are rounded separately
    expect(fromState.without.outcome.fromMs).toBe(atMs);
    // The live engine is untouched and goes on.
    expect(live.summary()).toEqual(before);
    await live.runUntil(1_800_000);
    await live.stop();
  }, 30_000);
});
