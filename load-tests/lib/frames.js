// @ts-check
/**
 * Frames for k6, decoded by the server's own codec: `decodeFrame` of gateways/protocol.ts, bundled
 * with the rest of the protocol by `npm run load:build` (load-tests/lib/protocol.bundle.js). A
 * truncated or padded frame, a wrong version or kind throws, as it would in the UI.
 */
import { decodeFrame as decodeProtocolFrame, FrameKind, WireStatus } from './protocol.bundle.js';

export const KIND_SNAPSHOT = FrameKind.Snapshot;
export const KIND_DELTA = FrameKind.Delta;

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
 * Decodes a frame with the protocol's decoder and keeps what a load test counts.
 * @param {ArrayBuffer} buffer
 * @param {boolean} withActors keep the actor indices
 * @returns {DecodedFrame}
 */
export function decodeFrame(buffer, withActors) {
  const f = decodeProtocolFrame(buffer);
  let failed = 0;
  for (let i = 0; i < f.status.length; i++) if (f.status[i] === WireStatus.Failed) failed++;
  return { kind: f.kind, frame: f.frame, since: f.since, clock: f.clock, count: f.actors.length, failed, bytes: buffer.byteLength, actors: withActors ? f.actors : null };
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
