import { z } from 'zod';
import { clockInfoSchema } from '../protocol.ts';
import { summaryResponse } from '../http/index.ts';

/**
 * The live-state entries the engine role publishes for gateways to answer reads from
 * (`<prefix>:state`, see state-publisher.ts). Frames are no source for this: they carry level and
 * stress as bytes (1/255, 1/100) and load as f32, and a read must give the engine's own numbers.
 *
 * Fields of one stream entry:
 * - `e` the engine's epoch (its hub epoch: one per engine process start), `n` the entry's number
 *   (from 0, +1 per entry, snapshots included), `k` `s` (every actor) or `d` (the actors that changed);
 * - `j` JSON `{ clock, summary, topologyEtag }` as the engine's `GET /api/clock` and `/api/summary`
 *   would answer at that moment;
 * - `b` the columns, little-endian: u32 count, u32 actor indices, u8 status, f64 level, f64 load,
 *   f64 stress (exact: the kernel's numbers).
 */
export interface StateColumns {
  readonly actors: Uint32Array;
  readonly status: Uint8Array;
  readonly level: Float64Array;
  readonly load: Float64Array;
  readonly stress: Float64Array;
}

export const stateContextSchema = z.object({ clock: clockInfoSchema, summary: summaryResponse, topologyEtag: z.string() });
export type StateContext = z.infer<typeof stateContextSchema>;

export interface StateEntry {
  readonly epoch: string;
  readonly n: number;
  readonly kind: 'snapshot' | 'delta';
  readonly context: StateContext;
  readonly columns: StateColumns;
}

export function encodeColumns(actors: ArrayLike<number>, read: (actor: number) => { status: number; level: number; load: number; stress: number }): Buffer {
  const n = actors.length;
  const out = Buffer.alloc(4 + n * (4 + 1 + 8 * 3));
  out.writeUInt32LE(n, 0);
  const statusAt = 4 + 4 * n;
  const levelAt = statusAt + n;
  const loadAt = levelAt + 8 * n;
  const stressAt = loadAt + 8 * n;
  for (let k = 0; k < n; k++) {
    const a = actors[k]!;
    const v = read(a);
    out.writeUInt32LE(a, 4 + 4 * k);
    out.writeUInt8(v.status, statusAt + k);
    out.writeDoubleLE(v.level, levelAt + 8 * k);
    out.writeDoubleLE(v.load, loadAt + 8 * k);
    out.writeDoubleLE(v.stress, stressAt + 8 * k);
  }
  return out;
}

/** Decodes the columns; throws naming what is wrong (the stream is shared: a stray entry must change nothing). */
export function decodeColumns(bytes: Buffer, actorCount: number): StateColumns {
  if (bytes.length < 4) throw new Error(`state columns: ${bytes.length} bytes, need at least 4`);
  const n = bytes.readUInt32LE(0);
  const size = 4 + n * (4 + 1 + 24);
  if (bytes.length !== size) throw new Error(`state columns: ${bytes.length} bytes for ${n} actors (expected ${size})`);
  const actors = new Uint32Array(n);
  const status = new Uint8Array(n);
  const level = new Float64Array(n);
  const load = new Float64Array(n);
  const stress = new Float64Array(n);
  const statusAt = 4 + 4 * n;
  const levelAt = statusAt + n;
  const loadAt = levelAt + 8 * n;
  const stressAt = loadAt + 8 * n;
  for (let k = 0; k < n; k++) {
    const a = bytes.readUInt32LE(4 + 4 * k);
    if (a >= actorCount) throw new Error(`state columns: actor ${a} at position ${k}, the city has ${actorCount}`);
    actors[k] = a;
    status[k] = bytes.readUInt8(statusAt + k);
    level[k] = bytes.readDoubleLE(levelAt + 8 * k);
    load[k] = bytes.readDoubleLE(loadAt + 8 * k);
    stress[k] = bytes.readDoubleLE(stressAt + 8 * k);
  }
  return { actors, status, level, load, stress };
}

/** The header fields of an entry (`e`, `n`, `k`, `j`) checked; the columns are decoded by the caller (they need the city's size). */
export function parseEntryHeader(fields: ReadonlyMap<string, Buffer>): { epoch: string; n: number; kind: 'snapshot' | 'delta'; context: StateContext; columns: Buffer } {
  const text = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw new Error(`state entry: no field "${name}"`);
    return v.toString();
  };
  const n = Number(text('n'));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`state entry: n is ${JSON.stringify(text('n'))}, not an entry number`);
  const k = text('k');
  if (k !== 's' && k !== 'd') throw new Error(`state entry: k is ${JSON.stringify(k)}, expected "s" or "d"`);
  let json: unknown;
  try {
    json = JSON.parse(text('j'));
  } catch (error) {
    throw new Error(`state entry: j is not JSON (${(error as Error).message})`, { cause: error });
  }
  const context = stateContextSchema.safeParse(json);
  if (!context.success) throw new Error(`state entry: j: ${context.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const columns = fields.get('b');
  if (columns === undefined) throw new Error('state entry: no field "b"');
  return { epoch: text('e'), n, kind: k === 's' ? 'snapshot' : 'delta', context: context.data, columns };
}
