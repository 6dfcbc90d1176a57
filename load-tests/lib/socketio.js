// @ts-check
/**
 * A minimal Socket.IO v4 client over k6's WebSocket module (k6 cannot import socket.io-client).
 * It speaks Engine.IO v4 on the websocket transport directly (no polling upgrade):
 *
 *   server → `0{"sid","pingInterval","pingTimeout","maxPayload"}`  (Engine.IO open)
 *   client → `40{"token":"…"}`                                     (Socket.IO connect to "/" with auth)
 *   server → `40{"sid":"…"}` or `44{"message":"unauthorized",…}`    (connect / connect error)
 *   server → `2` ping; client → `3` pong                           (heartbeat: the server pings)
 *   client → `42<ack id>["subscribe",{…}]`; server → `43<ack id>[{…}]`
 *   server → `42["hello",{…}]`, `42["clock",{…}]`, `42["alerts",[…]]`
 *   server → `451-["frame",{"_placeholder":true,"num":0}]` then one binary message (the attachment)
 *
 * Like the UI, it asks for one-message binary events (`frames: "bundle"` in the handshake auth;
 * see gateways/frame-bundle.ts): each frame then arrives as ONE binary message — 0xB5, varint header
 * length, the header above without the leading "4", varint attachment length, the attachment. Pass
 * `bundles = false` to measure the default two-message form. Both forms are understood.
 *
 * Events on namespaces other than "/" are ignored.
 */
import { WebSocket } from 'k6/websockets';

/**
 * @typedef {object} SocketIoHandlers
 * @property {(sid: string) => void} [onConnect]
 * @property {(name: string, args: unknown[]) => void} [onEvent]       text events
 * @property {(name: string, args: unknown[]) => void} [onBinaryEvent] events with attachments (ArrayBuffers in args)
 * @property {(reason: string) => void} [onError]                      connect error, transport error, protocol error
 * @property {(clean: boolean) => void} [onClose]
 */

/** @param {unknown} value @param {ArrayBuffer[]} buffers @returns {unknown} */
function fillPlaceholders(value, buffers) {
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, buffers));
  if (value !== null && typeof value === 'object') {
    const o = /** @type {Record<string, unknown>} */ (value);
    if (o['_placeholder'] === true && typeof o['num'] === 'number') return buffers[o['num']];
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const k of Object.keys(o)) out[k] = fillPlaceholders(o[k], buffers);
    return out;
  }
  return value;
}

/** The header packet of every frame event, matched as a string so frames skip JSON.parse (k6 CPU). */
const FRAME_HEADER = '451-["frame",{"_placeholder":true,"num":0}]';
const BUNDLE_MARK = 0xb5;
/** The same header inside a bundle (no engine.io "4"), as bytes, to recognise frames without decoding text. */
const FRAME_BUNDLE_HEADER = Array.from(FRAME_HEADER.slice(1), (c) => c.charCodeAt(0));

/** UTF-8 bytes → string (k6 has no TextDecoder). @param {Uint8Array} bytes */
function utf8(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = /** @type {number} */ (bytes[i++]);
    let cp = b;
    if (b >= 0xf0) cp = ((b & 0x07) << 18) | ((/** @type {number} */ (bytes[i++]) & 0x3f) << 12) | ((/** @type {number} */ (bytes[i++]) & 0x3f) << 6) | (/** @type {number} */ (bytes[i++]) & 0x3f);
    else if (b >= 0xe0) cp = ((b & 0x0f) << 12) | ((/** @type {number} */ (bytes[i++]) & 0x3f) << 6) | (/** @type {number} */ (bytes[i++]) & 0x3f);
    else if (b >= 0xc0) cp = ((b & 0x1f) << 6) | (/** @type {number} */ (bytes[i++]) & 0x3f);
    out += String.fromCodePoint(cp);
  }
  return out;
}

/**
 * Splits a bundle into its header bytes and attachments (copies, as k6's decoders want ArrayBuffers).
 * @param {ArrayBuffer} data
 * @returns {{ header: Uint8Array, attachments: ArrayBuffer[] }}
 */
function splitBundle(data) {
  const bytes = new Uint8Array(data);
  let o = 1;
  const varint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (o >= bytes.length) throw new Error('bundle truncated');
      const b = /** @type {number} */ (bytes[o++]);
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n;
      scale *= 128;
    }
  };
  const headLength = varint();
  const header = bytes.subarray(o, o + headLength);
  o += headLength;
  /** @type {ArrayBuffer[]} */
  const attachments = [];
  while (o < bytes.length) {
    const length = varint();
    if (o + length > bytes.length) throw new Error('bundle truncated in an attachment');
    attachments.push(data.slice(o, o + length));
    o += length;
  }
  return { header, attachments };
}

/** @param {Uint8Array} header */
const isFrameHeader = (header) => header.length === FRAME_BUNDLE_HEADER.length && FRAME_BUNDLE_HEADER.every((c, i) => header[i] === c);

export class SocketIoClient {
  /**
   * @param {string} baseUrl http(s)://host:port of the twin
   * @param {string} token bearer token (handshake auth)
   * @param {SocketIoHandlers} handlers
   * @param {boolean} [bundles] ask for one-message frames (default true, like the UI)
   */
  constructor(baseUrl, token, handlers, bundles = true) {
    this.handlers = handlers;
    this.token = token;
    this.bundles = bundles;
    this.connected = false;
    this.closed = false;
    this.closedByUs = false;
    this.pings = 0;
    this.nextAckId = 0;
    /** @type {Map<number, (args: unknown[]) => void>} */
    this.acks = new Map();
    /** @type {{ name: string, args: unknown[] | null, ackId: number | null, want: number, buffers: ArrayBuffer[] } | null} */
    this.pending = null;
    this.bytesIn = 0;
    const url = `${baseUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/socket.io/?EIO=4&transport=websocket`;
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (event) => {
      if (event === undefined) return;
      try {
        this.receive(event.data);
      } catch (error) {
        this.fail(`socket.io protocol error: ${String(error)}`);
      }
    };
    this.ws.onerror = (event) => this.fail(`websocket error: ${event?.error ?? 'unknown'}`);
    this.ws.onclose = () => {
      this.closed = true;
      this.connected = false;
      this.handlers.onClose?.(this.closedByUs);
    };
  }

  /** @param {string} reason */
  fail(reason) {
    this.handlers.onError?.(reason);
  }

  /** @param {string | ArrayBuffer | import('k6/websockets').Blob} data */
  receive(data) {
    if (typeof data !== 'string') {
      if (!(data instanceof ArrayBuffer)) throw new Error('unexpected Blob (binaryType must be arraybuffer)');
      this.bytesIn += data.byteLength;
      const p = this.pending;
      if (p === null) {
        if (new Uint8Array(data, 0, 1)[0] !== BUNDLE_MARK) throw new Error('binary message that is neither a bundle nor an awaited attachment');
        const { header, attachments } = splitBundle(data);
        if (isFrameHeader(header) && attachments.length === 1) {
          this.handlers.onBinaryEvent?.('frame', attachments);
          return;
        }
        // Any other binary event: the header as the text packet it stands for, then its attachments.
        const counted = this.bytesIn;
        this.receive(`4${utf8(header)}`);
        for (const a of attachments) this.receive(a);
        this.bytesIn = counted; // the wire bytes were counted once, above
        return;
      }
      if (p.args === null) {
        this.pending = null;
        this.handlers.onBinaryEvent?.(p.name, [data]);
        return;
      }
      p.buffers.push(data);
      if (p.buffers.length === p.want) {
        this.pending = null;
        const args = /** @type {unknown[]} */ (fillPlaceholders(p.args, p.buffers));
        if (p.ackId !== null) this.acks.get(p.ackId)?.(args);
        else this.handlers.onBinaryEvent?.(p.name, args);
      }
      return;
    }
    this.bytesIn += data.length;
    if (data === FRAME_HEADER) {
      this.pending = { name: 'frame', args: null, ackId: null, want: 1, buffers: [] };
      return;
    }
    const eio = data.charAt(0);
    if (eio === '2') {
      this.pings++;
      this.ws.send(`3${data.slice(1)}`);
      return;
    }
    if (eio === '0') {
      this.ws.send(`40${JSON.stringify(this.bundles ? { token: this.token, frames: 'bundle' } : { token: this.token })}`);
      return;
    }
    if (eio === '1') return this.close();
    if (eio === '6' || eio === '3') return;
    if (eio !== '4') throw new Error(`unknown engine.io packet type ${JSON.stringify(eio)}`);
    const sio = data.charAt(1);
    let rest = data.slice(2);
    let want = 0;
    if (sio === '5' || sio === '6') {
      const dash = rest.indexOf('-');
      want = Number(rest.slice(0, dash));
      rest = rest.slice(dash + 1);
    }
    if (rest.charAt(0) === '/') return; // another namespace
    let i = 0;
    while (i < rest.length && rest.charCodeAt(i) >= 48 && rest.charCodeAt(i) <= 57) i++;
    const id = i > 0 ? Number(rest.slice(0, i)) : null;
    const payload = rest.length > i ? JSON.parse(rest.slice(i)) : undefined;
    switch (sio) {
      case '0':
        this.connected = true;
        this.handlers.onConnect?.(payload?.sid ?? '');
        return;
      case '1':
        this.connected = false;
        return this.close();
      case '2': {
        const [name, ...args] = /** @type {unknown[]} */ (payload);
        this.handlers.onEvent?.(String(name), args);
        return;
      }
      case '3':
        if (id !== null) {
          const ack = this.acks.get(id);
          this.acks.delete(id);
          ack?.(/** @type {unknown[]} */ (payload));
        }
        return;
      case '4':
        this.fail(`connect refused: ${JSON.stringify(payload)}`);
        return this.close();
      case '5':
      case '6': {
        const list = /** @type {unknown[]} */ (payload);
        if (want === 0) {
          if (sio === '5') this.handlers.onBinaryEvent?.(String(list[0]), list.slice(1));
          else if (id !== null) this.acks.get(id)?.(list);
          return;
        }
        if (sio === '5') this.pending = { name: String(list[0]), args: list.slice(1), ackId: null, want, buffers: [] };
        else this.pending = { name: '', args: list, ackId: id, want, buffers: [] };
        return;
      }
      default:
        throw new Error(`unknown socket.io packet type ${JSON.stringify(sio)}`);
    }
  }

  /**
   * Emits an event; `ack` (optional) gets the server's acknowledgement arguments.
   * @param {string} name
   * @param {unknown} data
   * @param {(args: unknown[]) => void} [ack]
   */
  emit(name, data, ack) {
    let id = '';
    if (ack !== undefined) {
      const n = this.nextAckId++;
      this.acks.set(n, ack);
      id = String(n);
    }
    this.ws.send(`42${id}${JSON.stringify([name, data])}`);
  }

  close() {
    if (this.closed || this.closedByUs) return;
    this.closedByUs = true;
    try {
      if (this.connected) this.ws.send('41');
    } catch {
      // closing anyway
    }
    this.ws.close();
  }
}
