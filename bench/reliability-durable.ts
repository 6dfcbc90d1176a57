import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, hashCity, InputJournal, journalHeader, parseCity, type CityModel, type InputCommand } from '../engine/index.ts';
import { DEFAULT_SNAPSHOT_SETTINGS, restoreNewestSnapshot, SnapshotKeeper } from '../gateways/door/index.ts';

/**
 * The durability figures of issue 12 (group `reliability`):
 * - `durableInputsPerSec`: inputs acknowledged after their group commit (write + fdatasync) on the
 *   durable journal, submitted one by one as the doors do, 2,000 per turn of the event loop, the
 *   engine advancing between turns;
 * - `recoverySeconds1M`: a restart's recovery of a 1,000,000-input journal (5,000-asset city) with
 *   snapshots every `STRATUM_SNAPSHOT_EVERY` inputs (default 100,000), in the worst case — the kill
 *   came just before the snapshot at 1,000,000, so the newest is at 900,000: the snapshot loaded,
 *   the 100,000-input tail streamed from disk and replayed in batch mode, the live (nact) driver
 *   started on the result. Beside it `recoveryFullReplaySeconds1M`, the same journal replayed whole
 *   (no snapshot: what recovery did before), and their ratio;
 * - `snapshotBlockMs` / `snapshotBlockMs100k`: the longest the event loop is held at once while the
 *   server's SnapshotKeeper takes a snapshot (the capture between instants, or one frame of 1,024
 *   actor states encoded per turn) on the 5,000-asset city and on a 100,000-asset city, with the
 *   snapshot's whole time and file size;
 * - `heapGrowthMBPerMillionInputs`: heap growth (after GC) over 1,000,000 telemetry inputs on a
 *   live-style engine with the durable journal (only its recent window stays in memory).
 */
export async function runDurableBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const { quick, log } = options;
  const city = parseCity(generateCity({ assets: 5000, seed: 1 }), 'generated');
  const ids = city.assets.map((a) => a.id);
  const dir = mkdtempSync(join(tmpdir(), 'stratum-bench-durable-'));
  try {
    const durable = await durableThroughput(city, ids, join(dir, 'a'), quick ? 50_000 : 300_000);
    log(`  durable: ${durable.inputs} inputs acknowledged in ${durable.seconds.toFixed(2)} s, ${durable.groups} group commits`);
    const n = quick ? 100_000 : 1_000_000;
    const every = quick ? n / 10 : DEFAULT_SNAPSHOT_SETTINGS.every;
    const recovery = await recoveryTimes(city, ids, join(dir, 'b'), n, every);
    log(`  journal of ${n} inputs (${(recovery.bytes / 2 ** 20).toFixed(0)} MiB), snapshots every ${every} (${(recovery.snapshotBytes / 2 ** 20).toFixed(1)} MiB each, ${recovery.blockMs.toFixed(0)} ms on the event loop to take one)`);
    log(`  recovery with snapshots: snapshot at ${recovery.snapshotSeq} loaded in ${recovery.loadSeconds.toFixed(2)} s + ${recovery.replayed} inputs replayed = ${recovery.seconds.toFixed(2)} s; whole journal replayed: ${recovery.fullSeconds.toFixed(2)} s`);
    const big = quick ? undefined : await snapshotCost100k(join(dir, 'd'));
    if (big !== undefined) log(`  100,000-asset city: a snapshot (${(big.bytes / 2 ** 20).toFixed(1)} MiB, ${big.totalMs.toFixed(0)} ms in all) held the event loop ${big.blockMs.toFixed(0)} ms at most at once`);
    const heap = await heapGrowth(city, ids, join(dir, 'c'), n);
    const scale = 1_000_000 / n;
    return {
      durableInputsPerSec: Math.round(durable.inputs / durable.seconds),
      recoverySeconds1M: Math.round(recovery.seconds * scale * 100) / 100,
      recoveryFullReplaySeconds1M: Math.round(recovery.fullSeconds * scale * 100) / 100,
      recoveryFullReplayVsSnapshotRatio: Math.round((recovery.fullSeconds / recovery.seconds) * 10) / 10,
      snapshotBlockMs: Math.round(recovery.blockMs),
      snapshotMiB: Math.round((recovery.snapshotBytes / 2 ** 20) * 10) / 10,
      ...(big === undefined ? {} : { snapshotBlockMs100k: Math.round(big.blockMs), snapshotMiB100k: Math.round((big.bytes / 2 ** 20) * 10) / 10 }),
      heapGrowthMBPerMillionInputs: Math.round(heap * scale * 10) / 10,
      durableNote: quick
        ? 'quick: scaled from 100,000 inputs (snapshots every 10,000); no 100,000-asset snapshot'
        : `fdatasync group commit on the bench tmpdir; recovery with snapshots every ${every} inputs, worst case (tail of ${recovery.replayed} inputs)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const telemetry = (ids: readonly string[], i: number): InputCommand => ({ type: 'telemetry', target: ids[(i * 7919) % ids.length]!, value: (i % 1000) / 10 });

async function durableThroughput(city: CityModel, ids: readonly string[], dir: string, inputs: number): Promise<{ inputs: number; seconds: number; groups: number }> {
  const cityHash = hashCity(city);
  const { journal } = await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(cityHash, 1), { mode: 'fdatasync' });
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct', journal });
  await engine.recover();
  const started = performance.now();
  let acknowledged = 0;
  const perTurn = 2000;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < inputs; i += perTurn) {
    for (let k = 0; k < perTurn; k++) engine.submit(telemetry(ids, i + k), { source: 'http:bench' });
    // Every input of the turn is acknowledged when its group is durable (as the HTTP hook does).
    pending.push(engine.journal.whenDurable().then(() => void (acknowledged += perTurn)));
    await engine.runUntil(engine.now + 1000);
    await new Promise((r) => setImmediate(r));
    if (pending.length > 64) await pending.shift();
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const groups = engine.journal.durable?.groupCount ?? 0;
  await engine.stop();
  return { inputs: acknowledged, seconds, groups };
}

/**
 * Builds the journal a live run of `inputs` readings (500 a virtual second, one Kafka-style batch
 * each) leaves behind, taking a snapshot every `every` inputs as the server does — except the last,
 * at `inputs` itself (the kill came just before it). Then times two restarts of the same folder:
 * newest snapshot + tail, and the whole journal.
 */
async function recoveryTimes(city: CityModel, ids: readonly string[], dir: string, inputs: number, every: number) {
  const cityHash = hashCity(city);
  const file = join(dir, 'journal.ndjson');
  const { journal } = await InputJournal.openDurable(file, journalHeader(cityHash, 1), { mode: 'write' });
  const live = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct', journal });
  await live.recover();
  const keeper = new SnapshotKeeper(live, dir, { ...DEFAULT_SNAPSHOT_SETTINGS, every, intervalMs: 0 });
  const perSecond = 500;
  let blockMs = 0;
  let snapshotBytes = 0;
  let taken = 0;
  for (let i = 0; i < inputs; i += perSecond) {
    const time = 1 + Math.floor(i / perSecond) * 1000;
    await live.runUntil(time - 1);
    const commands: InputCommand[] = [];
    const seqs: number[] = [];
    for (let k = 0; k < perSecond; k++) {
      commands.push(telemetry(ids, i + k));
      seqs.push(i + k);
    }
    live.submitBatch(commands, { source: 'kafka:t:0', sourceSeqs: seqs, at: time / 1000 });
    const length = live.journal.length;
    if (length % every === 0 && length < inputs) {
      await live.runUntil(time);
      const taken1 = await keeper.take();
      if (taken1 === undefined) throw new Error('snapshot failed');
      blockMs = Math.max(blockMs, taken1.blockedMs);
      snapshotBytes = taken1.bytes;
      taken++;
    }
    if ((i / perSecond) % 100 === 0) await live.journal.whenDurable();
  }
  await live.runUntil(live.now + 1000);
  const untilMs = live.kernel.settledUntil;
  const expected = live.stream.stateHash();
  await live.stop();

  const restart = async (withSnapshot: boolean) => {
    const started = performance.now();
    const reopened = await InputJournal.openDurable(file, journalHeader(cityHash, 1));
    const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact', journal: reopened.journal });
    // As the server starts: the newest usable snapshot (checked against the journal), then the tail.
    const found = withSnapshot ? restoreNewestSnapshot(engine, dir, undefined).loaded : undefined;
    const loadSeconds = (performance.now() - started) / 1000;
    const result = await engine.recover({ untilMs });
    const seconds = (performance.now() - started) / 1000;
    if (result.inputs !== inputs) throw new Error(`recovered ${result.inputs} of ${inputs} inputs`);
    if (engine.stream.stateHash() !== expected) throw new Error('the recovered state differs from the live run');
    await engine.stop();
    return { seconds, loadSeconds, replayed: result.replayed, snapshotSeq: found?.seq ?? 0 };
  };
  const snap = await restart(true);
  if (taken === 0 || snap.snapshotSeq === 0) throw new Error('no snapshot was taken or loaded');
  const full = await restart(false);
  return { ...snap, fullSeconds: full.seconds, blockMs, snapshotBytes, bytes: statSync(file).size };
}

/** Event-loop time of one snapshot on a 100,000-asset city after 200,000 telemetry inputs and some damage. */
export async function snapshotCost100k(dir: string): Promise<{ blockMs: number; totalMs: number; bytes: number }> {
  const city = parseCity(generateCity({ assets: 100_000, seed: 2 }), 'generated');
  const ids = city.assets.map((a) => a.id);
  const cityHash = hashCity(city);
  const { journal } = await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(cityHash, 2), { mode: 'write' });
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 2, driver: 'direct', journal });
  await engine.recover();
  for (let i = 0; i < 200_000; i += 5000) {
    const commands: InputCommand[] = [];
    const seqs: number[] = [];
    for (let k = 0; k < 5000; k++) {
      commands.push(telemetry(ids, i + k));
      seqs.push(i + k);
    }
    engine.submitBatch(commands, { source: 'kafka:t:0', sourceSeqs: seqs });
    engine.submit({ type: 'fail', target: ids[(i * 31) % ids.length]!, severity: 1 });
    await engine.runUntil(engine.now + 1000);
  }
  await engine.journal.whenDurable();
  // The worst of three (the first pays for warming the serialiser; GC can land in any).
  const keeper = new SnapshotKeeper(engine, dir, { ...DEFAULT_SNAPSHOT_SETTINGS, intervalMs: 0 });
  let blockMs = 0;
  let totalMs = 0;
  let bytes = 0;
  for (let k = 0; k < 3; k++) {
    const taken = await keeper.take();
    if (taken === undefined) throw new Error('snapshot failed');
    blockMs = Math.max(blockMs, taken.blockedMs);
    totalMs = Math.max(totalMs, taken.totalMs);
    bytes = taken.bytes;
  }
  await engine.stop();
  return { blockMs, totalMs, bytes };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function heapGrowth(city: CityModel, ids: readonly string[], dir: string, inputs: number): Promise<number> {
  const cityHash = hashCity(city);
  const { journal } = await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(cityHash, 1), { mode: 'write' });
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct', journal });
  await engine.recover();
  const batch = 5000;
  const warm = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i += batch) {
      const commands: InputCommand[] = [];
      const seqs: number[] = [];
      for (let k = 0; k < batch; k++) {
        commands.push(telemetry(ids, i + k));
        seqs.push(engine.journal.length + k);
      }
      engine.submitBatch(commands, { source: 'kafka:t:0', sourceSeqs: seqs });
      await engine.runUntil(engine.now + 250);
      if ((i / batch) % 20 === 0) await engine.journal.whenDurable();
    }
    await engine.journal.whenDurable();
  };
  // Warm up past the journal's in-memory window and the stream's ring, then measure.
  await warm(200_000);
  gc();
  const before = process.memoryUsage().heapUsed;
  await warm(inputs);
  gc();
  const after = process.memoryUsage().heapUsed;
  await engine.stop();
  return (after - before) / 2 ** 20;
}
