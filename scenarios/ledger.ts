import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { findTornTail, ndjsonLines, type TornTail } from '../engine/index.ts';

/**
 * The decision ledger: every injection, operator action, approval and training decision, appended
 * to a hash chain. Entry hash = SHA-256 over the canonical JSON (keys sorted, no whitespace) of
 * `{seq, at, kind, who, role, payload, prev}`, where `prev` is the previous entry's hash (64 zeros
 * for the first). File-backed as NDJSON (one entry a line) when a path is given; in memory otherwise.
 * Changing, removing or reordering any entry breaks the chain from that entry on.
 */
export type LedgerKind = 'injection' | 'scenario' | 'operator-action' | 'approval-request' | 'approval' | 'rejection' | 'what-if' | 'guard' | 'training' | 'recording' | 'repair' | 'gate';

export interface LedgerEntry {
  readonly seq: number;
  /** Wall clock, ISO 8601. */
  readonly at: string;
  readonly kind: LedgerKind;
  readonly who: string;
  readonly role: string;
  readonly payload: unknown;
  readonly prev: string;
  readonly hash: string;
}

export const GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every depth (RFC 8785-like for our value types). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function entryHash(entry: Omit<LedgerEntry, 'hash'>): string {
  const { seq, at, kind, who, role, payload, prev } = entry;
  return createHash('sha256').update(canonicalJson({ seq, at, kind, who, role, payload, prev })).digest('hex');
}

export class Ledger {
  private readonly list: LedgerEntry[] = [];

  /** The torn final line cut off when the file was opened (with `repairTornTail`), if there was one. */
  readonly repaired: TornTail | undefined;

  /**
   * Opens (and continues) a ledger file; throws when its chain is broken. With `repairTornTail` a
   * torn final line (a crash in the middle of an append) is cut off first and the repair is noted
   * as a `repair` entry; any other break is refused (that is tampering or corruption, not a crash).
   */
  constructor(readonly file?: string, private readonly clock: () => Date = () => new Date(), options: { repairTornTail?: boolean } = {}) {
    this.repaired = undefined;
    if (file !== undefined && existsSync(file)) {
      if (options.repairTornTail === true) this.repaired = repairLedgerTail(file);
      const check = verifyLedgerText(readFileSync(file, 'utf8'));
      if (!check.ok) throw new Error(`ledger ${file}: ${check.reason} at entry ${check.firstBroken} — refusing to append to a broken chain`);
      this.list.push(...check.entries);
      if (this.repaired !== undefined) this.append('repair', 'stratum', 'system', { file, line: this.repaired.line, bytes: this.repaired.bytes, reason: 'torn final line after a crash' });
    } else if (file !== undefined) {
      // Created at once, empty: `stratum ledger verify` then works on a fresh set-up too.
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, '');
    }
  }

  get entries(): readonly LedgerEntry[] {
    return this.list;
  }

  get head(): string {
    return this.list[this.list.length - 1]?.hash ?? GENESIS;
  }

  append(kind: LedgerKind, who: string, role: string, payload: unknown): LedgerEntry {
    const body = { seq: this.list.length, at: this.clock().toISOString(), kind, who, role, payload: JSON.parse(JSON.stringify(payload ?? null)) as unknown, prev: this.head };
    const entry: LedgerEntry = { ...body, hash: entryHash(body) };
    this.list.push(entry);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    return entry;
  }

  verify(): LedgerVerdict {
    return verifyEntries(this.list);
  }
}

export type LedgerVerdict =
  | { ok: true; count: number; head: string; entries: LedgerEntry[] }
  | { ok: false; count: number; firstBroken: number; line: number; reason: string; entries: LedgerEntry[] };

function verifyEntries(entries: readonly unknown[]): LedgerVerdict {
  let prev = GENESIS;
  const good: LedgerEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Partial<LedgerEntry> | null;
    const broken = (reason: string): LedgerVerdict => ({ ok: false, count: entries.length, firstBroken: i, line: i + 1, reason, entries: good });
    if (e === null || typeof e !== 'object' || typeof e.hash !== 'string') return broken('not a ledger entry');
    if (e.seq !== i) return broken(`sequence ${String(e.seq)} where ${i} was expected (entry removed or reordered)`);
    if (e.prev !== prev) return broken('prev does not match the previous entry\'s hash');
    const expected = entryHash(e as LedgerEntry);
    if (expected !== e.hash) return broken('hash does not match the entry\'s content (entry altered)');
    good.push(e as LedgerEntry);
    prev = e.hash;
  }
  return { ok: true, count: entries.length, head: prev, entries: good };
}

/** Verifies ledger NDJSON text; names the first broken entry (seq and line). */
export function verifyLedgerText(text: string): LedgerVerdict {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parsed: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      parsed.push(JSON.parse(lines[i]!));
    } catch {
      const prefix = verifyEntries(parsed);
      if (!prefix.ok) return prefix;
      return { ok: false, count: lines.length, firstBroken: i, line: i + 1, reason: 'not valid JSON', entries: prefix.entries };
    }
  }
  return verifyEntries(parsed);
}

/**
 * Cuts a torn final line off a ledger file: bytes after the last newline, or a last line that is
 * not valid JSON (a write cut short). Returns what was cut, or undefined when the file ends whole.
 */
export function repairLedgerTail(file: string): TornTail | undefined {
  const torn = findTornTail(file, { repair: true });
  let lastLine: [string, number] | undefined;
  for (const line of ndjsonLines(file)) lastLine = line;
  if (lastLine === undefined) return torn;
  try {
    JSON.parse(lastLine[0]);
    return torn;
  } catch {
    const size = statSync(file).size;
    const keep = size - Buffer.byteLength(lastLine[0]) - 1;
    truncateSync(file, keep);
    return { line: lastLine[1], bytes: size - keep + (torn?.bytes ?? 0) };
  }
}

/** Verifies a ledger file. */
export function verifyLedgerFile(path: string): LedgerVerdict {
  return verifyLedgerText(readFileSync(path, 'utf8'));
}
