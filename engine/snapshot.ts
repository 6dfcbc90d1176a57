import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { z } from 'zod';
import type { JournalPosition } from './journal.ts';
import type { KernelSnapshot } from './kernel.ts';
import type { StreamSnapshot } from './stream.ts';

/**
 * Engine snapshots: the whole state of an engine between instants, so a restart replays only the
 * journal after it (`Engine.restoreState` + `Engine.recover`).
 *
 * A file holds a magic line, a header line (JSON) and the body:
 *
 *     STRATUM-SNAPSHOT\n
 *     {"kind":"stratum-snapshot","format":1,"cityHash":…,"seed":…,"seq":…,"clockMs":…,"events":…,"streamHash":…,"bodyBytes":…,"bodySha256":…}\n
 *     <body: frames of [u32 LE length][V8-serialised value]>
 *
 * The first frame is the EngineState without its actor states (clock, queue, stream, journal
 * position), each further frame the states of up to `STATES_PER_FRAME` actors in order. Frames let
 * a live server encode a big city's snapshot over many turns of the event loop
 * (`encodeSnapshotInSlices`) instead of holding it for the whole encoding.
 *
 * The body is V8's structured serialisation (`node:v8`), not msgpack: msgpackr writes the number
 * −0 as the integer 0, and a −0 restored as +0 changes the bytes the stream hashes later (measured;
 * structured serialisation keeps −0, NaN, typed arrays and shared references exactly). A snapshot is
 * a cache of the journal — a file another Node.js cannot read only costs a longer replay.
 */
/**
 * Bumped whenever an actor's state gains or changes a field (2: a bus's `voltage`/`vmPu` of the
 * live voltage monitor): a snapshot of an older build is then refused and the journal replayed,
 * instead of restoring states without the field (a bus's service level would come out NaN).
 */
export const SNAPSHOT_FORMAT = 2;
const MAGIC = 'STRATUM-SNAPSHOT\n';
/** Actor states per body frame: one frame is what one turn of the event loop encodes. */
export const STATES_PER_FRAME = 1024;
/** Snapshots kept in the folder (the newest ones): one to fall back on if the newest is unreadable. */
export const DEFAULT_SNAPSHOTS_KEPT = 2;

/** Everything an engine needs to continue exactly where it stood. */
export interface EngineState {
  readonly kernel: KernelSnapshot;
  readonly stream: StreamSnapshot;
  readonly journal: JournalPosition;
}

const headerSchema = z.strictObject({
  kind: z.literal('stratum-snapshot'),
  format: z.number().int(),
  cityHash: z.string(),
  seed: z.number().int(),
  /** Journal position: entries before it are in the snapshot, replay starts at this seq. */
  seq: z.number().int().min(0),
  /** The settled clock (ms) of the snapshot. */
  clockMs: z.number().int().min(-1),
  /** State changes so far and the stream hash at the snapshot. */
  events: z.number().int().min(0),
  streamHash: z.string().regex(/^[0-9a-f]{64}$/),
  bodyBytes: z.number().int().min(0),
  bodySha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SnapshotHeader = z.infer<typeof headerSchema>;

/** Why a snapshot file was not used. */
export class SnapshotRefused extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`snapshot ${file} refused: ${reason}`);
    this.name = 'SnapshotRefused';
  }
}

/** One frame: its length (u32 LE), then the V8-serialised value. */
function frame(value: unknown): Buffer {
  const bytes = serialize(value);
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32LE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/**
 * The body frames of a snapshot, one at a time: a live server encodes one per turn of the event loop
 * (gateways/snapshots.ts) and joins them with `assembleSnapshot`, so a big city's snapshot never
 * holds the loop for long. Safe because a captured state does not change: actor states are
 * immutable (a step returns a new object) and the rest was copied by the capture.
 */
export function* snapshotFrames(state: EngineState): Generator<Buffer> {
  yield frame({ ...state, kernel: { ...state.kernel, states: [] }, stateCount: state.kernel.states.length });
  const states = state.kernel.states;
  for (let a = 0; a < states.length; a += STATES_PER_FRAME) yield frame(states.slice(a, a + STATES_PER_FRAME));
}

/**
 * The snapshot file's pieces: the header (with the body's length and SHA-256), then the frames of
 * `snapshotFrames` as given (not copied into one buffer: `writeSnapshotFile` writes them as they
 * are). `bodySha256`, when the caller hashed the frames as they came, saves hashing them here.
 */
export function assembleSnapshot(state: EngineState, identity: { cityHash: string; seed: number; streamHash: string }, parts: readonly Buffer[], bodySha256?: string): Buffer[] {
  let bodyBytes = 0;
  for (const part of parts) bodyBytes += part.length;
  let sha = bodySha256;
  if (sha === undefined) {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    sha = hash.digest('hex');
  }
  const header: SnapshotHeader = {
    kind: 'stratum-snapshot',
    format: SNAPSHOT_FORMAT,
    cityHash: identity.cityHash,
    seed: identity.seed >>> 0,
    seq: state.journal.seq,
    clockMs: state.kernel.processedUntil,
    events: state.stream.count,
    streamHash: identity.streamHash,
    bodyBytes,
    bodySha256: sha,
  };
  return [Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`), ...parts];
}

/** Encodes an engine state (from `Engine.captureState`) with its header, at once. */
export function encodeSnapshot(state: EngineState, identity: { cityHash: string; seed: number; streamHash: string }): Buffer {
  return Buffer.concat(assembleSnapshot(state, identity, [...snapshotFrames(state)]));
}

function readFrames(body: Buffer, file: string): EngineState {
  const values: unknown[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 4 > body.length) throw new SnapshotRefused(file, 'body frame cut short');
    const length = body.readUInt32LE(offset);
    if (offset + 4 + length > body.length) throw new SnapshotRefused(file, 'body frame cut short');
    values.push(deserialize(body.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  const [first, ...slices] = values as [EngineState & { stateCount: number }, ...unknown[][]];
  if (first?.kernel === undefined || !slices.every(Array.isArray)) throw new SnapshotRefused(file, 'body lacks the kernel part or its actor states');
  const states = slices.flat();
  if (states.length !== first.stateCount) throw new SnapshotRefused(file, `body holds ${states.length} actor states, its first frame says ${first.stateCount}`);
  const { stateCount: _count, ...state } = first;
  return { ...state, kernel: { ...state.kernel, states } };
}

/** Reads only the header of a snapshot file's bytes (refusing what is not one). */
export function readSnapshotHeader(bytes: Buffer, file: string): { header: SnapshotHeader; bodyStart: number } {
  if (bytes.length < MAGIC.length || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new SnapshotRefused(file, 'not a snapshot file (no STRATUM-SNAPSHOT line)');
  const end = bytes.indexOf(10, MAGIC.length);
  if (end < 0) throw new SnapshotRefused(file, 'the header line is cut off');
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8', MAGIC.length, end));
  } catch (error) {
    throw new SnapshotRefused(file, `the header is not JSON: ${(error as Error).message}`);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) throw new SnapshotRefused(file, `bad header: ${parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}`);
  return { header: parsed.data, bodyStart: end + 1 };
}

/**
 * Decodes a snapshot for this city and seed, or throws SnapshotRefused naming the reason: not a
 * snapshot, another format, city or seed, a body cut short or altered (SHA-256), or a body whose
 * position, clock or stream do not match its header.
 */
export function decodeSnapshot(bytes: Buffer, file: string, expected: { cityHash: string; seed: number }): { header: SnapshotHeader; state: EngineState } {
  const { header, bodyStart } = readSnapshotHeader(bytes, file);
  if (header.format !== SNAPSHOT_FORMAT) throw new SnapshotRefused(file, `format ${header.format}, this build reads format ${SNAPSHOT_FORMAT}`);
  if (header.cityHash !== expected.cityHash) throw new SnapshotRefused(file, `it is of city ${header.cityHash.slice(0, 12)}…, not this city ${expected.cityHash.slice(0, 12)}…`);
  if (header.seed !== expected.seed >>> 0) throw new SnapshotRefused(file, `it is of seed ${header.seed}, not seed ${expected.seed >>> 0}`);
  const body = bytes.subarray(bodyStart);
  if (body.length !== header.bodyBytes) throw new SnapshotRefused(file, `body is ${body.length} bytes, the header says ${header.bodyBytes} (cut short or appended to)`);
  if (createHash('sha256').update(body).digest('hex') !== header.bodySha256) throw new SnapshotRefused(file, 'body checksum (SHA-256) does not match the header: the file is corrupt');
  let state: EngineState;
  try {
    state = readFrames(body, file);
  } catch (error) {
    if (error instanceof SnapshotRefused) throw error;
    throw new SnapshotRefused(file, `body cannot be read: ${(error as Error).message}`);
  }
  const k = state?.kernel;
  if (k === undefined || state.stream === undefined || state.journal === undefined || !Array.isArray(k.states)) throw new SnapshotRefused(file, 'body lacks the kernel, stream or journal part');
  if (state.journal.seq !== header.seq || k.processedUntil !== header.clockMs || state.stream.count !== header.events) throw new SnapshotRefused(file, 'body and header disagree on the journal position, clock or stream length');
  return { header, state };
}

/** The snapshot files of a folder, newest (highest journal seq) first. */
export function listSnapshotFiles(dir: string): { file: string; seq: number }[] {
  if (!existsSync(dir)) return [];
  const out: { file: string; seq: number }[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^snapshot-(\d+)\.bin$/.exec(name);
    if (m !== null) out.push({ file: join(dir, name), seq: Number(m[1]) });
  }
  return out.sort((a, b) => b.seq - a.seq);
}

/** File name of the snapshot at journal position `seq` (zero-padded, so names sort by seq). */
export function snapshotFileName(seq: number): string {
  return `snapshot-${String(seq).padStart(12, '0')}.bin`;
}

/**
 * Writes a snapshot atomically: to `<name>.tmp`, fsync, rename, fsync the folder. A crash at any
 * point leaves either no new snapshot (a `.tmp` that `pruneSnapshots` removes) or a whole one.
 * Then keeps only the newest `keep`.
 */
export async function writeSnapshotFile(dir: string, bytes: Buffer | readonly Buffer[], seq: number, keep = DEFAULT_SNAPSHOTS_KEPT): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, snapshotFileName(seq));
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    if (Buffer.isBuffer(bytes)) await handle.writeFile(bytes);
    else for (let i = 0; i < bytes.length; i += 64) await handle.writev(bytes.slice(i, i + 64));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  pruneSnapshots(dir, keep);
  return file;
}

/** Removes all but the newest `keep` snapshots, and any temporary file a crash left. */
export function pruneSnapshots(dir: string, keep = DEFAULT_SNAPSHOTS_KEPT): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (/^snapshot-\d+\.bin\.tmp$/.test(name)) unlinkSync(join(dir, name));
  for (const { file } of listSnapshotFiles(dir).slice(Math.max(1, keep))) unlinkSync(file);
}

/**
 * The newest usable snapshot of `dir` for this city and seed. Each refused file is reported (with
 * its reason) through `refused` and the next older one is tried; undefined when none is usable (the
 * journal is then replayed from its start). `usable` adds the caller's check (the journal must
 * reach the snapshot's position); `preferAtOrBefore` prefers the newest snapshot not later than that
 * clock (the last checkpoint, so recovery can still compare it) when there is one.
 */
export function loadNewestSnapshot(
  dir: string,
  expected: { cityHash: string; seed: number },
  options: { refused?: (refusal: SnapshotRefused) => void; usable?: (header: SnapshotHeader, state: EngineState, file: string) => string | undefined; preferAtOrBefore?: number } = {},
): { file: string; header: SnapshotHeader; state: EngineState } | undefined {
  const valid: { file: string; header: SnapshotHeader; state: EngineState }[] = [];
  for (const { file } of listSnapshotFiles(dir)) {
    try {
      const decoded = decodeSnapshot(readFileSync(file), file, expected);
      const problem = options.usable?.(decoded.header, decoded.state, file);
      if (problem !== undefined) throw new SnapshotRefused(file, problem);
      valid.push({ file, ...decoded });
      if (options.preferAtOrBefore === undefined || decoded.header.clockMs <= options.preferAtOrBefore) break;
    } catch (error) {
      if (!(error instanceof SnapshotRefused)) throw error;
      options.refused?.(error);
    }
  }
  if (valid.length === 0) return undefined;
  const before = options.preferAtOrBefore;
  return (before === undefined ? undefined : valid.find((v) => v.header.clockMs <= before)) ?? valid[0];
}
