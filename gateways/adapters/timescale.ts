import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ActorView, HistoryPort, InputCommand, JournalEntry, StateChange } from '../../engine/index.ts';
import { ServiceUnavailableError } from './health.ts';

/**
 * History in PostgreSQL: TimescaleDB hypertables (compression, a continuous aggregate per layer and
 * district) when the `timescaledb` extension is available, plain range-partitioned tables otherwise.
 * `mode` says which one is in use. State changes are written through COPY; the journal with one
 * idempotent INSERT per batch (a replay must read it back whole and in order).
 *
 * Time: the engine's virtual ms are stored as `timestamptz` from the Unix epoch (virtual 0 ⇒
 * 1970-01-01), so `time_bucket` / `date_bin` and interval arithmetic work on them.
 *
 * Asset state over time is the state-change table itself (each row carries the state after the
 * change); the view `asset_state` shows it without the `before` columns.
 */
export type HistoryMode = 'timescaledb' | 'postgres-partitions';

export interface PgHistoryOptions {
  /** postgres:// URL (or give `pool`). */
  readonly url?: string;
  readonly pool?: pg.Pool;
  /** Schema for every table (default `stratum`). */
  readonly schema?: string;
  /** Run whose changes `appendChanges` writes and `actorHistory` reads. */
  readonly runId: string;
  /** Layer and district of an actor, stored with each change for the per-layer/district aggregate. */
  readonly dimensions?: (actor: number) => { readonly layer: string; readonly district: string } | undefined;
  /** `auto` (default): hypertables when the extension can be created; `off`: plain partitions. */
  readonly timescale?: 'auto' | 'off';
  /** Pool size (default 4; PGlite-over-socket serves one connection: use 1). */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  /** Per-statement timeout (default 10 s), so a hung server fails a write instead of stalling it. */
  readonly statementTimeoutMs?: number;
  /**
   * `copy` (default): COPY FROM STDIN. `insert`: one multi-row INSERT … SELECT unnest(…) per batch,
   * for servers without COPY FROM STDIN (PGlite over its socket crashes on it).
   */
  readonly writeMethod?: 'copy' | 'insert';
}

export interface HistoryBucket {
  /** Virtual ms at the start of the bucket. */
  readonly bucketMs: number;
  readonly changes: number;
  readonly avgLoad: number;
  readonly maxStress: number;
  readonly minLevel: number;
  /** Status of the last change in the bucket. */
  readonly lastStatus: number;
}

export interface LayerDistrictBucket {
  readonly bucketMs: number;
  readonly layer: string;
  readonly district: string;
  readonly changes: number;
  readonly failures: number;
  readonly avgLevel: number;
  readonly maxStress: number;
}

export interface Snapshot {
  readonly runId: string;
  readonly time: number;
  readonly seq: number;
  readonly views: Record<string, ActorView>;
}

/** The columns of a state-change row, in COPY order. */
export const CHANGE_COLUMNS = [
  'run_id', 'time', 'seq', 'actor', 'layer', 'district',
  'status', 'level', 'load', 'stress',
  'prev_status', 'prev_level', 'prev_load', 'prev_stress',
  'cause_code', 'cause_from', 'cause_seq', 'cause_time',
] as const;

const MIGRATION_VERSION = 1;
const DAY_MS = 86_400_000;

/** Escapes one value for COPY text format. */
function copyText(value: string): string {
  return /[\\\t\n\r]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One COPY text line for a change (exported for the benchmark's raw-COPY baseline). */
export function changeLine(runId: string, c: StateChange, dims: { layer: string; district: string } | undefined): string {
  const cause = c.cause;
  return `${copyText(runId)}\t${iso(c.time)}\t${c.seq}\t${c.actor}\t${dims === undefined ? '\\N' : copyText(dims.layer)}\t${dims === undefined ? '\\N' : copyText(dims.district)}\t${c.after.status}\t${c.after.level}\t${c.after.load}\t${c.after.stress}\t${c.before.status}\t${c.before.level}\t${c.before.load}\t${c.before.stress}\t${cause === null ? '\\N\t\\N\t\\N\t\\N' : `${cause.code}\t${cause.from}\t${cause.seq}\t${cause.time}`}\n`;
}

interface ChangeRow {
  time: Date;
  seq: string;
  actor: number;
  status: number;
  level: number;
  load: number;
  stress: number;
  prev_status: number;
  prev_level: number;
  prev_load: number;
  prev_stress: number;
  cause_code: number | null;
  cause_from: number | null;
  cause_seq: string | null;
  cause_time: number | null;
}

function rowToChange(r: ChangeRow): StateChange {
  return {
    time: r.time.getTime(),
    seq: Number(r.seq),
    actor: r.actor,
    before: { status: r.prev_status as ActorView['status'], level: r.prev_level, load: r.prev_load, stress: r.prev_stress },
    after: { status: r.status as ActorView['status'], level: r.level, load: r.load, stress: r.stress },
    cause: r.cause_code === null ? null : { code: r.cause_code as never, from: r.cause_from ?? -1, seq: Number(r.cause_seq), time: r.cause_time ?? 0 },
  };
}

/**
 * @example
 * const history = await PgHistory.open({ url: process.env.STRATUM_PG_URL!, runId: 'live-1' });
 * console.log(history.mode); // 'timescaledb' or 'postgres-partitions'
 * await history.appendChanges(changes);
 * await history.bucketed(12, 0, 3_600_000, 60_000);
 */
export class PgHistory implements HistoryPort {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly runId: string;
  private readonly ownsPool: boolean;
  private readonly dims: PgHistoryOptions['dimensions'];
  private readonly days = new Set<number>();
  private closed = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, options: PgHistoryOptions, readonly mode: HistoryMode) {
    this.pool = pool;
    this.ownsPool = ownsPool;
    this.schema = options.schema ?? 'stratum';
    this.runId = options.runId;
    this.dims = options.dimensions;
    this.writeMethod = options.writeMethod ?? 'copy';
  }

  readonly writeMethod: 'copy' | 'insert';

  /** Connects, runs the migrations (idempotent, serialised by an advisory lock) and reports the mode. */
  static async open(options: PgHistoryOptions): Promise<PgHistory> {
    const schema = options.schema ?? 'stratum';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError(`history schema must be a plain lower-case identifier (got "${schema}")`);
    const ownsPool = options.pool === undefined;
    const pool = options.pool ?? new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    try {
      const mode = await migrate(pool, schema, options.timescale ?? 'auto');
      return new PgHistory(pool, ownsPool, options, mode);
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => {});
      throw new ServiceUnavailableError('history', `cannot prepare the history schema "${schema}": ${(error as Error).message}`, { cause: error });
    }
  }

  private t(name: string): string {
    return `${this.schema}.${name}`;
  }

  /** Appends changes with one COPY (creating the day partitions first in partitions mode). */
  async appendChanges(changes: readonly StateChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.ensurePartitions(changes);
    if (this.writeMethod === 'insert') {
      // Small statements: PGlite's socket server fails on large parameter messages.
      for (let i = 0; i < changes.length; i += 100) await this.insertChanges(changes.slice(i, i + 100));
      return;
    }
    const runId = this.runId;
    const dims = this.dims;
    // A generator, so formatting overlaps with the server parsing the previous chunk.
    function* lines(): Generator<string> {
      let chunk = '';
      for (const c of changes) {
        chunk += changeLine(runId, c, dims?.(c.actor));
        if (chunk.length > 65_536) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk !== '') yield chunk;
    }
    await this.copyLines(lines());
  }

  private async insertChanges(changes: readonly StateChange[]): Promise<void> {
    const cols: unknown[][] = CHANGE_COLUMNS.map(() => []);
    for (const c of changes) {
      const d = this.dims?.(c.actor);
      const k = c.cause;
      const row = [this.runId, new Date(c.time), c.seq, c.actor, d?.layer ?? null, d?.district ?? null, c.after.status, c.after.level, c.after.load, c.after.stress,
        c.before.status, c.before.level, c.before.load, c.before.stress, k?.code ?? null, k?.from ?? null, k?.seq ?? null, k?.time ?? null];
      row.forEach((v, i) => cols[i]!.push(v));
    }
    const types = ['text', 'timestamptz', 'bigint', 'int', 'text', 'text', 'smallint', 'float8', 'float8', 'float8', 'smallint', 'float8', 'float8', 'float8', 'smallint', 'int', 'bigint', 'float8'];
    await this.pool.query(
      `INSERT INTO ${this.t('state_changes')} (${CHANGE_COLUMNS.join(', ')}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`,
      cols,
    );
  }

  /** COPY of pre-formatted lines into the state-change table (also the benchmark's raw baseline). */
  async copyLines(chunks: Iterable<string>): Promise<void> {
    const client = await this.pool.connect();
    // The pool only listens for errors on idle clients. A server shutting down (FATAL 57P01) while
    // this one is checked out would otherwise be an unhandled 'error' event, which ends the process.
    let lost: Error | undefined;
    const onError = (error: Error): void => void (lost = error);
    client.on('error', onError);
    try {
      const sink = client.query(copyFrom(`COPY ${this.t('state_changes')} (${CHANGE_COLUMNS.join(', ')}) FROM STDIN`));
      await pipeline(Readable.from(chunks), sink);
      if (lost !== undefined) throw lost;
    } catch (error) {
      lost ??= error as Error;
      throw error;
    } finally {
      client.off('error', onError);
      // A client that failed is destroyed instead of going back to the pool.
      client.release(lost);
    }
  }

  private async ensurePartitions(changes: readonly StateChange[]): Promise<void> {
    if (this.mode !== 'postgres-partitions') return;
    const wanted = new Set<number>();
    for (const c of changes) {
      const day = Math.floor(c.time / DAY_MS);
      if (!this.days.has(day)) wanted.add(day);
    }
    for (const day of wanted) {
      const name = `state_changes_d${day}`;
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t(name)} PARTITION OF ${this.t('state_changes')} FOR VALUES FROM ('${iso(day * DAY_MS)}') TO ('${iso((day + 1) * DAY_MS)}')`).catch((error: unknown) => {
        // Another process created it between our check and our CREATE: fine.
        if ((error as { code?: string }).code !== '42P07') throw error;
      });
      this.days.add(day);
    }
  }

  /** Appends journal entries; an entry already stored (same run and seq) is kept as it was. */
  async appendJournal(runId: string, entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.t('input_journal')} (run_id, seq, time, source, source_seq, command)
       SELECT $1, s, t, src, ss, c::jsonb FROM unnest($2::bigint[], $3::double precision[], $4::text[], $5::bigint[], $6::text[]) AS u(s, t, src, ss, c)
       ON CONFLICT (run_id, seq) DO NOTHING`,
      [runId, entries.map((e) => e.seq), entries.map((e) => e.time), entries.map((e) => e.source), entries.map((e) => e.sourceSeq ?? null), entries.map((e) => JSON.stringify(e.command))],
    );
  }

  async readJournal(runId: string): Promise<JournalEntry[]> {
    const result = await this.pool.query<{ seq: string; time: number; source: string; source_seq: string | null; command: InputCommand }>(
      `SELECT seq, time, source, source_seq, command FROM ${this.t('input_journal')} WHERE run_id = $1 ORDER BY seq`,
      [runId],
    );
    return result.rows.map((r) => (r.source_seq === null
      ? { seq: Number(r.seq), time: r.time, source: r.source, command: r.command }
      : { seq: Number(r.seq), time: r.time, source: r.source, sourceSeq: Number(r.source_seq), command: r.command }));
  }

  async actorHistory(actor: number, fromMs: number, toMs: number): Promise<StateChange[]> {
    const result = await this.pool.query<ChangeRow>(
      `SELECT time, seq, actor, status, level, load, stress, prev_status, prev_level, prev_load, prev_stress, cause_code, cause_from, cause_seq, cause_time
       FROM ${this.t('state_changes')} WHERE run_id = $1 AND actor = $2 AND time >= $3 AND time <= $4 ORDER BY time, seq`,
      [this.runId, actor, new Date(fromMs), new Date(toMs)],
    );
    return result.rows.map(rowToChange);
  }

  /** One actor's history in buckets of `bucketMs` (time_bucket on TimescaleDB, date_bin otherwise). */
  async bucketed(actor: number, fromMs: number, toMs: number, bucketMs: number): Promise<HistoryBucket[]> {
    if (!(bucketMs >= 1)) throw new RangeError(`bucket must be at least 1 ms (got ${bucketMs})`);
    const bucket = this.mode === 'timescaledb' ? `time_bucket($5::interval, time)` : `date_bin($5::interval, time, 'epoch'::timestamptz)`;
    const result = await this.pool.query<{ b: Date; changes: string; avg_load: number; max_stress: number; min_level: number; last_status: number }>(
      `SELECT ${bucket} AS b, count(*) AS changes, avg(load) AS avg_load, max(stress) AS max_stress, min(level) AS min_level,
              (array_agg(status ORDER BY time DESC, seq DESC))[1] AS last_status
       FROM ${this.t('state_changes')} WHERE run_id = $1 AND actor = $2 AND time >= $3 AND time <= $4 GROUP BY b ORDER BY b`,
      [this.runId, actor, new Date(fromMs), new Date(toMs), `${bucketMs} milliseconds`],
    );
    return result.rows.map((r) => ({ bucketMs: r.b.getTime(), changes: Number(r.changes), avgLoad: r.avg_load, maxStress: r.max_stress, minLevel: r.min_level, lastStatus: r.last_status }));
  }

  /**
   * Changes, failures, mean level and peak stress per minute, layer and district: from the continuous
   * aggregate on TimescaleDB (call `refreshAggregates` first where no background jobs run), from the
   * table otherwise.
   */
  async layerDistrictMinutes(fromMs: number, toMs: number): Promise<LayerDistrictBucket[]> {
    const source = this.mode === 'timescaledb'
      ? `SELECT bucket AS b, layer, district, changes, failures, avg_level, max_stress FROM ${this.t('state_by_layer_district')} WHERE run_id = $1 AND bucket >= $2 AND bucket <= $3`
      : `SELECT date_bin('1 minute', time, 'epoch'::timestamptz) AS b, layer, district, count(*) AS changes, count(*) FILTER (WHERE status = 2) AS failures, avg(level) AS avg_level, max(stress) AS max_stress
         FROM ${this.t('state_changes')} WHERE run_id = $1 AND time >= $2 AND time <= $3 GROUP BY b, layer, district`;
    const result = await this.pool.query<{ b: Date; layer: string; district: string; changes: string; failures: string; avg_level: number; max_stress: number }>(
      `${source} ORDER BY 1, 2, 3`,
      [this.runId, new Date(fromMs), new Date(toMs)],
    );
    return result.rows.map((r) => ({ bucketMs: r.b.getTime(), layer: r.layer, district: r.district, changes: Number(r.changes), failures: Number(r.failures), avgLevel: r.avg_level, maxStress: r.max_stress }));
  }

  /** Refreshes the continuous aggregate over all time (TimescaleDB only; a no-op otherwise). */
  async refreshAggregates(): Promise<void> {
    if (this.mode !== 'timescaledb') return;
    await this.pool.query(`CALL refresh_continuous_aggregate('${this.t('state_by_layer_district')}', NULL, NULL)`);
  }

  /** Compresses every chunk older than `olderThanMs` of virtual time (TimescaleDB only). Returns chunks compressed. */
  async compressOlderThan(olderThanMs: number): Promise<number> {
    if (this.mode !== 'timescaledb') return 0;
    const result = await this.pool.query(`SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('${this.t('state_changes')}', older_than => $1::timestamptz) c`, [new Date(olderThanMs)]);
    return result.rowCount ?? 0;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t('snapshots')} (run_id, time, seq, views) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (run_id, seq) DO UPDATE SET views = EXCLUDED.views, time = EXCLUDED.time`,
      [snapshot.runId, new Date(snapshot.time), snapshot.seq, JSON.stringify(snapshot.views)],
    );
  }

  /** The latest snapshot of a run at or before `atMs` (default: the latest). */
  async latestSnapshot(runId: string, atMs = Number.MAX_SAFE_INTEGER / 2): Promise<Snapshot | undefined> {
    const result = await this.pool.query<{ time: Date; seq: string; views: Record<string, ActorView> }>(
      `SELECT time, seq, views FROM ${this.t('snapshots')} WHERE run_id = $1 AND time <= $2 ORDER BY time DESC, seq DESC LIMIT 1`,
      [runId, new Date(Math.min(atMs, 8.64e15))],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { runId, time: row.time.getTime(), seq: Number(row.seq), views: row.views };
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }
}

async function migrate(pool: pg.Pool, schema: string, timescale: 'auto' | 'off'): Promise<HistoryMode> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`stratum-history:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (version int PRIMARY KEY, mode text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await client.query<{ mode: HistoryMode }>(`SELECT mode FROM ${schema}.migrations WHERE version = $1`, [MIGRATION_VERSION]);
    const existing = done.rows[0];
    if (existing !== undefined) {
      await client.query('COMMIT');
      return existing.mode;
    }
    let mode: HistoryMode = 'postgres-partitions';
    if (timescale === 'auto') {
      const available = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
      if (available.rowCount !== 0) {
        await client.query('SAVEPOINT ext');
        try {
          await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
          mode = 'timescaledb';
        } catch {
          // Listed but not loadable (not in shared_preload_libraries): plain partitions.
          await client.query('ROLLBACK TO SAVEPOINT ext');
        }
      }
    }
    const columns = `run_id text NOT NULL, time timestamptz NOT NULL, seq bigint NOT NULL, actor int NOT NULL, layer text, district text,
      status smallint NOT NULL, level double precision NOT NULL, load double precision NOT NULL, stress double precision NOT NULL,
      prev_status smallint NOT NULL, prev_level double precision NOT NULL, prev_load double precision NOT NULL, prev_stress double precision NOT NULL,
      cause_code smallint, cause_from int, cause_seq bigint, cause_time double precision`;
    if (mode === 'timescaledb') {
      await client.query(`CREATE TABLE ${schema}.state_changes (${columns})`);
      await client.query(`SELECT create_hypertable('${schema}.state_changes', by_range('time', INTERVAL '1 day'))`);
      await client.query(`CREATE INDEX ON ${schema}.state_changes (run_id, actor, time DESC)`);
      await client.query(`ALTER TABLE ${schema}.state_changes SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_id, actor', timescaledb.compress_orderby = 'time, seq')`);
      await client.query(`SELECT add_compression_policy('${schema}.state_changes', INTERVAL '7 days')`);
      await client.query('COMMIT');
      // Continuous aggregates cannot be created inside a transaction block.
      await client.query(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${schema}.state_by_layer_district WITH (timescaledb.continuous) AS
        SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, run_id, layer, district, count(*) AS changes,
               count(*) FILTER (WHERE status = 2) AS failures, avg(level) AS avg_level, max(stress) AS max_stress
        FROM ${schema}.state_changes GROUP BY bucket, run_id, layer, district WITH NO DATA`);
      await client.query(`SELECT add_continuous_aggregate_policy('${schema}.state_by_layer_district', start_offset => INTERVAL '1 day', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute', if_not_exists => true)`);
      await client.query('BEGIN');
    } else {
      await client.query(`CREATE TABLE ${schema}.state_changes (${columns}) PARTITION BY RANGE (time)`);
      await client.query(`CREATE TABLE ${schema}.state_changes_default PARTITION OF ${schema}.state_changes DEFAULT`);
      await client.query(`CREATE INDEX ON ${schema}.state_changes (run_id, actor, time DESC)`);
    }
    await client.query(`CREATE VIEW ${schema}.asset_state AS SELECT run_id, time, actor, layer, district, status, level, load, stress FROM ${schema}.state_changes`);
    await client.query(`CREATE TABLE ${schema}.input_journal (run_id text NOT NULL, seq bigint NOT NULL, time double precision NOT NULL, source text NOT NULL, source_seq bigint, command jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run_id, seq))`);
    await client.query(`CREATE TABLE ${schema}.snapshots (run_id text NOT NULL, time timestamptz NOT NULL, seq bigint NOT NULL, views jsonb NOT NULL, PRIMARY KEY (run_id, seq))`);
    await client.query(`INSERT INTO ${schema}.migrations (version, mode) VALUES ($1, $2)`, [MIGRATION_VERSION, mode]);
    await client.query('COMMIT');
    return mode;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
