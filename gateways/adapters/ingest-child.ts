/**
 * Test and bench helper, run as a child process: an engine (direct driver) on a small generated
 * city that restores itself from the PostgreSQL journal of `RUN_ID`, then consumes telemetry from
 * Kafka, journals to PostgreSQL, and commits offsets only after the journal is durable.
 * Prints `accepted <n>` every 50 ms and `done <json>` once `EXPECT` kafka entries are journalled and
 * the offsets of every partition are committed up to the end of the topic as it was at start.
 */
import { Kafka, logLevel } from 'kafkajs';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity } from '../../engine/index.ts';
import { brokersFromEnv, KafkaIngest } from './kafka.ts';
import { EngineTap, HistorySink } from './sinks.ts';
import { PgHistory } from './timescale.ts';

const env = process.env;
const runId = env['RUN_ID']!;
const expected = Number(env['EXPECT']);
const city = parseCity(generateCity({ assets: 100, seed: 7 }), 'generated');
const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 7, driver: 'direct' });
const history = await PgHistory.open({ url: env['STRATUM_PG_URL']!, schema: env['SCHEMA']!, runId, maxConnections: 2 });
const recorded = await history.readJournal(runId);
for (const entry of recorded) engine.replay(entry);
if (recorded.length > 0) await engine.runUntil(recorded[recorded.length - 1]!.time);
const sink = new HistorySink(history, runId, history.mode);
sink.markDurable(recorded.length - 1);
const tap = new EngineTap(engine, sink, undefined, { journalFrom: engine.journal.length });
const kafkaEntries = (): number => engine.journal.entries.filter((e) => e.source.startsWith('kafka:')).length;
process.stdout.write(`restored ${recorded.length}\n`);
const ingest = new KafkaIngest({
  brokers: brokersFromEnv(env['STRATUM_KAFKA_BROKERS']!),
  groupId: env['GROUP']!,
  telemetryTopic: env['TOPIC']!,
  commandsTopic: null,
  deadLetterTopic: `${env['TOPIC']!}.dlq`,
  engine,
  logLevel: logLevel.NOTHING,
  syncJournal: () => tap.syncJournal(),
  durable: (seq) => sink.journalDurable(seq),
  afterBatch: async () => {
    const last = engine.journal.entries[engine.journal.length - 1];
    if (last !== undefined) await engine.runUntil(last.time);
    // Widens the window between "journal durable" and "offsets committed" so a kill lands in it.
    const delay = Number(env['COMMIT_DELAY_MS'] ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  },
});
// The burst is produced before this process starts: its end offsets are where consuming is complete.
const admin = new Kafka({ brokers: brokersFromEnv(env['STRATUM_KAFKA_BROKERS']!), logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const ends = (await admin.fetchTopicOffsets(env['TOPIC']!)).map((p) => ({ key: `${env['TOPIC']!}:${p.partition}`, high: Number(p.high) }));
await admin.disconnect();
// Every message journalled is not enough: partitions arrive in any order, and a partition whose
// messages were all journalled before the kill is still read again (and dropped) before its commit.
const caughtUp = (): boolean => ends.every((e) => e.high === 0 || (ingest.committedOffsets.get(e.key) ?? 0) >= e.high);
let finished = false;
const check = setInterval(() => {
  if (finished) return;
  process.stdout.write(`accepted ${kafkaEntries()} dup ${ingest.counters.duplicates} history ${JSON.stringify(sink.health())}\n`);
  if (kafkaEntries() >= expected && caughtUp()) {
    finished = true;
    void (async () => {
      tap.syncJournal();
      await sink.drain(10_000);
      const entries = engine.journal.entries.filter((e) => e.source.startsWith('kafka:'));
      process.stdout.write(`done ${JSON.stringify({ entries: entries.length, duplicates: ingest.counters.duplicates, deadLettered: ingest.counters.deadLettered, hash: engine.summary().stateHash })}\n`);
      clearInterval(check);
      await ingest.stop();
      await sink.close();
      await history.close();
      process.exit(0);
    })();
  }
}, 50);
await ingest.start();
