import * as ws from 'ws';
import { encodeBundle, FRAME_PACKET_HEADER } from '../frame-bundle.ts';

/** The engine.io socket of a Socket.io connection, as far as frame writing needs it (public API: `write`). */
export interface EngineConnection {
  write(data: string | Uint8Array, options?: { compress?: boolean }): unknown;
}

/** A WebSocket frame computed once (ws `Sender.frame`): header and payload buffers. */
type WsFrame = Buffer[];

interface PreparedFrame {
  readonly bytes: Uint8Array;
  readonly bundle: Buffer;
  readonly bundleWs: WsFrame;
  readonly legacyHeader: string;
  readonly legacyHeaderWs: WsFrame;
  readonly legacyBinary: Buffer;
  readonly legacyBinaryWs: WsFrame;
}

/** ws's frame builder; exported by the package at run time but missing from @types/ws. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): WsFrame } };

const wsFrame = (data: Buffer, opcode: 1 | 2): WsFrame => Sender.frame(data, { readOnly: false, mask: false, rsv1: false, opcode, fin: true });

/**
 * Writes delta frames to Socket.io connections without going through Socket.io's per-socket packet
 * encoding: each frame is encoded ONCE — as a one-message bundle (see frame-bundle.ts) and as the
 * default two-message form — including its WebSocket framing, then written to every connection
 * through engine.io's public `write`. The precomputed WebSocket frame rides in the packet options
 * (`wsPreEncodedFrame`, the hook Socket.io's own broadcasts use for text packets) and is ignored by
 * the polling transport, which encodes the data itself.
 */
export class SocketIoFrameWriter {
  private last: PreparedFrame | undefined;

  /** Writes `bytes` as a `frame` event: one message for bundle clients, two for the others. */
  write(conn: EngineConnection, bytes: Uint8Array, bundle: boolean): void {
    const f = this.prepare(bytes);
    if (bundle) {
      conn.write(f.bundle, { wsPreEncodedFrame: f.bundleWs } as { compress?: boolean });
      return;
    }
    conn.write(f.legacyHeader, { wsPreEncodedFrame: f.legacyHeaderWs } as { compress?: boolean });
    conn.write(f.legacyBinary, { wsPreEncodedFrame: f.legacyBinaryWs } as { compress?: boolean });
  }

  /** The frame cut last is sent to every up-to-date subscriber: cache its encodings by identity. */
  private prepare(bytes: Uint8Array): PreparedFrame {
    if (this.last?.bytes === bytes) return this.last;
    const bundle = Buffer.from(encodeBundle(FRAME_PACKET_HEADER, [bytes]));
    const legacyBinary = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.last = {
      bytes,
      bundle,
      bundleWs: wsFrame(bundle, 2),
      legacyHeader: FRAME_PACKET_HEADER,
      // "4" is the engine.io message packet type; engine.io adds it to text packets on the wire.
      legacyHeaderWs: wsFrame(Buffer.from(`4${FRAME_PACKET_HEADER}`), 1),
      legacyBinary,
      legacyBinaryWs: wsFrame(legacyBinary, 2),
    };
    return this.last;
  }
}
