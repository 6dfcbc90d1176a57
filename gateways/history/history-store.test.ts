import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgHistoryQueries } from '../adapters/history-pg.ts';
import { startTimescalePglite } from '../adapters/pglite-timescale.ts';
import { requireUrl, serviceFromEnv } from '../adapters/testing.ts';
import { PgHistory } from '../adapters/timescale.ts';
import { contractData, historyQueryContract, oracleSeries, type HistoryUnderTest } from './history-contract.ts';
import { alignRange, assetSeries, EmbeddedHistory, seriesBuckets } from './history-store.ts';

const postgres = serviceFromEnv('pg');

describe('EmbeddedHistory', () => {
  historyQueryContract(async () => {
    const store = new EmbeddedHistory();
    return { queries: store, write: async (c, s) => { store.appendChanges(c); store.appendSamples(s); }, cleanup: async () => {} };
  });

  it('keeps at most maxChanges, evicting the oldest first, and still answers from what it holds', async () => {
    const { changes } = contractData();
    const store = new EmbeddedHistory({ maxChanges: 100, maxSamples: 10 });
    store.appendChanges(changes);
    expect(store.changeCount).toBe(100);
    const held = changes.slice(-100);
    expect(await store.retainedFromMs()).toBe(changes[changes.length - 101]!.time);
    const a0 = held.filter((c) => c.actor === 0);
    // The state before the oldest held change is still known (the evicted change's after).
    const raw = await store.assetRaw(0, 0, 1e12, 1e12);
    expect(raw.buckets[0]?.changes).toBe(a0.length);
    expect(raw.buckets[0]?.first).toEqual(a0[0]!.before);
  });

  it('answers layer buckets in whole minutes from its minute roll-up exactly as from the samples it holds, eviction included', async () => {
    const { samples } = contractData();
    const store = new EmbeddedHistory({ maxSamples: 300 });
    store.appendSamples(samples);
    const held = samples.slice(-300);
    const oldest = held[0]!.time;
    for (const [fromMs, step] of [[0, 60_000], [oldest - 120_000, 60_000], [oldest + 3 * 60_000, 5 * 60_000], [oldest + 3_600_000, 3_600_000], [oldest + 17_000, 90_000]] as const) {
      const r = alignRange(fromMs, held.at(-1)!.time + 1, step);
      for (const [layer, district] of [['*', '*'], ['power', 'd0']] as const) {
        const got = seriesBuckets(await store.seriesRaw(layer, district, r.fromMs, r.toMs, step), r.fromMs, r.toMs, step);
        expect(got, `${layer}/${district} from ${fromMs} step ${step}`).toEqual(oracleSeries(held, layer, district, r.fromMs, r.toMs, step));
      }
    }
  });

  it('carries what it holds across a restart: exportHeld then importHeld answers as the original, ahead of what the new store holds, within its own bounds', async () => {
    const { changes, samples } = contractData();
    const cut = Math.floor(changes.length * 0.7);
    const cutSamples = samples.findIndex((x) => x.time > changes[cut]!.time);
    const original = new EmbeddedHistory({ maxChanges: 150, maxSamples: 200 });
    original.appendChanges(changes);
    original.appendSamples(samples);
    // Before the snapshot: the first part; after the restart the rest arrives first, then the import.
    const before = new EmbeddedHistory({ maxChanges: 150, maxSamples: 200 });
    before.appendChanges(changes.slice(0, cut));
    before.appendSamples(samples.slice(0, cutSamples));
    const restarted = new EmbeddedHistory({ maxChanges: 150, maxSamples: 200 });
    restarted.appendChanges(changes.slice(cut));
    restarted.appendSamples(samples.slice(cutSamples));
    restarted.importHeld(before.exportHeld());
    expect([restarted.changeCount, restarted.sampleCount]).toEqual([original.changeCount, original.sampleCount]);
    expect(await restarted.retainedFromMs()).toBe(await original.retainedFromMs());
    for (const actor of new Set(changes.map((c) => c.actor))) {
      expect(await restarted.assetRaw(actor, 0, 1e12, 60_000), `actor ${actor}`).toEqual(await original.assetRaw(actor, 0, 1e12, 60_000));
      expect(await restarted.statusChanges(actor, 0, 1e12, 1000)).toEqual(await original.statusChanges(actor, 0, 1e12, 1000));
    }
    for (const { layer, district } of samples) expect(await restarted.seriesRaw(layer, district, 0, 1e12, 60_000)).toEqual(await original.seriesRaw(layer, district, 0, 1e12, 60_000));
    // Smaller bounds after the restart: the oldest go, as if it had always had them.
    const smaller = new EmbeddedHistory({ maxChanges: 40, maxSamples: 30 });
    smaller.importHeld(original.exportHeld());
    expect(smaller.changeCount).toBe(40);
    expect(smaller.sampleCount).toBe(30);
    const direct = new EmbeddedHistory({ maxChanges: 40, maxSamples: 30 });
    direct.appendChanges(changes);
    direct.appendSamples(samples);
    expect(await smaller.assetRaw(0, 0, 1e12, 60_000)).toEqual(await direct.assetRaw(0, 0, 1e12, 60_000));
  });

  it('refuses a bound that is not a whole number ≥ 1, naming the setting', () => {
    expect(() => new EmbeddedHistory({ maxChanges: 0 })).toThrow(/STRATUM_HISTORY_MAX_CHANGES/);
    expect(() => new EmbeddedHistory({ maxSamples: 1.5 })).toThrow(/STRATUM_HISTORY_MAX_SAMPLES/);
  });

  it('shows an asset that never changed with the fallback state in every bucket', async () => {
    const store = new EmbeddedHistory();
    const r = alignRange(0, 3_600_000, 600_000);
    const buckets = assetSeries(await store.assetRaw(5, r.fromMs, r.toMs, 600_000), r.fromMs, r.toMs, 600_000, { status: 1, level: 0.5, load: 3, stress: 0.1 });
    expect(buckets).toHaveLength(6);
    expect(buckets.every((b) => b.changes === 0 && b.meanLoad === 3 && b.lastStatus === 1)).toBe(true);
  });
});

/** A fresh schema per run of the contract, dropped afterwards. */
function pgMaker(url: () => string, maxConnections: number) {
  return async (): Promise<HistoryUnderTest> => {
    const schema = `h_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const history = await PgHistory.open({ url: url(), schema, runId: 'contract', maxConnections });
    const queries = await PgHistoryQueries.open(history);
    // Another run in the same tables must not leak into the answers.
    const other = queries.forRun('other');
    const { changes, samples } = contractData();
    await other.appendSamples(samples.map((s) => ({ ...s, failed: s.failed + 1_000 })));
    return {
      queries,
      async write(c, s) {
        await history.appendChanges(c);
        await queries.appendSamples(s);
      },
      materialise: history.mode === 'timescaledb' ? async () => queries.refreshSeries(0, changes.at(-1)!.time + 3_600_000) : undefined,
      async cleanup() {
        await history.close();
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
        await client.end();
      },
    } as HistoryUnderTest;
  };
}

describe.skipIf(postgres.skip)(`PgHistoryQueries on PostgreSQL (${postgres.reason})`, () => {
  historyQueryContract(pgMaker(() => requireUrl(postgres), 4));

  it('deletes a run not written for the retention interval, and only that run', async () => {
    const schema = `h_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const history = await PgHistory.open({ url: requireUrl(postgres), schema, runId: 'fresh' });
    try {
      const queries = await PgHistoryQueries.open(history);
      const sample = { time: 1_000, seq: 1, layer: '*', district: '*', failed: 1, degraded: 0, peoplePower: 0, peopleWater: 0, peopleTelecom: 0, costPerHour: 0 };
      await queries.appendSamples([sample]);
      await queries.forRun('stale').appendSamples([sample]);
      await history.pool.query(`UPDATE ${schema}.series_samples SET recorded_at = now() - interval '40 days' WHERE run_id = 'stale'`);
      expect(await queries.pruneRuns('30 days')).toBe(1);
      expect((await queries.runs()).map((r) => r.runId)).toEqual(['fresh']);
    } finally {
      await history.close();
      const client = new pg.Client({ connectionString: requireUrl(postgres) });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    }
  });
});

describe('PgHistoryQueries on TimescaleDB (PGlite + timescaledb over the wire protocol)', () => {
  let server: { url: string; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    server = await startTimescalePglite();
  }, 60_000);
  afterAll(async () => server?.stop());
  historyQueryContract(pgMaker(() => server!.url, 1));

  it('creates the continuous aggregates, the compression policy and the retention job', async () => {
    const make = pgMaker(() => server!.url, 1);
    const h = await make();
    try {
      const q = h.queries as PgHistoryQueries;
      expect(q.mode).toBe('timescaledb');
      const caggs = await q.pool.query(`SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1 ORDER BY 1`, [q.schema]);
      expect(caggs.rows.map((r) => r.view_name)).toEqual(expect.arrayContaining(['series_1h', 'series_1m']));
      const jobs = await q.pool.query(`SELECT proc_name FROM timescaledb_information.jobs WHERE proc_schema = $1 OR hypertable_schema = $1 ORDER BY 1`, [q.schema]);
      expect(jobs.rows.map((r) => r.proc_name)).toEqual(expect.arrayContaining(['policy_compression', 'prune_history_runs']));
      expect(q.seriesSource(3_600_000)).toBe('series_1h');
      expect(q.seriesSource(120_000)).toBe('series_1m');
      expect(q.seriesSource(90_000)).toBe('series_samples');
    } finally {
      await h.cleanup();
    }
  });
});
