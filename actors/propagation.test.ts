import { describe, expect, it } from 'vitest';
import { CAUSE_NAMES } from '../engine/index.ts';
import { engineFor, smallCity, statusOf } from '../test/fixtures.ts';

const HOUR = 3_600_000;

describe('propagation rules', () => {
  it('a hard dependency takes the dependent down with its provider, after the edge latency, and records the cause', async () => {
    const city = smallCity({
      assets: [{ id: 'sub', layer: 'power' }, { id: 'pump', layer: 'water' }, { id: 'tower', layer: 'telecom' }],
      dependencies: [
        { from: 'sub', to: 'pump', latency: 0 },
        { from: 'sub', to: 'tower', latency: 60 },
      ],
    });
    const engine = await engineFor(city);
    engine.submit({ type: 'fail', target: 'sub' }, { at: 10 });
    await engine.runUntil(20_000);
    expect(statusOf(engine, 'sub')).toBe('failed');
    expect(statusOf(engine, 'pump')).toBe('failed');
    expect(statusOf(engine, 'tower')).toBe('ok');
    await engine.runUntil(70_000);
    expect(statusOf(engine, 'tower')).toBe('failed');
    const pumpCause = engine.kernel.behaviourOf(1).cause(engine.kernel.states[1]);
    expect(CAUSE_NAMES[pumpCause!.code]).toBe('dependency');
    expect(pumpCause!.from).toBe(0);
    const subCause = engine.kernel.behaviourOf(0).cause(engine.kernel.states[0]);
    expect(CAUSE_NAMES[subCause!.code]).toBe('damage');
    expect(subCause!.from).toBe(-1);
    await engine.stop();
  });

  it('a partial dependency degrades the dependent by its strength instead of failing it', async () => {
    const city = smallCity({
      assets: [{ id: 'scada', layer: 'telecom' }, { id: 'sub', layer: 'power' }],
      dependencies: [{ from: 'scada', to: 'sub', strength: 0.3 }],
    });
    const engine = await engineFor(city);
    engine.submit({ type: 'fail', target: 'scada' }, { at: 1 });
    await engine.runUntil(2000);
    expect(statusOf(engine, 'sub')).toBe('degraded');
    expect(engine.kernel.view(1).level).toBeCloseTo(0.7, 12);
    await engine.stop();
  });

  it('an asset works only while connected to a source of its layer', async () => {
    // gen — a — b — c ; cutting a disconnects b and c.
    const city = smallCity({
      assets: [{ id: 'gen', layer: 'power', kind: 'generator' }, { id: 'a', layer: 'power' }, { id: 'b', layer: 'power' }, { id: 'c', layer: 'power' }],
      links: [{ from: 'gen', to: 'a' }, { from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    });
    const engine = await engineFor(city);
    engine.submit({ type: 'fail', target: 'a' }, { at: 1 });
    await engine.runUntil(2000);
    expect(['gen', 'a', 'b', 'c'].map((id) => statusOf(engine, id))).toEqual(['ok', 'failed', 'failed', 'failed']);
    const cause = engine.kernel.behaviourOf(2).cause(engine.kernel.states[2]);
    expect(CAUSE_NAMES[cause!.code]).toBe('disconnected');
    // Repair of a brings b and c back.
    engine.submit({ type: 'repair', target: 'a' }, { at: 3 });
    await engine.runUntil(4000);
    expect(['gen', 'a', 'b', 'c'].map((id) => statusOf(engine, id))).toEqual(['ok', 'ok', 'ok', 'ok']);
    await engine.stop();
  });

  it('without declared sources, only the largest connected component of the working part works', async () => {
    // x1 — x2 — x3 — x4 — x5 ; failing x2 leaves {x1} and {x3, x4, x5}: x1 is cut off.
    const ids = ['x1', 'x2', 'x3', 'x4', 'x5'];
    const city = smallCity({
      assets: ids.map((id) => ({ id, layer: 'A' })),
      links: ids.slice(1).map((id, i) => ({ from: ids[i]!, to: id })),
    });
    const engine = await engineFor(city);
    engine.submit({ type: 'fail', target: 'x2' }, { at: 1 });
    await engine.runUntil(2000);
    expect(ids.map((id) => statusOf(engine, id))).toEqual(['failed', 'failed', 'ok', 'ok', 'ok']);
    await engine.stop();
  });

  it('an overloaded asset trips, hands its load to its neighbours, and they may trip in turn', async () => {
    const city = smallCity({
      assets: [
        { id: 'g', layer: 'power', kind: 'generator', capacity: 1000 },
        { id: 'f1', layer: 'power', baseLoad: 10, capacity: 12 },
        { id: 'f2', layer: 'power', baseLoad: 10, capacity: 12 },
      ],
      links: [{ from: 'g', to: 'f1' }, { from: 'f1', to: 'f2' }, { from: 'g', to: 'f2' }],
    });
    const engine = await engineFor(city, { behaviour: { tripResetSeconds: null } });
    engine.submit({ type: 'telemetry', target: 'f1', value: 13 }, { at: 1 });
    await engine.runUntil(2000);
    expect(statusOf(engine, 'f1')).toBe('failed');
    // f1's 13 units split between g and f2 (6.5 each): f2 goes to 16.5 > 12 and trips too.
    expect(statusOf(engine, 'f2')).toBe('failed');
    const cause = engine.kernel.behaviourOf(2).cause(engine.kernel.states[2]);
    expect(CAUSE_NAMES[cause!.code]).toBe('overload');
    expect(cause!.from).toBe(1);
    await engine.stop();
  });

  it('damaged assets repair after their repair time and dependents recover with them', async () => {
    const city = smallCity({
      assets: [{ id: 'sub', layer: 'power', repairTime: 3600 }, { id: 'pump', layer: 'water' }],
      dependencies: [{ from: 'sub', to: 'pump' }],
    });
    const engine = await engineFor(city);
    engine.submit({ type: 'fail', target: 'sub' }, { at: 0 });
    await engine.runUntil(HOUR - 1000);
    expect(statusOf(engine, 'pump')).toBe('failed');
    await engine.runUntil(HOUR + 1000);
    expect(statusOf(engine, 'sub')).toBe('ok');
    expect(statusOf(engine, 'pump')).toBe('ok');
    await engine.stop();
  });

  it('a dependency with probability gives each provider failure one chance, decided by the seed', async () => {
    const assets = [{ id: 'p', layer: 'A' }, ...Array.from({ length: 200 }, (_, i) => ({ id: `d${i}`, layer: 'B' }))];
    const dependencies = assets.slice(1).map((a) => ({ from: 'p', to: a.id, probability: 0.3 }));
    const run = async (seed: number): Promise<number> => {
      const engine = await engineFor(smallCity({ assets, dependencies }), { seed });
      engine.submit({ type: 'fail', target: 'p' }, { at: 1 });
      await engine.runUntil(2000);
      const failed = engine.summary().failed - 1;
      await engine.stop();
      return failed;
    };
    const a = await run(1);
    expect(await run(1)).toBe(a);
    expect(a).toBeGreaterThan(30);
    expect(a).toBeLessThan(90);
  });

  it('cohorts lose service with their assets, grow stressed over hours, and their heat demand loads the grid', async () => {
    const city = smallCity({
      assets: [
        { id: 'g', layer: 'power', kind: 'generator', baseLoad: 0, capacity: 1000 },
        { id: 'feeder', layer: 'power', baseLoad: 5, capacity: 6 },
        { id: 'main', layer: 'water', repairTime: 86_400 },
      ],
      links: [{ from: 'g', to: 'feeder' }],
      cohorts: [{ id: 'people', district: 'default', population: 4000, elderlyShare: 0.4, reliesOn: ['feeder', 'main'] }],
    });
    const engine = await engineFor(city, { behaviour: { tripResetSeconds: null } });
    engine.submit({ type: 'fail', target: 'main' }, { at: 0 });
    await engine.runUntil(4 * HOUR);
    const people = engine.index.indexOf('people')!;
    expect(engine.kernel.view(people).level).toBeCloseTo(0.5, 12);
    expect(engine.kernel.view(people).stress).toBeGreaterThan(0.1);
    // 40 °C: demand +48 % of 4.8 MW lands on the feeder (5 → 7.3 > 6), which trips.
    engine.submit({ type: 'ambient', target: 'people', celsius: 40 }, { at: 4 * 3600 + 1 });
    await engine.runUntil(5 * HOUR);
    expect(statusOf(engine, 'feeder')).toBe('failed');
    expect(engine.kernel.view(people).level).toBe(0);
    await engine.stop();
  });

  it('operator isolate and restore take an asset out of service and back', async () => {
    const city = smallCity({ assets: [{ id: 'a', layer: 'A' }, { id: 'b', layer: 'B' }], dependencies: [{ from: 'a', to: 'b' }] });
    const engine = await engineFor(city);
    engine.submit({ type: 'isolate', target: 'a' }, { at: 1 });
    await engine.runUntil(1500);
    expect([statusOf(engine, 'a'), statusOf(engine, 'b')]).toEqual(['isolated', 'failed']);
    engine.submit({ type: 'restore', target: 'a' }, { at: 2 });
    await engine.runUntil(2500);
    expect([statusOf(engine, 'a'), statusOf(engine, 'b')]).toEqual(['ok', 'ok']);
    await engine.stop();
  });

  it('an operator reroute moves a share of demand to a linked asset, which may trip from it', async () => {
    const city = smallCity({
      assets: [
        { id: 'g', layer: 'power', kind: 'generator', capacity: 1000 },
        { id: 'f1', layer: 'power', baseLoad: 10, capacity: 20 },
        { id: 'f2', layer: 'power', baseLoad: 10, capacity: 14 },
        { id: 'far', layer: 'power', baseLoad: 1, capacity: 5 },
      ],
      links: [{ from: 'g', to: 'f1' }, { from: 'f1', to: 'f2' }, { from: 'g', to: 'far' }],
    });
    const engine = await engineFor(city, { behaviour: { tripResetSeconds: null } });
    expect(() => engine.submit({ type: 'reroute', target: 'f1', to: 'far', share: 0.5 })).toThrow(/not linked/);
    expect(engine.journal.length).toBe(0);
    engine.submit({ type: 'reroute', target: 'f1', to: 'f2', share: 0.3 }, { at: 1 });
    await engine.runUntil(1500);
    expect(engine.kernel.view(1).load).toBeCloseTo(7, 12);
    expect(engine.kernel.view(2).load).toBeCloseTo(13, 12);
    expect(statusOf(engine, 'f2')).toBe('ok');
    engine.submit({ type: 'reroute', target: 'f1', to: 'f2', share: 1 }, { at: 2 });
    await engine.runUntil(2500);
    expect(statusOf(engine, 'f2')).toBe('failed');
    await engine.stop();
  });
});

