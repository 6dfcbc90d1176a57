/**
 * One-message binary events for Socket.io: the client side (browser-safe — no Node or engine imports;
 * the UI, the tests and the bench use it).
 *
 * Why: Socket.io's default parser sends an event with binary data as TWO WebSocket messages, a text
 * header (`451-["frame",{"_placeholder":true,"num":0}]`) and then the attachment. For a delta frame of
 * a few dozen bytes going to hundreds of viewers, the second message doubles the work on both ends:
 * twice the syscalls on the server, twice the message handling in every client. Profiling the
 * 500-viewer bench showed `writev` as the server's largest cost. A client that opts in (handshake
 * `auth: { token, frames: 'bundle' }` and `parser: bundleParser`) gets each frame as ONE binary
 * message, a *bundle*:
 *
 *   byte 0        0xB5 (BUNDLE_MARK)
 *   varint        length of the header in bytes
 *   header        the packet exactly as the default parser writes it, UTF-8 (`51-["frame",{…}]`)
 *   repeated      varint length, attachment bytes — as many as the header announces
 *
 * Everything else — text packets, acks, what the client sends — is the default Socket.io encoding,
 * so the server keeps Socket.io's default parser and clients that do not opt in keep working with
 * the two-message form.
 */
import { Emitter } from '@socket.io/component-emitter';
import { Decoder as DefaultDecoder, Encoder as DefaultEncoder, PacketType, type Packet } from 'socket.io-parser';
import { varintSize } from './protocol.ts';

export const BUNDLE_MARK = 0xb5;

/** What a client puts in its handshake auth to receive bundles: `auth: { token, frames: FRAMES_BUNDLE }`. */
export const FRAMES_BUNDLE = 'bundle';

/** The packet header of a `frame` event on the main namespace, as the default parser writes it. */
export const FRAME_PACKET_HEADER = '51-["frame",{"_placeholder":true,"num":0}]';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const FRAME_HEADER_BYTES = utf8Encoder.encode(FRAME_PACKET_HEADER);

/**
 * The frame inside a bundle that carries exactly a `frame` event (nearly every message a viewer
 * gets), found by comparing bytes — no text decoding, no JSON — else undefined.
 */
function frameOfBundle(bytes: Uint8Array): Uint8Array | undefined {
  const h = FRAME_HEADER_BYTES.length; // < 128: its length is a one-byte varint
  if (bytes.length < 3 + h || bytes[0] !== BUNDLE_MARK || bytes[1] !== h) return undefined;
  for (let i = 0; i < h; i++) if (bytes[2 + i] !== FRAME_HEADER_BYTES[i]) return undefined;
  let o = 2 + h;
  let length = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    const b = bytes[o++];
    if (b === undefined) return undefined;
    length += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) break;
    scale *= 128;
  }
  return o + length === bytes.length ? bytes.subarray(o) : undefined;
}

/** Encodes a packet header and its attachments as one bundle. */
export function encodeBundle(header: string, attachments: readonly Uint8Array[]): Uint8Array {
  const head = utf8Encoder.encode(header);
  let size = 1 + varintSize(head.length) + head.length;
  for (const a of attachments) size += varintSize(a.length) + a.length;
  const out = new Uint8Array(size);
  let o = 0;
  const varint = (n: number): void => {
    while (n >= 0x80) {
      out[o++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[o++] = n;
  };
  out[o++] = BUNDLE_MARK;
  varint(head.length);
  out.set(head, o);
  o += head.length;
  for (const a of attachments) {
    varint(a.length);
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/**
 * Splits a bundle into its header and attachments (views into `bytes`, no copies).
 * @throws Error naming what is wrong (mark, truncated length, header, attachment count).
 */
export function decodeBundle(bytes: Uint8Array): { header: string; attachments: Uint8Array[] } {
  if (bytes.length === 0 || bytes[0] !== BUNDLE_MARK) throw new Error(`not a bundle: first byte ${bytes[0] ?? 'missing'}, expected ${BUNDLE_MARK}`);
  let o = 1;
  const varint = (what: string): number => {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (o >= bytes.length) throw new Error(`bundle truncated in the length of ${what}`);
      const b = bytes[o++]!;
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n;
      scale *= 128;
    }
    throw new Error(`bundle: the length of ${what} is too long`);
  };
  const headLength = varint('the header');
  if (o + headLength > bytes.length) throw new Error(`bundle truncated: header of ${headLength} bytes, ${bytes.length - o} left`);
  const header = utf8Decoder.decode(bytes.subarray(o, o + headLength));
  o += headLength;
  const announced = attachmentCount(header);
  if (announced === undefined) throw new Error(`bundle header is not a binary packet: ${JSON.stringify(header.slice(0, 40))}`);
  const attachments: Uint8Array[] = [];
  while (o < bytes.length) {
    const length = varint(`attachment ${attachments.length}`);
    if (o + length > bytes.length) throw new Error(`bundle truncated: attachment ${attachments.length} of ${length} bytes, ${bytes.length - o} left`);
    attachments.push(bytes.subarray(o, o + length));
    o += length;
  }
  if (attachments.length !== announced) throw new Error(`bundle carries ${attachments.length} attachments, its header announces ${announced}`);
  return { header, attachments };
}

/** Attachments announced by a binary packet header (`51-…`, `61-…`); undefined for other packets. */
function attachmentCount(header: string): number | undefined {
  const m = /^[56](\d+)-/.exec(header);
  return m === null ? undefined : Number(m[1]);
}

interface DecoderEvents {
  decoded: (packet: Packet) => void;
}

/**
 * Socket.io decoder that accepts bundles as well as the default two-message form. It hands both to
 * Socket.io's own decoder, so packets come out exactly as the default parser would give them.
 */
export class BundleDecoder extends Emitter<Record<string, never>, Record<string, never>, DecoderEvents> {
  private readonly inner = new DefaultDecoder();
  /** Raw attachments still expected after a default-form binary header. */
  private pendingRaw = 0;

  constructor() {
    super();
    this.inner.on('decoded', (packet: Packet) => this.emitReserved('decoded', packet));
  }

  add(chunk: unknown): void {
    if (typeof chunk === 'string') {
      this.pendingRaw = attachmentCount(chunk) ?? 0;
      this.inner.add(chunk);
      return;
    }
    const bytes = chunk instanceof Uint8Array ? chunk : ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(chunk as ArrayBuffer);
    if (this.pendingRaw > 0) {
      this.pendingRaw--;
      this.inner.add(bytes);
      return;
    }
    const frame = frameOfBundle(bytes);
    if (frame !== undefined) {
      // The packet Socket.io's decoder would build from this bundle, without its text round trip.
      this.emitReserved('decoded', { type: PacketType.EVENT, nsp: '/', data: ['frame', frame] });
      return;
    }
    const { header, attachments } = decodeBundle(bytes);
    this.inner.add(header);
    for (const a of attachments) this.inner.add(a);
  }

  destroy(): void {
    this.inner.destroy();
  }
}

/**
 * The parser to give socket.io-client: `io(url, { auth: { token, frames: FRAMES_BUNDLE }, parser: bundleParser })`.
 * It sends with the default encoder and decodes bundles and default packets alike.
 */
export const bundleParser = { Encoder: DefaultEncoder, Decoder: BundleDecoder };
