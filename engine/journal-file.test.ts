import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTornTail, GroupCommitFile, ndjsonLines } from './journal-file.ts';
import { InputJournal, readJournalFile } from './journal.ts';
import { ValidationError } from './errors.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'stratum-jf-'));
const HEADER = { kind: 'stratum-journal', version: 1, cityHash: 'c'.repeat(64), seed: 1, createdBy: 'test' } as const;

describe('journal file', () => {
  it('finds and cuts a torn final line, and leaves a whole file alone', () => {
    const file = join(tmp(), 'j.ndjson');
    writeFileSync(file, '{"a":1}\n{"a":2}\n');
    expect(findTornTail(file, { repair: true })).toBeUndefined();
    appendFileSync(file, '{"a":3,"b":');
    expect(findTornTail(file, { repair: false })).toEqual({ line: 3, bytes: 11 });
    expect(statSync(file).size).toBe(16 + 11);
    expect(findTornTail(file, { repair: true })).toEqual({ line: 3, bytes: 11 });
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });

  it('reads lines across chunk boundaries with multi-byte characters', () => {
    const file = join(tmp(), 'big.ndjson');
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ i, s: 'ü€'.repeat(i % 50) }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    let n = 0;
    for (const [line, number] of ndjsonLines(file)) {
      expect(line).toBe(lines[n]);
      expect(number).toBe(++n);
    }
    expect(n).toBe(lines.length);
  });

  it('group commit: many appends in one turn become one durable write, and durable() waits for it', async () => {
    const file = join(tmp(), 'g.ndjson');
    const out = await GroupCommitFile.open(file, 'fdatasync');
    for (let i = 0; i < 1000; i++) out.append(`${i}\n`);
    expect(readFileSync(file, 'utf8')).toBe('');
    await out.durable();
    expect(readFileSync(file, 'utf8').split('\n').length).toBe(1001);
    expect(out.groupCount).toBe(1);
    await out.close();
  });

  it('a durable journal is read lazily from its file: only the entries not yet synced are copied from memory', async () => {
    const { journal } = await InputJournal.openDurable(join(tmp(), 'journal.ndjson'), HEADER, { retain: 10 });
    for (let i = 0; i < 100; i++) journal.append(i + 1, 'http:a', { type: 'telemetry', target: 'x', value: i }, i, i);
    await journal.whenDurable();
    for (let i = 100; i < 103; i++) journal.append(i + 1, 'http:a', { type: 'telemetry', target: 'x', value: i }, i, i);
    const plan = journal.readPlan();
    expect(plan.tail.map((e) => e.seq)).toEqual([100, 101, 102]);
    expect(plan.base).toBe(100);
    expect([...journal.iterate()]).toEqual(journal.entries);
    await journal.whenDurable();
    expect(journal.readPlan().tail).toEqual([]);
    expect([...journal.iterate()].map((e) => e.seq)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    await journal.close();
  });

  it('a durable journal reopens with its entries, refuses another city, and keeps only a window in memory', async () => {
    const file = join(tmp(), 'journal.ndjson');
    const { journal } = await InputJournal.openDurable(file, HEADER, { retain: 10 });
    for (let i = 0; i < 100; i++) journal.append(i + 1, 'http:a', { type: 'telemetry', target: 'x', value: i }, i, i);
    await journal.whenDurable();
    for (let i = 100; i < 150; i++) journal.append(i + 1, 'http:a', { type: 'telemetry', target: 'x', value: i }, i, i);
    expect(journal.retained).toBeLessThanOrEqual(2 * 10 + 50);
    expect(journal.length).toBe(150);
    await journal.whenDurable();
    expect(journal.entries.map((e) => e.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(journal.since(145).map((e) => e.seq)).toEqual([145, 146, 147, 148, 149]);
    await journal.close();
    appendFileSync(file, '{"seq":150,"ti');
    const reopened = await InputJournal.openDurable(file, HEADER);
    expect(reopened.torn).toEqual({ line: 152, bytes: 14 });
    expect([...reopened.journal.readFile()].length).toBe(150);
    await reopened.journal.close();
    expect(readJournalFile(file).entries.length).toBe(150);
    await expect(InputJournal.openDurable(file, { ...HEADER, seed: 2 })).rejects.toThrow(ValidationError);
    await expect(InputJournal.openDurable(file, { ...HEADER, seed: 2 })).rejects.toThrow(/belongs to city c{12}… seed 1, not city c{12}… seed 2/);
  });
});
