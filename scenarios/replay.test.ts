import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, ManualWallClock, parseCity, type CityModel } from '../engine/index.ts';
import {
  ActionGuard,
  cityFromSource,
  Ledger,
  listRecordings,
  loadLibraryScenario,
  loadRecording,
  OutcomeMeter,
  recordRun,
  ReplaySession,
  saveRecording,
  TrainingExercise,
  verifyLedgerFile,
  whatIf,
} from './index.ts';

const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'stratum-rec-'));
const CITY = { generate: { assets: 2000, seed: 5 } } as const;

describe('recording and replay', () => {
  it('replays a recorded scenario run to a byte-identical stream, and seek back equals the straight run', async () => {
    const dir = tmp();
    const rec = await recordRun({ city: CITY, seed: 9, behaviours, scenario: loadLibraryScenario('storm-and-cyber'), untilSeconds: 12 * 3600, dir, id: 'storm', snapshotEverySeconds: 3 * 3600 });
    expect(rec.meta.checkpoints.map((c) => c.ms)).toEqual([3, 6, 9].map((h) => h * 3_600_000));
    expect(listRecordings(dir).map((m) => m.id)).toEqual(['storm']);
    const loaded = loadRecording('storm', dir);
    const session = await ReplaySession.open(loaded, behaviours);
    const straight = await session.runToEnd();
    expect(straight.identical).toBe(true);
    // Seek back to a checkpoint: a fresh engine re-fed in batch mode lands on the same hash.
    expect(await session.seek(6 * 3_600_000)).toEqual({ ms: 6 * 3_600_000, checkpoint: 'match' });
    expect(await session.seek(3 * 3_600_000)).toEqual({ ms: 3 * 3_600_000, checkpoint: 'match' });
    expect((await session.runToEnd()).stateHash).toBe(straight.stateHash);
    await session.close();
  });

  it('replays a live-style session (inputs submitted between advances) identically, with the nact driver too', async () => {
    const dir = tmp();
    const city: CityModel = cityFromSource(CITY);
    const live = await Engine.create({ city, behaviours, seed: 4, driver: 'nact' });
    live.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 30, source: 'scenario:x' });
    await live.runUntil(600_000);
    live.submit({ type: 'isolate', target: 'pw-dx-3' }, { source: 'http:op' });
    await live.runUntil(1_200_000);
    live.submit({ type: 'restore', target: 'pw-dx-3' }, { source: 'http:op' });
    live.submit({ type: 'ambient', target: '*', celsius: 39 }, { source: 'http:op' });
    await live.runUntil(7_200_000);
    const saved = saveRecording(live, { city: CITY, dir, id: 'live' });
    await live.stop();
    for (const driver of ['direct', 'nact'] as const) {
      const replay = await ReplaySession.open(loadRecording(saved.dir), behaviours, { driver });
      const result = await replay.runToEnd();
      expect(result.stateHash, driver).toBe(saved.meta.stateHash);
      await replay.close();
    }
  });

  it('plays in real time at a high speed, pauses, and reaches the same end', async () => {
    const dir = tmp();
    const rec = await recordRun({ city: CITY, seed: 3, behaviours, scenario: loadLibraryScenario('substation-fire'), untilSeconds: 1200, dir, id: 'fire' });
    const session = await ReplaySession.open(rec, behaviours);
    expect(() => session.play(5000)).toThrow(/between 0.1 and 1000/);
    const ended = new Promise<void>((resolve) => session.onEnd(resolve));
    session.play(1000);
    expect(session.playing).toBe(true);
    await session.pause();
    expect(session.playing).toBe(false);
    session.play(1000);
    await ended;
    expect(session.current.stream.stateHash()).toBe(rec.meta.stateHash);
    await session.close();
  });
});

describe('real-time playback on a manual wall clock', () => {
  it('runs exactly wall ms × speed per tick, stands still while paused, and ends at the recorded state', async () => {
    const rec = await recordRun({ city: CITY, seed: 3, behaviours, scenario: loadLibraryScenario('substation-fire'), untilSeconds: 1200, dir: tmp(), id: 'fire-clock' });
    const clock = new ManualWallClock();
    const session = await ReplaySession.open(rec, behaviours, { clock });
    let ended = false;
    session.onEnd(() => (ended = true));
    session.play(1000);
    await clock.advance(49);
    expect(session.current.kernel.settledUntil).toBeLessThan(1); // the first tick is 50 ms away
    await clock.advance(1);
    expect(session.current.kernel.settledUntil).toBe(50_000);
    await session.pause();
    await clock.advance(10_000);
    expect(session.current.kernel.settledUntil).toBe(50_000);
    expect(clock.pending).toBe(0);
    session.play(1000);
    await clock.advance(1_100);
    expect(ended).toBe(false);
    await clock.advance(100);
    expect(ended).toBe(true);
    expect(session.current.stream.stateHash()).toBe(rec.meta.stateHash);
    await session.close();
  });
});

describe('decision ledger', () => {
  it('chains entries and names the first tampered, removed or reordered entry', () => {
    const file = join(tmp(), 'ledger.ndjson');
    const ledger = new Ledger(file);
    ledger.append('injection', 'alice', 'injector', { type: 'fail', target: 'pw-tx-0' });
    ledger.append('operator-action', 'bob', 'operator', { type: 'isolate', target: 'pw-dx-1' });
    ledger.append('approval', 'carol', 'admin', { id: 1 });
    expect(verifyLedgerFile(file)).toMatchObject({ ok: true, count: 3 });
    expect(new Ledger(file).entries.length).toBe(3);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const tampered = JSON.parse(lines[1]!) as { payload: { target: string } };
    tampered.payload.target = 'pw-dx-2';
    writeFileSync(file, [lines[0], JSON.stringify(tampered), lines[2]].join('\n') + '\n');
    expect(verifyLedgerFile(file)).toMatchObject({ ok: false, firstBroken: 1, reason: expect.stringContaining('altered') });
    expect(() => new Ledger(file)).toThrow(/entry 1/);
    writeFileSync(file, [lines[0], lines[2]].join('\n') + '\n');
    expect(verifyLedgerFile(file)).toMatchObject({ ok: false, firstBroken: 1 });
    writeFileSync(file, [lines[0], lines[1], lines[2]!.replace('"carol"', '"mallory"')].join('\n') + '\n');
    expect(verifyLedgerFile(file)).toMatchObject({ ok: false, firstBroken: 2 });
  });

  it('guarded actions need a second person with another role', () => {
    const ledger = new Ledger();
    const guard = new ActionGuard(ledger);
    guard.setGuarded('isolate', true, 'root', 'admin');
    expect(guard.isGuarded({ type: 'isolate', target: 'pw-tx-0' })).toBe(true);
    expect(guard.isGuarded({ type: 'repair', target: 'pw-tx-0' })).toBe(false);
    const p = guard.request({ type: 'isolate', target: 'pw-tx-0' }, 'bob', 'operator');
    expect(() => guard.approve(p.id, 'bob', 'admin')).toThrow(/second person/);
    expect(() => guard.approve(p.id, 'dan', 'operator')).toThrow(/another role/);
    expect(guard.approve(p.id, 'carol', 'admin').command.target).toBe('pw-tx-0');
    expect(ledger.entries.map((e) => e.kind)).toEqual(['guard', 'approval-request', 'approval']);
    expect(ledger.verify().ok).toBe(true);
  });
});

describe('training and economics', () => {
  // generator → feeder; 1,000 people rely on the feeder. The feeder takes 10 h to repair.
  const small = parseCity({
    assets: [
      { id: 'g', layer: 'power', kind: 'generator', source: true, baseLoad: 1, capacity: 10, position: { x: 0, y: 0 } },
      { id: 'f', layer: 'power', kind: 'feeder', baseLoad: 1, capacity: 10, repairTime: 36_000, position: { x: 100, y: 0 } },
    ],
    links: [{ from: 'g', to: 'f' }],
    dependencies: [],
    cohorts: [{ id: 'c', district: 'default', population: 1000, reliesOn: ['f'] }],
  }, 'small');

  /** The small city as a file (recordings name their city by file). */
  const smallCityFile = (): { dir: string; cityFile: string } => {
    const dir = tmp();
    const cityFile = join(dir, 'small.json');
    writeFileSync(cityFile, JSON.stringify({
      assets: small.assets.map((a) => ({ id: a.id, layer: a.layer, kind: a.kind, baseLoad: a.baseLoad, capacity: a.capacity, repairTime: 36_000, ...(a.source ? { source: true } : {}), position: a.position })),
      links: [{ from: 'g', to: 'f' }],
      cohorts: [{ id: 'c', district: 'default', population: 1000, reliesOn: ['f'] }],
    }));
    return { dir, cityFile };
  };
  const smallEngineFrom = (cityFile: string): Promise<Engine> =>
    Engine.create({ city: parseCity(JSON.parse(readFileSync(cityFile, 'utf8')), cityFile), behaviours, seed: 1, driver: 'direct' });

  it('meters people-hours without power and the cost of an outage', async () => {
    const engine = await Engine.create({ city: small, behaviours, seed: 1, driver: 'direct' });
    const meter = OutcomeMeter.attach(engine);
    engine.submit({ type: 'fail', target: 'f', severity: 1 }, { at: 3600 });
    engine.submit({ type: 'restore', target: 'f' }, { at: 3 * 3600 });
    await engine.runUntil(5 * 3_600_000);
    const o = meter.outcome();
    expect(o.peopleHoursWithout.power).toBeCloseTo(2000, 0);
    expect(o.assetOutageHours['feeder']).toBeCloseTo(2, 3);
    expect(o.cost.total).toBe(Math.round(2 * 500 + 2000 * 3.5));
    await engine.stop();
  });

  it('scores trainees against the recorded outcome and shows both timelines', async () => {
    const { dir, cityFile } = smallCityFile();
    // The recorded operators restored the feeder after 4 h.
    const engine = await smallEngineFrom(cityFile);
    engine.submit({ type: 'fail', target: 'f', severity: 1, hazard: 'fire' }, { at: 600, source: 'scenario:fire' });
    await engine.runUntil(600_000 + 4 * 3_600_000);
    engine.submit({ type: 'restore', target: 'f' }, { source: 'http:operator' });
    await engine.runUntil(8 * 3_600_000);
    const rec = saveRecording(engine, { city: { file: cityFile }, dir, id: 'fire' });
    await engine.stop();

    const ledger = new Ledger();
    const exercise = await TrainingExercise.start({ recording: loadRecording(rec.dir), behaviours, handoverMs: 1_200_000, ledger });
    await exercise.runTo(1_800_000);
    exercise.act({ type: 'restore', target: 'f' }, 'trainee-1');
    const report = await exercise.finish();
    expect(report.recorded.peopleHoursWithout.power).toBeCloseTo(4000, 0);
    expect(report.trainee.peopleHoursWithout.power).toBeCloseTo(1000 * (1_800_000 - 600_000) / 3_600_000, 0);
    expect(report.score).toBeGreaterThan(50);
    expect(report.delta.cost).toBeLessThan(0);
    expect(report.timeline.recorded.map((d) => d.who)).toEqual(['http:operator']);
    expect(report.timeline.trainee.map((d) => d.who)).toEqual(['trainee:trainee-1']);
    expect(ledger.entries.map((e) => (e.payload as { event: string }).event)).toEqual(['handover', 'decision', 'score']);
  });

  it('feeds a failure injected by hand after the handover (the incident) but withholds the recorded restore (a decision)', async () => {
    const { dir, cityFile } = smallCityFile();
    const engine = await smallEngineFrom(cityFile);
    await engine.runUntil(3_600_000);
    engine.submit({ type: 'fail', target: 'f', severity: 1 }, { source: 'http:injector' });
    await engine.runUntil(2 * 3_600_000);
    engine.submit({ type: 'restore', target: 'f' }, { source: 'http:operator' });
    await engine.runUntil(4 * 3_600_000);
    const rec = saveRecording(engine, { city: { file: cityFile }, dir, id: 'by-hand' });
    await engine.stop();

    // Handover before the failure: the failure still comes, the restore is the trainees' call.
    const exercise = await TrainingExercise.start({ recording: loadRecording(rec.dir), behaviours, handoverMs: 600_000 });
    await exercise.runTo(3 * 3_600_000);
    expect(exercise.engine.kernel.view(exercise.engine.index.indexOf('f')!).level).toBe(0);
    await exercise.runTo(4 * 3_600_000);
    // At the end of the recording nothing a trainee does can count any more.
    expect(() => exercise.act({ type: 'restore', target: 'f' }, 'trainee-1')).toThrow(/end of the recording/);
    const report = await exercise.finish();
    expect(report.timeline.recorded.map((d) => d.command.type)).toEqual(['restore']);
    // Recorded: 1 h without power; the trainees never restored: 3 h.
    expect(report.recorded.peopleHoursWithout.power).toBeCloseTo(1000, 0);
    expect(report.trainee.peopleHoursWithout.power).toBeCloseTo(3000, 0);
    expect(report.score).toBeLessThan(50);
  });

  it('what-if runs on copies and never touches the live engine', async () => {
    const live = await Engine.create({ city: small, behaviours, seed: 1, driver: 'direct' });
    live.submit({ type: 'fail', target: 'f', severity: 1 }, { at: 60 });
    await live.runUntil(600_000);
    const before = live.summary();
    const result = await whatIf({ city: small, seed: 1, behaviours, journal: live.journal.entries, atMs: 600_000, command: { type: 'restore', target: 'f' }, horizonSeconds: 3600 });
    expect(result.delta.peoplePowerHours).toBeCloseTo(-1000, 0);
    expect(result.delta.cost).toBeLessThan(0);
    expect(live.summary()).toEqual(before);
    expect(live.journal.length).toBe(1);
    await live.stop();
  });
});

describe('recordings of cities with an EPANET water layer', () => {
  it("keep the network: the written city document rebuilds the same city (hash), and a generated source names its water model", async () => {
    const { cityDocument } = await import('./index.ts');
    const { hashCity } = await import('../engine/index.ts');
    const hydraulic = cityFromSource({ generate: { assets: 300, seed: 2, water: 'epanet' } });
    expect(hydraulic.epanet?.inp).toContain('[PUMPS]');
    expect(hashCity(parseCity(cityDocument(hydraulic), 'doc'))).toBe(hashCity(hydraulic));
    // A recording made before generated cities had EPANET (no `water`) replays by connectivity, as recorded.
    expect(cityFromSource({ generate: { assets: 300, seed: 2 } }).epanet).toBeUndefined();
  });
});
