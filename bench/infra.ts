import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createBehaviours } from '../actors/index.ts';
import { Engine, generateCity, parseCity, type CityModel, type StateChange } from '../engine/index.ts';
import { brokersFromEnv, changeLine, CHANGE_COLUMNS, HistorySink, KafkaIngest, PgHistory } from '../gateways/adapters/index.ts';
import { startTimescalePglite } from '../gateways/adapters/pglite-timescale.ts';

/**
 * Real-infrastructure figures (needs STRATUM_KAFKA_BROKERS and STRATUM_PG_URL):
 * - telemetry ingest through the engine (KafkaIngest: decode, validate, journal, apply, commit)
 *   vs a raw kafkajs consumer of the same topic, same messages, same fetch sizes →
 *   `kafkaIngestRatio` (target ≥ 0.7; medians of five alternating rounds after an untimed one of each, each round's ratio in
 *   `kafkaIngestRatioPerRound`, and the CPU-time ratio `kafkaIngestCpuRatio`);
 * - history writes through PgHistory (behind HistorySink) vs a raw COPY of the same rows
 *   → `historyWriteRatio` (target ≥ 0.8) on plain PostgreSQL, and `historyWriteRatioTimescale` on
 *   a TimescaleDB hypertable (PGlite + TimescaleDB over the wire protocol, no server needed).
 */
export async function runInfraBench(options: { quick: boolean; log: (s: string) => void }): Promise<Record<string, number | string>> {
  const brokers = process.env['STRATUM_KAFKA_BROKERS'];
  const url = process.env['STRATUM_PG_URL'];
  if (!brokers || !url) return { skipped: 'STRATUM_KAFKA_BROKERS and STRATUM_PG_URL not set (eval "$(bash infrastructure/native/all.sh start)")' };
  const { log } = options;
  // Kafka hands out ~33,000 of these messages per fetch (1 MiB); the first batch is not timed, so
  // several batches are needed: 9 (3 in a quick run).
  const messages = options.quick ? 100_000 : 300_000;
  const rows = options.quick ? 50_000 : 300_000;
  const out: Record<string, number | string> = { date: new Date().toISOString().slice(0, 10), telemetryMessages: messages, historyRows: rows };

  // ---- Kafka ingest ----
  const kafka = new Kafka({ brokers: brokersFromEnv(brokers), logLevel: logLevel.NOTHING });
  const topic = `bench-telemetry-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const city = parseCity(generateCity({ assets: 1_000, seed: 11 }), 'bench');
  const ids = city.assets.map((a) => a.id);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < messages; i += 5_000) {
    await producer.send({ topic, messages: Array.from({ length: Math.min(5_000, messages - i) }, (_, j) => ({ key: ids[(i + j) % ids.length]!, value: `{"value":${((i + j) % 500) / 10}}` })) });
  }
  await producer.disconnect();
  log(`infra: produced ${messages} telemetry messages to ${topic}`);

  // Alternating rounds (raw, engine, raw, engine, …), each a fresh consumer group reading the whole
  // topic: a hiccup of the machine then spoils one round, not the figure (the median is reported).
  // One untimed round of each first: kafkajs's decoder is shared and the raw round ran it first, so
  // the first engine round alone paid for compiling its own path (it was always the lowest).
  if (!options.quick) {
    await rawRound(kafka, topic, messages);
    await engineRound(brokers, topic, messages, city);
    log('infra: warm-up round done (not counted)');
  }
  const rounds = options.quick ? 1 : 5;
  const rawRounds: Round[] = [];
  const engineRounds: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    rawRounds.push(await rawRound(kafka, topic, messages));
    engineRounds.push(await engineRound(brokers, topic, messages, city));
    log(`infra: round ${r + 1}: kafka raw ${Math.round(rawRounds[r]!.rate)} msg/s, through the engine ${Math.round(engineRounds[r]!.rate)} msg/s; CPU µs/msg raw ${rawRounds[r]!.cpuUsPerMessage.toFixed(2)}, engine ${engineRounds[r]!.cpuUsPerMessage.toFixed(2)}`);
  }
  const rawRate = median(rawRounds.map((x) => x.rate));
  const engineRate = median(engineRounds.map((x) => x.rate));
  const rawCpu = median(rawRounds.map((x) => x.cpuUsPerMessage));
  const engineCpu = median(engineRounds.map((x) => x.cpuUsPerMessage));
  out['kafkaRounds'] = rounds;
  out['kafkaRawMsgsPerSec'] = Math.round(rawRate);
  out['kafkaEngineMsgsPerSec'] = Math.round(engineRate);
  out['kafkaIngestRatio'] = Number((engineRate / rawRate).toFixed(2));
  out['kafkaIngestRatioPerRound'] = engineRounds.map((e, r) => (e.rate / rawRounds[r]!.rate).toFixed(2)).join(' ');
  out['kafkaRawCpuUsPerMsg'] = Number(rawCpu.toFixed(2));
  out['kafkaEngineCpuUsPerMsg'] = Number(engineCpu.toFixed(2));
  out['kafkaIngestCpuRatio'] = Number((rawCpu / engineCpu).toFixed(2));
  log(`infra: kafka median raw ${Math.round(rawRate)} msg/s, through the engine ${Math.round(engineRate)} msg/s`);

  // ---- History writes: plain PostgreSQL, then the TimescaleDB hypertable (PGlite + TimescaleDB) ----
  const plain = await historyWrites(url, rows, 4);
  out['historyMode'] = plain.mode;
  out['historyRawCopyRowsPerSec'] = plain.raw;
  out['historyAdapterRowsPerSec'] = plain.adapter;
  out['historyWriteRatio'] = Number((plain.adapter / plain.raw).toFixed(2));
  log(`infra: history (${plain.mode}) raw COPY ${plain.raw} rows/s (pre-formatted), adapter ${plain.adapter} rows/s (formatting included)`);
  // PGlite is one single-threaded backend behind one connection: fewer rows, a pool of one.
  const timescaleRows = options.quick ? 20_000 : 100_000;
  const pglite = await startTimescalePglite();
  try {
    const hyper = await historyWrites(pglite.url, timescaleRows, 1);
    out['historyModeTimescale'] = hyper.mode;
    out['historyRowsTimescale'] = timescaleRows;
    out['historyRawCopyRowsPerSecTimescale'] = hyper.raw;
    out['historyAdapterRowsPerSecTimescale'] = hyper.adapter;
    out['historyWriteRatioTimescale'] = Number((hyper.adapter / hyper.raw).toFixed(2));
    log(`infra: history (${hyper.mode}, PGlite + TimescaleDB) raw COPY ${hyper.raw} rows/s, adapter ${hyper.adapter} rows/s`);
  } finally {
    await pglite.stop();
  }
  return out;
}

/**
 * The same rows written twice into a fresh schema's `state_changes`: through `PgHistory` behind
 * `HistorySink` (formatting included), then by one raw COPY of the pre-formatted lines.
 */
async function historyWrites(url: string, rows: number, maxConnections: number): Promise<{ mode: string; raw: number; adapter: number }> {
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const history = await PgHistory.open({ url, schema, runId: 'bench', maxConnections, dimensions: (a) => ({ layer: 'power', district: `d${a % 8}` }) });
  const mode = history.mode;
  const changes: StateChange[] = Array.from({ length: rows }, (_, i) => ({
    time: i * 10, seq: i, actor: i % 1_000,
    before: { status: 0, level: 1, load: i / 3, stress: 0.5 },
    after: { status: 1, level: 0.75, load: i / 7, stress: 0.625 + i / 1e6 },
    cause: { code: 4, from: (i * 31) % 1_000, seq: i, time: i * 10 },
  }));
  // Warm the partitions (chunks) and the connection, then time.
  await history.appendChanges(changes.slice(0, 100));
  const sink = new HistorySink(history, 'bench', mode, { maxPendingChanges: rows * 2, batchSize: 20_000 });
  const t0 = performance.now();
  sink.pushChanges(changes);
  await sink.drain(600_000);
  const adapter = rows / ((performance.now() - t0) / 1000);
  await sink.close();
  // Closed before the raw client connects: PGlite serves one connection at a time.
  await history.close();

  const lines: string[] = [];
  let chunk = '';
  for (const c of changes) {
    chunk += changeLine('bench', c, { layer: 'power', district: `d${c.actor % 8}` });
    if (chunk.length > 65_536) {
      lines.push(chunk);
      chunk = '';
    }
  }
  if (chunk !== '') lines.push(chunk);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t1 = performance.now();
    await pipeline(Readable.from(lines), client.query(copyFrom(`COPY ${schema}.state_changes (${CHANGE_COLUMNS.join(', ')}) FROM STDIN`)));
    const raw = rows / ((performance.now() - t1) / 1000);
    return { mode, raw: Math.round(raw), adapter: Math.round(adapter) };
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  }
}

interface Round {
  /** Messages per second over the timed window. */
  readonly rate: number;
  /** Process CPU time (all threads, GC included) per timed message, µs: steadier than wall time on a busy machine. */
  readonly cpuUsPerMessage: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// Both sides are timed from the end of their first batch to the end of their last one, over the
// messages of the batches in between: each timed batch then costs one fetch and one processing on
// both sides (timing from the first batch's arrival would count its messages but not its fetch).

/** A bare kafkajs consumer of the topic: it only counts the messages. */
async function rawRound(kafka: Kafka, topic: string, messages: number): Promise<Round> {
  const raw = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  await raw.connect();
  await raw.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let start = 0;
  let first = 0;
  let cpu = process.cpuUsage();
  const end = await new Promise<number>((resolve) => {
    void raw.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value !== null) seen++;
        if (start === 0) {
          start = performance.now();
          first = seen;
          cpu = process.cpuUsage();
        }
        if (seen >= messages) {
          cpu = process.cpuUsage(cpu);
          resolve(performance.now());
        }
      },
    });
  });
  await raw.disconnect();
  const timed = messages - first;
  return { rate: timed / ((end - start) / 1000), cpuUsPerMessage: (cpu.user + cpu.system) / timed };
}

/** KafkaIngest into a fresh engine: decode, validate, journal, apply (batch mode: each Kafka batch is one instant), commit. */
async function engineRound(brokers: string, topic: string, messages: number, city: CityModel): Promise<Round> {
  const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 11, driver: 'direct' });
  let start = 0;
  let first = 0;
  let end = 0;
  let cpu = process.cpuUsage();
  const ingest = new KafkaIngest({
    brokers: brokersFromEnv(brokers),
    groupId: `bench-engine-${randomUUID()}`,
    telemetryTopic: topic,
    commandsTopic: null,
    deadLetterTopic: `${topic}.dlq`,
    engine,
    logLevel: logLevel.NOTHING,
    afterBatch: async () => {
      const last = engine.journal.entries[engine.journal.length - 1];
      if (last !== undefined) await engine.runUntil(last.time);
    },
    // Its job ends with the commit (the raw consumer's does not include one).
    onBatchDone: (counters) => {
      if (start === 0) {
        start = performance.now();
        first = counters.accepted;
        cpu = process.cpuUsage();
      } else if (counters.committed >= messages && end === 0) {
        end = performance.now();
        cpu = process.cpuUsage(cpu);
      }
    },
  });
  try {
    await ingest.start();
    const deadline = Date.now() + 120_000;
    while (end === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  } finally {
    await ingest.stop();
    await engine.stop();
  }
  if (end === 0) throw new Error(`the engine did not ingest ${messages} messages within 120 s (accepted ${ingest.counters.accepted})`);
  const timed = ingest.counters.accepted - first;
  return { rate: timed / ((end - start) / 1000), cpuUsPerMessage: (cpu.user + cpu.system) / timed };
}
