import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, hashCity, InputJournal, journalHeader, parseCity, type CityModel, type InputCommand } from '../engine/index.ts';

/**
 * The durability figures of issue 12 (group `reliability`):
 * - `durableInputsPerSec`: inputs acknowledged after their group commit (write + fdatasync) on the
 *   durable journal, submitted one by one as the doors do, 2,000 per turn of the event loop, the
 *   engine advancing between turns;
 * - `recoverySeconds1M`: a restart's recovery of a 1,000,000-input journal (5,000-asset city): the
 *   journal streamed from disk, replayed in batch mode, the live (nact) driver started on the result;
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
    const recovery = await recoveryTime(city, ids, join(dir, 'b'), n);
    log(`  recovery: ${n} inputs (${(recovery.bytes / 2 ** 20).toFixed(0)} MiB journal) in ${recovery.seconds.toFixed(2)} s`);
    const heap = await heapGrowth(city, ids, join(dir, 'c'), n);
    return {
      durableInputsPerSec: Math.round(durable.inputs / durable.seconds),
      recoverySeconds1M: Math.round(recovery.seconds * (1_000_000 / n) * 100) / 100,
      heapGrowthMBPerMillionInputs: Math.round(heap * (1_000_000 / n) * 10) / 10,
      durableNote: quick ? 'quick: scaled from 100,000 inputs' : 'fdatasync group commit on the bench tmpdir; recovery replays the whole journal (no state snapshots)',
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

async function recoveryTime(city: CityModel, ids: readonly string[], dir: string, inputs: number): Promise<{ seconds: number; bytes: number }> {
  const cityHash = hashCity(city);
  const file = join(dir, 'journal.ndjson');
  // The journal a live run of `inputs` readings (500 a virtual second) leaves behind.
  const { journal } = await InputJournal.openDurable(file, journalHeader(cityHash, 1), { mode: 'write' });
  for (let i = 0; i < inputs; i++) {
    const time = 1 + Math.floor(i / 500) * 1000;
    journal.append(time, 'kafka:t:0', telemetry(ids, i), i, time - 1);
    if (i % 50_000 === 0) await journal.whenDurable();
  }
  await journal.close();
  const started = performance.now();
  const reopened = await InputJournal.openDurable(file, journalHeader(cityHash, 1));
  const engine = await Engine.create({ city, cityHash, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'nact', journal: reopened.journal });
  const result = await engine.recover();
  const seconds = (performance.now() - started) / 1000;
  if (result.inputs !== inputs) throw new Error(`recovered ${result.inputs} of ${inputs} inputs`);
  await engine.stop();
  return { seconds, bytes: statSync(file).size };
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
