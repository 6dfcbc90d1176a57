import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, generateCity, hashCity, listSnapshotFiles, parseCity, readJournalFile, Rng, type JournalEntry } from '../engine/index.ts';
import { verifyLedgerFile } from '../scenarios/index.ts';
import { startStratumChild, uninterruptedHash } from '../test/stratum-child.ts';

const ADMIN = 'admin-token-crash-test';
const ASSETS = 300;
const SEED = 4;
// The city `stratum start --assets` serves: generated, with its electrical power layer and its water layer on EPANET (the CLI's defaults).
const city = parseCity(generateCity({ assets: ASSETS, seed: SEED, water: 'epanet', grid: 'electrical' }), 'generated');
const ids = city.assets.map((a) => a.id);

/** `stratum start` as a child process on a free port, with the data directory `dir`. */
function startChild(dir: string): Promise<{ child: ChildProcess; url: string }> {
  return startStratumChild(['start', '--assets', String(ASSETS), '--seed', String(SEED), '--port', '0', '--no-ui', '--speed', '600', '--data-dir', dir], {
    // A snapshot every 10 inputs: most kills land after one, some while one is being written.
    STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_RATE_LIMIT: '10000000', LOG_LEVEL: 'warn', STRATUM_RECORDINGS: join(dir, 'recordings'), STRATUM_SNAPSHOT_EVERY: '10', STRATUM_SNAPSHOT_INTERVAL_S: '0',
  });
}

interface Ready {
  ok: boolean;
  recovery?: { inputs: number; untilMs: number; checkpoint: string; snapshot: { seq: number; clockMs: number } | null };
}

async function waitReady(url: string): Promise<Ready> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return (await res.json()) as Ready;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('not ready in 15 s');
}


describe('kill -9 under load (the `stratum start` CLI as a child process, 20 seeded kills)', () => {
  it('after every restart each acknowledged input is in the journal and the state equals an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-crash-'));
    const rng = new Rng(912);
    const acked = new Map<number, string>();
    let sent = 0;
    let fromSnapshot = 0;
    for (let round = 0; round < 21; round++) {
      const t0 = performance.now();
      const { child, url } = await startChild(dir);
      if (process.env['CRASH_DEBUG'] === '1') console.error(`round ${round}: started in ${(performance.now() - t0).toFixed(0)} ms, ${acked.size} acked`);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const ready = await waitReady(url);
      if (round > 0) {
        // Recovery replayed the journal to the last checkpoint and found the stream it had noted there.
        expect(ready.recovery?.checkpoint, `round ${round}`).toBe('match');
        expect(ready.recovery!.inputs).toBeGreaterThanOrEqual(Math.max(0, ...acked.keys()) + 1);
        if (ready.recovery?.snapshot !== null && ready.recovery?.snapshot !== undefined) fromSnapshot++;
      }
      if (round === 20) {
        child.kill('SIGTERM');
        await exited;
        break;
      }
      // Load: four concurrent senders until the kill at a seeded moment.
      let killed = false;
      const sender = async (): Promise<void> => {
        while (!killed) {
          const target = ids[Math.floor(rng.next() * ids.length)]!;
          const body = rng.next() < 0.8 ? { type: 'telemetry', target, value: Math.round(rng.next() * 1000) / 10 } : { type: 'fail', target, severity: 1 };
          sent++;
          try {
            const res = await fetch(`${url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
            if (res.status === 202) {
              const ack = (await res.json()) as { seq: number };
              acked.set(ack.seq, JSON.stringify(body));
            }
          } catch {
            // the connection died with the server: not acknowledged
          }
        }
      };
      const senders = [sender(), sender(), sender(), sender()];
      await new Promise((r) => setTimeout(r, 30 + Math.floor(rng.next() * 250)));
      child.kill('SIGKILL');
      killed = true;
      await exited;
      await Promise.all(senders);
      // Every acknowledged input is in the journal, as sent (read as a restart would: torn tail ignored).
      const journalFile = join(dir, 'journal.ndjson');
      const text = readFileSync(journalFile, 'utf8');
      const whole = text.slice(0, text.lastIndexOf('\n') + 1);
      const entries = whole.trim().split('\n').slice(1).map((l) => JSON.parse(l) as JournalEntry);
      for (const [seq, body] of acked) expect(JSON.stringify(entries[seq]?.command), `acked seq ${seq} after kill ${round}`).toBe(body);
      // The checkpoint noted before the kill is the uninterrupted run's state at its clock.
      const cpFile = join(dir, 'checkpoint.json');
      if (existsSync(cpFile)) {
        const cp = JSON.parse(readFileSync(cpFile, 'utf8')) as { settledUntil: number; stateHash: string };
        expect(await uninterruptedHash(city, SEED, entries, cp.settledUntil), `checkpoint before kill ${round}`).toBe(cp.stateHash);
      }
      // Every snapshot file the kill left is whole (a torn one is only ever a .tmp, never used) and
      // holds the uninterrupted run's state at its clock.
      for (const { file } of listSnapshotFiles(join(dir, 'snapshots'))) {
        const { header } = decodeSnapshot(readFileSync(file), file, { cityHash: hashCity(city), seed: SEED });
        expect(header.seq, `snapshot ${file} after kill ${round}`).toBeLessThanOrEqual(entries.length);
        expect(await uninterruptedHash(city, SEED, entries.slice(0, header.seq), header.clockMs), `snapshot ${file} after kill ${round}`).toBe(header.streamHash);
      }
    }
    expect(acked.size).toBeGreaterThan(100);
    // The snapshot path was exercised under kill -9: restarts started from one (how many depends on
    // how many inputs the loaded machine let through before each kill; typically most of the 20).
    expect(fromSnapshot).toBeGreaterThanOrEqual(5);
    expect(sent).toBeGreaterThan(acked.size);
    const total = readJournalFile(join(dir, 'journal.ndjson')).entries.length;
    expect(total).toBeGreaterThanOrEqual(acked.size);
    // The last stop was a clean SIGTERM: it left a snapshot at the end of the journal.
    expect(listSnapshotFiles(join(dir, 'snapshots'))[0]?.seq).toBe(total);
    expect(verifyLedgerFile(join(dir, 'ledger.ndjson')).ok).toBe(true);
  }, 300_000);
});
