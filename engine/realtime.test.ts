import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine } from './engine.ts';
import { parseCity } from './model/validate.ts';
import { RealtimeRunner } from './realtime.ts';

const city = parseCity({ assets: [{ id: 'a', layer: 'A' }, { id: 'b', layer: 'B' }], dependencies: [{ from: 'a', to: 'b' }] }, 'pair');

/** Waits (bounded) until a condition holds; the bound only guards against a hang, it is no timing claim. */
async function until(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('real-time runner', () => {
  it('advances the virtual clock with the wall clock × speed, pauses, resumes and changes speed', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    const runner = new RealtimeRunner(engine, { speed: 1000, tickMs: 5 });
    engine.submit({ type: 'fail', target: 'a' }, { at: 2 });
    runner.start();
    await until(() => engine.now >= 5000);
    expect(engine.kernel.view(1).status).toBe(2);
    runner.pause();
    await until(() => !engine.running);
    const paused = engine.now;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.now).toBe(paused);
    expect(runner.virtualNow()).toBe(runner.virtualNow());
    runner.setSpeed(5000);
    runner.resume();
    await until(() => engine.now >= paused + 20_000);
    expect(() => runner.setSpeed(0)).toThrow(/positive/);
    await runner.stop();
    expect(runner.error).toBeUndefined();
    await engine.stop();
  });

  it('an input submitted while running lands at the current virtual time or later, never in the past', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    const runner = new RealtimeRunner(engine, { speed: 2000, tickMs: 5 });
    runner.start();
    await until(() => engine.now >= 3000);
    const before = engine.kernel.settledUntil;
    const entry = engine.submit({ type: 'fail', target: 'a' }, { at: 0 })!;
    expect(entry.time).toBeGreaterThan(before);
    await until(() => engine.kernel.view(0).status === 2);
    await runner.stop();
    await engine.stop();
  });

  it('an input that arrives during an advance is applied by the next advance at once, not a tick later', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    // A tick far longer than the test's bound: only a nudge can make the second advance happen in time.
    const runner = new RealtimeRunner(engine, { speed: 1000, tickMs: 60_000 });
    let advances = 0;
    runner.onAdvance(() => {
      advances++;
      // Still inside the first advance: this input must not wait for the 60 s tick.
      if (advances === 1) {
        engine.submit({ type: 'fail', target: 'a' }, { source: 'test' });
        runner.nudge();
      }
    });
    runner.start();
    runner.nudge();
    // The second advance applies it; its listeners run when it ends, which can be just after the
    // state is visible, so wait for both (without the nudge, neither comes before the 60 s tick).
    await until(() => engine.kernel.view(0).status === 2 && advances >= 2, 5_000);
    expect(advances).toBeGreaterThanOrEqual(2);
    await runner.stop();
    await engine.stop();
  });
});
