import { createHash, type Hash } from 'node:crypto';
import type { StateChange } from './protocol.ts';

export type StateChangeListener = (change: StateChange) => void;

const RECORD_BYTES = 8 + 4 + 1 + 1 + 8 + 8 + 8 + 1 + 4 + 8;
const CHUNK_RECORDS = 2048;

/**
 * The state-change stream: every transition that changes what the outside world sees, in the order
 * the scheduler produced it. It keeps a running SHA-256 over a canonical binary encoding (the
 * `stateHash` that proves two runs identical), a bounded ring of recent changes for late readers,
 * and fans out to listeners (the coalescer, history, cache, bus adapters).
 */
export class StateChangeStream {
  private readonly hash: Hash = createHash('sha256');
  private readonly chunk = Buffer.alloc(RECORD_BYTES * CHUNK_RECORDS);
  private chunkRecords = 0;
  private readonly ring: (StateChange | undefined)[];
  private readonly listeners = new Set<StateChangeListener>();
  private digest: string | undefined;
  private nextSeq = 0;

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
    if (fromSeq < this.nextSeq - this.ringSize) return undefined;
    const out: StateChange[] = [];
    for (let s = Math.max(0, fromSeq); s < this.nextSeq; s++) out.push(this.ring[s % this.ringSize]!);
    return out;
  }

  /**
   * Hex SHA-256 of the whole stream so far. Reading it seals nothing: later changes extend a copy,
   * so it can be read mid-run.
   */
  stateHash(): string {
    if (this.digest !== undefined) return this.digest;
    const copy = this.hash.copy();
    copy.update(this.chunk.subarray(0, this.chunkRecords * RECORD_BYTES));
    this.digest = copy.digest('hex');
    return this.digest;
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
      this.hash.update(this.chunk);
      this.chunkRecords = 0;
    }
  }
}
