import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InputJournal, JOURNAL_SYNC_MODES, journalHeader, type Engine, type JournalSyncMode, type TornTail } from '../../engine/index.ts';
import { Ledger } from '../../scenarios/index.ts';
import { GatewayError } from './errors.ts';

/**
 * The data directory of a live server (`STRATUM_DATA_DIR`, `stratum start` default `./data`):
 * - `journal.ndjson` — the durable input journal (group commit; an input is acknowledged once its
 *   group is written and fdatasync'ed);
 * - `ledger.ndjson` — the decision ledger (unless `STRATUM_LEDGER_FILE` puts it elsewhere);
 * - `checkpoint.json` — every second: the settled clock, the journal length and the stream's state
 *   hash at that clock, written only once the inputs it reflects are durable. On start the journal
 *   is replayed to that clock and the hash compared;
 * - `snapshots/` — engine snapshots (gateways/snapshots.ts): a start loads the newest usable one and
 *   replays only the journal after it.
 */
export interface DataDir {
  readonly dir: string;
  readonly journal: InputJournal;
  readonly journalFile: string;
  readonly ledgerFile: string;
  readonly checkpointFile: string;
  readonly mode: JournalSyncMode;
  /** The torn final line cut off the journal on opening, if there was one. */
  readonly torn: TornTail | undefined;
  readonly checkpoint: Checkpoint | undefined;
}

/**
 * The stream-hash definition a checkpoint's `stateHash` was computed with. 2: the chained SHA-256
 * over record chunks (engine/stream.ts, since state snapshots). A checkpoint without it was written
 * by an earlier version whose hash cannot be compared: it is read as no checkpoint (recovery then
 * runs to the journal's end unverified) instead of failing every upgraded start.
 */
export const CHECKPOINT_HASH_FORMAT = 2;

const checkpointSchema = z.strictObject({ hashFormat: z.literal(CHECKPOINT_HASH_FORMAT), settledUntil: z.number().int().min(-1), inputs: z.number().int().min(0), stateHash: z.string().regex(/^[0-9a-f]{64}$/), events: z.number().int().min(0) });
export type Checkpoint = z.infer<typeof checkpointSchema>;

/** `STRATUM_JOURNAL_SYNC`: `fdatasync` (default) or `write`; anything else is refused by name. */
export function journalSyncMode(env: NodeJS.ProcessEnv): JournalSyncMode {
  const value = env['STRATUM_JOURNAL_SYNC'] ?? 'fdatasync';
  if (!(JOURNAL_SYNC_MODES as readonly string[]).includes(value)) throw new RangeError(`STRATUM_JOURNAL_SYNC must be one of ${JOURNAL_SYNC_MODES.join(', ')} (got ${JSON.stringify(value)})`);
  return value as JournalSyncMode;
}

/** Opens (or creates) the data directory of this city and seed; repairs a torn journal tail. */
export async function openDataDir(dir: string, cityHash: string, seed: number, env: NodeJS.ProcessEnv): Promise<DataDir> {
  const root = resolve(dir);
  const mode = journalSyncMode(env);
  const journalFile = join(root, 'journal.ndjson');
  const { journal, torn } = await InputJournal.openDurable(journalFile, journalHeader(cityHash, seed), { mode });
  const checkpointFile = join(root, 'checkpoint.json');
  return { dir: root, journal, journalFile, ledgerFile: env['STRATUM_LEDGER_FILE'] ?? join(root, 'ledger.ndjson'), checkpointFile, mode, torn, checkpoint: readCheckpoint(checkpointFile) };
}

function readCheckpoint(file: string): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = checkpointSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens the ledger; a torn last line (a crash mid-append) is cut off and the repair is noted in the
 * ledger itself, as is a repair of the journal. Returns the ledger and what was repaired.
 */
export function openLedger(data: DataDir | undefined, file: string | undefined): { ledger: Ledger; repairs: string[] } {
  const repairs: string[] = [];
  const ledger = new Ledger(file, undefined, { repairTornTail: true });
  if (ledger.repaired !== undefined) repairs.push(`ledger ${file}: cut a torn final line (line ${ledger.repaired.line}, ${ledger.repaired.bytes} bytes)`);
  if (data?.torn !== undefined) {
    repairs.push(`journal ${data.journalFile}: cut a torn final line (line ${data.torn.line}, ${data.torn.bytes} bytes; that input was never acknowledged)`);
    ledger.append('repair', 'stratum', 'system', { file: data.journalFile, line: data.torn.line, bytes: data.torn.bytes, reason: 'torn final line after a crash (never acknowledged)' });
  }
  return { ledger, repairs };
}

/** What `/readyz` says while the journal is replayed. */
export interface RecoveryState {
  phase: 'recovering' | 'done' | 'failed';
  inputs: number;
  reason?: string;
  /** Once done: the clock recovered to and whether the replayed stream matched the checkpoint. */
  untilMs?: number;
  checkpoint?: 'match' | 'mismatch' | 'none';
  /** The snapshot recovery started from (gateways/snapshots.ts), null when it replayed the whole journal. */
  snapshot?: { seq: number; clockMs: number } | null;
  /** Inputs replayed from the journal (those after the snapshot). */
  replayed?: number;
}

/**
 * Wires the durability of a live server into Fastify:
 * - a mutating request (not GET/HEAD) that succeeded is answered only once the journal group that
 *   holds its input is durable; a journal that cannot be written answers 503 instead;
 * - `/readyz` answers 503 `recovering` (with the inputs replayed so far) until recovery is done.
 */
export function registerDurability(app: FastifyInstance, engine: Engine, recovery: RecoveryState): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url === '/readyz') {
      if (recovery.phase !== 'done') {
        void reply.status(503);
        return JSON.stringify({ ok: false, reason: recovery.phase === 'failed' ? `recovery failed: ${recovery.reason ?? ''}` : 'recovering', recovery: { inputs: recovery.inputs } });
      }
      if (typeof payload === 'string' && recovery.untilMs !== undefined) return JSON.stringify({ ...(JSON.parse(payload) as object), recovery: { inputs: recovery.inputs, untilMs: recovery.untilMs, checkpoint: recovery.checkpoint, snapshot: recovery.snapshot ?? null, replayed: recovery.replayed } });
      return payload;
    }
    if (request.method === 'GET' || request.method === 'HEAD' || reply.statusCode >= 300) return payload;
    try {
      await engine.journal.whenDurable();
    } catch (error) {
      throw new GatewayError(503, 'internal', (error as Error).message);
    }
    return payload;
  });
}

/**
 * Writes `checkpoint.json` at most once a second after an engine advance: the settled clock, the
 * journal length and the state hash, read at one instant while the engine is idle, written (to a
 * temporary file, then renamed) only once every input it reflects is durable.
 */
export function checkpointWriter(engine: Engine, file: string, everyMs = 1000): { afterAdvance: () => void } {
  let last = 0;
  let writing = false;
  return {
    afterAdvance: () => {
      const now = Date.now();
      if (writing || now - last < everyMs || engine.running || engine.isRecovering) return;
      last = now;
      writing = true;
      const checkpoint: Checkpoint = { hashFormat: CHECKPOINT_HASH_FORMAT, settledUntil: engine.kernel.settledUntil, inputs: engine.journal.length, stateHash: engine.stream.stateHash(), events: engine.stream.count };
      void engine.journal.whenDurable().then(
        () => {
          writeCheckpointFile(file, checkpoint);
          writing = false;
        },
        () => {
          writing = false;
        },
      );
    },
  };
}

/** Writes `checkpoint.json` (to a temporary file, then renamed): only once the inputs it reflects are durable. */
export function writeCheckpointFile(file: string, checkpoint: Checkpoint): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(checkpoint));
  renameSync(`${file}.tmp`, file);
}
