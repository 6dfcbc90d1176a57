// @ts-check
/**
 * A small decoder for Stratum's binary frames, written for k6 (no npm imports). It mirrors
 * `decodeFrame` in gateways/protocol.ts (PROTOCOL_VERSION 1):
 *
 *   'S' (0x53) | version u8 | kind u8 (0 snapshot, 1 delta) | flags u8 | clock f64 LE (virtual ms)
 *   | varint frame | varint since | varint count n
 *   | n varints actor indices (first absolute, then gaps) | n status u8 | n level u8 | n stress u8 | 4n load f32 LE
 *
 * It reads the header, walks the actor varints (so a truncated or padded frame is detected: the
 * columns must fill the rest of the message exactly) and counts statuses. Loads and levels are
 * not decoded: a load test only needs the frame's identity, its size and which actors it carries.
 */

export const FRAME_MAGIC = 0x53;
export const PROTOCOL_VERSION = 1;
export const FRAME_FIXED_HEADER_BYTES = 12;
export const KIND_SNAPSHOT = 0;
export const KIND_DELTA = 1;
/** WireStatus.Failed in gateways/protocol.ts. */
export const STATUS_FAILED = 2;

/**
 * @typedef {object} DecodedFrame
 * @property {number} kind      0 snapshot, 1 delta
 * @property {number} frame     per-view monotonic frame number
 * @property {number} since     frame this one applies on top of (0 for a snapshot)
 * @property {number} clock     engine virtual clock (ms) when the frame was cut
 * @property {number} count     actors carried
 * @property {number} failed    actors carried with status `failed`
 * @property {number} bytes     message length
 * @property {Uint32Array | null} actors  actor indices (ascending) when asked for
 */

/**
 * Decodes a frame. Throws an Error with a reason on anything that is not a well-formed frame.
 * @param {ArrayBuffer} buffer
 * @param {boolean} withActors keep the actor indices (costs an allocation per frame)
 * @returns {DecodedFrame}
 */
export function decodeFrame(buffer, withActors) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < FRAME_FIXED_HEADER_BYTES || bytes[0] !== FRAME_MAGIC) throw new Error('not a Stratum frame (bad magic or too short)');
  if (bytes[1] !== PROTOCOL_VERSION) throw new Error(`frame protocol version ${bytes[1]}, expected ${PROTOCOL_VERSION}`);
  const kind = bytes[2];
  if (kind !== KIND_SNAPSHOT && kind !== KIND_DELTA) throw new Error(`unknown frame kind ${kind}`);
  const clock = new DataView(buffer).getFloat64(4, true);
  let o = FRAME_FIXED_HEADER_BYTES;
  const n = bytes.length;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (o >= n) throw new Error('truncated frame (varint)');
      const b = bytes[o++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  const frame = varint();
  const since = varint();
  const count = varint();
  const actors = withActors ? new Uint32Array(count) : null;
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const v = varint();
    previous = i === 0 ? v : previous + v;
    if (actors !== null) actors[i] = previous;
  }
  if (o + 7 * count !== n) throw new Error(`frame size mismatch: ${count} actors need ${7 * count} column bytes, ${n - o} present`);
  let failed = 0;
  for (let i = 0; i < count; i++) if (bytes[o + i] === STATUS_FAILED) failed++;
  return { kind, frame, since, clock, count, failed, bytes: n, actors };
}

/**
 * Binary search in the ascending actor column.
 * @param {Uint32Array} actors
 * @param {number} actor
 */
export function carries(actors, actor) {
  let lo = 0;
  let hi = actors.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = actors[mid];
    if (v === actor) return true;
    if (v < actor) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
