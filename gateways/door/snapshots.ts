import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { assembleSnapshot, listSnapshotFiles, loadNewestSnapshot, snapshotFrames, writeSnapshotFile, type Engine } from '../../engine/index.ts';
import { CHECKPOINT_HASH_FORMAT, writeCheckpointFile, type Checkpoint } from './durability.ts';

/**
 * Periodic engine snapshots of a live server, in `<data dir>/snapshots/` (engine/snapshot.ts for the
 * file format). A restart loads the newest usable one and replays only the journal after it.
 *
 * When: every `STRATUM_SNAPSHOT_EVERY` journalled inputs (default 100,000), and every
 * `STRATUM_SNAPSHOT_INTERVAL_S` seconds of wall time (default 600) if anything happened since the
 * last one, and on a clean shutdown. The input count bounds the journal a restart replays (about
 * 0.5 s per 100,000 inputs on the 5,000-asset bench city); the wall interval bounds the stretch of
 * virtual time it re-runs when few inputs arrive (delayed messages, repairs, cohort ticks still fire).
 * Wall time, not virtual: it is an operational cadence of this process, not part of the simulation,
 * so it lives here and never in engine/.
 */
export interface SnapshotSettings {
  /** Inputs between two snapshots; 0 turns the input trigger off. */
  readonly every: number;
  /** Wall milliseconds between two snapshots when something happened; 0 turns it off. */
  readonly intervalMs: number;
  /** Snapshots kept (the newest; older ones are the fallback if the newest cannot be read). */
  readonly keep: number;
}

export const DEFAULT_SNAPSHOT_SETTINGS: SnapshotSettings = { every: 100_000, intervalMs: 600_000, keep: 2 };

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return value;
}

/** `STRATUM_SNAPSHOT_EVERY`, `STRATUM_SNAPSHOT_INTERVAL_S`, `STRATUM_SNAPSHOT_KEEP`; a bad value is refused by name. */
export function snapshotSettings(env: NodeJS.ProcessEnv): SnapshotSettings {
  return {
    every: intSetting(env, 'STRATUM_SNAPSHOT_EVERY', DEFAULT_SNAPSHOT_SETTINGS.every, 0),
    intervalMs: intSetting(env, 'STRATUM_SNAPSHOT_INTERVAL_S', DEFAULT_SNAPSHOT_SETTINGS.intervalMs / 1000, 0) * 1000,
    keep: intSetting(env, 'STRATUM_SNAPSHOT_KEEP', DEFAULT_SNAPSHOT_SETTINGS.keep, 1),
  };
}

/** The folder of a data directory's snapshots. */
export function snapshotsDir(dataDir: string): string {
  return join(dataDir, 'snapshots');
}

/** What the start did with the snapshots: the one loaded (if any) and each one refused, with why. */
export interface SnapshotStart {
  readonly loaded: { readonly file: string; readonly seq: number; readonly clockMs: number; readonly loadMs: number } | undefined;
  readonly refused: readonly string[];
}

/**
 * Loads the newest usable snapshot of `dataDir` into a fresh engine (before anything subscribes to
 * its stream), so `engine.recover` replays only the journal after it. A snapshot of another city,
 * seed or format, a corrupt or torn one, or one ahead of the journal is refused (reason returned,
 * to be logged) and the previous one tried; with none usable, recovery replays the whole journal.
 * Prefers the newest snapshot not later than the checkpoint, so recovery can still compare it.
 */
export function restoreNewestSnapshot(engine: Engine, dataDir: string, checkpoint: Checkpoint | undefined): SnapshotStart {
  const started = performance.now();
  const refused: string[] = [];
  const found = loadNewestSnapshot(snapshotsDir(dataDir), { cityHash: engine.cityHash, seed: engine.kernel.seed }, {
    refused: (r) => refused.push(r.message),
    // The byte offset the snapshot carries makes this a 64-byte read (a scan of the file only if it is off).
    usable: (header, state) => (engine.journal.locate(header.seq, state.journal.byte) === undefined ? `it is at journal entry ${header.seq}, the journal holds fewer entries` : undefined),
    ...(checkpoint === undefined ? {} : { preferAtOrBefore: checkpoint.settledUntil }),
  });
  if (found === undefined) return { loaded: undefined, refused };
  engine.restoreState(found.state);
  return { loaded: { file: found.file, seq: found.header.seq, clockMs: found.header.clockMs, loadMs: performance.now() - started }, refused };
}

/**
 * A companion of the snapshots: state a gateway keeps beside the engine (the embedded history) that
 * a restart from a snapshot would otherwise lose, since the journal before the snapshot is not
 * replayed. `capture` runs in the same synchronous step as the engine's capture (one consistent
 * picture); the value (V8-serialisable) is written as `<name>-<seq>.bin` before the snapshot itself,
 * so a snapshot on disk always has its companions; companions of snapshots no longer kept are removed.
 */
export interface SnapshotCompanion {
  readonly name: string;
  capture(): unknown;
}

const companionFile = (dir: string, name: string, seq: number): string => join(dir, `${name}-${seq}.bin`);

/** Written off the event loop (it can be tens of MB), synced, then renamed into place. */
async function writeFileDurably(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** The companion `name` of the snapshot at journal entry `seq`, or undefined (with why) when missing or unreadable. */
export function readSnapshotCompanion(dataDir: string, name: string, seq: number): { value: unknown } | { missing: string } {
  const file = companionFile(snapshotsDir(dataDir), name, seq);
  if (!existsSync(file)) return { missing: `${file} does not exist` };
  try {
    return { value: deserialize(readFileSync(file)) };
  } catch (error) {
    return { missing: `${file} cannot be read: ${(error as Error).message}` };
  }
}

function pruneCompanions(dir: string, names: readonly string[]): void {
  const kept = new Set(listSnapshotFiles(dir).map((f) => f.seq));
  for (const file of readdirSync(dir)) {
    const m = /^([a-z-]+)-(\d+)\.bin(\.tmp)?$/.exec(file);
    if (m !== null && names.includes(m[1]!) && (m[3] !== undefined || !kept.has(Number(m[2])))) unlinkSync(join(dir, file));
  }
}

/** One snapshot taken: where, its journal position, and how long it held the event loop. */
export interface SnapshotTaken {
  readonly file: string;
  readonly seq: number;
  readonly bytes: number;
  /** The longest the event loop was held at once: the capture (between instants) or one frame's encoding. */
  readonly blockedMs: number;
  /** From the decision to the renamed file (includes waiting for the journal and fsyncs). */
  readonly totalMs: number;
}

/**
 * Takes the periodic snapshots of a live engine. `afterAdvance` (after every real-time advance)
 * checks the triggers and starts one in the background; only one is in flight at a time. Each is
 * cut between instants (`whenIdle`), written only once the journal is durable up to its position,
 * then `checkpoint.json` is set to its clock and hash (so a restart can compare what it replays).
 */
export class SnapshotKeeper {
  private lastSeq: number;
  private lastClock: number;
  private lastAt: number;
  private inFlight: Promise<SnapshotTaken | undefined> | undefined;
  private failures = 0;
  private taken = 0;
  /** The last snapshot taken (for logs and `/metrics`). */
  last: SnapshotTaken | undefined;

  /** Snapshots written and failed since start (`/metrics`). */
  get counts(): { taken: number; failed: number } {
    return { taken: this.taken, failed: this.failures };
  }

  constructor(
    private readonly engine: Engine,
    private readonly dataDir: string,
    private readonly settings: SnapshotSettings,
    private readonly options: { checkpointFile?: string; now?: () => number; log?: (message: string) => void; companions?: readonly SnapshotCompanion[] } = {},
  ) {
    this.lastSeq = engine.journal.length;
    this.lastClock = engine.kernel.settledUntil;
    this.lastAt = this.now();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** True when a trigger has fired since the last snapshot. */
  due(): boolean {
    const inputs = this.engine.journal.length - this.lastSeq;
    if (this.settings.every > 0 && inputs >= this.settings.every) return true;
    const changed = inputs > 0 || this.engine.kernel.settledUntil > this.lastClock;
    return this.settings.intervalMs > 0 && changed && this.now() - this.lastAt >= this.settings.intervalMs;
  }

  afterAdvance(): void {
    if (this.inFlight !== undefined || this.engine.isRecovering || !this.due()) return;
    void this.take();
  }

  /** Takes a snapshot now (after any one in flight). Resolves undefined when there is nothing to take or it failed (logged). */
  take(): Promise<SnapshotTaken | undefined> {
    const run = (this.inFlight ?? Promise.resolve(undefined)).then(() => this.write());
    this.inFlight = run;
    void run.finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    return run;
  }

  /** On a clean shutdown (the runner stopped): a last snapshot if anything happened since the previous one. */
  async final(): Promise<SnapshotTaken | undefined> {
    await this.inFlight;
    if (this.engine.journal.length === this.lastSeq && this.engine.kernel.settledUntil === this.lastClock) return undefined;
    return this.take();
  }

  private async write(): Promise<SnapshotTaken | undefined> {
    const started = performance.now();
    await this.engine.whenIdle();
    if (this.engine.isRecovering) return undefined;
    try {
      // The capture is synchronous, between instants: one consistent picture.
      const t0 = performance.now();
      const state = this.engine.captureState();
      const identity = this.engine.snapshotIdentity();
      const seq = state.journal.seq;
      const clockMs = state.kernel.processedUntil;
      const companions = (this.options.companions ?? []).map((c) => ({ name: c.name, value: c.capture() }));
      const checkpoint: Checkpoint = { hashFormat: CHECKPOINT_HASH_FORMAT, settledUntil: clockMs, inputs: seq, stateHash: identity.streamHash, events: state.stream.count };
      let blockedMs = performance.now() - t0;
      // The encoding, one frame per turn of the event loop: the engine runs on meanwhile.
      const parts: Buffer[] = [];
      const sha = createHash('sha256');
      for (const frames = snapshotFrames(state); ;) {
        await new Promise((resolve) => setImmediate(resolve));
        const t1 = performance.now();
        const next = frames.next();
        if (next.done === true) break;
        parts.push(next.value);
        sha.update(next.value);
        blockedMs = Math.max(blockedMs, performance.now() - t1);
      }
      const pieces = assembleSnapshot(state, identity, parts, sha.digest('hex'));
      let size = 0;
      for (const piece of pieces) size += piece.length;
      this.lastSeq = seq;
      this.lastClock = clockMs;
      this.lastAt = this.now();
      // The snapshot stands for the journal up to `seq`: it must not outlive entries a crash could lose.
      await this.engine.journal.whenDurable();
      const dir = snapshotsDir(this.dataDir);
      if (companions.length > 0) mkdirSync(dir, { recursive: true });
      for (const c of companions) await writeFileDurably(companionFile(dir, c.name, seq), serialize(c.value));
      const file = await writeSnapshotFile(dir, pieces, seq, this.settings.keep);
      if (companions.length > 0) pruneCompanions(dir, companions.map((c) => c.name));
      if (this.options.checkpointFile !== undefined) writeCheckpointFile(this.options.checkpointFile, checkpoint);
      this.last = { file, seq, bytes: size, blockedMs, totalMs: performance.now() - started };
      this.taken++;
      return this.last;
    } catch (error) {
      this.failures++;
      this.options.log?.(`snapshot failed (${this.failures} so far; the journal still holds everything): ${(error as Error).message}`);
      return undefined;
    }
  }
}
