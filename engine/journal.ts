import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ValidationError } from './errors.ts';
import { findTornTail, GroupCommitFile, ndjsonLines, nonEmptyFile, type JournalSyncMode, type TornTail } from './journal-file.ts';
import { zodProblems } from './model/validate.ts';

// The command schema is its own module (zod only, no Node): the wire protocol (gateways/protocol.ts)
// re-exports it for the browser and the k6 client, so it is declared once.
import { inputCommandSchema, type InputCommand } from './commands.ts';
export { inputCommandSchema, type InputCommand };

export interface JournalEntry {
  /** Position in the journal, from 0. */
  readonly seq: number;
  /** Virtual time in ms at which the input takes effect. */
  readonly time: number;
  /** Who sent it: `scenario:<name>`, `kafka:<topic>`, `http:<token name>`, `cli`, … */
  readonly source: string;
  /** The sender's own sequence number, for dropping duplicates (at-least-once transports). */
  readonly sourceSeq?: number;
  readonly command: InputCommand;
  /**
   * Feed point: the virtual time (ms) that had settled when the input reached the scheduler (−1
   * before the first instant). A replay runs to it, then feeds the entry: the same scheduler order,
   * hence the same stream. Absent in journals written before it existed (then `time − 1`).
   */
  readonly feedAfter?: number;
}

export interface JournalHeader {
  readonly kind: 'stratum-journal';
  readonly version: 1;
  readonly cityHash: string;
  readonly seed: number;
  readonly createdBy: string;
}

/** Validates one command from outside; the error names the source and the field. */
export function parseCommand(value: unknown, source: string): InputCommand {
  const parsed = inputCommandSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(source, zodProblems(parsed.error));
  return parsed.data;
}

/**
 * A point in the journal (a snapshot's): the entries before it, where the next one starts in the
 * durable file, and the last sourceSeq of each source (duplicates stay dropped after a restart).
 */
export interface JournalPosition {
  /** Seq of the next entry (= entries before the position). */
  readonly seq: number;
  /** Byte offset in the durable file where entry `seq` starts; -1 without a durable file. */
  readonly byte: number;
  readonly seen: [string, number][];
}

/** Entries a file-backed journal keeps in memory (the most recent ones; the file holds them all). */
export const DEFAULT_RETAINED_ENTRIES = 65_536;

/**
 * The input journal. Without a durable file it keeps every entry in memory (batch runs, replays,
 * what-if copies: bounded by their scenario). With one (`InputJournal.openDurable`, the live
 * server's default) the file is the record: every entry is appended to it with group commit, and
 * memory holds only the dedup map and the last `retain` entries, so a shift of telemetry does not
 * grow the heap; `entries` then reads the file. Duplicates by (source, sourceSeq) are dropped.
 */
export class InputJournal {
  private list: JournalEntry[] = [];
  /** Seq of `list[0]`. */
  private base = 0;
  private count = 0;
  private readonly seen = new Map<string, number>();
  private durableFile: GroupCommitFile | undefined;
  private readonly retain: number;
  /** Entries that were in the durable file when it was opened (read back by `restore`). */
  private restoredFromFile = 0;

  /**
   * In memory; with `file`, also written to that file line by line (overwriting it), synchronously
   * and unsynced — a recording of a batch run, not a durable journal.
   */
  constructor(readonly header: JournalHeader, private readonly file?: string, options: { retain?: number } = {}) {
    this.retain = options.retain ?? Number.POSITIVE_INFINITY;
    if (file !== undefined) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(header)}\n`);
    }
  }

  /**
   * Opens the durable journal at `path` (creating it with `header` when absent). A torn final line
   * (a crash mid-append) is cut off and reported in `torn`; a header of another city or seed is
   * refused. The entries already in the file are not loaded here: `Engine.recover` streams them.
   */
  static async openDurable(path: string, header: JournalHeader, options: { mode?: JournalSyncMode; retain?: number } = {}): Promise<{ journal: InputJournal; torn: TornTail | undefined }> {
    let torn: TornTail | undefined;
    if (nonEmptyFile(path)) {
      torn = findTornTail(path, { repair: true });
      const first = ndjsonLines(path).next();
      if (first.done === true) GroupCommitFile.createSync(path, `${JSON.stringify(header)}\n`);
      else {
        const found = parseJournalLine(path, headerSchema, first.value[0], 1);
        if (found.cityHash !== header.cityHash || found.seed !== header.seed) {
          throw new ValidationError(path, [{ path: 'line 1', reason: `this journal belongs to city ${found.cityHash.slice(0, 12)}… seed ${found.seed}, not city ${header.cityHash.slice(0, 12)}… seed ${header.seed}: start with that city and seed, or use another data directory (STRATUM_DATA_DIR)` }]);
        }
      }
    } else GroupCommitFile.createSync(path, `${JSON.stringify(header)}\n`);
    const journal = new InputJournal(header, undefined, { retain: options.retain ?? DEFAULT_RETAINED_ENTRIES });
    journal.durableFile = await GroupCommitFile.open(path, options.mode ?? 'fdatasync');
    return { journal, torn };
  }

  /** The durable file, when there is one. */
  get durable(): GroupCommitFile | undefined {
    return this.durableFile;
  }

  /** Resolves when every entry appended so far is durable (at once without a durable file). */
  whenDurable(): Promise<void> {
    return this.durableFile?.durable() ?? Promise.resolve();
  }

  /**
   * Every entry, oldest first: from memory, or read from the durable file when memory holds only
   * the most recent ones (a recording of the live session; costs a read of the file).
   */
  /**
   * The entries `entries` holds, one at a time: a long durable journal is read from its file
   * lazily rather than into one array. What is held in memory is taken now, so inputs journalled
   * (and older ones dropped from memory) while the caller iterates change nothing.
   */
  iterate(): Iterable<JournalEntry> {
    return planEntries(this.readPlan());
  }

  /**
   * How to read the journal as it stands, without reading it: the durable file (for the entries
   * already synced to it) and the in-memory entries after those, taken now. Plain data, so another thread can follow it
   * (`planEntries`); what-if copies are fed this way in a worker.
   */
  readPlan(): JournalReadPlan {
    if (this.durableFile === undefined) return { file: undefined, base: this.base, tail: this.list.slice() };
    // Durable: everything already synced is read from the file; only the entries of the group
    // still being written are copied (a handful, not the whole in-memory window).
    const from = Math.max(this.base, this.restoredFromFile + this.durableFile.writtenItems);
    return { file: this.durableFile.path, base: from, tail: this.list.slice(from - this.base) };
  }

  get entries(): readonly JournalEntry[] {
    if (this.base === 0 && this.list.length === this.count) return this.list;
    const all: JournalEntry[] = [];
    for (const entry of this.readFile()) {
      if (entry.seq >= this.base) break;
      all.push(entry);
    }
    return all.concat(this.list);
  }

  /** Entries with seq ≥ `seq` (recent ones, from memory; older ones are read from the file). */
  since(seq: number): JournalEntry[] {
    if (seq >= this.base) return this.list.slice(seq - this.base);
    // From the file; an in-memory journal resumed from a captured state holds only its tail.
    const all = this.entries;
    return all.slice(Math.max(0, seq - (this.count - all.length)));
  }

  get length(): number {
    return this.count;
  }

  /** Entries kept in memory now. */
  get retained(): number {
    return this.list.length;
  }

  /** Where the journal stands now (for a snapshot taken now). */
  position(): JournalPosition {
    return { seq: this.count, byte: this.durableFile?.appendedBytes ?? -1, seen: [...this.seen] };
  }

  /**
   * Continues a fresh journal from a snapshot's position: the entries before it stay in the file
   * (and are read from there when asked for), the tail is `restore`d after this.
   */
  resumeAt(position: JournalPosition): void {
    if (this.count !== 0) throw new Error('journal: resumeAt needs a fresh journal');
    this.count = this.base = this.restoredFromFile = position.seq;
    this.seen.clear();
    for (const [source, seq] of position.seen) this.seen.set(source, seq);
  }

  /**
   * The byte offset in the durable file where entry `seq` starts, checking the hint a snapshot
   * carries (the line there must be entry `seq`, or the file must end right after entry `seq − 1`)
   * and else scanning the file. Undefined when the file holds fewer than `seq` entries.
   */
  locate(seq: number, hint: number): number | undefined {
    const file = this.durableFile?.path;
    if (file === undefined) return undefined;
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (hint > 0 && hint <= size) {
        const probe = Buffer.alloc(64);
        const back = Math.min(hint, 64);
        if (hint < size) {
          const read = readSync(fd, probe, 0, 64, hint - 1);
          if (probe[0] === 10 && probe.toString('utf8', 1, read).startsWith(`{"seq":${seq},`)) return hint;
        } else if (readSync(fd, probe, 0, back, hint - back) === back && probe[back - 1] === 10) {
          // The file ends at the hint: its last line must be entry seq − 1 (or the header when seq is 0).
          const last = this.lastLineBefore(fd, hint);
          if (last.startsWith(seq === 0 ? '{"kind":' : `{"seq":${seq - 1},`)) return hint;
        }
      }
    } finally {
      closeSync(fd);
    }
    let offset = 0;
    let entries = 0;
    for (const [line, n] of ndjsonLines(file, undefined, { byte: 0, line: 1 })) {
      if (n > 1) {
        if (entries === seq) return offset;
        entries++;
      }
      offset += Buffer.byteLength(line) + 1;
    }
    return entries === seq ? offset : undefined;
  }

  private lastLineBefore(fd: number, end: number): string {
    const start = Math.max(0, end - 1 - 65_536);
    const buffer = Buffer.alloc(end - 1 - start);
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8', buffer.lastIndexOf(10) + 1);
  }

  /**
   * The durable file's entries, validated, streamed (no whole-file read); with `from` (a position
   * checked by `locate`), only the entries from there on.
   */
  *readFile(from?: { seq: number; byte: number }): Generator<JournalEntry> {
    const file = this.durableFile?.path;
    if (file === undefined) return;
    yield* readJournalEntries(file, from);
  }

  /** True when an entry with this (source, sourceSeq) was accepted before. */
  isDuplicate(source: string, sourceSeq: number | undefined): boolean {
    if (sourceSeq === undefined) return false;
    const last = this.seen.get(source);
    return last !== undefined && sourceSeq <= last;
  }

  /** The highest sourceSeq accepted from a source (for consumers resuming after a restart). */
  lastSourceSeq(source: string): number | undefined {
    return this.seen.get(source);
  }

  append(time: number, source: string, command: InputCommand, sourceSeq?: number, feedAfter = time - 1): JournalEntry {
    if (this.durableFile?.failure !== undefined) throw this.durableFile.failure;
    const entry: JournalEntry = sourceSeq === undefined
      ? { seq: this.count, time, source, command, feedAfter }
      : { seq: this.count, time, source, sourceSeq, command, feedAfter };
    this.keep(entry);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    this.durableFile?.append(`${JSON.stringify(entry)}\n`);
    return entry;
  }

  /** Takes an entry read back from the durable file at recovery (not written again). */
  restore(entry: JournalEntry): void {
    if (entry.seq !== this.count) throw new ValidationError(this.durableFile?.path ?? 'journal', [{ path: `seq ${entry.seq}`, reason: `expected seq ${this.count} (entries missing or out of order)` }]);
    this.restoredFromFile++;
    this.keep(entry);
  }

  private keep(entry: JournalEntry): void {
    this.list.push(entry);
    this.count++;
    if (entry.sourceSeq !== undefined) this.seen.set(entry.source, Math.max(entry.sourceSeq, this.seen.get(entry.source) ?? -Infinity));
    // Trim in halves, not per entry: amortised O(1) and no per-append array shift. Only entries
    // already written leave memory, so `entries` can always read them back from the file.
    if (this.list.length > 2 * this.retain) {
      const written = this.durableFile === undefined ? this.count : this.restoredFromFile + this.durableFile.writtenItems;
      const drop = Math.min(this.list.length - this.retain, written - this.base);
      if (drop <= 0) return;
      this.list = this.list.slice(drop);
      this.base += drop;
    }
  }

  /**
   * Appends inputs of one source taking effect at one time, in order (a Kafka batch): the same
   * entries `append` would make one by one, with one update of the duplicate map and one file write.
   * The caller has dropped duplicates already (`sourceSeqs` ascending, above `lastSourceSeq`).
   * Returns the new entries.
   */
  appendBatch(time: number, source: string, commands: readonly InputCommand[], sourceSeqs: readonly number[], feedAfter = time - 1): JournalEntry[] {
    if (this.durableFile?.failure !== undefined) throw this.durableFile.failure;
    let lines = '';
    const out: JournalEntry[] = new Array<JournalEntry>(commands.length);
    const write = this.file !== undefined || this.durableFile !== undefined;
    for (let i = 0; i < commands.length; i++) {
      const entry: JournalEntry = { seq: this.count, time, source, sourceSeq: sourceSeqs[i]!, command: commands[i]!, feedAfter };
      out[i] = entry;
      this.keep(entry);
      if (write) lines += `${JSON.stringify(entry)}\n`;
    }
    if (commands.length > 0 && write) {
      if (this.file !== undefined) appendFileSync(this.file, lines);
      this.durableFile?.append(lines, commands.length);
    }
    return out;
  }

  /** Writes what is queued and closes the durable file. */
  async close(): Promise<void> {
    await this.durableFile?.close();
  }
}

const entrySchema = z.strictObject({
  seq: z.number().int().min(0),
  time: z.number().min(0),
  source: z.string(),
  sourceSeq: z.number().optional(),
  command: inputCommandSchema,
  feedAfter: z.number().min(-1).optional(),
});
const headerSchema = z.strictObject({
  kind: z.literal('stratum-journal'),
  version: z.literal(1),
  cityHash: z.string(),
  seed: z.number().int(),
  createdBy: z.string(),
});

const ENTRY_KEYS = new Set(['seq', 'time', 'source', 'sourceSeq', 'command', 'feedAfter']);

/** Exactly what `entrySchema` accepts for a telemetry entry (same ranges, no unknown keys). */
function isTelemetryEntry(v: unknown): v is JournalEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  const c = e['command'] as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null || c['type'] !== 'telemetry') return false;
  const value = c['value'];
  if (typeof c['target'] !== 'string' || c['target'] === '' || typeof value !== 'number' || !Number.isFinite(value) || value < 0 || Object.keys(c).length !== 3) return false;
  const { seq, time, source, sourceSeq, feedAfter } = e;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || typeof time !== 'number' || time < 0 || typeof source !== 'string') return false;
  if (sourceSeq !== undefined && typeof sourceSeq !== 'number') return false;
  if (feedAfter !== undefined && (typeof feedAfter !== 'number' || feedAfter < -1)) return false;
  for (const key of Object.keys(e)) if (!ENTRY_KEYS.has(key)) return false;
  return true;
}

function parseJournalLine<T>(path: string, schema: z.ZodType<T>, line: string, n: number): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new ValidationError(path, [{ path: `line ${n}`, reason: `not valid JSON: ${(error as Error).message}` }]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ValidationError(path, zodProblems(parsed.error).map((p) => ({ ...p, path: `line ${n} ${p.path}` })));
  return parsed.data;
}

/** Reads a journal file written by InputJournal; every line is validated. */
export function readJournalFile(path: string): { header: JournalHeader; entries: JournalEntry[] } {
  if (!existsSync(path)) throw new ValidationError(path, [{ path: '$', reason: 'no such journal file' }]);
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const parseLine = <T>(schema: z.ZodType<T>, line: string, n: number): T => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new ValidationError(path, [{ path: `line ${n + 1}`, reason: `not valid JSON: ${(error as Error).message}` }]);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ValidationError(path, zodProblems(parsed.error).map((p) => ({ ...p, path: `line ${n + 1} ${p.path}` })));
    return parsed.data;
  };
  if (lines.length === 0) throw new ValidationError(path, [{ path: 'line 1', reason: 'empty journal (no header)' }]);
  const header = parseLine(headerSchema, lines[0]!, 0);
  const entries = lines.slice(1).map((line, i) => parseLine(entrySchema, line, i + 1) as JournalEntry);
  return { header, entries };
}

/** A journal as `InputJournal.readPlan` describes it: the file's entries before `base`, then `tail`. */
export interface JournalReadPlan {
  readonly file: string | undefined;
  readonly base: number;
  readonly tail: readonly JournalEntry[];
}

/** The entries of a read plan, read lazily (the file line by line). */
export function planEntries(plan: JournalReadPlan): Iterable<JournalEntry> {
  return {
    *[Symbol.iterator]() {
      if (plan.file !== undefined) {
        for (const entry of readJournalEntries(plan.file)) {
          if (entry.seq >= plan.base) break;
          yield entry;
        }
      }
      yield* plan.tail;
    },
  };
}

/**
 * The entries of a durable journal file, one at a time, each validated; with `from` (a position
 * `InputJournal.locate` checked), only the entries from there on.
 */
export function* readJournalEntries(file: string, from?: { seq: number; byte: number }): Generator<JournalEntry> {
  for (const [line, n] of ndjsonLines(file, undefined, from === undefined ? { byte: 0, line: 1 } : { byte: from.byte, line: from.seq + 2 })) {
    if (n === 1) continue;
    // Telemetry, nearly every line of a long journal, is checked by hand: the schema's generic
    // walk costs more than the rest of the recovery. Anything else takes the schema.
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      json = undefined;
    }
    yield isTelemetryEntry(json) ? json : (parseJournalLine(file, entrySchema, line, n) as JournalEntry);
  }
}
