import { readFileSync, writeFileSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../actors/index.ts';
import { Engine, hashCity, journalHeader } from './engine.ts';
import { InputJournal, type InputCommand } from './journal.ts';
import { generateCity } from './model/generate.ts';
import { parseCity } from './model/validate.ts';
import { Rng } from './rng.ts';
import { decodeSnapshot, encodeSnapshot, listSnapshotFiles, loadNewestSnapshot, SnapshotRefused, writeSnapshotFile } from './snapshot.ts';
import { epanetCityDocument } from './water/index.ts';

const SEED = 3;
const city = parseCity(generateCity({ assets: 600, seed: SEED }), 'generated');
const cityHash = hashCity(city);
const ids = city.assets.map((a) => a.id);
const cohorts = city.cohorts.map((c) => c.id);

/** A seeded mix of inputs: damage (with repairs on the clock), telemetry, cyber, heat, orders, isolation. */
function inputs(count: number): { command: InputCommand; at: number }[] {
  const rng = new Rng(77);
  const out: { command: InputCommand; at: number }[] = [];
  let at = 1;
  for (let i = 0; i < count; i++) {
    at += Math.floor(rng.next() * 40);
    const target = ids[Math.floor(rng.next() * ids.length)]!;
    const r = rng.next();
    const command: InputCommand =
      r < 0.55 ? { type: 'telemetry', target, value: Math.round(rng.next() * 900) / 10 }
      : r < 0.75 ? { type: 'fail', target, severity: Math.round(rng.next() * 100) / 100 }
      : r < 0.82 ? { type: 'repair', target }
      : r < 0.88 ? { type: 'cyber', target, attack: 'ddos', severity: 0.5 }
      : r < 0.92 ? { type: 'isolate', target }
      : r < 0.96 ? { type: 'ambient', target: '*', celsius: 20 + Math.round(rng.next() * 20) }
      : { type: 'order', target: cohorts[Math.floor(rng.next() * cohorts.length)]!, order: 'shelter' };
    out.push({ command, at });
  }
  return out;
}

const INPUTS = inputs(1500);
const END_S = INPUTS.at(-1)!.at + 3600;

async function openJournal(dir: string): Promise<InputJournal> {
  return (await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(cityHash, SEED), { mode: 'write' })).journal;
}

/**
 * The live run: every input submitted at its time (the engine advancing to it first), snapshots
 * written after the inputs named in `snapshotAfter`; the run ends at `END_S`. Returns the final hash.
 */
async function liveRun(dir: string, snapshotAfter: readonly number[], keep = 2): Promise<{ hash: string; settledUntil: number; events: number }> {
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: SEED, driver: 'direct', journal: await openJournal(dir) });
  await engine.recover();
  for (let i = 0; i < INPUTS.length; i++) {
    const { command, at } = INPUTS[i]!;
    await engine.runUntil(at * 1000 - 1);
    engine.submit(command, { at });
    if (snapshotAfter.includes(i)) {
      const { bytes, seq } = engine.snapshotBytes();
      await engine.journal.whenDurable();
      await writeSnapshotFile(join(dir, 'snapshots'), bytes, seq, keep);
    }
  }
  await engine.runUntil(END_S * 1000);
  const result = { hash: engine.stream.stateHash(), settledUntil: engine.kernel.settledUntil, events: engine.stream.count };
  await engine.stop();
  return result;
}

/** A restart on `dir`: the newest usable snapshot (if any) plus the journal tail, to `untilMs`. */
async function restart(dir: string, untilMs: number, refusals: string[] = []): Promise<{ engine: Engine; snapshotSeq: number | undefined; replayed: number }> {
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: SEED, driver: 'nact', journal: await openJournal(dir) });
  const loaded = loadNewestSnapshot(join(dir, 'snapshots'), { cityHash, seed: SEED }, {
    refused: (r) => refusals.push(r.reason),
    usable: (header, state) => (engine.journal.locate(header.seq, state.journal.byte) === undefined ? `the journal holds fewer than ${header.seq} entries` : undefined),
  });
  if (loaded !== undefined) engine.restoreState(loaded.state);
  const result = await engine.recover({ untilMs });
  return { engine, snapshotSeq: loaded?.header.seq, replayed: result.replayed };
}

describe('engine snapshots', () => {
  it('a restart from a mid-run snapshot plus the journal tail reaches the hash of the uninterrupted run, and so does a full replay', async () => {
    const uninterrupted = await liveRun(mkdtempSync(join(tmpdir(), 'stratum-snap-a-')), []);
    expect(uninterrupted.events).toBeGreaterThan(3 * 2048); // the chained hash crosses several chunks
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snap-b-'));
    const withSnapshots = await liveRun(dir, [400, 900]);
    expect(withSnapshots.hash).toBe(uninterrupted.hash);
    expect(listSnapshotFiles(join(dir, 'snapshots')).map((s) => s.seq)).toEqual([901, 401]);

    const { engine, snapshotSeq, replayed } = await restart(dir, uninterrupted.settledUntil);
    expect(snapshotSeq).toBe(901);
    expect(replayed).toBe(INPUTS.length - 901);
    expect(engine.stream.stateHash()).toBe(uninterrupted.hash);
    expect(engine.stream.count).toBe(uninterrupted.events);
    expect(engine.journal.length).toBe(INPUTS.length);
    // The restored engine goes on like the uninterrupted one: a further input gives the same hash on both.
    const more: InputCommand = { type: 'fail', target: ids[5]!, severity: 1 };
    engine.submit(more, { at: END_S + 10 });
    await engine.runUntil((END_S + 7200) * 1000);
    expect(engine.journal.entries.length).toBe(INPUTS.length + 1); // the old entries are read back from the file
    const restoredHash = engine.stream.stateHash();
    await engine.stop();

    const full = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: SEED, driver: 'direct' });
    for (const entry of (await openJournal(dir)).readFile()) {
      const at = entry.feedAfter ?? entry.time - 1;
      if (at > full.kernel.settledUntil) await full.runUntil(at);
      full.replay(entry);
    }
    await full.runUntil((END_S + 7200) * 1000);
    expect(full.stream.stateHash()).toBe(restoredHash);
    await full.stop();
  }, 60_000);

  it('refuses a corrupt or torn snapshot with its reason and falls back to the previous one; with none usable it replays the whole journal', async () => {
    const reference = await liveRun(mkdtempSync(join(tmpdir(), 'stratum-snap-c-')), []);
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snap-d-'));
    await liveRun(dir, [500, 1000]);
    const [newest, older] = listSnapshotFiles(join(dir, 'snapshots'));
    // One flipped byte in the body of the newest.
    const bytes = readFileSync(newest!.file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    writeFileSync(newest!.file, bytes);
    const refusals: string[] = [];
    const first = await restart(dir, reference.settledUntil, refusals);
    expect(refusals).toEqual([expect.stringContaining('checksum')]);
    expect(first.snapshotSeq).toBe(older!.seq);
    expect(first.engine.stream.stateHash()).toBe(reference.hash);
    await first.engine.stop();

    // The older one cut short (a torn write) as well: nothing usable, the whole journal is replayed.
    writeFileSync(older!.file, readFileSync(older!.file).subarray(0, 5000));
    refusals.length = 0;
    const second = await restart(dir, reference.settledUntil, refusals);
    expect(refusals).toEqual([expect.stringContaining('checksum'), expect.stringContaining('cut short')]);
    expect(second.snapshotSeq).toBeUndefined();
    expect(second.replayed).toBe(INPUTS.length);
    expect(second.engine.stream.stateHash()).toBe(reference.hash);
    await second.engine.stop();
  }, 60_000);

  it('a state captured from a live engine, restored into an in-memory copy in the same process, goes on exactly like the live one and leaves it untouched', async () => {
    const live = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: SEED, driver: 'nact' });
    for (const { command, at } of INPUTS.slice(0, 600)) {
      await live.runUntil(at * 1000 - 1);
      live.submit(command, { at });
    }
    await live.runUntil(INPUTS[600]!.at * 1000);
    const copy = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: SEED, driver: 'direct' });
    copy.restoreState(live.captureState());
    await copy.recover();
    expect(copy.journal.length).toBe(600);
    const hashAtCut = live.stream.stateHash();
    expect(copy.stream.stateHash()).toBe(hashAtCut);
    // The same further inputs on both: the same hash; the copy's steps never touched the live states.
    for (const engine of [copy, live]) {
      for (const { command, at } of INPUTS.slice(600, 900)) {
        await engine.runUntil(at * 1000 - 1);
        engine.submit(command, { at });
      }
      await engine.runUntil(END_S * 1000);
    }
    expect(copy.stream.stateHash()).toBe(live.stream.stateHash());
    expect(copy.stream.stateHash()).not.toBe(hashAtCut);
    // The copy's journal holds its own tail only, numbered on from the cut.
    expect(copy.journal.since(0).map((e) => e.seq)).toEqual(live.journal.since(600).map((e) => e.seq));
    await copy.stop();
    await live.stop();
  }, 60_000);

  it('a city whose water layer runs EPANET (tank levels, pressures and flows in the solver state) restores from an encoded snapshot and goes on to the same hash', async () => {
    const NET1 = 'engine/water/networks/Net1.inp';
    const document = epanetCityDocument(readFileSync(NET1, 'utf8'), NET1);
    const water = parseCity({ ...document, assets: [...document.assets, { id: 'plant', layer: 'power', kind: 'generator' }], dependencies: [{ from: 'plant', to: 'pump:9', kind: 'power' }], cohorts: [{ id: 'people-32', district: 'default', population: 1000, reliesOn: ['32'] }] }, NET1);
    const waterHash = hashCity(water);
    const HOUR = 3_600_000;
    const script: { command: InputCommand; at: number }[] = [
      { command: { type: 'fail', target: 'plant' }, at: 1800 },
      { command: { type: 'fail', target: '12', severity: 1 }, at: 2 * 3600 },
      { command: { type: 'repair', target: 'plant' }, at: 5 * 3600 },
      { command: { type: 'isolate', target: '10' }, at: 7 * 3600 },
    ];
    const run = async (engine: Engine, untilMs: number): Promise<void> => {
      for (const { command, at } of script) {
        if (at * 1000 <= engine.kernel.settledUntil || at * 1000 > untilMs) continue;
        await engine.runUntil(at * 1000 - 1);
        engine.submit(command, { at });
      }
      await engine.runUntil(untilMs);
    };
    const uninterrupted = await Engine.create({ city: water, cityHash: waterHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    await run(uninterrupted, 3 * HOUR);
    const bytes = encodeSnapshot(uninterrupted.captureState(), uninterrupted.snapshotIdentity());
    await run(uninterrupted, 12 * HOUR);
    const restored = await Engine.create({ city: water, cityHash: waterHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact' });
    restored.restoreState(decodeSnapshot(bytes, 'memory', { cityHash: waterHash, seed: 1 }).state);
    await restored.recover();
    expect(restored.kernel.settledUntil).toBe(3 * HOUR);
    await run(restored, 12 * HOUR);
    expect(restored.stream.stateHash()).toBe(uninterrupted.stream.stateHash());
    expect(restored.describe(restored.index.actorCount - 1)).toEqual(uninterrupted.describe(uninterrupted.index.actorCount - 1));
    await restored.stop();
    await uninterrupted.stop();
  }, 60_000);

  it('finds where a journal entry starts from a snapshot\'s byte offset, and by scanning when the offset is off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snap-g-'));
    const journal = await openJournal(dir);
    const offsets: number[] = [];
    for (let i = 0; i < 30; i++) {
      offsets.push(journal.durable!.appendedBytes);
      journal.append(i + 1, 'cli', INPUTS[i]!.command);
    }
    const end = journal.durable!.appendedBytes;
    await journal.close();
    const reopened = await openJournal(dir);
    expect(reopened.locate(12, offsets[12]!)).toBe(offsets[12]);
    expect(reopened.locate(30, end)).toBe(end); // the end of the file, right after entry 29
    expect(reopened.locate(12, offsets[12]! + 3)).toBe(offsets[12]); // off: found by scanning
    expect(reopened.locate(12, offsets[13]!)).toBe(offsets[12]); // another entry's start: scanned too
    expect(reopened.locate(0, offsets[0]!)).toBe(offsets[0]);
    expect(reopened.locate(31, end)).toBeUndefined();
    await reopened.close();
  });

  it('refuses a snapshot of another city, another seed, or one ahead of the journal, naming why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snap-e-'));
    await liveRun(dir, [200], 1);
    const [only] = listSnapshotFiles(join(dir, 'snapshots'));
    const bytes = readFileSync(only!.file);
    expect(() => decodeSnapshot(bytes, only!.file, { cityHash: 'f'.repeat(64), seed: SEED })).toThrow(/refused: it is of city .* not this city/);
    expect(() => decodeSnapshot(bytes, only!.file, { cityHash, seed: SEED + 1 })).toThrow(SnapshotRefused);
    expect(() => decodeSnapshot(Buffer.from('{"seq":1}\n'), 'x.bin', { cityHash, seed: SEED })).toThrow(/not a snapshot file/);
    // The journal of this folder replaced by a shorter one: the snapshot is ahead of it.
    const short = mkdtempSync(join(tmpdir(), 'stratum-snap-f-'));
    const journal = await openJournal(short);
    for (let i = 0; i < 50; i++) journal.append(i + 1, 'cli', INPUTS[i]!.command);
    await journal.close();
    writeFileSync(join(dir, 'journal.ndjson'), readFileSync(join(short, 'journal.ndjson')));
    const refusals: string[] = [];
    const { engine, snapshotSeq, replayed } = await restart(dir, 60_000, refusals);
    expect(refusals).toEqual(['the journal holds fewer than 201 entries']);
    expect(snapshotSeq).toBeUndefined();
    expect(replayed).toBe(50);
    await engine.stop();
    expect(existsSync(join(dir, 'snapshots'))).toBe(true);
    expect(readdirSync(join(dir, 'snapshots')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});
