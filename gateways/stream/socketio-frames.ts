import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Socket } from 'socket.io';
import * as ws from 'ws';
import { encodeBundle, FRAME_PACKET_HEADER } from '../frame-bundle.ts';

/**
 * The one module that touches private internals of ws, engine.io and Socket.io (the frame hot path).
 * Everything else in gateways/ uses their public APIs. The internals used, and why:
 *
 * 1. `ws.Sender.frame` (exported at run time, missing from @types/ws): computes a WebSocket frame
 *    (header + payload) once, so a frame sent to 500 sockets is framed once, not 500 times.
 * 2. engine.io's `wsPreEncodedFrame` packet option: its websocket transport then writes that frame
 *    with `socket._sender.sendFrame` instead of encoding the packet per socket — the hook Socket.io's
 *    own broadcasts use for text packets.
 * 3. engine.io `Socket.writeBuffer` (packets waiting for the transport) and `transport.socket`
 *    (the ws underneath, for `bufferedAmount`): how backed up one viewer is.
 *
 * The versions these were read from are pinned exactly in package.json and listed in
 * `PINNED_VERSIONS`; `socketio-frames.test.ts` fails when an installed version differs or when the
 * pre-encoded path stops producing the bytes the public path produces. When the installed versions
 * differ at run time, the writer does not use (1) and (2) — it writes the same one-message packet
 * through engine.io's public `write`, which frames it per socket — so an unchecked upgrade costs
 * speed, never correctness. (3) falls back to "not backed up" when the fields are missing.
 */
export const PINNED_VERSIONS = {
  ws: '8.23.0',
  'socket.io': '4.8.4',
  'engine.io': '6.6.12',
  /** The ws engine.io itself depends on (its own copy): its `Sender#sendFrame` writes our frames. */
  'engine.io>ws': '8.21.3',
} as const;

export type PinnedPackage = keyof typeof PINNED_VERSIONS;

const require = createRequire(import.meta.url);

function packageVersion(resolveFrom: string, name: string): string {
  const req = createRequire(resolveFrom);
  // A package's main file lies somewhere inside it: walk up to its package.json.
  let dir = dirname(req.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version !== undefined) return pkg.version;
    } catch {
      // no package.json at this level
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package.json of ${name}`);
    dir = up;
  }
}

/** The versions installed now, resolved the way the server loads them. */
export function installedVersions(): Record<PinnedPackage, string> {
  const here = import.meta.url;
  const socketIo = require.resolve('socket.io');
  const engineIo = createRequire(socketIo).resolve('engine.io');
  return {
    ws: packageVersion(here, 'ws'),
    'socket.io': packageVersion(here, 'socket.io'),
    'engine.io': packageVersion(socketIo, 'engine.io'),
    'engine.io>ws': packageVersion(engineIo, 'ws'),
  };
}

/** Which installed versions differ from the pinned ones (empty: the internals may be used). */
export function versionMismatches(): string[] {
  const installed = installedVersions();
  return (Object.keys(PINNED_VERSIONS) as PinnedPackage[])
    .filter((name) => installed[name] !== PINNED_VERSIONS[name])
    .map((name) => `${name} ${installed[name]} (pinned ${PINNED_VERSIONS[name]})`);
}

/** A WebSocket frame computed once (ws `Sender.frame`): header and payload buffers. */
type WsFrame = Buffer[];

const { Sender } = ws as unknown as { Sender?: { frame?(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): WsFrame } };

const mismatches = versionMismatches();
/** Whether frames go out pre-encoded (the pinned versions are installed). */
export const PRE_ENCODED_FRAMES: boolean = mismatches.length === 0 && typeof Sender?.frame === 'function';
if (!PRE_ENCODED_FRAMES) {
  console.warn(`stratum: frames are framed per socket (slower): ${mismatches.length > 0 ? mismatches.join(', ') : 'ws.Sender.frame is missing'}; see gateways/stream/socketio-frames.ts`);
}

const wsFrame = (data: Buffer, opcode: 1 | 2): WsFrame => Sender!.frame!(data, { readOnly: false, mask: false, rsv1: false, opcode, fin: true });

/** The engine.io socket of a Socket.io connection, as far as this module needs it. */
interface EngineConnection {
  write(data: string | Uint8Array, options?: { compress?: boolean; wsPreEncodedFrame?: WsFrame }): unknown;
  writeBuffer?: unknown[];
  transport?: { socket?: { bufferedAmount?: number } };
  on(event: 'drain', listener: () => void): unknown;
}

const engineOf = (socket: Socket): EngineConnection => socket.conn as unknown as EngineConnection;

interface PreparedFrame {
  readonly bytes: Uint8Array;
  readonly bundle: Buffer;
  readonly bundleWs: WsFrame | undefined;
  readonly legacyHeader: string;
  readonly legacyHeaderWs: WsFrame | undefined;
  readonly legacyBinary: Buffer;
  readonly legacyBinaryWs: WsFrame | undefined;
}

/**
 * Writes `frame` events to Socket.io connections without Socket.io's per-socket packet encoding:
 * each frame is encoded ONCE — as a one-message bundle (see frame-bundle.ts) and as the default
 * two-message form — with its WebSocket framing, then written to every connection through
 * engine.io's `write`. The precomputed WebSocket frame rides in the packet options
 * (`wsPreEncodedFrame`) and is ignored by the polling transport, which encodes the data itself.
 */
export class SocketIoFrameWriter {
  private last: PreparedFrame | undefined;

  /** `preEncoded: false` writes the same packets through the public path only (the test compares both). */
  constructor(private readonly preEncoded: boolean = PRE_ENCODED_FRAMES) {}

  /** Writes `bytes` as a `frame` event: one message for bundle clients, two for the others. */
  write(socket: Socket, bytes: Uint8Array, bundle: boolean): void {
    const conn = engineOf(socket);
    const f = this.prepare(bytes);
    if (bundle) {
      conn.write(f.bundle, f.bundleWs === undefined ? {} : { wsPreEncodedFrame: f.bundleWs });
      return;
    }
    conn.write(f.legacyHeader, f.legacyHeaderWs === undefined ? {} : { wsPreEncodedFrame: f.legacyHeaderWs });
    conn.write(f.legacyBinary, f.legacyBinaryWs === undefined ? {} : { wsPreEncodedFrame: f.legacyBinaryWs });
  }

  /** The frame cut last is sent to every up-to-date subscriber: cache its encodings by identity. */
  private prepare(bytes: Uint8Array): PreparedFrame {
    if (this.last?.bytes === bytes) return this.last;
    const bundle = Buffer.from(encodeBundle(FRAME_PACKET_HEADER, [bytes]));
    const legacyBinary = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pre = this.preEncoded;
    this.last = {
      bytes,
      bundle,
      bundleWs: pre ? wsFrame(bundle, 2) : undefined,
      legacyHeader: FRAME_PACKET_HEADER,
      // "4" is the engine.io message packet type; engine.io adds it to text packets on the wire.
      legacyHeaderWs: pre ? wsFrame(Buffer.from(`4${FRAME_PACKET_HEADER}`), 1) : undefined,
      legacyBinary,
      legacyBinaryWs: pre ? wsFrame(legacyBinary, 2) : undefined,
    };
    return this.last;
  }
}

/** How backed up one Socket.io viewer is: packets engine.io holds, and bytes its WebSocket holds. */
export interface SocketBacklog {
  queuedPackets(): number;
  bufferedBytes(): number;
  /** engine.io's `drain` (public): the transport took everything queued. */
  onDrain(listener: () => void): void;
}

export function socketBacklog(socket: Socket): SocketBacklog {
  const conn = engineOf(socket);
  return {
    queuedPackets: () => conn.writeBuffer?.length ?? 0,
    bufferedBytes: () => conn.transport?.socket?.bufferedAmount ?? 0,
    onDrain: (listener) => void conn.on('drain', listener),
  };
}
