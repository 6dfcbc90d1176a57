import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine } from './engine.ts';
import { parseCity } from './model/validate.ts';
import { RealtimeRunner } from './realtime.ts';
import { ManualWallClock } from './wall-clock.ts';

const city = parseCity({ assets: [{ id: 'a', layer: 'A' }, { id: 'b', layer: 'B' }], dependencies: [{ from: 'a', to: 'b' }] }, 'pair');

/**
 * The runner reads the wall clock through a `ManualWallClock` the tests advance: every figure below
 * is exact (wall ms × speed), and no test waits for real time to pass.
 */
describe('real-time runner', () => {
  it('advances the virtual clock with the wall clock × speed, pauses, resumes and changes speed', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    const clock = new ManualWallClock();
    const runner = new RealtimeRunner(engine, { speed: 1000, tickMs: 5, clock });
    const settle = (): Promise<void> => runner.whenSettled();
    engine.submit({ type: 'fail', target: 'a' }, { at: 2 });
    runner.start();
    await clock.advance(5, settle);
    expect(engine.now).toBe(5000);
    expect(engine.kernel.view(1).status).toBe(2);
    await clock.advance(3, settle); // between ticks: nothing runs
    expect(engine.now).toBe(5000);
    runner.pause();
    const paused = engine.now;
    await clock.advance(50, settle);
    expect(engine.now).toBe(paused);
    expect(runner.virtualNow()).toBe(8000);
    expect(clock.pending).toBe(0);
    runner.setSpeed(5000);
    runner.resume();
    await clock.advance(5, settle);
    expect(engine.now).toBe(8000 + 5 * 5000);
    expect(() => runner.setSpeed(0)).toThrow(/positive/);
    await runner.stop();
    expect(runner.error).toBeUndefined();
    await engine.stop();
  });

  it('an input submitted while running lands at the current virtual time or later, never in the past', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    const clock = new ManualWallClock();
    const runner = new RealtimeRunner(engine, { speed: 2000, tickMs: 5, clock });
    const settle = (): Promise<void> => runner.whenSettled();
    runner.start();
    await clock.advance(5, settle);
    expect(engine.now).toBe(10_000);
    const before = engine.kernel.settledUntil;
    const entry = engine.submit({ type: 'fail', target: 'a' }, { at: 0 })!;
    expect(entry.time).toBeGreaterThan(before);
    await clock.advance(5, settle);
    expect(engine.kernel.view(0).status).toBe(2);
    await runner.stop();
    await engine.stop();
  });

  it('an input that arrives during an advance is applied by the next advance at once, not a tick later', async () => {
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    const clock = new ManualWallClock();
    // A 60 s tick: only a nudge can make the second advance happen without the clock reaching it.
    const runner = new RealtimeRunner(engine, { speed: 1000, tickMs: 60_000, clock });
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
    await clock.advance(1, () => runner.whenSettled());
    runner.nudge(); // the first advance, at the next turn of the event loop
    await new Promise((resolve) => setImmediate(resolve));
    await runner.whenSettled();
    expect(advances).toBe(1);
    // The nudge during the advance queued the next one with no delay: it runs without the clock
    // moving at all (a tick later would need 60 s of it).
    await clock.advance(0, () => runner.whenSettled());
    expect(advances).toBe(2);
    // The input took the first free virtual instant (1 ms after the advance's 1,000): once the wall
    // clock has moved that far, a nudge applies it at once, still without a tick.
    expect(engine.kernel.view(0).status).toBe(0);
    await clock.advance(1);
    runner.nudge();
    await new Promise((resolve) => setImmediate(resolve));
    await runner.whenSettled();
    expect(advances).toBe(3);
    expect(engine.kernel.view(0).status).toBe(2);
    expect(clock.now()).toBeLessThan(60_000);
    await runner.stop();
    await engine.stop();
  });
});
