import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity } from '../../engine/index.ts';
import { cityFromSource, saveRecording } from '../../scenarios/index.ts';
import { requireUrl, serviceFromEnv } from '../adapters/testing.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked by the assertions
type Json = any;

const ADMIN = 'admin-token-history';
const CITY = { generate: { assets: 300, seed: 7 } } as const;
const HOUR = 3_600_000;

/**
 * A recorded incident: a transformer burns at 30 s, a pumping station and the main the first cohort
 * relies on flood at 1.5 s (the generated water network is redundant: the station alone leaves
 * everyone supplied).
 */
async function recordIncident(dir: string, id: string): Promise<void> {
  const live = await Engine.create({ city: cityFromSource(CITY), behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
  live.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
  live.submit({ type: 'fail', target: 'wt-ps-0', hazard: 'flood' }, { at: 1.5, source: 'scenario:drill' });
  live.submit({ type: 'fail', target: 'wt-mn-37', hazard: 'flood' }, { at: 1.5, source: 'scenario:drill' });
  await live.runUntil(HOUR);
  saveRecording(live, { city: CITY, dir, id, title: 'drill' });
  await live.stop();
}

describe('history API over the live server (embedded store)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-history-'));
  let server: ServerInternals;

  const get = async (path: string, headers: Record<string, string> = {}, token: string | null = ADMIN): Promise<{ status: number; json: Json; text: string; type: string }> => {
    const res = await fetch(`${server.url}${path}`, { headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } });
    const text = await res.text();
    let json: Json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, type: res.headers.get('content-type') ?? '' };
  };

  beforeAll(async () => {
    await recordIncident(dir, 'drill');
    server = await startServerWith(
      { city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: ADMIN },
      { paused: true, env: { STRATUM_RECORDINGS: dir, STRATUM_LEDGER_FILE: join(dir, 'ledger.ndjson') } },
    );
    server.engine.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 600, source: 'test' });
    await server.engine.runUntil(2 * HOUR);
  }, 60_000);
  afterAll(async () => server?.close());

  it('answers an asset’s downsampled series and its exact status changes with causes, in virtual time', async () => {
    const res = await get('/api/assets/pw-tx-1/history?from=0&to=2h&step=1m');
    expect(res.status, res.text).toBe(200);
    const body = res.json;
    expect(body).toMatchObject({ time: 'virtual-ms', fromMs: 0, toMs: 2 * HOUR, stepMs: 60_000, store: 'embedded', scope: 'live', asset: 'pw-tx-1', layer: 'power' });
    expect(body.buckets).toHaveLength(120);
    expect(body.buckets[0].lastStatus).toBe('ok');
    expect(body.buckets[10].lastStatus).toBe('failed');
    expect(body.buckets[10].minLevel).toBe(0);
    // The failure happened exactly at 600 000 ms, caused by damage from an input.
    expect(body.statusChanges[0]).toMatchObject({ timeMs: 600_000, from: 'ok', to: 'failed', cause: { code: 'damage', from: 'input' } });
    expect(body.statusChangesTruncated).toBe(false);
    // The same figures as the engine itself: the asset's current state closes the series.
    const now = server.engine.kernel.view(server.engine.index.indexOf('pw-tx-1')!);
    expect(body.buckets.at(-1).maxLoad).toBe(now.load);
  });

  it('answers the layer/district series: failures and people without service peak after the failure and match the live summary', async () => {
    const all = await get('/api/history?from=0&to=2h&step=10m');
    expect(all.status, all.text).toBe(200);
    expect(all.json.buckets).toHaveLength(12);
    expect(all.json.buckets[0].failed).toBe(0);
    expect(all.json.buckets[1].failed).toBeGreaterThan(0);
    const summary = (await get('/api/summary')).json;
    const last = (await get('/api/history?from=now-1m&to=now&step=1m')).json.buckets.at(-1);
    // Computed from the stream by the history tracker, and independently by the summary's meter.
    expect(last.peopleWithout).toEqual(summary.peopleWithoutNow);
    expect(Math.abs(last.costPerHour - summary.cost.perHour)).toBeLessThanOrEqual(10);
    expect(last.failed).toBe(summary.failed);
    const power = (await get('/api/history?layer=power&from=0&to=2h&step=1h')).json;
    expect(power.layer).toBe('power');
    expect(power.buckets[0].peopleWithout.water).toBe(0);
    expect(power.buckets[0].failed).toBeGreaterThan(0);
    const district = server.engine.index.districts[0]!;
    expect((await get(`/api/history?district=${district}&step=1h&from=0&to=2h`)).json.district).toBe(district);
  });

  it('answers CSV by Accept (or format=csv), one row per bucket and per status change', async () => {
    const csv = await get('/api/assets/pw-tx-1/history?from=0&to=2h&step=1h', { accept: 'text/csv' });
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('record,start_ms,changes,mean_load,max_load,min_level,max_stress,last_status,time_ms,seq,status_from,status_to,cause,cause_actor,cause_seq,cause_time_ms');
    expect(lines.filter((l) => l.startsWith('bucket,'))).toHaveLength(2);
    expect(lines.some((l) => l.startsWith('status-change,,,,,,,,600000,'))).toBe(true);
    const layer = await get('/api/history?from=0&to=2h&step=30m&format=csv');
    expect(layer.text.split('\n')[0]).toBe('start_ms,samples,failed,degraded,people_without_power,people_without_water,people_without_telecom,cost_per_hour');
    expect(layer.text.trim().split('\n')).toHaveLength(5);
  });

  it('refuses bad parameters with 400/404/406 naming the parameter, and needs a token', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/api/assets/nope/history', 404, /"nope".*path id/],
      ['/api/assets/pw-tx-1/history?step=10ms', 400, /querystring\.step: must be at least 1s/],
      ['/api/assets/pw-tx-1/history?step=soon', 400, /querystring\.step: "soon" is not a duration/],
      ['/api/assets/pw-tx-1/history?from=2h&to=1h', 400, /querystring\.from: must be before to/],
      ['/api/assets/pw-tx-1/history?from=yesterday', 400, /querystring\.from: "yesterday"/],
      ['/api/assets/pw-tx-1/history?from=0&to=7d&step=1s', 400, /querystring\.step: 604800 buckets.*at most 10000/],
      ['/api/history?layer=gas', 400, /querystring\.layer: unknown layer "gas" \(known: /],
      ['/api/history?district=atlantis', 400, /querystring\.district: unknown district "atlantis"/],
      ['/api/history?session=s-404', 404, /s-404/],
      ['/api/history?run=r1', 400, /querystring\.run: .*PostgreSQL/],
      ['/api/history?colour=red', 400, /querystring/],
    ];
    for (const [path, status, message] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(res.json.message, path).toMatch(message);
    }
    expect((await get('/api/history', { accept: 'application/xml' })).status).toBe(406);
    expect((await get('/api/history', {}, null)).status).toBe(401);
  });

  it('is in the OpenAPI document, with its parameters and the virtual-time note', async () => {
    const doc = (await get('/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/assets/{id}/history', '/api/history', '/api/history/runs']));
    const params = doc.paths['/api/history'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['from', 'to', 'step', 'layer', 'district', 'session', 'run', 'format']));
    expect(JSON.stringify(doc.paths['/api/history'].get)).toMatch(/virtual ms since the run began/);
  });

  it('keeps a replay session’s own history, which starts again after a backward seek', async () => {
    const created = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ recording: 'drill', kind: 'replay', paused: true }) });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as Json).session.id as string;
    const seek = (toMs: number) => fetch(`${server.url}/api/sessions/${id}/clock`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'seek', toMs }) });
    expect((await seek(HOUR - 60_000)).status).toBe(200);
    const asset = await get(`/api/assets/pw-tx-1/history?session=${id}&from=0&to=1h&step=1m`);
    expect(asset.status, asset.text).toBe(200);
    expect(asset.json.scope).toBe(`session:${id}`);
    // The session's failure is at 30 s; the live one (above) at 600 s.
    expect(asset.json.statusChanges[0]).toMatchObject({ timeMs: 30_000, from: 'ok', to: 'failed' });
    const series = await get(`/api/history?session=${id}&from=0&to=1h&step=10m`);
    expect(series.json.buckets[0].failed).toBeGreaterThan(0);
    expect(series.json.buckets[0].peopleWithout.water).toBeGreaterThan(0);
    expect((await seek(10_000)).status).toBe(200);
    const after = await get(`/api/assets/pw-tx-1/history?session=${id}&from=0&to=1h&step=1m`);
    expect(after.json.nowMs).toBeLessThan(60_000);
    expect(after.json.statusChanges).toEqual([]);
  });
});

const postgres = serviceFromEnv('pg');

describe.skipIf(postgres.skip)(`history API on PostgreSQL (${postgres.reason})`, () => {
  const runId = `hist-${randomUUID().slice(0, 8)}`;
  // A schema of its own (STRATUM_PG_SCHEMA), dropped afterwards.
  const schema = `h_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const servers: ServerInternals[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    const client = new pg.Client({ connectionString: requireUrl(postgres) });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  /** The same city, seed and input: the live run is deterministic, so both stores must answer alike. */
  const start = async (env: Record<string, string>): Promise<ServerInternals> => {
    const s = await startServerWith({ city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: ADMIN }, { paused: true, env });
    servers.push(s);
    s.engine.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 600, source: 'test' });
    await s.engine.runUntil(2 * HOUR);
    return s;
  };
  const fetchJson = async (s: ServerInternals, path: string): Promise<Json> => (await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();

  it('answers from the database exactly as the embedded store does, and lists the run', async () => {
    const onPg = await start({ STRATUM_ADAPTERS: '1', STRATUM_PG_URL: requireUrl(postgres), STRATUM_PG_SCHEMA: schema, STRATUM_RUN_ID: runId });
    const embedded = await start({});
    const paths = ['/api/assets/pw-tx-1/history?from=0&to=2h&step=1m', '/api/history?from=0&to=2h&step=5m', '/api/history?layer=power&from=0&to=2h&step=1h', '/api/assets/wt-ps-0/history?from=0&to=2h&step=7m'];
    const strip = (b: Json): Json => ({ ...b, store: undefined });
    for (const path of paths) {
      const want = strip(await fetchJson(embedded, path));
      // The database is written behind the engine: wait until it has caught up.
      let got: Json;
      const until = Date.now() + 15_000;
      do {
        got = await fetchJson(onPg, path);
        if (JSON.stringify(strip(got)) === JSON.stringify(want)) break;
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() < until);
      expect(got.store, path).toMatch(/^(postgres-partitions|timescaledb)$/);
      expect(strip(got), path).toEqual(want);
    }
    const runs = await fetchJson(onPg, '/api/history/runs');
    expect(runs.live).toBe(runId);
    expect(runs.runs.map((r: { runId: string }) => r.runId)).toContain(runId);
    expect((await fetchJson(onPg, `/api/history?run=${runId}&from=0&to=2h&step=1h`)).scope).toBe(`run:${runId}`);
    expect((await fetch(`${onPg.url}/api/history?run=nope`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
    // It was all written to the schema STRATUM_PG_SCHEMA named.
    const client = new pg.Client({ connectionString: requireUrl(postgres) });
    await client.connect();
    try {
      const rows = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.state_changes WHERE run_id = $1`, [runId]);
      expect(rows.rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  }, 60_000);
});
