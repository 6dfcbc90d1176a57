import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ValidationError } from './errors.ts';
import { zodProblems } from './model/validate.ts';

/**
 * Inputs from outside, the only door into the simulation. Scenario events, telemetry and operator
 * actions all become one of these, get a virtual time and a sequence number in the journal, and
 * only then reach the actors. Replaying a journal reproduces the run.
 */
export const inputCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('fail'),
    target: z.string().min(1),
    severity: z.number().min(0).max(1).optional(),
    hazard: z.enum(['flood', 'wind', 'shaking', 'heat', 'fire']).optional(),
  }),
  z.strictObject({ type: z.literal('repair'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('restore'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('isolate'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('telemetry'), target: z.string().min(1), value: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal('shed'), target: z.string().min(1), share: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('reroute'), target: z.string().min(1), to: z.string().min(1), share: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('ambient'), target: z.string().min(1), celsius: z.number().min(-60).max(70) }),
  z.strictObject({
    type: z.literal('cyber'),
    target: z.string().min(1),
    attack: z.enum(['compromise', 'ddos', 'ransomware']),
    severity: z.number().min(0).max(1).optional(),
  }),
  z.strictObject({ type: z.literal('secure'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('order'), target: z.string().min(1), order: z.enum(['shelter', 'evacuate', 'save-water', 'all-clear']) }),
]);

export type InputCommand = z.infer<typeof inputCommandSchema>;

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
 * The input journal: in memory, and appended line by line to a file when one is given (the
 * embedded history default). Duplicates by (source, sourceSeq) are dropped.
 */
export class InputJournal {
  private readonly list: JournalEntry[] = [];
  private readonly seen = new Map<string, number>();

  constructor(readonly header: JournalHeader, private readonly file?: string) {
    if (file !== undefined) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(header)}\n`);
    }
  }

  get entries(): readonly JournalEntry[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
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
    const entry: JournalEntry = sourceSeq === undefined
      ? { seq: this.list.length, time, source, command, feedAfter }
      : { seq: this.list.length, time, source, sourceSeq, command, feedAfter };
    this.list.push(entry);
    if (sourceSeq !== undefined) this.seen.set(source, Math.max(sourceSeq, this.seen.get(source) ?? -Infinity));
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    return entry;
  }

  /**
   * Appends inputs of one source taking effect at one time, in order (a Kafka batch): the same
   * entries `append` would make one by one, with one update of the duplicate map and one file write.
   * The caller has dropped duplicates already (`sourceSeqs` ascending, above `lastSourceSeq`).
   */
  appendBatch(time: number, source: string, commands: readonly InputCommand[], sourceSeqs: readonly number[], feedAfter = time - 1): void {
    let lines = '';
    for (let i = 0; i < commands.length; i++) {
      const entry: JournalEntry = { seq: this.list.length, time, source, sourceSeq: sourceSeqs[i]!, command: commands[i]!, feedAfter };
      this.list.push(entry);
      if (this.file !== undefined) lines += `${JSON.stringify(entry)}\n`;
    }
    if (commands.length > 0) {
      this.seen.set(source, Math.max(sourceSeqs[commands.length - 1]!, this.seen.get(source) ?? -Infinity));
      if (this.file !== undefined) appendFileSync(this.file, lines);
    }
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
