import { describe, expect, it } from 'vitest';
import type { Behaviour, BehaviourSet, StepContext } from './behaviour.ts';
import { CityIndex } from './city-index.ts';
import { Engine } from './engine.ts';
import { parseCity } from './model/validate.ts';
import { MessageKind, Status, type ActorView, type Cause, type SimMessage } from './protocol.ts';

/** A probe behaviour: records every batch it gets and forwards Damage to the next actor after 5 ms. */
interface ProbeState {
  readonly batches: ReadonlyArray<ReadonlyArray<{ kind: number; from: number; value: number; seq: number }>>;
  readonly times: readonly number[];
}

function probeSet(log: Array<{ actor: number; now: number; size: number }>): (index: CityIndex) => BehaviourSet {
  const probe: Behaviour<ProbeState> = {
    init: () => ({ batches: [], times: [] }),
    step(state: ProbeState, batch: readonly SimMessage[], ctx: StepContext): ProbeState {
      log.push({ actor: ctx.self, now: ctx.now, size: batch.length });
      for (const m of batch) {
        if (m.kind === MessageKind.Damage && m.value > 0 && ctx.self + 1 < ctx.index.assetCount) {
          ctx.send(ctx.self + 1, MessageKind.Damage, m.value - 1, 0, 5);
        }
      }
      return { batches: [...state.batches, batch.map((m) => ({ kind: m.kind, from: m.from, value: m.value, seq: m.seq }))], times: [...state.times, ctx.now] };
    },
    view: (s): ActorView => ({ status: Status.Ok, level: 1, load: s.batches.length, stress: 0 }),
    cause: (): Cause | null => null,
    fault: (s) => s,
    describe: (s) => ({ batches: s.batches.length }),
  };
  return () => ({ behaviourOf: () => probe as Behaviour, starters: () => [] });
}

const chain = parseCity({ assets: [0, 1, 2, 3].map((i) => ({ id: `n${i}`, layer: 'x' })) }, 'chain');

describe('scheduler', () => {
  for (const driver of ['direct', 'nact'] as const) {
    it(`[${driver}] coalesces all messages due for one actor at one instant into one batch, in (time, seq) order`, async () => {
      const log: Array<{ actor: number; now: number; size: number }> = [];
      const engine = await Engine.create({ city: chain, behaviours: probeSet(log), seed: 1, driver });
      engine.submit({ type: 'telemetry', target: 'n2', value: 7 }, { at: 1 });
      engine.submit({ type: 'telemetry', target: 'n2', value: 8 }, { at: 1 });
      engine.submit({ type: 'fail', target: 'n0', severity: 1 }, { at: 0.5 });
      engine.submit({ type: 'telemetry', target: 'n2', value: 9 }, { at: 0.5 });
      await engine.runUntil(2000);
      // n0 at 500 ms, n1 at 505 ms (forwarded), n2 at 500 ms (telemetry 9) and at 1000 ms (7 then 8 in one batch).
      expect(log).toEqual([
        { actor: 0, now: 500, size: 1 },
        { actor: 2, now: 500, size: 1 },
        { actor: 1, now: 505, size: 1 },
        { actor: 2, now: 1000, size: 2 },
      ]);
      const n2 = engine.kernel.states[2] as ProbeState;
      expect(n2.batches[1]!.map((m) => m.value)).toEqual([7, 8]);
      expect(n2.batches[1]![0]!.seq).toBeLessThan(n2.batches[1]![1]!.seq);
      await engine.stop();
    });
  }

  it('never lets an input into the settled past', async () => {
    const engine = await Engine.create({ city: chain, behaviours: probeSet([]), seed: 1, driver: 'direct' });
    await engine.runUntil(10_000);
    const entry = engine.submit({ type: 'telemetry', target: 'n1', value: 1 }, { at: 2 });
    expect(entry?.time).toBe(10_001);
    await engine.stop();
  });

  it('drops a duplicate (source, sourceSeq) input and changes nothing', async () => {
    const engine = await Engine.create({ city: chain, behaviours: probeSet([]), seed: 1, driver: 'direct' });
    expect(engine.submit({ type: 'telemetry', target: 'n1', value: 1 }, { source: 'kafka:t', sourceSeq: 4 })).toBeDefined();
    expect(engine.submit({ type: 'telemetry', target: 'n1', value: 1 }, { source: 'kafka:t', sourceSeq: 4 })).toBeUndefined();
    expect(engine.journal.length).toBe(1);
    await engine.stop();
  });

  it('rejects an unknown target without journaling anything', async () => {
    const engine = await Engine.create({ city: chain, behaviours: probeSet([]), seed: 1, driver: 'direct' });
    expect(() => engine.submit({ type: 'fail', target: 'nope' })).toThrow(/unknown asset or cohort "nope"/);
    expect(() => engine.submit({ type: 'fail', target: 'district:nowhere' })).toThrow(/unknown district/);
    expect(engine.journal.length).toBe(0);
    await engine.stop();
  });

  it('indexes actors: assets, then cohorts, then one solver per layer with links', () => {
    const index = new CityIndex(
      parseCity(
        {
          assets: [{ id: 'a', layer: 'p' }, { id: 'b', layer: 'p' }, { id: 'c', layer: 'q' }],
          links: [{ from: 'a', to: 'b' }],
          cohorts: [{ id: 'people', district: 'default', population: 5, reliesOn: ['a'] }],
        },
        't',
      ),
    );
    expect(index.actorCount).toBe(5);
    expect(index.nameOf(3)).toBe('people');
    expect(index.nameOf(4)).toBe('solver:p');
    expect(Array.from(index.solverOfLayer)).toEqual([4, -1]);
  });
});
