import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCity, hashCity, InputJournal, journalHeader, parseCity } from '../engine/index.ts';
import { verifyLedgerFile } from '../scenarios/index.ts';
import { startServerWith } from './server.ts';

const ADMIN = 'admin-token-recovery';
const city = parseCity(generateCity({ assets: 300, seed: 6 }), 'generated');
const ids = city.assets.map((a) => a.id);

describe('restart on a data directory', () => {
  it('answers /readyz "recovering" and refuses inputs while the journal is replayed, then resumes with every input; torn tails are cut and noted in the ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-recovery-'));
    // A journal a previous run left behind: 60,000 telemetry readings, then a torn line (a crash mid-append).
    const { journal } = await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(hashCity(city), 6), { mode: 'write' });
    const N = 60_000;
    for (let i = 0; i < N; i++) {
      const time = 1 + Math.floor(i / 100) * 1000;
      journal.append(time, 'kafka:t:0', { type: 'telemetry', target: ids[i % ids.length]!, value: i % 90 }, i, time - 1);
    }
    await journal.close();
    appendFileSync(join(dir, 'journal.ndjson'), '{"seq":60000,"time":6');
    writeFileSync(join(dir, 'ledger.ndjson'), '{"seq":0,"at":"2026-12-04T');

    const seen: { status: number; body: { reason?: string; recovery?: { inputs: number } } }[] = [];
    let injectDuring: number | undefined;
    const polls: Promise<void>[] = [];
    const server = await startServerWith(
      { city, seed: 6, port: 0, quiet: true, speed: 60, adminToken: ADMIN, dataDir: dir },
      {
        onListening: (url) => {
          polls.push((async () => {
            seen.push({ status: 0, body: {} });
            const ready = await fetch(`${url}/readyz`);
            seen.push({ status: ready.status, body: (await ready.json()) as { reason?: string } });
            const inject = await fetch(`${url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'telemetry', target: ids[0], value: 1 }) });
            injectDuring = inject.status;
          })());
        },
      },
    );
    try {
      await Promise.all(polls);
      const during = seen.find((s) => s.status === 503);
      expect(during?.body.reason).toBe('recovering');
      expect(injectDuring).toBe(409);
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { ok: boolean; recovery: { inputs: number; checkpoint: string } };
      expect(ready).toMatchObject({ ok: true, recovery: { inputs: N, checkpoint: 'none' } });
      expect(server.engine.journal.length).toBe(N);
      expect(server.engine.now).toBeGreaterThanOrEqual((N / 100 - 1) * 1000);
      // Inputs are taken again, after the recovered ones, and acknowledged once durable.
      const res = await fetch(`${server.url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'fail', target: ids[1] }) });
      expect(res.status).toBe(202);
      expect(((await res.json()) as { seq: number }).seq).toBe(N);
      expect(readFileSync(join(dir, 'journal.ndjson'), 'utf8').trimEnd().split('\n').pop()).toContain(`"seq":${N},`);
    } finally {
      await server.close();
    }
    const ledger = verifyLedgerFile(join(dir, 'ledger.ndjson'));
    expect(ledger.ok).toBe(true);
    const repairs = ledger.entries.filter((e) => e.kind === 'repair').map((e) => (e.payload as { file: string }).file);
    expect(repairs).toEqual([join(dir, 'ledger.ndjson'), join(dir, 'journal.ndjson')]);
  });
});
