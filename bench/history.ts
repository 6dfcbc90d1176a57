import pg from 'pg';
import { Status, generateCity, parseCity, type StateChange } from '../engine/index.ts';
import { PgHistory } from '../gateways/adapters/index.ts';
import { PgHistoryQueries } from '../gateways/adapters/history-pg.ts';
import { ALL, type SeriesSample } from '../gateways/history/index.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';

/**
 * `--only history`: history queries through the API (`GET /api/assets/:id/history`, `GET /api/history`)
 * over a store holding N state changes (10,000,000; 500,000 with --quick) and the layer/district
 * samples of the same virtual week:
 * - one asset over 24 h at 1-minute buckets → `assetHistoryP99Ms` (target ≤ 50 ms)
 * - one layer over 7 days at 1-hour buckets → `layerHistoryP99Ms` (target ≤ 200 ms)
 * on PostgreSQL (the services' server, in a schema of its own with the writers' day partitions:
 * plain partitions, or TimescaleDB where it has the extension; `historyPgMode` says which) and on
 * the embedded store, each beside the same question written by hand in SQL and run with `pg`
 * (`historyApiVsSqlRatio` = API p99 ÷ SQL p99, asset and layer). Not here: TimescaleDB in WASM
 * (PGlite) — a server whose adapters open their pool on PGlite's one-connection socket stalls, and
 * the process ends without a word (2026-12-04); the contract suite checks TimescaleDB's answers.
 *
 * The data is synthetic and the same in every store: change i at virtual time i × 7 d / N, actor
 * (i × 7919) mod A; one sample instant per 4 samples, each dirtying four series.
 */
const SPAN_MS = 7 * 86_400_000;
const DAY = 86_400_000;

export interface Data {
  readonly changes: number;
  readonly samples: number;
  readonly actors: number;
  readonly layers: readonly string[];
  readonly districts: readonly string[];
}

function change(i: number, d: Data): StateChange {
  const actor = (i * 7919) % d.actors;
  const time = Math.floor((i * SPAN_MS) / d.changes);
  const failed = (Math.floor(i / d.actors) + actor) % 40 === 0;
  const load = 50 + (i % 997) / 10;
  return {
    time, seq: i, actor,
    before: { status: Status.Ok, level: 1, load: 50, stress: 0.25 },
    after: { status: failed ? Status.Failed : Status.Ok, level: failed ? 0 : 1 - (i % 100) / 1000, load, stress: load / 200 },
    cause: failed ? { code: 2 as never, from: (i * 31) % d.actors, seq: Math.max(0, i - 1), time } : null,
  };
}

function* samples(d: Data): Generator<SeriesSample> {
  const instants = Math.floor(d.samples / 4);
  for (let j = 0; j < instants; j++) {
    const time = Math.floor((j * SPAN_MS) / instants);
    const layer = d.layers[j % d.layers.length]!;
    const district = d.districts[(j * 13) % d.districts.length]!;
    const v = { failed: (j * 7) % 500, degraded: (j * 3) % 200, peoplePower: (j * 11) % 90_000, peopleWater: (j * 5) % 40_000, peopleTelecom: (j * 2) % 20_000, costPerHour: (j * 101) % 2_000_000 };
    for (const [l, di] of [[ALL, ALL], [layer, ALL], [ALL, district], [layer, district]] as const) yield { time, seq: j, layer: l, district: di, ...v };
  }
}

/** Fills PostgreSQL server-side (generate_series: the same formulas as `change` / `samples`). */
export async function fillPg(pool: pg.Pool, schema: string, runId: string, d: Data, log: (s: string) => void): Promise<void> {
  const mode = (await pool.query<{ mode: string }>(`SELECT mode FROM ${schema}.migrations WHERE version = 1`)).rows[0]!.mode;
  if (mode !== 'timescaledb') {
    // The day partitions the writers create (PgHistory / PgHistoryQueries), so the rows land where a live run's would, not in the default partition.
    for (let day = 0; day * DAY < SPAN_MS; day++) {
      for (const table of ['state_changes', 'series_samples']) {
        await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.${table}_d${day} PARTITION OF ${schema}.${table} FOR VALUES FROM ('${new Date(day * DAY).toISOString()}') TO ('${new Date((day + 1) * DAY).toISOString()}')`);
      }
    }
  }
  const step = 1_000_000;
  for (let from = 0; from < d.changes; from += step) {
    const to = Math.min(d.changes, from + step) - 1;
    await pool.query(`INSERT INTO ${schema}.state_changes (run_id, time, seq, actor, layer, district, status, level, load, stress, prev_status, prev_level, prev_load, prev_stress, cause_code, cause_from, cause_seq, cause_time)
      SELECT $1, to_timestamp(floor(i * ${SPAN_MS}::float8 / ${d.changes}) / 1000.0), i, a, 'x', 'x', CASE WHEN f THEN 2 ELSE 0 END, CASE WHEN f THEN 0 ELSE 1 - (i % 100) / 1000.0 END,
             50 + (i % 997) / 10.0, (50 + (i % 997) / 10.0) / 200, 0, 1, 50, 0.25,
             CASE WHEN f THEN 2 END, CASE WHEN f THEN (i * 31) % ${d.actors} END, CASE WHEN f THEN greatest(0, i - 1) END, CASE WHEN f THEN floor(i * ${SPAN_MS}::float8 / ${d.changes}) END
      FROM (SELECT i, ((i * 7919) % ${d.actors})::int AS a, ((i / ${d.actors}) + (i * 7919) % ${d.actors}) % 40 = 0 AS f FROM generate_series(${from}::bigint, ${to}::bigint) i) g`, [runId]);
    log(`history: ${to + 1} state changes in PostgreSQL`);
  }
  const instants = Math.floor(d.samples / 4);
  const layers = `ARRAY[${d.layers.map((l) => `'${l}'`).join(',')}]`;
  const districts = `ARRAY[${d.districts.map((x) => `'${x}'`).join(',')}]`;
  await pool.query(`INSERT INTO ${schema}.series_samples (run_id, time, seq, layer, district, failed, degraded, people_power, people_water, people_telecom, cost_per_hour)
    SELECT $1, to_timestamp(floor(j * ${SPAN_MS}::float8 / ${instants}) / 1000.0), j, s.l, s.d, (j * 7) % 500, (j * 3) % 200, (j * 11) % 90000, (j * 5) % 40000, (j * 2) % 20000, (j * 101) % 2000000
    FROM generate_series(0, ${instants - 1}) j,
         LATERAL (VALUES ('*', '*'), ((${layers})[1 + j % ${d.layers.length}], '*'), ('*', (${districts})[1 + (j * 13) % ${d.districts.length}]),
                         ((${layers})[1 + j % ${d.layers.length}], (${districts})[1 + (j * 13) % ${d.districts.length}])) AS s(l, d)`, [runId]);
  log(`history: ${instants * 4} series samples in PostgreSQL`);
  // What the writer keeps beside the samples: the roll-ups (plain PostgreSQL) or the continuous aggregates (TimescaleDB).
  if (mode === 'timescaledb') {
    for (const view of ['series_1m', 'series_1h']) await pool.query(`CALL refresh_continuous_aggregate('${schema}.${view}', '1970-01-01', '1970-01-09')`);
  } else {
    const cols = ['failed', 'degraded', 'people_power', 'people_water', 'people_telecom', 'cost_per_hour'];
    for (const [table, width] of [['series_1m', '1 minute'], ['series_1h', '1 hour']] as const) {
      await pool.query(`INSERT INTO ${schema}.${table} AS r SELECT date_bin(INTERVAL '${width}', time, 'epoch'::timestamptz), run_id, layer, district, count(*), max(seq),
        ${cols.map((c) => `max(${c})`).join(', ')}, ${cols.map((c) => `(array_agg(${c} ORDER BY seq DESC))[1]`).join(', ')}
        FROM ${schema}.series_samples WHERE run_id = $1 AND seq >= 0 GROUP BY 1, run_id, layer, district
        ON CONFLICT (run_id, layer, district, bucket) DO UPDATE SET samples = r.samples + EXCLUDED.samples, last_seq = greatest(r.last_seq, EXCLUDED.last_seq),
        ${cols.map((c) => c === 'cost_per_hour' ? 'cost' : c).map((c) => `max_${c} = greatest(r.max_${c}, EXCLUDED.max_${c}), last_${c} = CASE WHEN EXCLUDED.last_seq >= r.last_seq THEN EXCLUDED.last_${c} ELSE r.last_${c} END`).join(', ')}`, [runId]);
    }
  }
  log(`history: roll-ups of the samples in PostgreSQL (${mode})`);
  await pool.query(`ANALYZE ${schema}.state_changes`);
  await pool.query(`ANALYZE ${schema}.series_samples`);
}

async function p99(label: string, rounds: number, fn: () => Promise<void>, log: (s: string) => void): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(20, rounds); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 100) / 100;
  log(`history: ${label.padEnd(48)} p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${rounds} requests)`);
  return { p50: at(0.5), p99: at(0.99) };
}

/** The API questions: asset over the last day at 1 min (ending at day 6), a layer over the week at 1 h. */
function apiPaths(server: ServerInternals, assetId: string, layer: string, extra = ''): { asset: string; layer: string } {
  return {
    asset: `${server.url}/api/assets/${assetId}/history?from=${5 * DAY}&to=${6 * DAY}&step=1m${extra}`,
    layer: `${server.url}/api/history?layer=${layer}&from=0&to=${SPAN_MS}&step=1h${extra}`,
  };
}

async function get(url: string, token: string): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** The same questions by hand, in one SQL statement each (what an analyst would type). */
function handSql(schema: string, mode: string): { asset: string; layer: string } {
  const bucket = (w: string, col: string): string => (mode === 'timescaledb' ? `time_bucket('${w}', ${col})` : `date_bin('${w}', ${col}, 'epoch'::timestamptz)`);
  return {
    asset: `SELECT ${bucket('1 minute', 'time')} AS b, count(*), avg(load), max(load), min(level), max(stress), (array_agg(status ORDER BY time DESC, seq DESC))[1] AS last_status,
              array_agg(json_build_array(time, prev_status, status, cause_code, cause_from) ORDER BY time, seq) FILTER (WHERE status <> prev_status) AS status_changes
            FROM ${schema}.state_changes WHERE run_id = $1 AND actor = $2 AND time >= $3 AND time < $4 GROUP BY b ORDER BY b`,
    layer: `SELECT ${bucket('1 hour', 'time')} AS b, count(*), max(failed), max(degraded), max(people_power), max(people_water), max(people_telecom), max(cost_per_hour)
            FROM ${schema}.series_samples WHERE run_id = $1 AND layer = $2 AND district = '*' AND time >= $3 AND time < $4 GROUP BY b ORDER BY b`,
  };
}

export async function runHistoryBench(options: { quick: boolean; log: (s: string) => void }): Promise<Record<string, number | string>> {
  const { log, quick } = options;
  const city = parseCity(generateCity({ assets: quick ? 2_000 : 20_000, seed: 5 }), 'bench');
  const changes = quick ? 500_000 : 10_000_000;
  const rounds = quick ? 50 : 200;
  const out: Record<string, number | string> = { historyStoredChanges: changes };
  const token = 'bench-history-token';
  const start = (env: Record<string, string>): Promise<ServerInternals> =>
    startServerWith({ city, seed: 1, port: 0, quiet: true, adminToken: token, uiDir: false }, { paused: true, rateLimitPerMinute: 1_000_000, env });

  // ---- embedded ----
  {
    const server = await start({ STRATUM_HISTORY_MAX_CHANGES: String(changes), STRATUM_HISTORY_MAX_SAMPLES: String(changes / 2) });
    const index = server.engine.index;
    const d: Data = { changes, samples: changes / 2, actors: index.assetCount, layers: index.layers, districts: index.districts };
    out['historyStoredSamples'] = d.samples;
    const store = server.history.live.embedded;
    const t0 = performance.now();
    const batch: StateChange[] = [];
    for (let i = 0; i < changes; i++) {
      batch.push(change(i, d));
      if (batch.length === 10_000) store.appendChanges(batch.splice(0));
    }
    store.appendChanges(batch);
    const sampleBatch: SeriesSample[] = [];
    for (const s of samples(d)) {
      sampleBatch.push(s);
      if (sampleBatch.length === 10_000) store.appendSamples(sampleBatch.splice(0));
    }
    store.appendSamples(sampleBatch);
    log(`history: embedded store filled in ${((performance.now() - t0) / 1000).toFixed(1)} s (${store.changeCount} changes, ${store.sampleCount} samples; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB, array buffers ${Math.round(process.memoryUsage().arrayBuffers / 2 ** 20)} MiB)`);
    const paths = apiPaths(server, index.ids[123]!, index.layers[0]!);
    const asset = await p99('embedded, API: asset 24 h at 1 min', rounds, () => get(paths.asset, token), log);
    const layer = await p99('embedded, API: layer 7 d at 1 h', rounds, () => get(paths.layer, token), log);
    out['assetHistoryP99MsEmbedded'] = asset.p99;
    out['layerHistoryP99MsEmbedded'] = layer.p99;
    await server.close();
  }

  // ---- PostgreSQL (the services' server) ----
  const url = process.env['STRATUM_PG_URL'];
  if (url === undefined || url === '') {
    out['historyPgSkipped'] = 'STRATUM_PG_URL not set (eval "$(bash infrastructure/native/all.sh start)")';
  } else {
    const r = await pgFigures(url, 'stratum_bench_history', changes, rounds, start, log, 4);
    Object.assign(out, { assetHistoryP99Ms: r.asset, layerHistoryP99Ms: r.layer, assetHistorySqlP99Ms: r.assetSql, layerHistorySqlP99Ms: r.layerSql, historyApiVsSqlRatio: r.ratio, historyApiVsSqlRatioLayer: r.ratioLayer, historyPgMode: r.mode });
  }

  return out;
}

async function pgFigures(
  url: string, schema: string, changes: number, rounds: number,
  start: (env: Record<string, string>) => Promise<ServerInternals>, log: (s: string) => void, connections: number,
): Promise<{ asset: number; layer: number; assetSql: number; layerSql: number; ratio: number; ratioLayer: number; mode: string }> {
  const runId = `bench-${Date.now()}`;
  // A schema of its own (STRATUM_PG_SCHEMA), created here and dropped at the end: a fresh one has no
  // other run's rows or dead tuples in its partitions, and dropping it leaves no 10M-row delete behind.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const history = await PgHistory.open({ url, schema, runId, maxConnections: connections, statementTimeoutMs: 1_800_000 });
  await PgHistoryQueries.open(history);
  const mode = history.mode;
  const server = await start({ STRATUM_ADAPTERS: '1', STRATUM_PG_URL: url, STRATUM_PG_SCHEMA: schema, STRATUM_RUN_ID: runId });
  try {
    const index = server.engine.index;
    const d: Data = { changes, samples: changes / 2, actors: index.assetCount, layers: index.layers, districts: index.districts };
    const t0 = performance.now();
    await fillPg(history.pool, schema, runId, d, log);
    log(`history: ${mode} filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const paths = apiPaths(server, index.ids[123]!, index.layers[0]!);
    const asset = await p99(`${mode}, API: asset 24 h at 1 min`, rounds, () => get(paths.asset, server.adminToken), log);
    const layer = await p99(`${mode}, API: layer 7 d at 1 h`, rounds, () => get(paths.layer, server.adminToken), log);
    const sql = handSql(schema, mode);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const assetSql = await p99(`${mode}, hand SQL: asset 24 h at 1 min`, rounds, async () => void (await client.query(sql.asset, [runId, 123, new Date(5 * DAY), new Date(6 * DAY)])), log);
    const layerSql = await p99(`${mode}, hand SQL: layer 7 d at 1 h`, rounds, async () => void (await client.query(sql.layer, [runId, index.layers[0], new Date(0), new Date(SPAN_MS)])), log);
    await client.end();
    const round2 = (x: number): number => Math.round(x * 100) / 100;
    return { asset: asset.p99, layer: layer.p99, assetSql: assetSql.p99, layerSql: layerSql.p99, ratio: round2(asset.p99 / assetSql.p99), ratioLayer: round2(layer.p99 / layerSql.p99), mode };
  } finally {
    await server.close();
    await history.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
}
