import { randomUUID } from 'node:crypto';
import { logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busContract, cacheContract, historyContract, sampleChanges } from './contract.ts';
import { brokersFromEnv, KafkaBus } from './kafka.ts';
import { startTimescalePglite } from './pglite-timescale.ts';
import { RedisCache } from './redis.ts';
import { requireUrl, serviceFromEnv } from './testing.ts';
import { PgHistory } from './timescale.ts';

const kafka = serviceFromEnv('kafka');
const postgres = serviceFromEnv('pg');
const redis = serviceFromEnv('redis');
const tag = randomUUID().slice(0, 8);

describe.skipIf(kafka.skip)(`KafkaBus (${kafka.reason})`, () => {
  busContract(async () => ({ port: new KafkaBus({ brokers: brokersFromEnv(requireUrl(kafka)), logLevel: logLevel.NOTHING }) }), `contract-${tag}`);
});

describe.skipIf(redis.skip)(`RedisCache (${redis.reason})`, () => {
  cacheContract(async () => {
    const prefix = `test:${randomUUID()}`;
    const port = await RedisCache.open({ url: requireUrl(redis), prefix });
    return { port, cleanup: async () => { const c = await RedisCache.open({ url: requireUrl(redis), prefix }); await c.clear(); await c.close(); } };
  });
});

/** A fresh schema per adapter; dropped afterwards. */
function pgMaker(url: () => string, maxConnections: number, writeMethod: 'copy' | 'insert' = 'copy') {
  return async () => {
    const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const port = await PgHistory.open({ url: url(), schema, runId: 'contract', maxConnections, writeMethod, dimensions: (a) => ({ layer: a % 2 === 0 ? 'power' : 'water', district: `d${a % 3}` }) });
    return {
      port,
      cleanup: async () => {
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
        await client.end();
      },
    };
  };
}

describe.skipIf(postgres.skip)(`PgHistory on PostgreSQL, plain partitions (${postgres.reason})`, () => {
  const make = pgMaker(() => requireUrl(postgres), 4);
  historyContract(make);

  it('reports partitions mode and buckets an actor’s history with date_bin', async () => {
    const { port, cleanup } = await make();
    try {
      expect(port.mode).toBe('postgres-partitions');
      await port.appendChanges(sampleChanges(3 * 86_400 / 1_000 * 0 + 200, 2).map((c) => ({ ...c, time: c.time * 1_000 })));
      const buckets = await port.bucketed(0, 0, 200_000_000, 60_000_000);
      expect(buckets.reduce((s, b) => s + b.changes, 0)).toBe(100);
      expect(buckets[0]?.bucketMs).toBe(0);
      const agg = await port.layerDistrictMinutes(0, 200_000_000);
      expect(agg.reduce((s, b) => s + b.changes, 0)).toBe(200);
      // Rows spread over several virtual days went to day partitions, not the default one.
      const parts = await port.pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = '${port.schema}.state_changes'::regclass`);
      expect(parts.rows[0].n).toBeGreaterThan(2);
    } finally {
      await port.close();
      await cleanup();
    }
  });
});

describe('PgHistory on TimescaleDB (PGlite + timescaledb over the wire protocol)', () => {
  let server: { url: string; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    server = await startTimescalePglite();
  }, 60_000);
  afterAll(async () => server?.stop());
  // COPY FROM STDIN, as on a real server (pglite-timescale.ts bundles the COPY with its data for PGlite).
  const make = pgMaker(() => server!.url, 1, 'copy');
  historyContract(make);

  it('migrates to a hypertable, writes with COPY, buckets with time_bucket, refreshes the continuous aggregate per layer/district and compresses', async () => {
    const { port, cleanup } = await make();
    try {
      expect(port.mode).toBe('timescaledb');
      const changes = sampleChanges(400, 4).map((c) => ({ ...c, time: c.time * 1_000 }));
      await port.appendChanges(changes);
      const hyper = await port.pool.query(`SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_schema = $1`, [port.schema]);
      expect(hyper.rows[0].n).toBe(1);
      const buckets = await port.bucketed(1, 0, 1e12, 86_400_000);
      expect(buckets.reduce((s, b) => s + b.changes, 0)).toBe(100);
      await port.refreshAggregates();
      const agg = await port.layerDistrictMinutes(0, 1e12);
      expect(agg.reduce((s, b) => s + b.changes, 0)).toBe(400);
      expect(new Set(agg.map((b) => b.layer))).toEqual(new Set(['power', 'water']));
      expect(await port.compressOlderThan(2 * 86_400_000)).toBeGreaterThan(0);
      // Compressed chunks still answer the same queries.
      expect(await port.actorHistory(1, 0, 1e12)).toEqual(changes.filter((c) => c.actor === 1));
    } finally {
      await port.close();
      await cleanup();
    }
  });
});
