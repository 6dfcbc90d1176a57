import { createHash } from 'node:crypto';
import type { StateChange } from './protocol.ts';

export type StateChangeListener = (change: StateChange) => void;

const RECORD_BYTES = 8 + 4 + 1 + 1 + 8 + 8 + 8 + 1 + 4 + 8;
const CHUNK_RECORDS = 2048;

/** The chain value before the first chunk: 32 zero bytes. */
const CHAIN_START = Buffer.alloc(32);

/** What a snapshot keeps of the stream: enough to go on hashing exactly where it stopped. */
export interface StreamSnapshot {
  /** Changes so far (the next change's seq). */
  readonly count: number;
  /** The chain value after the last full chunk (32 bytes). */
  readonly chain: Uint8Array;
  /** The encoded records of the chunk being filled (`count % CHUNK_RECORDS` records). */
  readonly partial: Uint8Array;
}

/**
 * The state-change stream: every transition that changes what the outside world sees, in the order
 * the scheduler produced it. It keeps a hash over a canonical binary encoding (the `stateHash` that
 * proves two runs identical), a bounded ring of recent changes for late readers, and fans out to
 * listeners (the coalescer, history, cache, bus adapters).
 *
 * The hash is a chained SHA-256 over chunks of 2,048 records (51 bytes each):
 * `chain₀ = 32 zero bytes`, `chainₙ = SHA-256(chainₙ₋₁ ‖ chunkₙ)`, and
 * `stateHash = hex SHA-256(chain ‖ records of the chunk being filled)`. Unlike one running hash
 * object, its whole state is 32 bytes plus the partial chunk, so a snapshot can carry it and a
 * restored engine goes on to the same hash as an uninterrupted run (`snapshot`/`restore`).
 */
export class StateChangeStream {
  private chain: Buffer = Buffer.from(CHAIN_START);
  private readonly chunk = Buffer.alloc(RECORD_BYTES * CHUNK_RECORDS);
  private chunkRecords = 0;
  private readonly ring: (StateChange | undefined)[];
  private readonly listeners = new Set<StateChangeListener>();
  private digest: string | undefined;
  private nextSeq = 0;
  /** The first seq the ring can hold (after a restore, the ones before it were never here). */
  private ringFloor = 0;

  constructor(readonly ringSize = 65_536) {
    this.ring = new Array<StateChange | undefined>(ringSize);
  }

  /** Number of changes so far (also the next sequence number). */
  get count(): number {
    return this.nextSeq;
  }

  /** The sequence number the next change will get. */
  allocateSeq(): number {
    return this.nextSeq++;
  }

  publish(change: StateChange): void {
    this.encode(change);
    this.ring[change.seq % this.ringSize] = change;
    for (const listener of this.listeners) listener(change);
  }

  subscribe(listener: StateChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes with seq ≥ `fromSeq` still in the ring (oldest first), or undefined if some were overwritten. */
  since(fromSeq: number): StateChange[] | undefined {
    if (fromSeq < this.nextSeq - this.ringSize || fromSeq < this.ringFloor) return undefined;
    const out: StateChange[] = [];
    for (let s = Math.max(0, fromSeq); s < this.nextSeq; s++) out.push(this.ring[s % this.ringSize]!);
    return out;
  }

  /** Hash of the whole stream so far (see the class comment). Reading it seals nothing, so it can be read mid-run. */
  stateHash(): string {
    this.digest ??= createHash('sha256').update(this.chain).update(this.chunk.subarray(0, this.chunkRecords * RECORD_BYTES)).digest('hex');
    return this.digest;
  }

  /** The hashing state (copies): with `restore`, a fresh stream continues exactly from here. */
  snapshot(): StreamSnapshot {
    return { count: this.nextSeq, chain: Uint8Array.from(this.chain), partial: Uint8Array.from(this.chunk.subarray(0, this.chunkRecords * RECORD_BYTES)) };
  }

  /** Continues from a snapshot (a fresh stream only: nothing published yet). The ring starts empty. */
  restore(saved: StreamSnapshot): void {
    if (this.nextSeq !== 0) throw new Error('stream: restore needs a fresh stream');
    if (saved.chain.length !== 32 || saved.partial.length !== (saved.count % CHUNK_RECORDS) * RECORD_BYTES) throw new RangeError('stream snapshot: chain or partial chunk has the wrong length');
    this.chain = Buffer.from(saved.chain);
    this.chunk.set(saved.partial, 0);
    this.chunkRecords = saved.count % CHUNK_RECORDS;
    this.nextSeq = saved.count;
    this.ringFloor = saved.count;
    this.digest = undefined;
  }

  private encode(c: StateChange): void {
    this.digest = undefined;
    const offset = this.chunkRecords * RECORD_BYTES;
    const b = this.chunk;
    b.writeDoubleLE(c.time, offset);
    b.writeUInt32LE(c.actor, offset + 8);
    b.writeUInt8(c.before.status, offset + 12);
    b.writeUInt8(c.after.status, offset + 13);
    b.writeDoubleLE(c.after.level, offset + 14);
    b.writeDoubleLE(c.after.load, offset + 22);
    b.writeDoubleLE(c.after.stress, offset + 30);
    b.writeUInt8(c.cause?.code ?? 0, offset + 38);
    b.writeInt32LE(c.cause?.from ?? -1, offset + 39);
    b.writeDoubleLE(c.cause?.seq ?? -1, offset + 43);
    if (++this.chunkRecords === CHUNK_RECORDS) {
      this.chain = createHash('sha256').update(this.chain).update(this.chunk).digest();
      this.chunkRecords = 0;
    }
  }
}
