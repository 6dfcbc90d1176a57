import { createHash } from 'node:crypto';
import type { BehaviourSet } from './behaviour.ts';
import { CityIndex } from './city-index.ts';
import { DirectDriver } from './drivers/direct.ts';
import { NactDriver } from './drivers/nact.ts';
import { ConflictError, UnknownTargetError, ValidationError } from './errors.ts';
import { InputJournal, type InputCommand, type JournalEntry, type JournalHeader } from './journal.ts';
import { Kernel, type Driver, type SupervisionPolicy } from './kernel.ts';
import type { CityModel } from './model/types.ts';
import { CyberCode, HazardCode, MessageKind, OrderCode, Status } from './protocol.ts';
import { voltageTarget } from './power/voltage.ts';
import { encodeSnapshot, type EngineState } from './snapshot.ts';
import { StateChangeStream } from './stream.ts';
import { epanetWorkspace } from './water/hydraulics.ts';

export type DriverName = 'nact' | 'direct';

export interface EngineOptions {
  readonly city: CityModel;
  /** Builds the behaviours for this city (from actors/; the engine never imports them). */
  readonly behaviours: (index: CityIndex) => BehaviourSet;
  readonly seed: number;
  /** `nact` (live twin, default) or `direct` (batch analysis). Both yield the same stream. */
  readonly driver?: DriverName;
  /** Also write the input journal to this file, overwriting it (a batch run's recording; not durable). */
  readonly journalFile?: string;
  /**
   * The durable journal (`InputJournal.openDurable`): the record of a live engine. Call `recover`
   * before anything else to replay the entries it already holds.
   */
  readonly journal?: InputJournal;
  readonly ringSize?: number;
  readonly supervision?: SupervisionPolicy;
  /** Precomputed content hash of the city, if the caller has one. */
  readonly cityHash?: string;
  /** A prebuilt index of this same city, shared by many runs (Monte Carlo). */
  readonly index?: CityIndex;
}

export interface RunSummary {
  readonly stateHash: string;
  readonly events: number;
  /** Assets out of service (failed or faulted) at the end. */
  readonly failed: number;
  readonly degraded: number;
  readonly simulatedSeconds: number;
  readonly inputs: number;
  readonly deliveries: number;
  readonly instants: number;
  readonly escalations: number;
  readonly cityHash: string;
  readonly seed: number;
  readonly driver: DriverName;
}

/** The header of a journal of this city and seed. */
export function journalHeader(cityHash: string, seed: number): JournalHeader {
  return { kind: 'stratum-journal', version: 1, cityHash, seed: seed >>> 0, createdBy: 'stratum-twin' };
}

/** Canonical content hash of a city model (assets, links, dependencies, cohorts in file order). */
export function hashCity(city: CityModel): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([city.name]));
  for (const part of [city.assets, city.links, city.dependencies, city.cohorts]) {
    for (const item of part) hash.update(JSON.stringify(item, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v)));
    hash.update('|');
  }
  if (city.epanet !== undefined) hash.update(JSON.stringify(city.epanet)); // the water layer's hydraulics
  return hash.digest('hex');
}

/**
 * One running twin: the city index, the kernel with its actors, the input journal and the
 * state-change stream. Batch runs call `runUntil`; the real-time runner (realtime.ts) calls it as
 * the wall clock advances; adapters `submit` inputs and subscribe to `stream`.
 *
 * @example
 * const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1 });
 * engine.submit({ type: 'fail', target: 'pw-tx-0' }, { at: 60 });
 * await engine.runUntil(3_600_000);
 * engine.summary().stateHash;
 */
export class Engine {
  readonly index: CityIndex;
  readonly kernel: Kernel;
  readonly stream: StateChangeStream;
  readonly journal: InputJournal;
  readonly cityHash: string;
  private driver: Driver;
  private recovering = false;
  private recoveryFailure: Error | undefined;
  private busy = false;
  private stopped = false;
  /** The journal position a restored snapshot left off at (`restoreState`); recovery replays from there. */
  private resumeFrom: { seq: number; byte: number } | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly instantListeners = new Set<() => void>();
  /**
   * Inputs accepted while an instant is being processed, in journal order, with their targets (one
   * actor index, or a list). They are scheduled when that instant has settled, before the next one
   * starts — the same point `feedAfter` names, so a replay feeding them there is byte-identical.
   */
  private readonly deferredEntries: JournalEntry[] = [];
  private readonly deferredTargets: (number | readonly number[])[] = [];

  private constructor(options: EngineOptions, index: CityIndex, driver: Driver) {
    this.index = index;
    this.driver = driver;
    this.stream = new StateChangeStream(options.ringSize);
    this.kernel = new Kernel(index, options.behaviours(index), options.seed, this.stream, options.supervision);
    this.cityHash = options.cityHash ?? hashCity(options.city);
    this.journal = options.journal ?? new InputJournal(journalHeader(this.cityHash, options.seed), options.journalFile);
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const index = options.index ?? new CityIndex(options.city);
    if (options.city.epanet !== undefined) await epanetWorkspace(); // the water solver runs EPANET synchronously in its steps
    const driver: Driver = (options.driver ?? 'nact') === 'nact' ? new NactDriver() : new DirectDriver();
    const engine = new Engine(options, index, driver);
    await driver.start(engine.kernel);
    return engine;
  }

  get driverName(): DriverName {
    return this.driver.name;
  }

  /** Virtual clock in ms. */
  get now(): number {
    return this.kernel.now;
  }

  /**
   * The feed point of an input accepted now: the virtual time that has settled when its messages
   * reach the scheduler. Idle, that is the settled clock; during an advance it is the instant being
   * processed, because the input is held until that instant settles (see `scheduleDeferred`).
   * Replay feeds each entry right after running to its feed point, which reproduces the original
   * order of the scheduler's messages exactly — even for inputs that arrived mid-instant.
   */
  feedPoint(): number {
    return this.busy ? this.kernel.now : this.kernel.settledUntil;
  }

  /** Earliest virtual time (ms) an input can still take effect at. */
  earliestInputTime(): number {
    const settled = this.kernel.settledUntil + 1;
    return this.busy ? Math.max(settled, this.kernel.now + 1) : Math.max(settled, 0);
  }

  /** The virtual time (ms) an input submitted now without `at` is stamped with. */
  inputTimeNow(): number {
    return Math.max(this.kernel.now, this.earliestInputTime());
  }

  /**
   * Accepts an input: checks its target, stamps it with a virtual time (the requested one, but never
   * in the settled past), journals it, then schedules its messages. A bad input throws and changes
   * nothing. Returns undefined for a duplicate (source, sourceSeq).
   *
   * Targets: an asset or cohort id, `district:NAME`, `layer:NAME`, or `*` (every asset and cohort).
   */
  submit(command: InputCommand, options: { at?: number; source?: string; sourceSeq?: number } = {}): JournalEntry | undefined {
    const source = options.source ?? 'api';
    this.refuseWhileRecovering();
    if (this.journal.isDuplicate(source, options.sourceSeq)) return undefined;
    const targets = this.targetsOf(command);
    if (command.type === 'reroute') {
      if (targets.length !== 1) throw new UnknownTargetError('reroute: the target must be one asset');
      this.rerouteDestination(command.target, command.to);
    }
    if (command.type === 'telemetry') for (const t of targets) this.checkTelemetry(t, command.value);
    const time = options.at === undefined ? this.inputTimeNow() : Math.max(Math.round(options.at * 1000), this.earliestInputTime());
    const entry = this.journal.append(time, source, command, options.sourceSeq, this.feedPoint());
    if (this.busy) this.defer(entry, targets);
    else this.scheduleEntry(entry, targets);
    return entry;
  }

  /**
   * Submits many inputs from one source at once (a Kafka batch): the same journal entries, times
   * and messages as calling `submit` for each in order, but one duplicate check against the
   * source's last seq, one journal append and no per-input option objects. An input that would
   * throw in `submit` is passed to `rejected` (with its position) and skipped; the rest go in.
   *
   * @example
   * const { accepted } = engine.submitBatch(readings, { source: 'kafka:t:0', sourceSeqs: offsets }, (i, e) => deadLetter(i, e));
   */
  submitBatch(
    commands: readonly InputCommand[],
    options: { source: string; sourceSeqs: readonly number[]; at?: number },
    rejected?: (position: number, error: unknown) => void,
  ): { accepted: number; duplicates: number } {
    const { source, sourceSeqs } = options;
    this.refuseWhileRecovering();
    const time = options.at === undefined ? this.inputTimeNow() : Math.max(Math.round(options.at * 1000), this.earliestInputTime());
    const index = this.index;
    let last = this.journal.lastSourceSeq(source) ?? -Infinity;
    let duplicates = 0;
    // The inputs taken: the caller's own arrays until one is dropped (the usual case), then copies.
    let taken = commands;
    let seqs = sourceSeqs;
    let count = 0;
    const skip = (i: number): void => {
      if (taken === commands) {
        taken = commands.slice(0, i);
        seqs = sourceSeqs.slice(0, i);
      }
    };
    // Per taken input: its one asset (telemetry, the hot path) or -1 with its targets in `wide`.
    const single = new Int32Array(commands.length);
    const wide = new Map<number, number[]>();
    for (let i = 0; i < commands.length; i++) {
      const seq = sourceSeqs[i]!;
      if (seq <= last) {
        duplicates++;
        skip(i);
        continue;
      }
      const command = commands[i]!;
      let one = command.type === 'telemetry' ? index.indexOf(command.target) ?? -1 : -1;
      if (one >= index.assetCount) one = -1;
      if (one >= 0) {
        try {
          this.checkTelemetry(one, (command as { value: number }).value);
        } catch (error) {
          rejected?.(i, error);
          skip(i);
          continue;
        }
      }
      if (one < 0) {
        try {
          const targets = this.targetsOf(command);
          if (command.type === 'reroute') {
            if (targets.length !== 1) throw new UnknownTargetError('reroute: the target must be one asset');
            this.rerouteDestination(command.target, command.to);
          }
          wide.set(count, targets);
        } catch (error) {
          rejected?.(i, error);
          skip(i);
          continue;
        }
      }
      if (taken !== commands) {
        (taken as InputCommand[]).push(command);
        (seqs as number[]).push(seq);
      }
      single[count++] = one;
      last = seq;
    }
    const entries = this.journal.appendBatch(time, source, taken, seqs, this.feedPoint());
    for (let k = 0; k < count; k++) {
      const to = single[k]!;
      const entry = entries[k]!;
      if (this.busy) this.defer(entry, to >= 0 ? to : wide.get(k)!);
      else if (to >= 0) this.kernel.schedule(to, -1, MessageKind.Telemetry, (entry.command as { value: number }).value, 0, time);
      else this.scheduleEntry(entry, wide.get(k)!);
    }
    return { accepted: count, duplicates };
  }

  /** Re-feeds a recorded journal entry (replay): same time, same order. */
  replay(entry: JournalEntry): void {
    const targets = this.targetsOf(entry.command);
    const copy = this.journal.append(entry.time, entry.source, entry.command, entry.sourceSeq, this.feedPoint());
    if (this.busy) this.defer(copy, targets);
    else this.scheduleEntry(copy, targets);
  }

  /**
   * The engine's whole state now, for a snapshot (engine/snapshot.ts): the kernel's committed actor
   * states, clock, queue, message sequence and supervision; the stream's hash state; the journal
   * position with its duplicate map. Only when idle (between instants: see `whenIdle`) and live.
   */
  captureState(): EngineState {
    if (this.busy) throw new Error('engine: a snapshot is taken between instants (await whenIdle() first)');
    if (this.recovering || this.recoveryFailure !== undefined) throw new ConflictError('the engine is recovering its journal (or failed to): its state cannot be captured until /readyz says ok');
    return { kernel: this.kernel.snapshot(), stream: this.stream.snapshot(), journal: this.journal.position() };
  }

  /**
   * A snapshot of the state now, encoded with its header (synchronous: this is the part of taking a
   * snapshot that holds the event loop). `seq` is its journal position: write the bytes only once
   * the journal is durable up to there (`journal.whenDurable()`).
   */
  snapshotBytes(): { bytes: Buffer; seq: number; clockMs: number } {
    const state = this.captureState();
    const bytes = encodeSnapshot(state, this.snapshotIdentity());
    return { bytes, seq: state.journal.seq, clockMs: state.kernel.processedUntil };
  }

  /** What a snapshot's header says of this engine now: city, seed and stream hash (with `captureState`, for `assembleSnapshot`). */
  snapshotIdentity(): { cityHash: string; seed: number; streamHash: string } {
    return { cityHash: this.cityHash, seed: this.kernel.seed, streamHash: this.stream.stateHash() };
  }

  /**
   * Loads a snapshot (of this city and seed: `decodeSnapshot` checks) into a fresh engine; `recover`
   * then replays the journal from the snapshot's position. Call it before anything subscribes to the
   * stream (listeners see the tail only). Inputs are refused until `recover` is done. Throws, and
   * changes nothing, when the durable journal does not reach the snapshot's position.
   *
   * An engine with an in-memory journal can take a state captured from another engine of the same
   * city and seed in this process (a what-if copy of the live engine): actor states are immutable,
   * so the two share them safely; its journal then starts at the captured position, empty.
   */
  restoreState(state: EngineState): void {
    if (this.busy || this.journal.length > 0 || this.stream.count > 0 || this.kernel.counters.instants > 0) throw new Error('engine: restoreState needs a fresh engine');
    const byte = this.journal.durable === undefined ? -1 : this.journal.locate(state.journal.seq, state.journal.byte);
    if (byte === undefined) throw new Error(`engine: the journal holds fewer than ${state.journal.seq} entries, the snapshot's position`);
    this.kernel.restore(state.kernel);
    this.stream.restore(state.stream);
    this.journal.resumeAt(state.journal);
    this.resumeFrom = { seq: state.journal.seq, byte };
    this.recovering = true;
  }

  /** True while `recover` replays the journal (inputs are refused until it is done). */
  get isRecovering(): boolean {
    return this.recovering;
  }

  /**
   * Replays the entries the durable journal already holds (after a restart): each one at its feed
   * point, in batch mode with the direct driver (the same stream as the live nact driver, faster),
   * then runs to `untilMs` (the clock reached before the restart, when known) and hands the state to
   * the live driver. Inputs are refused meanwhile. Entries stream from the file: memory holds only
   * the journal's recent window. After `restoreState` (a snapshot) only the entries from the
   * snapshot's position on are replayed. `checkpoint`, when given, is compared on the way: the
   * stream's hash at that clock must equal the one noted before the restart (not possible when the
   * checkpoint is older than the snapshot: then `none`). `inputs` counts every journalled input,
   * `replayed` those replayed here.
   */
  async recover(options: { untilMs?: number; checkpoint?: { settledUntil: number; stateHash: string }; onProgress?: (inputs: number) => void } = {}): Promise<{ inputs: number; replayed: number; untilMs: number; checkpoint: 'match' | 'mismatch' | 'none' }> {
    if (this.busy || this.journal.length !== (this.resumeFrom?.seq ?? 0)) throw new Error('engine: recover runs once, on a fresh (or just restored) engine, before any input');
    this.recovering = true;
    const live = this.driver;
    const direct = new DirectDriver();
    await direct.start(this.kernel);
    this.driver = direct;
    let checkpoint: 'match' | 'mismatch' | 'none' = 'none';
    const cp = options.checkpoint;
    const check = async (before: number): Promise<void> => {
      if (cp === undefined || checkpoint !== 'none' || cp.settledUntil > before || cp.settledUntil < this.kernel.settledUntil) return;
      if (cp.settledUntil > this.kernel.settledUntil) await this.kernel.runUntil(direct, cp.settledUntil);
      checkpoint = this.stream.stateHash() === cp.stateHash ? 'match' : 'mismatch';
    };
    try {
      let inputs = this.resumeFrom?.seq ?? 0;
      for (const entry of this.journal.readFile(this.resumeFrom)) {
        const at = entry.feedAfter ?? entry.time - 1;
        await check(at);
        if (at > this.kernel.settledUntil) await this.kernel.runUntil(direct, at);
        this.journal.restore(entry);
        const one = entry.command.type === 'telemetry' ? this.index.indexOf(entry.command.target) ?? -1 : -1;
        if (one >= 0 && one < this.index.assetCount) this.kernel.schedule(one, -1, MessageKind.Telemetry, (entry.command as { value: number }).value, 0, entry.time);
        else this.scheduleEntry(entry, this.targetsOf(entry.command));
        // The direct driver never yields: give the event loop a turn now and then, so the server
        // answers (`/readyz` says "recovering" with the progress, inputs get their refusal) meanwhile.
        if (++inputs % 2048 === 0) {
          options.onProgress?.(inputs);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      const untilMs = Math.max(options.untilMs ?? -1, this.kernel.settledUntil);
      await check(untilMs);
      if (untilMs > this.kernel.settledUntil) await this.kernel.runUntil(direct, untilMs);
      options.onProgress?.(inputs);
      // The live driver takes over from the recovered committed state (nact re-spawns its actors).
      await live.stop();
      await live.start(this.kernel);
      return { inputs, replayed: inputs - (this.resumeFrom?.seq ?? 0), untilMs: Math.max(0, untilMs), checkpoint };
    } catch (error) {
      // A journal that cannot be replayed must not be appended to: inputs stay refused.
      this.recoveryFailure = error as Error;
      throw error;
    } finally {
      this.driver = live;
      await direct.stop();
      this.recovering = false;
    }
  }

  private refuseWhileRecovering(): void {
    if (this.recoveryFailure !== undefined) throw new ConflictError(`the journal could not be recovered (${this.recoveryFailure.message}); no input is accepted until it is repaired`);
    if (this.recovering) throw new ConflictError('the engine is recovering its journal after a restart; inputs are accepted once /readyz says ok');
  }

  /** Runs every instant up to `untilMs` of virtual time. */
  async runUntil(untilMs: number): Promise<void> {
    if (this.busy) throw new Error('engine: runUntil is already running');
    this.busy = true;
    try {
      await this.kernel.runUntil(this.driver, untilMs, this.afterInstant);
    } finally {
      this.becameIdle();
    }
  }

  /**
   * Calls `listener` after every instant of a `runUntil` settles (between instants, where the
   * committed state is consistent): the stream hub cuts the frame of an input there instead of at
   * the end of a long advance. Returns the unsubscribe.
   */
  onInstantSettled(listener: () => void): () => void {
    this.instantListeners.add(listener);
    return () => this.instantListeners.delete(listener);
  }

  private readonly afterInstant = (): void => {
    this.scheduleDeferred();
    for (const listener of this.instantListeners) listener();
  };

  /** Processes the next instant with work (all its rounds). Returns false when nothing waits. */
  async step(): Promise<boolean> {
    if (this.busy) throw new Error('engine: a run is already in progress');
    this.busy = true;
    try {
      return await this.kernel.runInstant(this.driver);
    } finally {
      this.becameIdle();
    }
  }

  /** True while a run is in progress. */
  get running(): boolean {
    return this.busy;
  }

  /**
   * Resolves when no run is in progress. Mid-instant the stream holds part of an instant the clock
   * has not settled yet; anything that cuts a consistent picture (a recording's journal, clock and
   * state hash) waits for this first and then reads synchronously.
   */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private becameIdle(): void {
    this.busy = false;
    this.scheduleDeferred();
    const waiters = this.idleWaiters;
    if (waiters.length === 0) return;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  summary(): RunSummary {
    let failed = 0;
    let degraded = 0;
    for (let a = 0; a < this.index.assetCount; a++) {
      const status = this.kernel.statusOf(a);
      if (status === Status.Failed || status === Status.Faulted) failed++;
      else if (status === Status.Degraded) degraded++;
    }
    const counters = this.kernel.counters;
    return {
      stateHash: this.stream.stateHash(),
      events: this.stream.count,
      failed,
      degraded,
      simulatedSeconds: this.kernel.now / 1000,
      inputs: this.journal.length,
      deliveries: counters.deliveries,
      instants: counters.instants,
      escalations: this.kernel.escalations.length,
      cityHash: this.cityHash,
      seed: this.kernel.seed,
      driver: this.driver.name,
    };
  }

  /** JSON description of one actor's live state (inspector). */
  describe(actor: number): Record<string, unknown> {
    const behaviour = this.kernel.behaviourOf(actor);
    return behaviour.describe(this.kernel.states[actor], this.index);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.driver.stop();
    await this.journal.close();
  }

  /** The asset a reroute moves load to: linked to the source, in its layer. */
  private rerouteDestination(from: string, to: string): number {
    const a = this.index.indexOf(from);
    const b = this.index.indexOf(to);
    if (b === undefined || b >= this.index.assetCount) throw new UnknownTargetError(`reroute: unknown asset "${to}"`);
    const { offsets, items } = this.index.links;
    for (let k = offsets[a!]!; k < offsets[a! + 1]!; k++) if (items[k] === b) return b;
    throw new UnknownTargetError(`reroute: "${to}" is not linked to "${from}" (load can only move over a link of the layer)`);
  }

  /** Per asset: the largest telemetry value it takes (Infinity: any). Built on first use. */
  private telemetryLimits: Float64Array | null = null;

  /**
   * Telemetry on an electrical asset sets MW: a generator's output within [0, Pmax]. On a branch it
   * is a measurement only (the live state estimator reads it from the journal; the branch's load
   * stays its computed DC flow). Throws ValidationError naming the asset and the range.
   */
  private checkTelemetry(actor: number, value: number): void {
    if (actor >= this.index.assetCount) return;
    if (this.telemetryLimits === null) {
      this.telemetryLimits = Float64Array.from(this.index.city.assets, (a) => {
        const e = a.electrical;
        if (e?.kind === 'generator' && e.pmaxMw !== null) return e.pmaxMw;
        return Number.POSITIVE_INFINITY;
      });
    }
    const limit = this.telemetryLimits[actor]!;
    if (limit === Number.POSITIVE_INFINITY) return;
    const id = this.index.nameOf(actor);
    if (value > limit) throw new ValidationError('telemetry', [{ path: '$.value', reason: `${value} MW is above the Pmax of generator "${id}" (${limit} MW)` }]);
  }

  /** The actor indices an input reaches; throws UnknownTargetError when it reaches none. */
  targetsOf(command: InputCommand): number[] {
    const target = command.target;
    const index = this.index;
    if (command.type === 'voltage') return [voltageTarget(index, target)];
    const wantCohorts = command.type === 'order' || command.type === 'ambient';
    const wantAssets = command.type !== 'order';
    const single = index.indexOf(target);
    if (single !== undefined) {
      // The common case (every telemetry reading): one id, no selector.
      const isCohort = single >= index.assetCount;
      if (isCohort && !wantCohorts) throw new UnknownTargetError(`"${target}" is a cohort; a ${command.type} input targets assets`);
      if (!isCohort && !wantAssets) throw new UnknownTargetError(`"${target}" is an asset; an order targets cohorts`);
      return [single];
    }
    let pick: (actor: number) => boolean;
    if (target === '*') pick = () => true;
    else if (target.startsWith('district:')) {
      const d = index.districts.indexOf(target.slice('district:'.length));
      if (d < 0) throw new UnknownTargetError(`unknown district in target "${target}"`);
      pick = (a) => index.districtOf[a] === d;
    } else if (target.startsWith('layer:')) {
      const l = index.layers.indexOf(target.slice('layer:'.length));
      if (l < 0) throw new UnknownTargetError(`unknown layer in target "${target}"`);
      pick = (a) => a < index.assetCount && index.layerOf[a] === l;
    } else {
      throw new UnknownTargetError(`unknown asset or cohort "${target}"`);
    }
    const targets: number[] = [];
    const end = index.assetCount + (wantCohorts ? index.cohortCount : 0);
    for (let a = wantAssets ? 0 : index.assetCount; a < end; a++) if (pick(a)) targets.push(a);
    if (targets.length === 0) throw new UnknownTargetError(`target "${target}" matches nothing for a ${command.type} input`);
    return targets;
  }

  private defer(entry: JournalEntry, targets: number | readonly number[]): void {
    this.deferredEntries.push(entry);
    this.deferredTargets.push(targets);
  }

  /** Schedules the inputs held during the instant that just settled, in journal order. */
  private readonly scheduleDeferred = (): void => {
    const entries = this.deferredEntries;
    if (entries.length === 0) return;
    const targets = this.deferredTargets;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const to = targets[i]!;
      if (typeof to === 'number') this.kernel.schedule(to, -1, MessageKind.Telemetry, (entry.command as { value: number }).value, 0, entry.time);
      else this.scheduleEntry(entry, to);
    }
    entries.length = 0;
    targets.length = 0;
  };

  private scheduleEntry(entry: JournalEntry, targets: readonly number[]): void {
    const { kind, value, aux } = entry.command.type === 'reroute'
      ? { kind: MessageKind.Reroute, value: entry.command.share, aux: this.rerouteDestination(entry.command.target, entry.command.to) }
      : toMessage(entry.command);
    for (const to of targets) this.kernel.schedule(to, -1, kind, value, aux, entry.time);
  }
}

const HAZARDS: Record<string, number> = { flood: HazardCode.Flood, wind: HazardCode.Wind, shaking: HazardCode.Shaking, heat: HazardCode.Heat, fire: HazardCode.Fire };
const ORDERS: Record<string, number> = { shelter: OrderCode.Shelter, evacuate: OrderCode.Evacuate, 'save-water': OrderCode.SaveWater, 'all-clear': OrderCode.AllClear };
const ATTACKS: Record<string, number> = { compromise: CyberCode.Compromise, ddos: CyberCode.Ddos, ransomware: CyberCode.Ransomware };

function toMessage(command: InputCommand): { kind: MessageKind; value: number; aux: number } {
  switch (command.type) {
    case 'fail':
      return { kind: MessageKind.Damage, value: command.severity ?? 1, aux: command.hazard === undefined ? HazardCode.None : HAZARDS[command.hazard]! };
    case 'repair':
      return { kind: MessageKind.Repair, value: 1, aux: 0 };
    case 'restore':
      return { kind: MessageKind.Restore, value: 1, aux: 0 };
    case 'isolate':
      return { kind: MessageKind.Isolate, value: 1, aux: 0 };
    case 'telemetry':
      return { kind: MessageKind.Telemetry, value: command.value, aux: 0 };
    case 'shed':
      return { kind: MessageKind.ShedLoad, value: command.share, aux: 0 };
    case 'reroute':
      throw new Error('reroute is scheduled with its destination (see scheduleEntry)');
    case 'ambient':
      return { kind: MessageKind.Ambient, value: command.celsius, aux: 0 };
    case 'cyber':
      return { kind: MessageKind.Cyber, value: command.severity ?? (command.attack === 'ransomware' ? 0.5 : 1), aux: ATTACKS[command.attack]! };
    case 'secure':
      return { kind: MessageKind.Secure, value: 1, aux: 0 };
    case 'order':
      return { kind: MessageKind.Order, value: 1, aux: ORDERS[command.order]! };
    case 'voltage':
      return { kind: MessageKind.Voltage, value: command.vmPu, aux: 0 };
  }
}
