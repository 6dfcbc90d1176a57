import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { ActorView, Cause } from '../../engine/index.ts';
import type { SeriesSample, SeriesValues, AssetHistory, AssetRaw, AssetRawBucket, HistoryQueries, SeriesRaw, StatusChangeRecord } from '../history/index.ts';
import { ServiceStatus, type HealthReporter, type ServiceHealth } from './health.ts';
import type { HistoryMode, PgHistory } from './timescale.ts';

/**
 * History queries on PostgreSQL / TimescaleDB, beside `PgHistory` (which writes `state_changes`):
 *
 * - `series_samples`: the per layer/district series (gateways/history/history-series.ts), one row per series
 *   and virtual instant where it changed. A hypertable (1-day chunks of virtual time) on TimescaleDB,
 *   range-partitioned by day otherwise.
 * - Continuous aggregates `series_1m` and `series_1h` (TimescaleDB): per bucket, series and run the
 *   sample count, the peak and the last value of each field. Real-time (`materialized_only = false`):
 *   buckets not yet materialised are computed from the table. The writer refreshes them over the
 *   virtual range it wrote (`refreshSeries`): the built-in refresh policy measures its window from
 *   wall-clock `now()`, and virtual time starts at 1970, so a policy alone would never reach it.
 *   A query whose step is a whole number of hours reads `series_1h`, of minutes `series_1m`, else
 *   the table; the three agree exactly (the contract suite checks it).
 * - Asset buckets come from `state_changes` (index on run, actor, time): `time_bucket` on TimescaleDB,
 *   `date_bin` otherwise.
 * - Retention: `prune_history_runs(job_id, config)` deletes every run not written for
 *   `config.keep` (wall-clock, default `30 days`) from all history tables; on TimescaleDB a job runs
 *   it daily (`STRATUM_HISTORY_RETENTION`), elsewhere call it from cron:
 *   `CALL stratum.prune_history_runs(NULL, '{"keep":"30 days"}')`. Runs, not time: every run's
 *   virtual time starts at 0, so a time-based drop would cut every run at once.
 * - Compression (TimescaleDB): segment by run, layer and district, ordered by time; chunks older than
 *   7 days of (wall-clock) age are compressed by the policy. Virtual 1970 chunks are "old" at once,
 *   so a live run's chunks get compressed while still written; TimescaleDB ≥ 2.11 accepts the
 *   inserts into compressed chunks (the queries read both).
 */
const MIGRATION_VERSION = 101;
/** Actor names per run. */
const NAMES_VERSION = 102;
/** Plain PostgreSQL: tables `series_1m` / `series_1h`, kept by the writer (the continuous aggregates' columns, so readers and dashboards see one schema). */
const ROLLUPS_VERSION = 103;
const ROLLUPS = [['series_1m', 60_000, '1 minute'], ['series_1h', 3_600_000, '1 hour']] as const;
const DAY_MS = 86_400_000;

const iso = (ms: number): string => new Date(ms).toISOString();

export interface PgHistoryQueriesOptions {
  /** Wall-clock age after which a run is deleted (PostgreSQL interval text, default `30 days`). */
  readonly retention?: string;
}

interface SeriesRow {
  b: Date | null;
  samples: string;
  max_failed: number; max_degraded: number; max_people_power: number; max_people_water: number; max_people_telecom: number; max_cost: number;
  last_failed: number; last_degraded: number; last_people_power: number; last_people_water: number; last_people_telecom: number; last_cost: number;
}

const values = (r: Record<string, number>, prefix: string): SeriesValues => ({
  failed: Number(r[`${prefix}failed`]),
  degraded: Number(r[`${prefix}degraded`]),
  peoplePower: Number(r[`${prefix}people_power`]),
  peopleWater: Number(r[`${prefix}people_water`]),
  peopleTelecom: Number(r[`${prefix}people_telecom`]),
  costPerHour: Number(r[`${prefix}cost`]),
});

const SERIES_VALUE_COLUMNS = ['failed', 'degraded', 'people_power', 'people_water', 'people_telecom', 'cost_per_hour'] as const;
const SHORT = (c: string): string => (c === 'cost_per_hour' ? 'cost' : c);

/**
 * @example
 * const history = await PgHistory.open({ url, runId: 'live-1' });
 * const queries = await PgHistoryQueries.open(history);
 * await queries.appendSamples(samples);
 * const raw = await queries.seriesRaw('power', '*', 0, 86_400_000, 3_600_000);
 */
export class PgHistoryQueries implements HistoryQueries {
  readonly backend: HistoryMode;
  private readonly days = new Set<number>();
  private readonly names = new Map<string, string>();

  private constructor(readonly pool: pg.Pool, readonly schema: string, readonly runId: string, readonly mode: HistoryMode) {
    this.backend = mode;
  }

  /** Migrates the series table, its aggregates and the retention procedure (idempotent). */
  static async open(history: PgHistory, options: PgHistoryQueriesOptions = {}, runId = history.runId): Promise<PgHistoryQueries> {
    await migrateSeries(history.pool, history.schema, history.mode, options.retention ?? '30 days');
    await migrateNames(history.pool, history.schema, history.mode);
    await migrateRollups(history.pool, history.schema, history.mode);
    return new PgHistoryQueries(history.pool, history.schema, runId, history.mode);
  }

  /** The same store, reading another run. */
  forRun(runId: string): PgHistoryQueries {
    return new PgHistoryQueries(this.pool, this.schema, runId, this.mode);
  }

  private t(name: string): string {
    return `${this.schema}.${name}`;
  }

  async appendSamples(samples: readonly SeriesSample[]): Promise<void> {
    if (samples.length === 0) return;
    if (this.mode === 'postgres-partitions') await this.ensurePartitions(samples);
    for (let i = 0; i < samples.length; i += 2_000) {
      const batch = samples.slice(i, i + 2_000);
      await this.pool.query(
        `INSERT INTO ${this.t('series_samples')} (run_id, time, seq, layer, district, failed, degraded, people_power, people_water, people_telecom, cost_per_hour)
         SELECT $1, to_timestamp(t / 1000.0), s, l, d, f, g, pp, pw, pt, c FROM unnest($2::float8[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[], $8::float8[], $9::float8[], $10::float8[], $11::float8[]) AS u(t, s, l, d, f, g, pp, pw, pt, c)`,
        [this.runId, batch.map((s) => s.time), batch.map((s) => s.seq), batch.map((s) => s.layer), batch.map((s) => s.district), batch.map((s) => s.failed), batch.map((s) => s.degraded),
          batch.map((s) => s.peoplePower), batch.map((s) => s.peopleWater), batch.map((s) => s.peopleTelecom), batch.map((s) => s.costPerHour)],
      );
      if (this.mode === 'postgres-partitions') for (const [table, width] of ROLLUPS) await this.upsertRollup(table, width, batch);
    }
  }

  /**
   * Folds samples into a roll-up table (plain PostgreSQL, where no continuous aggregate keeps it):
   * per bucket and series the sample count, the peak and the last value (by seq) of each field.
   */
  private async upsertRollup(table: string, widthMs: number, samples: readonly SeriesSample[]): Promise<void> {
    const rows = new Map<string, { bucket: number; layer: string; district: string; samples: number; lastSeq: number; max: number[]; last: number[] }>();
    for (const s of samples) {
      const bucket = Math.floor(s.time / widthMs) * widthMs;
      const key = `${bucket}\u0000${s.layer}\u0000${s.district}`;
      const v = [s.failed, s.degraded, s.peoplePower, s.peopleWater, s.peopleTelecom, s.costPerHour];
      const row = rows.get(key);
      if (row === undefined) rows.set(key, { bucket, layer: s.layer, district: s.district, samples: 1, lastSeq: s.seq, max: [...v], last: v });
      else {
        row.samples++;
        row.max = row.max.map((m, k) => Math.max(m, v[k]!));
        if (s.seq >= row.lastSeq) {
          row.lastSeq = s.seq;
          row.last = v;
        }
      }
    }
    const list = [...rows.values()];
    const cols = SERIES_VALUE_COLUMNS.map((c) => SHORT(c));
    await this.pool.query(
      `INSERT INTO ${this.t(table)} AS r (bucket, run_id, layer, district, samples, last_seq, ${cols.map((c) => `max_${c}`).join(', ')}, ${cols.map((c) => `last_${c}`).join(', ')})
       SELECT to_timestamp(b / 1000.0), $1, l, d, n, q, ${cols.map((_, k) => `m${k}`).join(', ')}, ${cols.map((_, k) => `z${k}`).join(', ')}
       FROM unnest($2::float8[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], ${cols.map((_, k) => `$${7 + k}::float8[]`).join(', ')}, ${cols.map((_, k) => `$${7 + cols.length + k}::float8[]`).join(', ')})
         AS u(b, l, d, n, q, ${cols.map((_, k) => `m${k}`).join(', ')}, ${cols.map((_, k) => `z${k}`).join(', ')})
       ON CONFLICT (run_id, layer, district, bucket) DO UPDATE SET samples = r.samples + EXCLUDED.samples, last_seq = greatest(r.last_seq, EXCLUDED.last_seq),
         ${cols.map((c) => `max_${c} = greatest(r.max_${c}, EXCLUDED.max_${c}), last_${c} = CASE WHEN EXCLUDED.last_seq >= r.last_seq THEN EXCLUDED.last_${c} ELSE r.last_${c} END`).join(',\n         ')}`,
      [this.runId, list.map((r) => r.bucket), list.map((r) => r.layer), list.map((r) => r.district), list.map((r) => r.samples), list.map((r) => r.lastSeq),
        ...cols.map((_, k) => list.map((r) => r.max[k]!)), ...cols.map((_, k) => list.map((r) => r.last[k]!))],
    );
  }

  private async ensurePartitions(samples: readonly SeriesSample[]): Promise<void> {
    const wanted = new Set<number>();
    for (const s of samples) {
      const day = Math.floor(s.time / DAY_MS);
      if (!this.days.has(day)) wanted.add(day);
    }
    for (const day of wanted) {
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t(`series_samples_d${day}`)} PARTITION OF ${this.t('series_samples')} FOR VALUES FROM ('${iso(day * DAY_MS)}') TO ('${iso((day + 1) * DAY_MS)}')`).catch((error: unknown) => {
        if ((error as { code?: string }).code !== '42P07') throw error;
      });
      this.days.add(day);
    }
  }

  /** Materialises the continuous aggregates over [fromMs, toMs) of virtual time (TimescaleDB; else nothing). */
  async refreshSeries(fromMs: number, toMs: number): Promise<void> {
    if (this.mode !== 'timescaledb' || toMs <= fromMs) return;
    const from = Math.floor(fromMs / 3_600_000) * 3_600_000;
    const to = Math.ceil(toMs / 3_600_000) * 3_600_000;
    for (const view of ['series_1m', 'series_1h']) {
      await this.pool.query(`CALL refresh_continuous_aggregate('${this.t(view)}', $1::timestamptz, $2::timestamptz)`, [iso(from), iso(to)]);
    }
  }

  /** The bucket expression for a step (TimescaleDB: `time_bucket`; PostgreSQL: `date_bin`), from virtual 0. */
  private bucket(column: string, param: string): string {
    return this.mode === 'timescaledb' ? `time_bucket(${param}::interval, ${column}, 'epoch'::timestamptz)` : `date_bin(${param}::interval, ${column}, 'epoch'::timestamptz)`;
  }

  private firstOf(column: string): string {
    return this.mode === 'timescaledb' ? `first(${column}, seq)` : `(array_agg(${column} ORDER BY seq))[1]`;
  }

  private lastOf(column: string, by = 'seq'): string {
    return this.mode === 'timescaledb' ? `last(${column}, ${by})` : `(array_agg(${column} ORDER BY ${by} DESC))[1]`;
  }

  /** The SQL of `assetRaw`'s buckets over the rows of `r` (the bench runs it by hand for the API/SQL ratio). */
  assetBucketSql(from = 'r'): string {
    const f = (c: string): string => this.firstOf(c);
    const l = (c: string): string => this.lastOf(c);
    return `SELECT ${this.bucket('time', '$5')} AS b, count(*) AS changes, sum(load) AS sum_load, max(load) AS max_load, min(level) AS min_level, max(stress) AS max_stress,
        ${f('prev_status')} AS f_status, ${f('prev_level')} AS f_level, ${f('prev_load')} AS f_load, ${f('prev_stress')} AS f_stress,
        ${l('status')} AS l_status, ${l('level')} AS l_level, ${l('load')} AS l_load, ${l('stress')} AS l_stress
      FROM ${from === 'r' ? 'r' : this.t('state_changes')} WHERE run_id = $1 AND actor = $2 AND time >= $3 AND time < $4 GROUP BY b ORDER BY b`;
  }

  /**
   * One statement for the whole asset answer — the state carried in, the buckets and the status
   * changes — as rows of one shape told apart by `k`: one round trip and one server process per
   * request. Three statements in parallel took 3–4× the time of one on a loaded 2-core machine
   * (each waited for its own backend to be scheduled; 2026-12-05).
   */
  private assetSql(): string {
    const t = this.t('state_changes');
    const f = (c: string): string => this.firstOf(c);
    const l = (c: string): string => this.lastOf(c);
    const nul = (n: number): string => Array.from({ length: n }, () => 'NULL::float8').join(', ');
    return `WITH r AS MATERIALIZED (
        SELECT time, seq, status, level, load, stress, prev_status, prev_level, prev_load, prev_stress, cause_code, cause_from, cause_seq, cause_time
        FROM ${t} WHERE run_id = $1 AND actor = $2 AND time >= $3 AND time < $4)
      SELECT k, b, n, s1, s2, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 FROM (
        (SELECT 0 AS k, NULL::timestamptz AS b, NULL::bigint AS n, status::int AS s1, NULL::int AS s2, level AS v1, load AS v2, stress AS v3, ${[4, 5, 6, 7, 8, 9, 10].map((k) => `NULL::float8 AS v${k}`).join(', ')}
           FROM ${t} WHERE run_id = $1 AND actor = $2 AND time < $3 ORDER BY time DESC, seq DESC LIMIT 1)
        UNION ALL
        (SELECT 1, NULL, NULL, prev_status::int, NULL, prev_level, prev_load, prev_stress, ${nul(7)}
           FROM ${t} WHERE run_id = $1 AND actor = $2 AND time >= $3 ORDER BY time, seq LIMIT 1)
        UNION ALL
        SELECT 2, ${this.bucket('time', '$5')}, count(*), (${f('prev_status')})::int, (${l('status')})::int,
          sum(load), max(load), min(level), max(stress), ${f('prev_level')}, ${f('prev_load')}, ${f('prev_stress')}, ${l('level')}, ${l('load')}, ${l('stress')}
          FROM r GROUP BY 2
        UNION ALL
        (SELECT 3, time, seq, prev_status::int, status::int, cause_code, cause_from, cause_seq, cause_time, ${nul(6)}
           FROM r WHERE status <> prev_status ORDER BY time, seq LIMIT $6)
      ) u ORDER BY k, b, n`;
  }

  async assetHistory(actor: number, fromMs: number, toMs: number, stepMs: number, limit: number): Promise<AssetHistory> {
    type Row = [number, Date | null, string | null, number, number | null, ...Array<number | null>];
    const result = await this.pool.query<Row>({
      ...this.prepared(this.assetSql()),
      values: [this.runId, actor, new Date(fromMs), new Date(toMs), `${stepMs} milliseconds`, limit],
      rowMode: 'array',
    });
    let before: ActorView | undefined;
    let after: ActorView | undefined;
    const buckets: AssetRawBucket[] = [];
    const statusChanges: StatusChangeRecord[] = [];
    for (const row of result.rows) {
      const [k, b, n, s1, s2, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10] = row;
      if (k === 0) before = { status: s1 as ActorView['status'], level: v1!, load: v2!, stress: v3! };
      else if (k === 1) after = { status: s1 as ActorView['status'], level: v1!, load: v2!, stress: v3! };
      else if (k === 2) {
        buckets.push({
          startMs: b!.getTime(), changes: Number(n), sumLoad: v1!, maxLoad: v2!, minLevel: v3!, maxStress: v4!,
          first: { status: s1 as ActorView['status'], level: v5!, load: v6!, stress: v7! },
          last: { status: s2! as ActorView['status'], level: v8!, load: v9!, stress: v10! },
        });
      } else {
        statusChanges.push({ time: b!.getTime(), seq: Number(n), from: s1, to: s2!, cause: v1 === null ? null : { code: v1! as Cause['code'], from: v2 ?? -1, seq: Number(v3), time: v4 ?? 0 } });
      }
    }
    return { carryIn: before ?? after, buckets, statusChanges };
  }

  async assetRaw(actor: number, fromMs: number, toMs: number, stepMs: number): Promise<AssetRaw> {
    const { carryIn, buckets } = await this.assetHistory(actor, fromMs, toMs, stepMs, 0);
    return { carryIn, buckets };
  }

  async statusChanges(actor: number, fromMs: number, toMs: number, limit: number): Promise<StatusChangeRecord[]> {
    return [...(await this.assetHistory(actor, fromMs, toMs, toMs - fromMs, limit)).statusChanges];
  }

  /**
   * A prepared query: named by a hash of its text, so each pooled connection parses and plans it
   * once (on partitioned tables planning was a third of a small query's server time).
   */
  private prepared(text: string): { name: string; text: string } {
    let name = this.names.get(text);
    if (name === undefined) {
      name = `stratum_history_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.names.set(text, name);
    }
    return { name, text };
  }

  /** Which relation a series query reads for a step: `series_1h`, `series_1m` or the table. */
  seriesSource(stepMs: number): 'series_1h' | 'series_1m' | 'series_samples' {
    if (stepMs % 3_600_000 === 0) return 'series_1h';
    if (stepMs % 60_000 === 0) return 'series_1m';
    return 'series_samples';
  }

  /** The SQL of `seriesRaw`'s buckets for a step (the bench runs it by hand; the dashboard test reads it). */
  seriesBucketSql(stepMs: number): string {
    const source = this.seriesSource(stepMs);
    if (source === 'series_samples') {
      const cols = SERIES_VALUE_COLUMNS.map((c) => `max(${c}) AS max_${SHORT(c)}, ${this.lastOf(c)} AS last_${SHORT(c)}`).join(', ');
      return `SELECT ${this.bucket('time', '$5')} AS b, count(*) AS samples, ${cols}
        FROM ${this.t('series_samples')} WHERE run_id = $1 AND layer = $2 AND district = $3 AND time >= $4 AND time < $6 GROUP BY b ORDER BY b`;
    }
    const cols = SERIES_VALUE_COLUMNS.map((c) => `max(max_${SHORT(c)}) AS max_${SHORT(c)}, ${this.lastOf(`last_${SHORT(c)}`, 'bucket')} AS last_${SHORT(c)}`).join(', ');
    return `SELECT ${this.bucket('bucket', '$5')} AS b, sum(samples) AS samples, ${cols}
      FROM ${this.t(source)} WHERE run_id = $1 AND layer = $2 AND district = $3 AND bucket >= $4 AND bucket < $6 GROUP BY b ORDER BY b`;
  }

  async seriesRaw(layer: string, district: string, fromMs: number, toMs: number, stepMs: number): Promise<SeriesRaw> {
    // One statement (the value carried in, then the buckets): see `assetSql` for why.
    const cols = SERIES_VALUE_COLUMNS.map((c) => `${c} AS max_${SHORT(c)}, ${c} AS last_${SHORT(c)}`).join(', ');
    const result = await this.pool.query<SeriesRow>({
      ...this.prepared(`SELECT * FROM (
          (SELECT NULL::timestamptz AS b, NULL::bigint AS samples, ${cols} FROM ${this.t('series_samples')}
             WHERE run_id = $1 AND layer = $2 AND district = $3 AND time < $4 ORDER BY time DESC, seq DESC LIMIT 1)
          UNION ALL (${this.seriesBucketSql(stepMs)})
        ) u ORDER BY b NULLS FIRST`),
      values: [this.runId, layer, district, new Date(fromMs), `${stepMs} milliseconds`, new Date(toMs)],
    });
    const rows = result.rows;
    const carry = rows[0]?.b === null ? rows.shift() : undefined;
    return {
      carryIn: carry === undefined ? undefined : values(carry as never, 'last_'),
      buckets: rows.map((r) => ({ startMs: r.b!.getTime(), samples: Number(r.samples), max: values(r as never, 'max_'), last: values(r as never, 'last_') })),
    };
  }

  async retainedFromMs(): Promise<number | undefined> {
    return undefined;
  }

  /** Stores the run's actor ids, kinds, layers and districts (`history_actors`), so SQL readers (dashboards) can name actors. */
  async saveActors(actors: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly layer: string; readonly district: string }>): Promise<void> {
    for (let i = 0; i < actors.length; i += 10_000) {
      const batch = actors.slice(i, i + 10_000);
      await this.pool.query(
        `INSERT INTO ${this.t('history_actors')} (run_id, actor, id, kind, layer, district)
         SELECT $1, i + $2, id, k, l, d FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(id, k, l, d, i)
         ON CONFLICT (run_id, actor) DO NOTHING`,
        [this.runId, i - 1, batch.map((a) => a.id), batch.map((a) => a.kind), batch.map((a) => a.layer), batch.map((a) => a.district)],
      );
    }
  }

  /** Runs that have history here, newest write first. */
  async runs(): Promise<Array<{ runId: string; lastWrite: string; samples: number; toMs: number }>> {
    const result = await this.pool.query<{ run_id: string; last_write: Date; samples: string; to_ms: Date }>(
      `SELECT run_id, max(recorded_at) AS last_write, count(*) AS samples, max(time) AS to_ms FROM ${this.t('series_samples')} GROUP BY run_id ORDER BY last_write DESC LIMIT 200`,
    );
    return result.rows.map((r) => ({ runId: r.run_id, lastWrite: r.last_write.toISOString(), samples: Number(r.samples), toMs: r.to_ms.getTime() }));
  }

  /** Deletes the runs not written for `keep` (a PostgreSQL interval); returns how many. */
  async pruneRuns(keep: string): Promise<number> {
    const before = await this.pool.query<{ n: number }>(`SELECT count(DISTINCT run_id)::int AS n FROM ${this.t('series_samples')}`);
    await this.pool.query(`CALL ${this.t('prune_history_runs')}(NULL, $1::jsonb)`, [JSON.stringify({ keep })]);
    const after = await this.pool.query<{ n: number }>(`SELECT count(DISTINCT run_id)::int AS n FROM ${this.t('series_samples')}`);
    return before.rows[0]!.n - after.rows[0]!.n;
  }
}

/** The retention procedure (also the job's body on TimescaleDB). */
function pruneProcedure(schema: string): string {
  return `CREATE OR REPLACE PROCEDURE ${schema}.prune_history_runs(job_id int, config jsonb) LANGUAGE plpgsql AS $$
      DECLARE
        keep interval := coalesce(config->>'keep', '30 days')::interval;
        stale text[];
      BEGIN
        SELECT coalesce(array_agg(run_id), '{}') INTO stale FROM (SELECT run_id FROM ${schema}.series_samples GROUP BY run_id HAVING max(recorded_at) < now() - keep) r;
        DELETE FROM ${schema}.series_samples WHERE run_id = ANY(stale);
        DELETE FROM ${schema}.state_changes WHERE run_id = ANY(stale);
        DELETE FROM ${schema}.input_journal WHERE run_id = ANY(stale);
        DELETE FROM ${schema}.snapshots WHERE run_id = ANY(stale);
        IF to_regclass('${schema}.history_actors') IS NOT NULL THEN
          DELETE FROM ${schema}.history_actors WHERE run_id = ANY(stale);
        END IF;
        IF to_regclass('${schema}.series_1m') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
          DELETE FROM ${schema}.series_1m WHERE run_id = ANY(stale);
          DELETE FROM ${schema}.series_1h WHERE run_id = ANY(stale);
        END IF;
      END $$`;
}

/**
 * Runs one migration step once per schema: in a transaction holding the schema's advisory lock,
 * skipped when `migrations` has its version. `body` may return work for after the commit (continuous
 * aggregates cannot be created inside a transaction block).
 */
async function migrationStep(pool: pg.Pool, schema: string, version: number, mode: HistoryMode, body: (client: pg.PoolClient) => Promise<(() => Promise<void>) | void>): Promise<void> {
  const client = await pool.connect();
  let after: (() => Promise<void>) | void = undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`stratum-history:${schema}`]);
    const done = await client.query(`SELECT 1 FROM ${schema}.migrations WHERE version = $1`, [version]);
    if (done.rowCount === 0) {
      after = await body(client);
      await client.query(`INSERT INTO ${schema}.migrations (version, mode) VALUES ($1, $2)`, [version, mode]);
    }
    await client.query('COMMIT');
    if (after) await after();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function migrateNames(pool: pg.Pool, schema: string, mode: HistoryMode): Promise<void> {
  return migrationStep(pool, schema, NAMES_VERSION, mode, async (client) => {
    await client.query(pruneProcedure(schema));
    await client.query(`CREATE TABLE ${schema}.history_actors (run_id text NOT NULL, actor int NOT NULL, id text NOT NULL, kind text NOT NULL, layer text NOT NULL, district text NOT NULL, PRIMARY KEY (run_id, actor))`);
  });
}

async function migrateRollups(pool: pg.Pool, schema: string, mode: HistoryMode): Promise<void> {
  if (mode === 'timescaledb') return;
  await migrationStep(pool, schema, ROLLUPS_VERSION, mode, async (client) => {
    await client.query(pruneProcedure(schema));
    const maxes = SERIES_VALUE_COLUMNS.map((c) => `max_${SHORT(c)}`);
    const lasts = SERIES_VALUE_COLUMNS.map((c) => `last_${SHORT(c)}`);
    for (const [table, , width] of ROLLUPS) {
      // Earlier versions had views of these names.
      await client.query(`DROP VIEW IF EXISTS ${schema}.${table}`);
      await client.query(`CREATE TABLE ${schema}.${table} (bucket timestamptz NOT NULL, run_id text NOT NULL, layer text NOT NULL, district text NOT NULL, samples bigint NOT NULL, last_seq bigint NOT NULL,
        ${maxes.map((c) => `${c} double precision NOT NULL`).join(', ')}, ${lasts.map((c) => `${c} double precision NOT NULL`).join(', ')}, PRIMARY KEY (run_id, layer, district, bucket))`);
      await client.query(`INSERT INTO ${schema}.${table} SELECT date_bin(INTERVAL '${width}', time, 'epoch'::timestamptz), run_id, layer, district, count(*), max(seq),
        ${SERIES_VALUE_COLUMNS.map((c) => `max(${c})`).join(', ')}, ${SERIES_VALUE_COLUMNS.map((c) => `(array_agg(${c} ORDER BY seq DESC))[1]`).join(', ')}
        FROM ${schema}.series_samples GROUP BY 1, run_id, layer, district`);
    }
  });
}

function migrateSeries(pool: pg.Pool, schema: string, mode: HistoryMode, retention: string): Promise<void> {
  return migrationStep(pool, schema, MIGRATION_VERSION, mode, async (client) => {
    const columns = `run_id text NOT NULL, time timestamptz NOT NULL, seq bigint NOT NULL, layer text NOT NULL, district text NOT NULL,
      failed int NOT NULL, degraded int NOT NULL, people_power double precision NOT NULL, people_water double precision NOT NULL,
      people_telecom double precision NOT NULL, cost_per_hour double precision NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now()`;
    await client.query(pruneProcedure(schema));
    if (mode !== 'timescaledb') {
      await client.query(`CREATE TABLE ${schema}.series_samples (${columns}) PARTITION BY RANGE (time)`);
      await client.query(`CREATE TABLE ${schema}.series_samples_default PARTITION OF ${schema}.series_samples DEFAULT`);
      await client.query(`CREATE INDEX ON ${schema}.series_samples (run_id, layer, district, time DESC)`);
      return;
    }
    await client.query(`CREATE TABLE ${schema}.series_samples (${columns})`);
    await client.query(`SELECT create_hypertable('${schema}.series_samples', by_range('time', INTERVAL '1 day'))`);
    await client.query(`CREATE INDEX ON ${schema}.series_samples (run_id, layer, district, time DESC)`);
    await client.query(`ALTER TABLE ${schema}.series_samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_id, layer, district', timescaledb.compress_orderby = 'time, seq')`);
    await client.query(`SELECT add_compression_policy('${schema}.series_samples', INTERVAL '7 days')`);
    await client.query(`SELECT add_job('${schema}.prune_history_runs', INTERVAL '1 day', config => $1::jsonb)`, [JSON.stringify({ keep: retention })]);
    return async () => {
      for (const [view, , width] of ROLLUPS) {
        const cols = SERIES_VALUE_COLUMNS.map((c) => `max(${c}) AS max_${SHORT(c)}, last(${c}, seq) AS last_${SHORT(c)}`).join(', ');
        await client.query(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${schema}.${view} WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
          SELECT time_bucket(INTERVAL '${width}', time) AS bucket, run_id, layer, district, count(*) AS samples, ${cols}
          FROM ${schema}.series_samples GROUP BY bucket, run_id, layer, district WITH NO DATA`);
      }
    };
  });
}

/**
 * Write-behind for the series samples (as `HistorySink` is for the state changes): bounded, the
 * oldest dropped beyond `maxPending` (counted), retried with backoff; after each write the
 * aggregates are refreshed over the virtual range written, at most every `refreshEveryMs`.
 */
export class SeriesSink implements HealthReporter {
  private pending: SeriesSample[] = [];
  private loop: Promise<void> | undefined;
  private readonly status = new ServiceStatus();
  private closed = false;
  private refreshedTo = Number.NEGATIVE_INFINITY;
  private writtenFrom = Number.POSITIVE_INFINITY;
  private writtenTo = Number.NEGATIVE_INFINITY;
  private lastRefresh = 0;

  constructor(readonly target: PgHistoryQueries, private readonly maxPending = 200_000, private readonly refreshEveryMs = 5_000) {}

  push(samples: readonly SeriesSample[]): void {
    for (const s of samples) this.pending.push(s);
    const over = this.pending.length - this.maxPending;
    if (over > 0) {
      this.pending.splice(0, over);
      this.status.dropped += over;
    }
    if (this.loop === undefined && !this.closed) this.loop = this.run().finally(() => void (this.loop = undefined));
  }

  health(): ServiceHealth {
    return this.status.report('history', `${this.target.backend} (series)`, { pending: this.pending.length, bound: this.maxPending });
  }

  /** Waits for the queue to empty (or `timeoutMs`), then refreshes what was written. */
  async drain(timeoutMs = 10_000): Promise<void> {
    const until = performance.now() + timeoutMs;
    while ((this.pending.length > 0 || this.loop !== undefined) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.refresh(true).catch(() => {});
  }

  private async refresh(force: boolean): Promise<void> {
    if (this.writtenTo < this.writtenFrom) return;
    if (!force && performance.now() - this.lastRefresh < this.refreshEveryMs) return;
    this.lastRefresh = performance.now();
    const from = Math.max(this.writtenFrom, this.refreshedTo === Number.NEGATIVE_INFINITY ? this.writtenFrom : Math.min(this.writtenFrom, this.refreshedTo));
    await this.target.refreshSeries(from, this.writtenTo + 1);
    this.refreshedTo = this.writtenTo;
    this.writtenFrom = Number.POSITIVE_INFINITY;
    this.writtenTo = Number.NEGATIVE_INFINITY;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.closed && this.pending.length > 0) {
      const batch = this.pending.slice(0, 5_000);
      try {
        await this.target.appendSamples(batch);
        const at = this.pending.indexOf(batch[0]!);
        if (at >= 0) this.pending.splice(at, batch.length);
        for (const s of batch) {
          if (s.time < this.writtenFrom) this.writtenFrom = s.time;
          if (s.time > this.writtenTo) this.writtenTo = s.time;
        }
        this.status.succeeded(batch.length);
        await this.refresh(false);
        backoff = 100;
      } catch (error) {
        this.status.failed(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  close(): void {
    this.closed = true;
  }
}
