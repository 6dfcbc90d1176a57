import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { Engine } from '../../engine/index.ts';
import type { ServiceHealth } from './health.ts';
import { brokersFromEnv, KafkaEventPublisher, KafkaIngest } from './kafka.ts';
import type { IngestDoor } from '../door/index.ts';
import { RedisCache } from './redis.ts';
import { CacheSink, EngineTap, HistorySink } from './sinks.ts';
import { PgHistory } from './timescale.ts';

/**
 * Optional real adapters for one gateway process, chosen by environment:
 * `STRATUM_PG_URL` (history + journal), `STRATUM_REDIS_URL` (latest-state cache),
 * `STRATUM_KAFKA_BROKERS` (telemetry/commands in, `stratum.events` out). None set: nothing is
 * connected and `health()` is empty. A service that is down at start fails the start (fix the URL
 * or start it); once running, outages are buffered and reported, never fatal.
 */
export interface ConnectedAdapters {
  readonly history: PgHistory | undefined;
  readonly cache: RedisCache | undefined;
  readonly runId: string;
  health(): ServiceHealth[];
  close(): Promise<void>;
}

export async function connectAdapters(engine: Engine, env: NodeJS.ProcessEnv = process.env, door?: IngestDoor): Promise<ConnectedAdapters> {
  const runId = env['STRATUM_RUN_ID'] ?? `run-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const closers: Array<() => Promise<void>> = [];
  const reporters: Array<() => ServiceHealth> = [];
  let history: PgHistory | undefined;
  let cache: RedisCache | undefined;
  let historySink: HistorySink | undefined;
  let cacheSink: CacheSink | undefined;
  try {
    const index = engine.index;
    if (env['STRATUM_PG_URL']) {
      history = await PgHistory.open({
        url: env['STRATUM_PG_URL'],
        runId,
        ...(env['STRATUM_PG_SCHEMA'] ? { schema: env['STRATUM_PG_SCHEMA'] } : {}),
        dimensions: (a) => ({ layer: index.layers[index.layerOf[a] ?? -1] ?? 'cohort', district: index.districts[index.districtOf[a] ?? -1] ?? '' }),
      });
      const h = history;
      // STRATUM_HISTORY_MAX_PENDING: state changes held through an outage (memory ≈ 200 B each).
      const bound = Number(env['STRATUM_HISTORY_MAX_PENDING'] ?? '');
      historySink = new HistorySink(h, runId, h.mode, Number.isInteger(bound) && bound > 0 ? { maxPendingChanges: bound } : {});
      const sink = historySink;
      reporters.push(() => sink.health());
      closers.push(async () => {
        await sink.drain(5_000);
        await sink.close();
        await h.close();
      });
    }
    if (env['STRATUM_REDIS_URL']) {
      cache = await RedisCache.open({ url: env['STRATUM_REDIS_URL'] });
      const c = cache;
      cacheSink = new CacheSink(c, 'redis', index.ids.length);
      const sink = cacheSink;
      reporters.push(() => sink.health());
      closers.push(async () => {
        await sink.drain(3_000);
        await sink.close();
        await c.close();
      });
    }
    const tap = historySink !== undefined || cacheSink !== undefined ? new EngineTap(engine, historySink, cacheSink, { journalFrom: 0 }) : undefined;
    if (tap !== undefined) closers.unshift(async () => tap.close());
    if (env['STRATUM_KAFKA_BROKERS']) {
      const brokers = brokersFromEnv(env['STRATUM_KAFKA_BROKERS']);
      const sink = historySink;
      const ingest = new KafkaIngest({
        brokers,
        engine,
        ...(door === undefined ? {} : { door }),
        groupId: env['STRATUM_KAFKA_GROUP'] ?? 'stratum-engine',
        ...(env['STRATUM_KAFKA_TELEMETRY_TOPIC'] ? { telemetryTopic: env['STRATUM_KAFKA_TELEMETRY_TOPIC'] } : {}),
        ...(env['STRATUM_KAFKA_COMMANDS_TOPIC'] ? { commandsTopic: env['STRATUM_KAFKA_COMMANDS_TOPIC'] } : {}),
        ...(tap === undefined ? {} : { syncJournal: () => tap.syncJournal() }),
        ...(sink === undefined ? {} : { durable: (seq: number) => sink.journalDurable(seq) }),
      });
      await ingest.start();
      const events = new KafkaEventPublisher({ brokers }, engine);
      reporters.push(() => ingest.health(), () => events.health());
      closers.unshift(async () => {
        await ingest.stop();
        await events.close();
      });
    }
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw error;
  }
  let closed = false;
  return {
    history,
    cache,
    runId,
    health: () => reporters.map((r) => r()),
    async close() {
      if (closed) return;
      closed = true;
      for (const close of closers) await close().catch(() => {});
    },
  };
}

/** Adds `stratum_service_up`, `_pending`, `_dropped_total`, `_written_total` per service to a registry. */
export function registerServiceMetrics(registry: Registry, health: () => ServiceHealth[]): void {
  const gauge = (name: string, help: string, pick: (h: ServiceHealth) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['service', 'backend'],
      registers: [registry],
      collect() {
        for (const h of health()) this.set({ service: h.service, backend: h.backend }, pick(h));
      },
    });
  };
  gauge('stratum_service_up', 'External service reachable (1) or failing (0)', (h) => (h.up ? 1 : 0));
  gauge('stratum_service_pending', 'Writes waiting for the service (bounded)', (h) => h.pending);
  gauge('stratum_service_dropped_total', 'Writes dropped because the buffer was full', (h) => h.dropped);
  gauge('stratum_service_written_total', 'Writes the service accepted', (h) => h.written);
}
