import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { startServerWith, type ServerInternals } from '../server.ts';
import type { ServiceHealth } from './health.ts';
import { postgresBinariesInstalled, serviceFromEnv, startPrivateService, waitFor, type PrivateService } from './testing.ts';

/**
 * PostgreSQL stopped under a running twin (STRATUM_ADAPTERS=1): the engine keeps advancing, the
 * history buffer stays within its bound (the oldest state changes dropped and counted, journal
 * entries never), /readyz and /metrics report the outage, recordings still save and list from the
 * files (naming the missing database), and the history catches up when the
 * database returns. The database is a private cluster (own port and data dir), so the outage never
 * reaches other test files running at the same time against the shared one.
 */
const postgres = serviceFromEnv('pg');
const installed = postgresBinariesInstalled();
const skip = postgres.skip || (!installed && process.env['STRATUM_REQUIRE_SERVICES'] !== '1');
const BOUND = 400;

describe.skipIf(skip)(`PostgreSQL outage under a running twin (${installed ? postgres.reason : 'skipped: no PostgreSQL server binaries'})`, () => {
  it('keeps the engine running, bounds and reports the history buffer, and catches up after the restart', async () => {
    let database: PrivateService | undefined;
    let server: ServerInternals | undefined;
    let feeding: NodeJS.Timeout | undefined;
    try {
      database = await startPrivateService('postgres');
      const city = parseCity(generateCity({ assets: 200, seed: 4 }), 'generated');
      server = await startServerWith(
        { city, seed: 4, port: 0, host: '127.0.0.1', quiet: true, speed: 10 },
        // Only history: the other services stay off even when the shell exported their URLs.
        { env: { ...process.env, STRATUM_ADAPTERS: '1', STRATUM_PG_URL: database.url, STRATUM_REDIS_URL: '', STRATUM_KAFKA_BROKERS: '', STRATUM_RUN_ID: 'pg-outage', STRATUM_HISTORY_MAX_PENDING: String(BOUND), STRATUM_RECORDINGS: mkdtempSync(join(tmpdir(), 'stratum-pg-outage-rec-')) } },
      );
      const { engine, url } = server;
      const ids = engine.index.ids.slice(0, 20);
      // Every state-change time the engine made, to know which is the newest of the outage.
      const changeTimes: number[] = [];
      const offChanges = engine.stream.subscribe((c) => void changeTimes.push(c.time));
      // A steady stream of readings: every one changes an asset's load, so a state change each.
      let reading = 0;
      const feed = (): void => {
        for (const id of ids) engine.submit({ type: 'telemetry', target: id, value: 1 + (reading++ % 97) / 10 }, { source: 'test' });
      };
      feeding = setInterval(feed, 25);
      const history = async (): Promise<ServiceHealth> => {
        const ready = (await (await fetch(`${url}/readyz`)).json()) as { ok: boolean; services: ServiceHealth[] };
        expect(ready.ok).toBe(true);
        return ready.services.find((s) => s.service === 'history')!;
      };
      await waitFor('history written', async () => (await history()).written > 500, 20_000);
      // Caught up before the outage, so everything pending afterwards was made during it.
      clearInterval(feeding);
      // The tap hands journal entries to the sink with the changes they cause, so the last readings
      // are only pending once the engine has applied them: wait for that, then for the sink.
      const lastInput = engine.journal.entries[engine.journal.length - 1]!.time;
      await waitFor('history caught up', async () => engine.kernel.settledUntil > lastInput && (await history()).pending === 0, 20_000);
      const journalAtStop = engine.journal.length;
      feeding = setInterval(feed, 25);

      database.stop();
      const downAt = engine.now;
      await waitFor('/readyz to report history down', async () => !(await history()).up, 15_000);
      // Recordings: the files keep working while the database is down, and the answer says what is missing.
      const auth = { authorization: `Bearer ${server.adminToken}` };
      const saved = await fetch(`${url}/api/recordings`, { method: 'POST', headers: auth });
      expect(saved.status).toBe(201);
      const savedBody = (await saved.json()) as { id: string; stored: string[]; notStored: { store: string; reason: string }[] };
      expect(savedBody.stored).toEqual(['file']);
      expect(savedBody.notStored[0]!.store).toBe('postgres');
      const listed = await fetch(`${url}/api/recordings`, { headers: auth });
      expect(listed.status).toBe(200);
      const listBody = (await listed.json()) as { recordings: { id: string; store: string }[]; unavailable: { store: string }[] };
      expect(listBody.unavailable.map((u) => u.store)).toEqual(['postgres']);
      expect(listBody.recordings.find((r) => r.id === savedBody.id)?.store).toBe('file');
      const metricsDown = await (await fetch(`${url}/metrics`)).text();
      expect(metricsDown).toMatch(/stratum_service_up\{service="history",backend="postgres-partitions"\} 0/);
      // Hold the outage until the buffer overflowed its bound.
      await waitFor('changes dropped at the bound', async () => (await history()).dropped > 0, 20_000);
      // The readings keep coming: their journal entries are pending beyond the bound of kept changes.
      await waitFor('journal entries of the outage pending beyond the bound', async () => (await history()).pending > BOUND, 20_000);
      // The live run keeps advancing through the outage (checked below: ≥ 10 virtual seconds of it).
      await waitFor('10 virtual seconds of outage', () => engine.now - downAt > 10_000, 20_000);
      const down = await history();
      expect(down.lastError).toBeDefined();
      expect(down.bound).toBe(BOUND);
      // Pending = kept state changes (≤ bound) + journal entries of the outage (never dropped).
      expect(down.pending).toBeLessThanOrEqual(BOUND + engine.journal.length - journalAtStop);
      expect(down.pending).toBeGreaterThan(BOUND);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/stratum_service_dropped_total\{service="history",backend="postgres-partitions"\} [1-9]/);
      // The engine kept advancing (speed 10: ≥ 10 virtual seconds in the outage's wall seconds).
      expect(engine.now - downAt).toBeGreaterThan(10_000);
      // Stop the readings first: the buffer then holds the newest changes of the outage itself
      // (kept going, it would roll over to readings made while the sink reconnects).
      clearInterval(feeding);
      feeding = undefined;
      const upAt = engine.now;

      database.start();
      await waitFor('the history to catch up', async () => {
        const h = await history();
        return h.up && h.pending === 0;
      }, 30_000);
      const after = await history();
      expect(after.dropped).toBeGreaterThan(0);

      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        const window = [new Date(downAt), new Date(upAt)];
        const changes = await db.query<{ n: number; last: Date }>(`SELECT count(*)::int AS n, max(time) AS last FROM stratum.state_changes WHERE run_id = 'pg-outage' AND time > $1 AND time <= $2`, window);
        // The newest changes of the outage are there (up to the bound); the oldest were the ones dropped.
        expect(changes.rows[0]!.n).toBeGreaterThan(0);
        expect(changes.rows[0]!.n).toBeLessThanOrEqual(BOUND);
        // The newest change the engine made in the window is stored (how far it lies before upAt
        // depends on how the event loop kept up with the readings, so compare with the engine's own).
        const newest = Math.max(...changeTimes.filter((t) => t > downAt && t <= upAt));
        expect(changes.rows[0]!.last.getTime()).toBe(newest);
        // Every journal entry of the outage is stored: inputs are never dropped.
        const journal = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM stratum.input_journal WHERE run_id = 'pg-outage' AND time > $1 AND time <= $2`, [downAt, upAt]);
        expect(journal.rows[0]!.n).toBe(engine.journal.entries.filter((e) => e.time > downAt && e.time <= upAt).length);
        expect(journal.rows[0]!.n).toBeGreaterThan(BOUND);
      } finally {
        await db.end();
      }
      offChanges();
    } finally {
      if (feeding !== undefined) clearInterval(feeding);
      await server?.close();
      database?.remove();
    }
  }, 120_000);
});
