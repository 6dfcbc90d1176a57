import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from 'msgpackr';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StudyCity, runStudy, type StudyOptions } from '../../actors/index.ts';
import { generateCity, loadCityFile } from '../../engine/index.ts';
import { main } from '../cli/index.ts';
import { parseResult, parseTask, runStudyOnKafka } from './study-kafka.ts';
import { spawnStudyWorker, stopProcess, type WorkerProcess } from './study-worker-process.ts';
import { requireUrl, serviceFromEnv } from './testing.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('study messages from outside are validated', () => {
  it('rejects a task that is not msgpack, misses fields or names runs beyond the study, naming the path', () => {
    expect(() => parseTask(Buffer.from('{"v":1}'))).toThrow(/studyId|msgpack|expected/);
    const good = { v: 1, studyId: 's', batch: 0, runs: [0, 1], options: { model: 'stochastic', runs: 2, seed: 1 }, cityHash: 'a'.repeat(64), city: Buffer.from('x') };
    expect(parseTask(pack(good)).runs).toEqual([0, 1]);
    expect(() => parseTask(pack({ ...good, runs: [0, 2] }))).toThrow(/runs: a run number is not below options.runs/);
    expect(() => parseTask(pack({ ...good, options: { ...good.options, model: 'nope' } }))).toThrow(/options\.model/);
    expect(() => parseTask(null)).toThrow(/tombstone/);
  });

  it('rejects a result with a bad outcome, naming the path', () => {
    const good = { v: 1, studyId: 's', run: 0, worker: 'w', outcome: { seed: 1, triggered: [], failedFraction: 0.5, stateHash: 'h' }, failed: [1], caused: [[1, 2]] };
    expect(parseResult(Buffer.from(JSON.stringify(good)))).toMatchObject({ run: 0 });
    expect(() => parseResult(Buffer.from(JSON.stringify({ ...good, outcome: { ...good.outcome, failedFraction: 2 } })))).toThrow(/failedFraction/);
    expect(() => parseResult(Buffer.from('not json'))).toThrow(/not JSON/);
  });
});

const kafka = serviceFromEnv('kafka');
if (kafka.skip) console.log(`gateways/adapters/study-kafka.test.ts: ${kafka.reason}`);

describe.skipIf(kafka.skip)(`Monte Carlo over Kafka with stratum worker processes (${kafka.reason})`, () => {
  let dir: string;
  let cityFile: string;
  let study: StudyCity;
  const workers: WorkerProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-study-kafka-'));
    cityFile = join(dir, 'city.json');
    writeFileSync(cityFile, JSON.stringify(generateCity({ assets: 400, seed: 11 })));
    study = new StudyCity(loadCityFile(cityFile));
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => stopProcess(w.child)));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startWorker(name: string, topic: string, group: string): Promise<WorkerProcess> {
    const worker = await spawnStudyWorker({ brokers: requireUrl(kafka), topic, group, name });
    workers.push(worker);
    return worker;
  }

  it('`cascade --workers kafka` with 2 worker processes prints the same result as a local run, with progress on stderr', async () => {
    const topic = `stratum.test-studies.${randomUUID()}`;
    const group = `stratum-test-workers-${randomUUID()}`;
    await Promise.all([startWorker('w1', topic, group), startWorker('w2', topic, group)]);
    const args = ['cascade', '--city', cityFile, '--model', 'motter-lai', '--attack', 'random', '--runs', '24', '--seed', '7', '--json'];
    let local = '';
    expect(await main(['node', 'stratum', ...args, '--workers', '1'], { out: (s) => void (local += s), err: () => {} })).toBe(0);

    const cli = spawn(process.execPath, ['bin/stratum.mjs', ...args, '--workers', 'kafka', '--brokers', requireUrl(kafka), '--study-topic', topic], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
    expect(code, err).toBe(0);
    expect(out).toBe(local);
    const result = JSON.parse(out) as { runs: number; perRun: Array<{ stateHash: string }> };
    expect(result.runs).toBe(24);
    expect(new Set(result.perRun.map((r) => r.stateHash)).size).toBeGreaterThan(1); // the runs differ: a real study
    // Progress on the submitting CLI (stderr is not a terminal here: one line per tenth).
    expect(err).toMatch(/kafka: \d+\/24 runs done by \d worker\(s\)/);
    expect(err).toContain('kafka: 24/24 runs done by 2 worker(s)');
    // Both workers took a share.
    expect(workers[0]!.runs.length).toBeGreaterThan(0);
    expect(workers[1]!.runs.length).toBeGreaterThan(0);
  });

  it('a worker killed mid-batch loses nothing: its batch is redone by the other and the result is identical', async () => {
    const topic = `stratum.test-studies.${randomUUID()}`;
    const group = `stratum-test-workers-${randomUUID()}`;
    const [victim, survivor] = await Promise.all([startWorker('victim', topic, group), startWorker('survivor', topic, group)]);
    const options: StudyOptions = { model: 'motter-lai', attack: { kind: 'random', count: 1 }, runs: 40, seed: 3 };
    const local = await runStudy(study, options);

    const batchSize = 5;
    let killedAfterRun: number | undefined;
    // Kill the victim right after a run that is not the last of its batch: that batch is in flight, uncommitted.
    victim.child.stderr!.on('data', () => {
      const last = victim.runs.at(-1);
      if (killedAfterRun === undefined && last !== undefined && last % batchSize !== batchSize - 1) {
        killedAfterRun = last;
        victim.child.kill('SIGKILL');
      }
    });
    const progress: number[] = [];
    const result = await runStudyOnKafka(study, readFileSync(cityFile, 'utf8'), options, {
      brokers: [requireUrl(kafka)],
      topic,
      batchSize,
      onProgress: (done) => progress.push(done),
    });
    expect(killedAfterRun, 'the victim was killed mid-study').toBeDefined();
    expect(result).toEqual(local);
    expect(progress.at(-1)).toBe(40);
    // The batch the victim was in was redone by the survivor (at least once: the repeat was dropped).
    const batchOf = (run: number): number => Math.floor(run / batchSize);
    expect(survivor.runs.filter((r) => batchOf(r) === batchOf(killedAfterRun!))).toContain(killedAfterRun);
    expect(victim.runs.length + survivor.runs.length).toBeGreaterThan(40);
  });
});
