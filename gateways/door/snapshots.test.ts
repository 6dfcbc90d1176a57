import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, hashCity, InputJournal, journalHeader, listSnapshotFiles, ManualWallClock, parseCity, readJournalFile, STATES_PER_FRAME } from '../../engine/index.ts';
import { uninterruptedHash } from '../../test/stratum-child.ts';
import { startServerWith, type ServerInternals } from '../server.ts';
import { DEFAULT_SNAPSHOT_SETTINGS, restoreNewestSnapshot, SnapshotKeeper, snapshotSettings } from './snapshots.ts';

const ADMIN = 'admin-token-snapshots';
const SEED = 8;
const city = parseCity(generateCity({ assets: 300, seed: SEED }), 'generated');
const ids = city.assets.map((a) => a.id);
const env = { STRATUM_SNAPSHOT_EVERY: '40', STRATUM_SNAPSHOT_INTERVAL_S: '0', STRATUM_SNAPSHOT_KEEP: '2', STRATUM_RATE_LIMIT: '1000000' };


/** Sends `count` inputs; every ten, the live run's wall clock moves 20 ms (an advance: snapshots are cut after advances). */
async function inject(server: ServerInternals, wall: ManualWallClock, count: number, offset: number): Promise<void> {
  const url = server.url;
  for (let i = 0; i < count; i++) {
    const body = i % 5 === 0 ? { type: 'fail', target: ids[(offset + i * 7) % ids.length], severity: 0.7 } : { type: 'telemetry', target: ids[(offset + i) % ids.length], value: (i % 50) + 1 };
    const res = await fetch(`${url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    if (i % 10 === 9) await wall.advance(20, () => server.runner.whenSettled());
  }
}

interface Ready {
  ok: boolean;
  recovery: { inputs: number; replayed: number; untilMs: number; checkpoint: string; snapshot: { seq: number; clockMs: number } | null };
}

describe('periodic snapshots of the live server', () => {
  it('are taken every STRATUM_SNAPSHOT_EVERY inputs and on a clean shutdown; a restart loads the newest, replays only the tail and equals the uninterrupted run; a corrupt newest one falls back to the previous', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snapshots-'));
    const options = { city, seed: SEED, port: 0, quiet: true, speed: 600, adminToken: ADMIN, dataDir: dir };
    const wall = new ManualWallClock();
    const first = await startServerWith(options, { env, runnerClock: wall });
    try {
      await inject(first, wall, 130, 0);
      // The snapshots are written in the background (file I/O): poll for them.
      for (let i = 0; i < 100 && listSnapshotFiles(join(dir, 'snapshots')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const periodic = listSnapshotFiles(join(dir, 'snapshots'));
      expect(periodic.length).toBe(2); // kept: the newest two
      expect(periodic[0]!.seq).toBeGreaterThanOrEqual(80);
      // /metrics tells the platform engineer what the snapshots cost.
      const metrics = await (await fetch(`${first.url}/metrics`)).text();
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(value('stratum_snapshots_written_total')).toBeGreaterThanOrEqual(2);
      expect(value('stratum_snapshots_failed_total')).toBe(0);
      // (one more may have been written since the listing above: the metric names a file that is kept)
      expect(listSnapshotFiles(join(dir, 'snapshots')).map((f) => f.seq)).toContain(value('stratum_snapshot_last_seq'));
      expect(value('stratum_snapshot_last_bytes')).toBeGreaterThan(0);
      expect(value('stratum_snapshot_last_blocked_seconds')).toBeGreaterThan(0);
      expect(value('stratum_snapshot_last_duration_seconds')).toBeGreaterThanOrEqual(value('stratum_snapshot_last_blocked_seconds'));
    } finally {
      await first.close();
    }
    // The clean shutdown took one at the end of the journal.
    const total = readJournalFile(join(dir, 'journal.ndjson')).entries.length;
    expect(total).toBe(130);
    const atShutdown = listSnapshotFiles(join(dir, 'snapshots'));
    expect(atShutdown[0]!.seq).toBe(130);

    // Restart (nothing to replay) and 25 more inputs; its clean shutdown takes the snapshot at 155.
    const second = await startServerWith(options, { env: { ...env, STRATUM_SNAPSHOT_EVERY: '0' }, runnerClock: wall });
    let secondReady: Ready;
    try {
      secondReady = (await (await fetch(`${second.url}/readyz`)).json()) as Ready;
      expect(secondReady.recovery).toMatchObject({ inputs: 130, replayed: 0, snapshot: { seq: 130 } });
      await inject(second, wall, 25, 3);
    } finally {
      await second.close();
    }
    // Corrupt the newest snapshot (the second server's shutdown one): recovery falls back to the one before and replays more.
    const [newest, previous] = listSnapshotFiles(join(dir, 'snapshots'));
    expect(newest!.seq).toBe(155);
    const bytes = readFileSync(newest!.file);
    writeFileSync(newest!.file, bytes.subarray(0, bytes.length - 10));
    const third = await startServerWith(options, { env, paused: true });
    try {
      const ready = (await (await fetch(`${third.url}/readyz`)).json()) as Ready;
      expect(ready.ok).toBe(true);
      expect(ready.recovery.snapshot?.seq).toBe(previous!.seq);
      expect(ready.recovery.replayed).toBe(155 - previous!.seq);
      expect(ready.recovery.checkpoint).toBe('match');
      const entries = readJournalFile(join(dir, 'journal.ndjson')).entries;
      expect(third.engine.stream.stateHash()).toBe(await uninterruptedHash(city, SEED, entries, third.engine.kernel.settledUntil));
    } finally {
      await third.close();
    }
  }, 60_000);

  it('a snapshot encoded over several turns while the engine runs on holds the state of the moment it was cut', async () => {
    const big = parseCity(generateCity({ assets: 2500, seed: 5 }), 'generated');
    const bigIds = big.assets.map((a) => a.id);
    const cityHash = hashCity(big);
    const dir = mkdtempSync(join(tmpdir(), 'stratum-snapshots-slices-'));
    const open = async (): Promise<InputJournal> => (await InputJournal.openDurable(join(dir, 'journal.ndjson'), journalHeader(cityHash, 5), { mode: 'write' })).journal;
    const live = await Engine.create({ city: big, cityHash, behaviours: (i) => createBehaviours(i), seed: 5, driver: 'direct', journal: await open() });
    await live.recover();
    expect(live.index.actorCount).toBeGreaterThan(2 * STATES_PER_FRAME);
    for (let i = 0; i < 40; i++) live.submit({ type: 'fail', target: bigIds[(i * 61) % bigIds.length]!, severity: 0.8 }, { at: 1 + i });
    await live.runUntil(30_000);
    const keeper = new SnapshotKeeper(live, dir, { ...DEFAULT_SNAPSHOT_SETTINGS, intervalMs: 0 });
    const cut = { seq: live.journal.length, hash: live.stream.stateHash() };
    const taking = keeper.take();
    // Between the frames (one per turn), the engine goes on: more damage, instants processed.
    let turns = 0;
    let settled = false;
    void taking.then(() => (settled = true));
    while (!settled) {
      await new Promise((r) => setImmediate(r));
      if (settled) break;
      live.submit({ type: 'fail', target: bigIds[(turns * 97) % bigIds.length]!, severity: 1 });
      await live.runUntil(live.now + 60_000);
      turns++;
    }
    const taken = await taking;
    expect(taken?.seq).toBe(cut.seq);
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(live.stream.stateHash()).not.toBe(cut.hash);
    await live.runUntil(live.now + 3_600_000);
    const final = { hash: live.stream.stateHash(), untilMs: live.kernel.settledUntil };
    await live.stop();

    const restarted = await Engine.create({ city: big, cityHash, behaviours: (i) => createBehaviours(i), seed: 5, driver: 'direct', journal: await open() });
    const start = restoreNewestSnapshot(restarted, dir, undefined);
    expect(start.loaded?.seq).toBe(cut.seq);
    expect(restarted.stream.stateHash()).toBe(cut.hash);
    await restarted.recover({ untilMs: final.untilMs });
    expect(restarted.stream.stateHash()).toBe(final.hash);
    await restarted.stop();
  }, 60_000);

  it('refuses a bad setting by name', () => {
    expect(() => snapshotSettings({ STRATUM_SNAPSHOT_EVERY: 'often' })).toThrow(/STRATUM_SNAPSHOT_EVERY must be an integer ≥ 0 \(got "often"\)/);
    expect(() => snapshotSettings({ STRATUM_SNAPSHOT_KEEP: '0' })).toThrow(/STRATUM_SNAPSHOT_KEEP must be an integer ≥ 1/);
    expect(() => snapshotSettings({ STRATUM_SNAPSHOT_INTERVAL_S: '-5' })).toThrow(/STRATUM_SNAPSHOT_INTERVAL_S/);
    expect(snapshotSettings({})).toEqual({ every: 100_000, intervalMs: 600_000, keep: 2 });
  });
});
