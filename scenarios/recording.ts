import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  Engine,
  generateCity,
  hashCity,
  loadCityFile,
  parseCity,
  readJournalFile,
  systemWallClock,
  ValidationError,
  type BehaviourSet,
  type CityIndex,
  type CityModel,
  type DriverName,
  type JournalEntry,
  type WallClock,
  type WallTimer,
} from '../engine/index.ts';
import { OutcomeMeter, type Outcome } from './economics.ts';
import { submitScenario } from './expand.ts';
import type { Scenario } from './format.ts';

/**
 * Incident recording and deterministic replay. A recording is a folder `<dir>/<id>/` with
 * `journal.ndjson` (the engine's input journal format: a header with the city hash and the seed,
 * then one entry a line — `readJournalFile` reads it) and `meta.json` (how to rebuild the city,
 * the final state hash, checkpoints of the state hash every N simulated seconds, the outcome, and
 * for each entry the settled clock when it was submitted — `feedAfter` — so that replay feeds it
 * at the same point of the run and the stream is byte-identical).
 */

export type Behaviours = (index: CityIndex) => BehaviourSet;

/** How to rebuild the city of a recording. */
export const citySourceSchema = z.union([
  // `water` absent: the connectivity water layer (recordings made before generated cities had EPANET replay as recorded).
  z.strictObject({ generate: z.strictObject({ assets: z.number().int().min(1), seed: z.number().int(), water: z.enum(['epanet', 'connectivity']).optional() }) }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type CitySource = z.infer<typeof citySourceSchema>;

const outcomeSchema = z.object({}).passthrough();
export const recordingMetaSchema = z.strictObject({
  kind: z.literal('stratum-recording'),
  version: z.literal(1),
  id: z.string(),
  createdAt: z.string(),
  title: z.string(),
  scenario: z.string().nullable(),
  city: citySourceSchema,
  cityHash: z.string(),
  seed: z.number().int(),
  untilMs: z.number().min(0),
  inputs: z.number().int().min(0),
  stateHash: z.string(),
  events: z.number().int(),
  snapshotEverySeconds: z.number().positive(),
  checkpoints: z.array(z.strictObject({ ms: z.number(), stateHash: z.string(), events: z.number().int() })),
  feedAfter: z.array(z.number()),
  outcome: outcomeSchema.nullable(),
});
export type RecordingMeta = z.infer<typeof recordingMetaSchema>;

export interface Recording {
  readonly dir: string;
  readonly meta: RecordingMeta;
  readonly entries: readonly JournalEntry[];
}

/** The default recordings folder: `STRATUM_RECORDINGS` or `./recordings`. */
export function defaultRecordingsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['STRATUM_RECORDINGS'] ?? 'recordings');
}

/**
 * The city document (the input format of `parseCity` / a city file) of a parsed city, such that
 * `parseCity(cityDocument(city))` rebuilds it exactly (same `hashCity`). A live recording writes this
 * beside its journal: the parsed model itself is not a valid document (defaults filled in, renamed
 * fields, unbounded capacities that JSON cannot carry).
 */
export function cityDocument(city: CityModel): Record<string, unknown> {
  const position = (p: { x: number; y: number; z: number } | null) => (p === null ? {} : { position: { x: p.x, y: p.y, z: p.z } });
  return {
    name: city.name,
    version: 1,
    assets: city.assets.map((a) => ({
      id: a.id,
      layer: a.layer,
      kind: a.kind,
      ...position(a.position),
      district: a.district,
      // An unbounded capacity is the default of an asset without base load: null asks for it.
      capacity: Number.isFinite(a.capacity) ? a.capacity : null,
      baseLoad: a.baseLoad,
      source: a.source,
      repairTime: a.repairSeconds,
      props: a.props,
    })),
    links: city.links.map((l) => ({ from: l.from, to: l.to, kind: l.kind })),
    dependencies: city.dependencies.map((d) => ({ from: d.from, to: d.to, kind: d.kind, strength: d.strength, probability: d.probability, latency: d.latencySeconds })),
    cohorts: city.cohorts.map((c) => ({
      id: c.id,
      district: c.district,
      population: c.population,
      elderlyShare: c.elderlyShare,
      mobilityLimitedShare: c.mobilityLimitedShare,
      riskAversion: c.riskAversion,
      compliance: c.compliance,
      reliesOn: c.reliesOn,
      ...position(c.position),
    })),
    // Positions above are already metres ({x, y, z}: not projected again); the place stays drawable in a replay.
    ...(city.geography === undefined ? {} : { geography: city.geography }),
    // The water network and its solver settings: without them a replay would solve water by connectivity.
    ...(city.epanet === undefined ? {} : { epanet: city.epanet }),
  };
}

export function cityFromSource(source: CitySource): CityModel {
  if ('generate' in source) {
    const { assets, seed, water } = source.generate;
    return parseCity(generateCity({ assets, seed, ...(water === undefined ? {} : { water }) }), `generated city (${assets} assets, seed ${seed})`);
  }
  return loadCityFile(source.file);
}

/**
 * The feed point of every entry: where the engine put it when it accepted it (`JournalEntry.feedAfter`,
 * stamped by `Engine.submit`), else `time − 1` (a journal written before feed points existed).
 */
export function feedPoints(entries: readonly JournalEntry[]): number[] {
  return entries.map((e) => e.feedAfter ?? e.time - 1);
}

function newId(title: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${title.replace(/[^a-z0-9-]+/gi, '-').slice(0, 40)}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface RecordRunOptions {
  readonly city: CitySource;
  readonly seed: number;
  readonly behaviours: Behaviours;
  readonly scenario?: Scenario;
  readonly untilSeconds: number;
  readonly dir?: string;
  readonly id?: string;
  readonly snapshotEverySeconds?: number;
  readonly driver?: DriverName;
}

/**
 * Runs a scenario in batch mode and records it (journal + meta with checkpoints and outcome).
 *
 * @example
 * const rec = await recordRun({ city: { generate: { assets: 2000, seed: 1 } }, seed: 1, behaviours: (i) => createBehaviours(i), scenario: loadLibraryScenario('river-flood'), untilSeconds: 86_400 });
 */
export async function recordRun(options: RecordRunOptions): Promise<Recording> {
  const dir = options.dir ?? defaultRecordingsDir();
  const title = options.scenario?.name ?? 'run';
  const id = options.id ?? newId(title);
  const folder = join(dir, id);
  const city = cityFromSource(options.city);
  const engine = await Engine.create({ city, behaviours: options.behaviours, seed: options.seed, driver: options.driver ?? 'direct', journalFile: join(folder, 'journal.ndjson') });
  try {
    const meter = OutcomeMeter.attach(engine);
    if (options.scenario !== undefined) submitScenario(engine, options.scenario);
    const snapshot = options.snapshotEverySeconds ?? 3600;
    const checkpoints = await runWithCheckpoints(engine, options.untilSeconds * 1000, snapshot * 1000);
    const summary = engine.summary();
    const meta: RecordingMeta = {
      kind: 'stratum-recording',
      version: 1,
      id,
      createdAt: new Date().toISOString(),
      title: options.scenario?.title ?? title,
      scenario: options.scenario?.name ?? null,
      city: options.city,
      cityHash: engine.cityHash,
      seed: options.seed,
      untilMs: options.untilSeconds * 1000,
      inputs: engine.journal.length,
      stateHash: summary.stateHash,
      events: summary.events,
      snapshotEverySeconds: snapshot,
      checkpoints,
      feedAfter: feedPoints(engine.journal.entries),
      outcome: meter.outcome(options.untilSeconds * 1000) as unknown as Record<string, unknown>,
    };
    writeFileSync(join(folder, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return { dir: folder, meta, entries: engine.journal.entries };
  } finally {
    await engine.stop();
  }
}

async function runWithCheckpoints(engine: Engine, untilMs: number, everyMs: number): Promise<RecordingMeta['checkpoints']> {
  const checkpoints: RecordingMeta['checkpoints'] = [];
  for (let t = everyMs; t < untilMs; t += everyMs) {
    await engine.runUntil(t);
    checkpoints.push({ ms: t, stateHash: engine.stream.stateHash(), events: engine.stream.count });
  }
  await engine.runUntil(untilMs);
  return checkpoints;
}

/**
 * Saves what a live engine has received so far as a recording (the server's "record" button).
 * The state hash is the live stream's up to the engine's clock now.
 */
export function saveRecording(engine: Engine, options: { city: CitySource; dir?: string; id?: string; title?: string; feedAfter?: number[]; outcome?: Outcome | null }): Recording {
  const dir = options.dir ?? defaultRecordingsDir();
  const id = options.id ?? newId(options.title ?? 'live');
  const folder = join(dir, id);
  mkdirSync(folder, { recursive: true });
  const entries = engine.journal.entries;
  writeFileSync(join(folder, 'journal.ndjson'), [engine.journal.header, ...entries].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const summary = engine.summary();
  const meta: RecordingMeta = {
    kind: 'stratum-recording',
    version: 1,
    id,
    createdAt: new Date().toISOString(),
    title: options.title ?? 'live session',
    scenario: null,
    city: options.city,
    cityHash: engine.cityHash,
    seed: engine.kernel.seed,
    untilMs: engine.kernel.settledUntil < 0 ? 0 : engine.kernel.settledUntil,
    inputs: entries.length,
    stateHash: summary.stateHash,
    events: summary.events,
    snapshotEverySeconds: 3600,
    checkpoints: [],
    feedAfter: options.feedAfter ?? feedPoints(entries),
    outcome: (options.outcome ?? null) as Record<string, unknown> | null,
  };
  writeFileSync(join(folder, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return { dir: folder, meta, entries };
}

/** Loads a recording by folder path or by id under `dir`. */
export function loadRecording(idOrPath: string, dir = defaultRecordingsDir()): Recording {
  const folder = existsSync(join(idOrPath, 'meta.json')) ? idOrPath : join(dir, idOrPath);
  const metaPath = join(folder, 'meta.json');
  if (!existsSync(metaPath)) throw new ValidationError(`recording ${JSON.stringify(idOrPath)}`, [{ path: '$', reason: `no ${metaPath} (see \`stratum record list\`)` }]);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (error) {
    throw new ValidationError(metaPath, [{ path: '$', reason: `not valid JSON: ${(error as Error).message}` }]);
  }
  const parsed = recordingMetaSchema.safeParse(json);
  if (!parsed.success) throw new ValidationError(metaPath, parsed.error.issues.map((i) => ({ path: `$.${i.path.join('.')}`, reason: i.message })));
  const journal = readJournalFile(join(folder, 'journal.ndjson'));
  if (journal.header.cityHash !== parsed.data.cityHash) throw new ValidationError(metaPath, [{ path: '$.cityHash', reason: 'differs from the journal header' }]);
  if (parsed.data.feedAfter.length !== journal.entries.length) throw new ValidationError(metaPath, [{ path: '$.feedAfter', reason: `has ${parsed.data.feedAfter.length} marks for ${journal.entries.length} journal entries` }]);
  return { dir: folder, meta: parsed.data, entries: journal.entries };
}

/** What the listing knows of one recording folder, valid while its meta.json and journal keep their size and mtime. */
interface Listed {
  readonly stamp: string;
  readonly meta: RecordingMeta | undefined;
  readonly bytes: number;
}
const listed = new Map<string, Listed>();

function stampOf(folder: string): { stamp: string; bytes: number } | undefined {
  try {
    const meta = statSync(join(folder, 'meta.json'));
    const journal = statSync(join(folder, 'journal.ndjson'));
    return { stamp: `${meta.mtimeMs}:${meta.size}:${journal.mtimeMs}:${journal.size}`, bytes: meta.size + journal.size };
  } catch {
    return undefined;
  }
}

/**
 * One folder's meta, from memory while the files are unchanged: a listing stats each folder and
 * reads a meta.json only when it is new or changed — never the journals (they reach gigabytes).
 */
function listedFolder(folder: string): Listed | undefined {
  const found = stampOf(folder);
  if (found === undefined) return undefined;
  const known = listed.get(folder);
  if (known !== undefined && known.stamp === found.stamp) return known;
  let meta: RecordingMeta | undefined;
  try {
    const parsed = recordingMetaSchema.safeParse(JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8')));
    meta = parsed.success ? parsed.data : undefined;
  } catch {
    meta = undefined;
  }
  const entry = { stamp: found.stamp, meta, bytes: found.bytes };
  listed.set(folder, entry);
  return entry;
}

/** Every recording under `dir`, newest first (folders that are not recordings are skipped). Reads meta files only. */
export function listRecordings(dir = defaultRecordingsDir()): RecordingMeta[] {
  if (!existsSync(dir)) return [];
  const out: RecordingMeta[] = [];
  for (const name of readdirSync(dir)) {
    const meta = listedFolder(join(dir, name))?.meta;
    if (meta !== undefined) out.push(meta);
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** Recordings under `dir` and the bytes of their journals and metas (the quota's measure). */
export function recordingsUsage(dir = defaultRecordingsDir()): { count: number; bytes: number } {
  if (!existsSync(dir)) return { count: 0, bytes: 0 };
  let count = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const entry = listedFolder(join(dir, name));
    if (entry?.meta === undefined) continue;
    count++;
    bytes += entry.bytes;
  }
  return { count, bytes };
}

/**
 * Quotas of the recordings folder: `STRATUM_RECORDINGS_MAX` recordings (default 200) and
 * `STRATUM_RECORDINGS_MAX_BYTES` bytes of journals and metas (default 2 GiB). Invalid values are
 * refused by name.
 */
export function recordingQuota(env: NodeJS.ProcessEnv = process.env): { maxCount: number; maxBytes: number } {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number ≥ 1 (got ${JSON.stringify(raw)})`);
    return value;
  };
  return { maxCount: read('STRATUM_RECORDINGS_MAX', 200), maxBytes: read('STRATUM_RECORDINGS_MAX_BYTES', 2 * 2 ** 30) };
}

/**
 * The city document of `city`, stored once per content hash under `<dir>/cities/<hash>.json`
 * (recordings of one city share it instead of each copying it). Returns its path.
 */
export function storeCityOnce(dir: string, city: CityModel, cityHash: string): string {
  const file = join(dir, 'cities', `${cityHash}.json`);
  if (!existsSync(file)) {
    mkdirSync(join(dir, 'cities'), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(cityDocument(city)));
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

export const MIN_SPEED = 0.1;
export const MAX_SPEED = 1000;
const TICK_MS = 50;

/**
 * A replay of a recording on a fresh engine. Entries are fed at the point of the run where they
 * were submitted (`feedAfter`), so the state-change stream is byte-identical to the original.
 *
 * Seek: the engine's state is not serialisable (nact actors, a scheduler queue of pending
 * messages), so a snapshot is a *checkpoint*: the stream's state hash every N simulated seconds.
 * Seeking forward runs on in batch mode; seeking back rebuilds a fresh engine and re-feeds the
 * journal in batch mode up to the target (the direct driver runs a 24 h incident on a 2,000-asset
 * city in well under a second), then checks the hash against the checkpoint when one matches.
 * Real-time playback (`play`): speed 0.1×–1000×, pause, resume, seek while playing.
 */
export class ReplaySession {
  private engine!: Engine;
  private fed = 0;
  private timer: WallTimer | undefined;
  /** The wall clock of real-time playback (a `ManualWallClock` in tests, which advance it). */
  private clock: WallClock = systemWallClock;
  private advancing: Promise<void> | undefined;
  private readonly endListeners = new Set<() => void>();
  private speed = 1;
  private readonly listeners = new Set<(engine: Engine) => void>();
  private readonly advanceListeners = new Set<(engine: Engine) => void>();
  private failure: Error | undefined;
  readonly city: CityModel;

  private constructor(readonly recording: Recording, private readonly behaviours: Behaviours, private readonly driver: DriverName, city?: CityModel) {
    this.city = city ?? cityFromSource(recording.meta.city);
    const hash = hashCity(this.city);
    if (hash !== recording.meta.cityHash) throw new ValidationError(`recording ${recording.meta.id}`, [{ path: '$.cityHash', reason: `the city rebuilt from ${JSON.stringify(recording.meta.city)} has hash ${hash.slice(0, 12)}…, the recording ${recording.meta.cityHash.slice(0, 12)}…` }]);
  }

  static async open(recording: Recording, behaviours: Behaviours, options: { driver?: DriverName; city?: CityModel; clock?: WallClock } = {}): Promise<ReplaySession> {
    const session = new ReplaySession(recording, behaviours, options.driver ?? 'direct', options.city);
    if (options.clock !== undefined) session.clock = options.clock;
    await session.reset();
    return session;
  }

  get current(): Engine {
    return this.engine;
  }

  /** Called with each new engine (after a backward seek). */
  onEngine(listener: (engine: Engine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async reset(): Promise<void> {
    const old = this.engine as Engine | undefined;
    if (old !== undefined) await old.stop();
    this.engine = await Engine.create({ city: this.city, behaviours: this.behaviours, seed: this.recording.meta.seed, driver: this.driver, cityHash: this.recording.meta.cityHash });
    this.fed = 0;
    this.feedDue();
    for (const l of this.listeners) l(this.engine);
  }

  /**
   * Called after every advance (each playback tick, each `runTo`, each seek) with the engine that
   * advanced: a server cuts its stream frames here, as it does after each real-time runner advance.
   */
  onAdvance(listener: (engine: Engine) => void): () => void {
    this.advanceListeners.add(listener);
    return () => this.advanceListeners.delete(listener);
  }

  /** Virtual seconds per wall second of real-time playback. */
  get currentSpeed(): number {
    return this.speed;
  }

  /** The end of the recording (virtual ms). */
  get endMs(): number {
    return this.recording.meta.untilMs;
  }

  /** Feeds every entry whose feed point has been reached. */
  private feedDue(): void {
    const { entries, meta } = this.recording;
    while (this.fed < entries.length && meta.feedAfter[this.fed]! <= this.engine.kernel.settledUntil) this.engine.replay(entries[this.fed++]!);
  }

  /** Runs in batch mode to `ms`, feeding entries at their points. */
  async runTo(ms: number): Promise<void> {
    const { entries, meta } = this.recording;
    while (this.fed < entries.length && meta.feedAfter[this.fed]! < ms) {
      const at = meta.feedAfter[this.fed]!;
      if (at > this.engine.kernel.settledUntil) await this.engine.runUntil(at);
      this.feedDue();
    }
    if (ms > this.engine.kernel.settledUntil) await this.engine.runUntil(ms);
    this.feedDue();
    for (const l of this.advanceListeners) l(this.engine);
  }

  /** Runs to the end of the recording and compares the state hash. */
  async runToEnd(): Promise<{ stateHash: string; expected: string; identical: boolean }> {
    await this.runTo(this.recording.meta.untilMs);
    const stateHash = this.engine.stream.stateHash();
    return { stateHash, expected: this.recording.meta.stateHash, identical: stateHash === this.recording.meta.stateHash };
  }

  /** Moves to `ms` (back or forward). Returns whether a checkpoint at that time matched. */
  async seek(ms: number): Promise<{ ms: number; checkpoint: 'match' | 'mismatch' | 'none' }> {
    const wasPlaying = this.timer !== undefined;
    await this.stopRunner();
    if (ms < this.engine.kernel.settledUntil) await this.reset();
    await this.runTo(ms);
    const cp = this.recording.meta.checkpoints.find((c) => c.ms === ms);
    const checkpoint = cp === undefined ? 'none' : cp.stateHash === this.engine.stream.stateHash() ? 'match' : 'mismatch';
    if (wasPlaying) this.play(this.speed);
    return { ms, checkpoint };
  }

  /**
   * Plays in real time at `speed` virtual seconds per wall second (0.1–1000): every tick (50 ms of
   * wall time) it runs in batch mode up to where the clock should be, feeding entries at their
   * points (so playback gives the same stream as a batch replay). Stops at the end of the recording.
   */
  play(speed = this.speed): void {
    if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) throw new ValidationError('replay', [{ path: '$.speed', reason: `must be between ${MIN_SPEED} and ${MAX_SPEED}` }]);
    this.speed = speed;
    if (this.timer !== undefined) return;
    let wall = this.clock.now();
    let virtual = Math.max(0, this.engine.kernel.settledUntil);
    const tick = (): void => {
      const now = this.clock.now();
      virtual = Math.min(this.recording.meta.untilMs, virtual + (now - wall) * this.speed);
      wall = now;
      this.advancing = this.runTo(Math.floor(virtual)).then(
        () => {
          this.advancing = undefined;
          if (this.timer === undefined) return;
          if (virtual >= this.recording.meta.untilMs) {
            this.timer = undefined;
            for (const l of this.endListeners) l();
          } else this.timer = this.clock.setTimeout(tick, TICK_MS);
        },
        (error: unknown) => {
          // A failed advance stops playback (kept in `error`) instead of an unhandled rejection.
          this.advancing = undefined;
          this.timer = undefined;
          this.failure = error instanceof Error ? error : new Error(String(error));
        },
      );
    };
    this.timer = this.clock.setTimeout(tick, TICK_MS);
  }

  /** Called when playback reaches the end of the recording. */
  onEnd(listener: () => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  setSpeed(speed: number): void {
    if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) throw new ValidationError('replay', [{ path: '$.speed', reason: `must be between ${MIN_SPEED} and ${MAX_SPEED}` }]);
    this.speed = speed;
  }

  /** Pauses playback (waits for the running advance). */
  async pause(): Promise<void> {
    await this.stopRunner();
  }

  get playing(): boolean {
    return this.timer !== undefined;
  }

  /** The error that stopped real-time playback, if one did. */
  get error(): Error | undefined {
    return this.failure;
  }

  private async stopRunner(): Promise<void> {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.advancing !== undefined) await this.advancing;
  }

  async close(): Promise<void> {
    await this.stopRunner();
    await this.engine.stop();
  }
}
