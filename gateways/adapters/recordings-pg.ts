import pg from 'pg';
import { parseCity, StratumError, ValidationError, zodProblems, type CityModel, type JournalEntry } from '../../engine/index.ts';
import { cityDocument, recordingMetaSchema, type Recording, type RecordingMeta } from '../../scenarios/index.ts';
import { ServiceUnavailableError } from './health.ts';

/**
 * Recordings in PostgreSQL (the TimescaleDB adapter's database), beside the files: `POST
 * /api/recordings` writes both when the adapters are on, and sessions and `stratum record list` read
 * from here. Tables (schema `stratum` by default, the history's):
 *
 * - `recordings (id PK, created_at, meta json, city json NULL)` — the meta without `feedAfter`; the
 *   city document when the recording's city is a file (a live recording), so another machine can
 *   replay it without that file.
 * - `recording_entries (recording_id, seq, feed_after, entry json)` — one journal entry a row.
 *
 * `json`, not `jsonb`: the entries come back as they were written (key order included), like the
 * journal file. A recording is written in one transaction, so a reader sees all of it or nothing.
 */
export interface PgRecordingsOptions {
  readonly url?: string;
  /** Share a pool (the history's); else one is made from `url`. */
  readonly pool?: pg.Pool;
  readonly schema?: string;
  /**
   * Only read (the CLI's `replay`/`train`/`record list --pg`): the tables are not created, and a
   * database without them simply holds no recordings — a mistyped schema changes nothing.
   */
  readonly readOnly?: boolean;
}

/** A recording asked for by id that the database does not hold. */
export class RecordingNotFoundError extends StratumError {}

/** Rows per INSERT when writing entries. */
const BATCH = 2_000;

export class PgRecordings {
  /** `tablesPresent` false: opened read-only on a database without the tables (no recordings). */
  private constructor(private readonly pool: pg.Pool, private readonly ownsPool: boolean, readonly schema: string, private readonly tablesPresent = true) {}

  /**
   * Connects (or borrows `pool`) and creates the tables when missing (idempotent, serialised by an
   * advisory lock); with `readOnly`, only checks whether they exist.
   */
  static async open(options: PgRecordingsOptions): Promise<PgRecordings> {
    const schema = options.schema ?? 'stratum';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError(`recordings schema must be a plain lower-case identifier (got "${schema}")`);
    const ownsPool = options.pool === undefined;
    const pool = options.pool ?? new pg.Pool({ connectionString: options.url, max: 2, connectionTimeoutMillis: 5_000 });
    if (ownsPool) pool.on('error', () => {});
    try {
      if (options.readOnly === true) {
        const found = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS present', [`${schema}.recordings`, `${schema}.recording_entries`]);
        return new PgRecordings(pool, ownsPool, schema, found.rows[0]?.present === true);
      }
      await transaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`stratum-recordings:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.recordings (id text PRIMARY KEY, created_at timestamptz NOT NULL, meta json NOT NULL, city json)`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.recording_entries (recording_id text NOT NULL REFERENCES ${schema}.recordings (id) ON DELETE CASCADE, seq int NOT NULL, feed_after double precision NOT NULL, entry json NOT NULL, PRIMARY KEY (recording_id, seq))`);
      });
      return new PgRecordings(pool, ownsPool, schema);
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => {});
      throw new ServiceUnavailableError('recordings', `cannot ${options.readOnly === true ? 'read' : 'prepare'} the recordings tables in schema "${schema}": ${(error as Error).message}`, { cause: error });
    }
  }

  /** Stores (or replaces) a recording; `city` is kept when the meta names a city file. */
  async save(recording: Recording, city?: CityModel): Promise<void> {
    const { feedAfter, ...meta } = recording.meta;
    await transaction(this.pool, async (client) => {
      await client.query(`DELETE FROM ${this.schema}.recordings WHERE id = $1`, [meta.id]);
      await client.query(`INSERT INTO ${this.schema}.recordings (id, created_at, meta, city) VALUES ($1, $2, $3, $4)`, [meta.id, meta.createdAt, JSON.stringify(meta), 'file' in meta.city && city !== undefined ? JSON.stringify(cityDocument(city)) : null]);
      const entries = recording.entries;
      for (let start = 0; start < entries.length; start += BATCH) {
        const part = entries.slice(start, start + BATCH);
        await client.query(
          `INSERT INTO ${this.schema}.recording_entries (recording_id, seq, feed_after, entry) SELECT $1, s, f, e FROM unnest($2::int[], $3::float8[], $4::json[]) AS t(s, f, e)`,
          [meta.id, part.map((e) => e.seq), part.map((_, i) => feedAfter[start + i]!), part.map((e) => JSON.stringify(e))],
        );
      }
    });
  }

  /** Every stored recording's meta, newest first. */
  async list(): Promise<RecordingMeta[]> {
    if (!this.tablesPresent) return [];
    const rows = await this.pool.query<{ id: string; meta: unknown; feed_after: number[] | null }>(
      `SELECT r.id, r.meta, (SELECT array_agg(feed_after ORDER BY seq) FROM ${this.schema}.recording_entries WHERE recording_id = r.id) AS feed_after FROM ${this.schema}.recordings r ORDER BY r.created_at DESC, r.id DESC`,
    );
    return rows.rows.map((r) => this.meta(r.id, r.meta, r.feed_after ?? []));
  }

  /** The recording and, for a live recording, its city; undefined when there is none by that id. */
  async load(id: string): Promise<{ recording: Recording; city?: CityModel } | undefined> {
    if (!this.tablesPresent) return undefined;
    const head = await this.pool.query<{ meta: unknown; city: unknown }>(`SELECT meta, city FROM ${this.schema}.recordings WHERE id = $1`, [id]);
    const row = head.rows[0];
    if (row === undefined) return undefined;
    const body = await this.pool.query<{ feed_after: number; entry: JournalEntry }>(`SELECT feed_after, entry FROM ${this.schema}.recording_entries WHERE recording_id = $1 ORDER BY seq`, [id]);
    const meta = this.meta(id, row.meta, body.rows.map((r) => r.feed_after));
    if (body.rows.length !== meta.inputs) throw new ValidationError(this.where(id), [{ path: '$.inputs', reason: `the meta counts ${meta.inputs} inputs, the table holds ${body.rows.length}` }]);
    const recording: Recording = { dir: `postgres:${this.schema}.recordings/${id}`, meta, entries: body.rows.map((r) => r.entry) };
    return row.city === null ? { recording } : { recording, city: parseCity(row.city, `${this.where(id)} city`) };
  }

  /** Like `load`, but a recording that is not stored here is an error naming it and this store. */
  async loadExisting(id: string): Promise<{ recording: Recording; city?: CityModel }> {
    const found = await this.load(id);
    if (found === undefined) throw new RecordingNotFoundError(`no ${this.where(id)}: see \`stratum record list --pg\``);
    return found;
  }

  async delete(id: string): Promise<boolean> {
    if (!this.tablesPresent) return false;
    const result = await this.pool.query(`DELETE FROM ${this.schema}.recordings WHERE id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private where(id: string): string {
    return `recording ${JSON.stringify(id)} in PostgreSQL (${this.schema}.recordings)`;
  }

  private meta(id: string, stored: unknown, feedAfter: number[]): RecordingMeta {
    const parsed = recordingMetaSchema.safeParse({ ...(stored as object), feedAfter });
    if (!parsed.success) throw new ValidationError(this.where(id), zodProblems(parsed.error));
    return parsed.data;
  }
}

/** Runs `work` in one transaction on a pooled client (rolled back when it throws). */
async function transaction(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
