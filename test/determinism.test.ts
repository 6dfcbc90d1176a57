import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity, readJournalFile, type Behaviour, type BehaviourSet, type CityIndex } from '../engine/index.ts';
import { statusOf } from './fixtures.ts';

const city = parseCity(generateCity({ assets: 1500, seed: 4 }), 'generated');

/** A storm-and-cyber morning: failures, heat and a SCADA compromise at various times. */
function feed(engine: Engine): void {
  engine.submit({ type: 'fail', target: 'pw-tx-0' }, { at: 60 });
  engine.submit({ type: 'fail', target: 'pw-dx-3', severity: 0.6, hazard: 'wind' }, { at: 90 });
  engine.submit({ type: 'ambient', target: '*', celsius: 39 }, { at: 120 });
  engine.submit({ type: 'cyber', target: 'tc-scada-0', attack: 'compromise' }, { at: 600 });
  engine.submit({ type: 'fail', target: 'tc-core-0' }, { at: 1800 });
  engine.submit({ type: 'order', target: 'district:d0', order: 'shelter' }, { at: 2400 });
}

async function run(options: { driver: 'nact' | 'direct'; seed?: number; behaviours?: (index: CityIndex) => BehaviourSet; journalFile?: string }) {
  const engine = await Engine.create({
    city,
    behaviours: options.behaviours ?? ((index) => createBehaviours(index)),
    seed: options.seed ?? 7,
    driver: options.driver,
    ...(options.journalFile === undefined ? {} : { journalFile: options.journalFile }),
  });
  feed(engine);
  await engine.runUntil(8 * 3600_000);
  const summary = engine.summary();
  await engine.stop();
  return { summary, engine };
}

/** Wraps one actor's behaviour so that `shouldThrow(now, attempt)` decides whether a step throws. */
function withCrashes(actorId: string, shouldThrow: (now: number, attempt: number) => boolean): (index: CityIndex) => BehaviourSet {
  return (index) => {
    const base = createBehaviours(index);
    const target = index.indexOf(actorId)!;
    let attempts = 0;
    const inner = base.behaviourOf(target);
    const crashing: Behaviour = {
      ...inner,
      init: inner.init.bind(inner),
      view: inner.view.bind(inner),
      cause: inner.cause.bind(inner),
      fault: inner.fault.bind(inner),
      describe: inner.describe.bind(inner),
      step(state, batch, ctx) {
        if (shouldThrow(ctx.now, attempts++)) throw new Error(`injected crash at ${ctx.now} ms`);
        return inner.step(state, batch, ctx);
      },
    };
    return { behaviourOf: (a) => (a === target ? crashing : base.behaviourOf(a)), starters: base.starters };
  };
}

describe('determinism', () => {
  it('the nact driver and the direct driver produce the identical state-change stream', async () => {
    const live = await run({ driver: 'nact' });
    const batch = await run({ driver: 'direct' });
    expect(live.summary.events).toBeGreaterThan(100);
    expect(live.summary.failed).toBeGreaterThan(0);
    expect(batch.summary.stateHash).toBe(live.summary.stateHash);
    expect(batch.summary.events).toBe(live.summary.events);
  });

  it('same city, inputs and seed give the same hash; another seed gives another', async () => {
    const a = await run({ driver: 'direct', seed: 7 });
    const b = await run({ driver: 'direct', seed: 7 });
    const c = await run({ driver: 'direct', seed: 8 });
    expect(b.summary.stateHash).toBe(a.summary.stateHash);
    expect(c.summary.stateHash).not.toBe(a.summary.stateHash);
  });

  it('replaying the recorded journal reproduces the stream byte for byte', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stratum-journal-')), 'run.ndjson');
    const original = await run({ driver: 'nact', journalFile: file });
    const { header, entries } = readJournalFile(file);
    expect(header.cityHash).toBe(original.summary.cityHash);
    expect(entries).toHaveLength(6);
    const replay = await Engine.create({ city, behaviours: (index) => createBehaviours(index), seed: header.seed, driver: 'direct' });
    for (const entry of entries) replay.replay(entry);
    await replay.runUntil(8 * 3600_000);
    expect(replay.summary().stateHash).toBe(original.summary.stateHash);
    await replay.stop();
  });
});

describe('supervision', () => {
  for (const driver of ['nact', 'direct'] as const) {
    it(`[${driver}] a behaviour that crashes mid-run is reset from its committed state and loses nothing`, async () => {
      const clean = await run({ driver });
      // pw-dx-3 gets damaged at 90 s; its first attempt at that instant throws.
      let thrown = 0;
      const crashed = await run({
        driver,
        behaviours: withCrashes('pw-dx-3', (now) => {
          if (now === 90_000 && thrown === 0) {
            thrown++;
            return true;
          }
          return false;
        }),
      });
      expect(thrown).toBe(1);
      expect(crashed.summary.escalations).toBe(0);
      expect(crashed.summary.stateHash).toBe(clean.summary.stateHash);
    });

    it(`[${driver}] repeated crashes within the window escalate: the actor is taken out of service, the rest runs on`, async () => {
      const { summary, engine } = await run({ driver, behaviours: withCrashes('pw-dx-3', (now) => now >= 90_000) });
      expect(summary.escalations).toBe(1);
      expect(engine.kernel.escalations[0]).toMatchObject({ actor: engine.index.indexOf('pw-dx-3'), time: 90_000 });
      expect(engine.kernel.escalations[0]!.batch.length).toBeGreaterThan(0);
      expect(statusOf(engine, 'pw-dx-3')).toBe('faulted');
      expect(summary.events).toBeGreaterThan(100);
    });
  }
});
