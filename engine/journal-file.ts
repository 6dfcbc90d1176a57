import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync, fdatasyncSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ValidationError } from './errors.ts';

/**
 * How an appended line becomes durable before it is acknowledged.
 * - `fdatasync` (default): lines written in one turn of the event loop form a group; the group is
 *   written and `fdatasync`ed once, then every input in it is acknowledged. Nothing acknowledged is
 *   lost on kill -9 or power loss.
 * - `write`: the group is handed to the operating system (`write`) but not synced before the
 *   acknowledgement: a killed process loses nothing, a power loss can lose what the kernel had not
 *   written back yet (Linux: up to `vm.dirty_expire_centisecs`, 30 s by default).
 */
export type JournalSyncMode = 'fdatasync' | 'write';

export const JOURNAL_SYNC_MODES: readonly JournalSyncMode[] = ['fdatasync', 'write'];

/** What `scanNdjsonFile` found at the end of a file that was cut mid-line (a crash during a write). */
export interface TornTail {
  /** 1-based line number of the torn line. */
  readonly line: number;
  /** Bytes removed from the end of the file. */
  readonly bytes: number;
}

const CHUNK = 1 << 20;

/**
 * Finds a torn final line: bytes after the last newline, left by a crash in the middle of an
 * append (every line is written whole with its newline, so only the last one can be cut). With
 * `repair` the file is truncated to the end of its last whole line and synced. Reads the file
 * backwards from its end, a chunk at a time: cheap even for a journal of gigabytes.
 */
export function findTornTail(path: string, options: { repair: boolean }): TornTail | undefined {
  const fd = openSync(path, options.repair ? 'r+' : 'r');
  try {
    const size = fstatSync(fd).size;
    let end = size;
    let goodEnd = 0;
    const chunk = Buffer.alloc(64 * 1024);
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, read).lastIndexOf(10);
      if (nl >= 0) {
        goodEnd = start + nl + 1;
        break;
      }
      end = start;
    }
    if (goodEnd === size) return undefined;
    let lines = 0;
    for (const _ of ndjsonLines(path, goodEnd)) lines++;
    const torn = { line: lines + 1, bytes: size - goodEnd };
    if (options.repair) {
      ftruncateSync(fd, goodEnd);
      fdatasyncSync(fd);
    }
    return torn;
  } finally {
    closeSync(fd);
  }
}

/**
 * The complete lines of an NDJSON file (up to byte `limit`), read in 1 MiB chunks — journals reach
 * gigabytes, so no whole-file string — as [text, 1-based line number]; blank lines are skipped.
 * Bytes after the last newline are not yielded (see `findTornTail`). `from` starts at a byte offset
 * that begins a line, numbering that line `from.line` (a snapshot's journal position).
 */
export function* ndjsonLines(path: string, limit?: number, from: { byte: number; line: number } = { byte: 0, line: 1 }): Generator<[string, number]> {
  const fd = openSync(path, 'r');
  try {
    const size = limit ?? fstatSync(fd).size;
    let carry = Buffer.alloc(0);
    let position = from.byte;
    let n = from.line - 1;
    while (position < size) {
      const chunk = Buffer.alloc(Math.min(CHUNK, size - position));
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read <= 0) break;
      position += read;
      const buffer = carry.length === 0 ? chunk.subarray(0, read) : Buffer.concat([carry, chunk.subarray(0, read)]);
      let start = 0;
      for (;;) {
        const nl = buffer.indexOf(10, start);
        if (nl < 0) break;
        n++;
        if (nl > start) {
          const line = buffer.toString('utf8', start, nl);
          if (line.trim() !== '') yield [line, n];
        }
        start = nl + 1;
      }
      carry = Buffer.from(buffer.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * An append-only file with group commit: `append` queues text; the queue is written (and, in
 * `fdatasync` mode, synced) once per turn of the event loop, and `durable()` resolves when
 * everything appended before the call is on disk. A failed write fails every waiting caller and
 * every later append (`failure`): the process must not acknowledge inputs it cannot keep.
 */
export class GroupCommitFile {
  private handle: FileHandle | undefined;
  private queue: string[] = [];
  private queued = 0;
  private synced = 0;
  private flushing: Promise<void> | undefined;
  private waiters: { upTo: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private failed: Error | undefined;
  private groups = 0;
  /** Bytes the file holds once everything appended so far is written. */
  private endBytes = 0;

  private constructor(readonly path: string, readonly mode: JournalSyncMode) {}

  /** Opens `path` for appending (creates it and its folder). */
  static async open(path: string, mode: JournalSyncMode = 'fdatasync'): Promise<GroupCommitFile> {
    mkdirSync(dirname(path), { recursive: true });
    const file = new GroupCommitFile(path, mode);
    file.handle = await open(path, 'a');
    file.endBytes = (await file.handle.stat()).size;
    return file;
  }

  /** The file's length in bytes once everything appended so far is written (a snapshot's journal position). */
  get appendedBytes(): number {
    return this.endBytes;
  }

  /** Writes `text` at once, synchronously and synced (the header of a new file). */
  static createSync(path: string, text: string): void {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, text);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** The error that stopped the file, if one did. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Groups written so far (each one write and, in `fdatasync` mode, one sync). */
  get groupCount(): number {
    return this.groups;
  }

  /** Items (lines) written so far; `append` counts them as it is told. */
  get writtenItems(): number {
    return this.synced;
  }

  /** Queues `text`, which holds `items` lines. */
  append(text: string, items = 1): void {
    if (this.failed !== undefined) throw this.failed;
    this.queue.push(text);
    this.queued += items;
    this.endBytes += Buffer.byteLength(text);
    if (this.flushing === undefined) this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Resolves when everything appended so far is durable (per the mode); rejects if the write failed. */
  durable(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.synced >= this.queued) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.queued, resolve, reject }));
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const text = this.queue.length === 1 ? this.queue[0]! : this.queue.join('');
        const upTo = this.queued;
        this.queue = [];
        await this.handle!.write(text);
        if (this.mode === 'fdatasync') await this.handle!.datasync();
        this.groups++;
        this.synced = upTo;
        if (this.waiters.length > 0) {
          const still: typeof this.waiters = [];
          for (const w of this.waiters) {
            if (w.upTo <= upTo) w.resolve();
            else still.push(w);
          }
          this.waiters = still;
        }
      }
    } catch (error) {
      this.failed = new Error(`journal ${this.path}: write failed, no further input is accepted: ${(error as Error).message}`);
      for (const w of this.waiters) w.reject(this.failed);
      this.waiters = [];
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes what is queued, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** True when `path` exists and holds at least one byte. */
export function nonEmptyFile(path: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size > 0;
  } finally {
    closeSync(fd);
  }
}

/** A ValidationError for a line of a file. */
export function lineError(path: string, line: number, reason: string): ValidationError {
  return new ValidationError(path, [{ path: `line ${line}`, reason }]);
}
