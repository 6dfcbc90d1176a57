import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity } from '../../engine/index.ts';
import { brokersFromEnv, KafkaIngest } from './kafka.ts';
import { requireUrl, serviceFromEnv, waitFor } from './testing.ts';

const kafka = serviceFromEnv('kafka');
const city = parseCity(generateCity({ assets: 100, seed: 9 }), 'generated');

describe.skipIf(kafka.skip)(`KafkaIngest against a real broker (${kafka.reason})`, () => {
  it('applies JSON and msgpack telemetry, dead-letters bad messages in offset order, and commits the offsets it applied', async () => {
    const tag = randomUUID().slice(0, 8);
    const topic = `ingest-${tag}`;
    const groupId = `g-${tag}`;
    const brokers = brokersFromEnv(requireUrl(kafka));
    const client = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const ids = city.assets.slice(0, 60).map((a) => a.id);
    const engines: Engine[] = [];
    const ingests: KafkaIngest[] = [];
    const start = async (): Promise<{ engine: Engine; ingest: KafkaIngest }> => {
      const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 9, driver: 'direct' });
      const ingest = new KafkaIngest({
        brokers, groupId, engine, telemetryTopic: topic, commandsTopic: null, deadLetterTopic: `${topic}.dlq`, logLevel: logLevel.NOTHING,
        afterBatch: async () => {
          const last = engine.journal.entries[engine.journal.length - 1];
          if (last !== undefined) await engine.runUntil(last.time);
        },
      });
      engines.push(engine);
      ingests.push(ingest);
      await ingest.start();
      return { engine, ingest };
    };
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }, { topic: `${topic}.dlq`, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      const good = Array.from({ length: 3_000 }, (_, i) => ({ key: ids[i % ids.length]!, value: i % 2 === 0 ? `{"value":${(i % 50) / 4},"seq":${i}}` : pack({ value: (i % 50) / 4 }) }));
      // Bad ones at known offsets: 3000 (not JSON), 3001 (unknown asset), 3002 (negative), 3003 (no key).
      const bad = [{ key: ids[0]!, value: '{oops' }, { key: 'no-such-asset', value: '{"value":1}' }, { key: ids[1]!, value: '{"value":-2}' }, { key: null, value: '{"value":1}' }];
      await producer.send({ topic, messages: good.slice(0, 1_500) });
      await producer.send({ topic, messages: [...good.slice(1_500), ...bad] });

      const first = await start();
      await waitFor('every message handled and committed', () => first.ingest.counters.committed >= 3_004, 30_000);
      expect(first.ingest.counters).toMatchObject({ accepted: 3_000, deadLettered: 4, duplicates: 0, committed: 3_004 });
      // The last reading of each asset is its demand load now.
      await waitFor('the last batch applied', () => first.engine.kernel.settledUntil >= first.engine.journal.entries[2_999]!.time, 10_000);
      const last = first.engine.index.indexOf(ids[2_999 % ids.length]!)!;
      expect(first.engine.describe(last)['load']).toBeGreaterThanOrEqual((2_999 % 50) / 4);
      // Offsets are committed in the broker, not only counted.
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed[0]?.partitions[0]?.offset).toBe('3004');

      const dlq = client.consumer({ groupId: `dlq-${tag}` });
      const dead: Array<{ offset: string; reason: string }> = [];
      await dlq.connect();
      await dlq.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
      await dlq.run({ eachMessage: async ({ message }) => void dead.push({ offset: String(message.headers?.['stratum-source-offset']), reason: String(message.headers?.['stratum-reason']) }) });
      await waitFor('four dead letters', () => dead.length >= 4, 15_000);
      await dlq.disconnect();
      expect(dead.map((d) => d.offset)).toEqual(['3000', '3001', '3002', '3003']);
      expect(dead[1]!.reason).toMatch(/no-such-asset/);
      expect(dead[2]!.reason).toMatch(/value\.value/);

      // A second node of the same group resumes after the committed offsets: it gets only what is new.
      await first.ingest.stop();
      const second = await start();
      await producer.send({ topic, messages: [{ key: ids[2]!, value: '{"value":7}' }] });
      // One partition, read in order: anything re-read from before the committed offset would have
      // been counted before the new message is, so the counters at this point tell the whole story.
      await waitFor('the new message', () => second.ingest.counters.committed >= 3_005, 30_000);
      expect(second.ingest.counters).toMatchObject({ accepted: 1, deadLettered: 0, committed: 3_005 });
    } finally {
      for (const ingest of ingests) await ingest.stop().catch(() => {});
      for (const engine of engines) await engine.stop();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
      await admin.disconnect();
    }
  }, 90_000);
});
