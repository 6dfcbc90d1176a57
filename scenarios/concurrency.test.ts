import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, Rng, type CityIndex, type Engine as EngineType, type InputCommand } from '../engine/index.ts';
import { cityFromSource, loadRecording, ReplaySession, saveRecording, TrainingExercise } from './index.ts';

const behaviours = (i: CityIndex) => createBehaviours(i);
const CITY = { generate: { assets: 400, seed: 11 } } as const;
const city = cityFromSource(CITY);

/** Waits `hops` turns of the event loop: nact runs each actor's mail on its own setImmediate, so this lands inside a round. */
const hops = (n: number): Promise<void> => new Promise((resolve) => {
  const next = (left: number): void => void (left === 0 ? resolve() : setImmediate(() => next(left - 1)));
  next(n);
});

const ASSETS = city.assets.map((a) => a.id);

/** A random input of the kinds live doors send (telemetry mostly; operator and injector actions too). */
function randomCommand(rng: Rng): InputCommand {
  const target = ASSETS[Math.floor(rng.next() * ASSETS.length)]!;
  const r = rng.next();
  if (r < 0.6) return { type: 'telemetry', target, value: Math.round(rng.next() * 1000) / 10 };
  if (r < 0.7) return { type: 'fail', target, severity: 1 };
  if (r < 0.8) return { type: 'repair', target };
  if (r < 0.9) return { type: 'shed', target, share: 0.25 };
  return { type: 'isolate', target };
}

/**
 * Sends inputs from several "doors" (sources) at sub-millisecond spacing while the engine advances:
 * some land between advances, most land while an instant is being processed by the nact actors.
 */
async function storm(engine: EngineType, rng: Rng, inputs: number, untilMs: number): Promise<void> {
  const doors = ['http:op', 'socket:op', 'ws:op', 'kafka:t:0'];
  const senders: Promise<void>[] = [];
  for (const door of doors) {
    senders.push((async () => {
      let sourceSeq = 0;
      for (let i = 0; i < inputs / doors.length; i++) {
        await hops(Math.floor(rng.next() * 4));
        const command = randomCommand(rng);
        if (door.startsWith('kafka:')) engine.submitBatch([command, randomCommand(rng)], { source: door, sourceSeqs: [sourceSeq++, sourceSeq++] });
        else engine.submit(command, { source: door });
      }
    })());
  }
  let done = false;
  const all = Promise.all(senders).then(() => {
    done = true;
  });
  // The "real-time runner": advance the clock in small steps while the doors keep sending.
  let t = engine.now;
  while (!done) {
    t += 1 + Math.floor(rng.next() * 3);
    await engine.runUntil(t);
    // Like the real-time runner's timer: the doors get the event loop between advances too.
    await hops(1);
  }
  await all;
  await engine.runUntil(untilMs);
}

describe('determinism under concurrency', () => {
  it('a live engine fed from several doors while it advances replays to the identical hash, every round (seeded)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-conc-'));
    const rng = new Rng(20261204);
    for (let round = 0; round < 12; round++) {
      const live = await Engine.create({ city, behaviours, seed: round + 1, driver: 'nact' });
      await storm(live, rng, 80, 120_000);
      const saved = saveRecording(live, { city: CITY, dir, id: `round-${round}` });
      await live.stop();
      const replay = await ReplaySession.open(loadRecording(saved.dir), behaviours, { city });
      const result = await replay.runToEnd();
      await replay.close();
      expect(result.stateHash, `round ${round}: ${saved.meta.inputs} inputs`).toBe(saved.meta.stateHash);
    }
  });

  it('two inputs for one asset at the same moment, one during an advance, replay identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-conc-'));
    const live = await Engine.create({ city, behaviours, seed: 3, driver: 'nact' });
    const target = ASSETS[7]!;
    live.submit({ type: 'telemetry', target, value: 50 }, { source: 'http:a' });
    const advancing = live.runUntil(1_000);
    await hops(1);
    expect(live.running).toBe(true);
    live.submit({ type: 'telemetry', target, value: 90 }, { source: 'http:b' });
    await advancing;
    await live.runUntil(60_000);
    const saved = saveRecording(live, { city: CITY, dir, id: 'pair' });
    await live.stop();
    const replay = await ReplaySession.open(loadRecording(saved.dir), behaviours, { city });
    expect((await replay.runToEnd()).identical).toBe(true);
    await replay.close();
  });

  it('a training session fed by trainees while it plays replays identically from its own journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-conc-'));
    const rng = new Rng(77);
    const live = await Engine.create({ city, behaviours, seed: 5, driver: 'nact' });
    await storm(live, rng, 40, 60_000);
    const incident = saveRecording(live, { city: CITY, dir, id: 'incident' });
    await live.stop();
    for (let round = 0; round < 3; round++) {
      const exercise = await TrainingExercise.open({ recording: loadRecording(incident.dir), behaviours, handoverMs: 0, city });
      const engine = exercise.engine;
      // Trainees act while the session advances (its own runTo feeds the recorded inputs on the way).
      const acting = (async () => {
        for (let i = 0; i < 30; i++) {
          await hops(Math.floor(rng.next() * 4));
          exercise.act(randomCommand(rng), `t${i % 3}`);
        }
      })();
      let t = 0;
      let done = false;
      void acting.then(() => {
        done = true;
      });
      while (!done) {
        t += 1 + Math.floor(rng.next() * 3);
        await exercise.runTo(t);
        await hops(1);
      }
      await exercise.runTo(60_000);
      const session = saveRecording(engine, { city: CITY, dir, id: `session-${round}` });
      const replay = await ReplaySession.open(loadRecording(session.dir), behaviours, { city });
      expect((await replay.runToEnd()).stateHash, `session round ${round}`).toBe(session.meta.stateHash);
      await replay.close();
      await exercise.replay.close();
    }
  });
});
