import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, hashCity, RealtimeRunner, Status, systemWallClock, type CityModel, type Engine, type JournalEntry, type WallClock, type WallTimer } from '../../engine/index.ts';
import {
  DEFAULT_COST_MODEL,
  isDecision,
  listRecordings,
  loadRecording,
  MAX_SPEED,
  MIN_SPEED,
  OutcomeMeter,
  ReplaySession,
  TrainingExercise,
  type Behaviours,
  type CostModel,
  type Decision,
  type Ledger,
  type Recording,
  type RecordingMeta,
  type TrainingReport,
} from '../../scenarios/index.ts';
import type { AuditLog, Principal } from '../door/index.ts';
import { Control, NotFoundError, type GuardPolicy } from '../door/index.ts';
import type { Alert, NormalisedView, SessionClock, SessionClockInfo, SessionClockRequest, SessionClosedInfo, SessionDecision, SessionInfo, SessionKind, SessionPhase, SessionScore, SubscribeAck, ViewRequest } from '../protocol.ts';
import { StreamHub, type Subscriber } from '../stream/index.ts';
import { summarise, type SummaryResponse } from '../http/index.ts';

/**
 * Sessions: replays and training exercises hosted by the running server beside the live engine
 * (which they never touch). Each session owns a `ReplaySession` (or a `TrainingExercise` over one)
 * on its own direct-driver engine, drives its playback in wall time (0.1–1000×, pause, seek), and
 * streams it through its own `StreamHub`, so a viewer subscribes to a session exactly as to the live
 * view (`subscribe({ session })`). A backward seek rebuilds the engine; the session then gets a new
 * hub (a new epoch) and its subscribers are moved to it with a fresh snapshot.
 */

/** A recording as a source returns it: with its city when the source keeps it (else it is rebuilt from `meta.city`). */
export interface LoadedRecording {
  readonly recording: Recording;
  readonly city?: CityModel | undefined;
}

/** Where sessions find recordings: files by default; also PostgreSQL when the adapters are on. */
export interface RecordingSource {
  /** Newest first. */
  list(): Promise<RecordingMeta[]>;
  /** The recording, or undefined when there is none by that id. */
  load(id: string): Promise<LoadedRecording | undefined>;
}

/** Recordings under a folder (`STRATUM_RECORDINGS`, `./recordings`). */
export function fileRecordings(dir: string): RecordingSource {
  return {
    list: () => Promise.resolve(listRecordings(dir)),
    // Ids only (the route checks the pattern): never a path the caller chose.
    load: (id) => Promise.resolve(existsSync(join(dir, id, 'meta.json')) ? { recording: loadRecording(join(dir, id)) } : undefined),
  };
}

/** The first source that has the recording wins; lists are merged (an id listed once, newest first). */
export function firstOf(...sources: RecordingSource[]): RecordingSource {
  return {
    async list() {
      const seen = new Set<string>();
      const all: RecordingMeta[] = [];
      for (const source of sources) {
        for (const m of await source.list()) {
          if (seen.has(m.id)) continue;
          seen.add(m.id);
          all.push(m);
        }
      }
      return all.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    },
    async load(id) {
      for (const source of sources) {
        const found = await source.load(id);
        if (found !== undefined) return found;
      }
      return undefined;
    },
  };
}

/** What a transport hears about the sessions its sockets watch. */
export type SessionEvent =
  | { readonly type: 'clock'; readonly clock: SessionClockInfo }
  | { readonly type: 'alerts'; readonly session: string; readonly alerts: readonly Alert[] }
  /** A subscriber was moved to the session's new hub (backward seek): send it `ack`; a snapshot follows. */
  | { readonly type: 'moved'; readonly subscriber: Subscriber; readonly ack: SubscribeAck }
  | ({ readonly type: 'closed' } & SessionClosedInfo);

export interface SessionManagerOptions {
  readonly behaviours: Behaviours;
  readonly recordings: RecordingSource;
  readonly audit: AuditLog;
  readonly ledger?: Ledger;
  readonly costModel?: CostModel;
  /** Sessions at once (default 4; env STRATUM_MAX_SESSIONS). */
  readonly maxSessions?: number;
  /** A session without viewers and without requests for this long is closed (default 15 min). */
  readonly idleMs?: number;
  /** The live city: reused (not rebuilt) for recordings of the same city. */
  readonly city?: CityModel;
  readonly ringFrames?: number;
  /**
   * The live server's guard policy: a guarded operator action is guarded in training too (409 on
   * `POST /api/sessions/:id/actions`; request it at `POST /api/sessions/:id/actions/request`, a
   * second person with another role approves it — session-guard.ts).
   */
  readonly guard?: GuardPolicy;
  /**
   * The wall clock of the sessions (default the system's): their playback, the 1 Hz channel (clocks,
   * alerts) and idle closing. Tests advance a `ManualWallClock`, so "idle for 300 ms" or "50 virtual
   * seconds per tick at 1000×" never depends on how busy the machine is.
   */
  readonly playbackClock?: WallClock;
}

export interface CreateSessionRequest {
  readonly recording: string;
  readonly kind: SessionKind;
  readonly speed?: number | undefined;
  readonly paused?: boolean | undefined;
  readonly handoverMs?: number | undefined;
}

/** A trainee's action as the session route takes it (the live operator routes' fields). */
export type TraineeAction =
  | { readonly action: 'isolate' | 'restore' | 'repair'; readonly target: string }
  | { readonly action: 'shed'; readonly target: string; readonly share: number }
  | { readonly action: 'reroute'; readonly target: string; readonly to: string; readonly share: number };

export interface SessionDetail extends SessionInfo {
  readonly summary: SessionSummary;
  /** The score, once a training session is finished. */
  readonly result?: SessionScore | undefined;
}

/** The live summary (`/api/summary`) of the session's engine, plus failures by layer and hospitals now. */
export type SessionSummary = SummaryResponse & { readonly failedByLayer: Readonly<Record<string, number>>; readonly hospitalsDegradedNow: number };

const speedProblem = (speed: number): ConflictError | undefined =>
  speed >= MIN_SPEED && speed <= MAX_SPEED ? undefined : new ConflictError(`speed ${speed} is out of range: playback runs at ${MIN_SPEED}× to ${MAX_SPEED}×`);

const decisionOf = (d: Decision): SessionDecision => ({ timeMs: d.timeMs, who: d.who, command: d.command });

/** The wire shape of a training report. */
export function sessionScore(report: TrainingReport): SessionScore {
  return {
    score: report.score,
    metrics: { recorded: report.recorded, trainee: report.trainee, delta: report.delta },
    traineeDecisions: report.timeline.trainee.map(decisionOf),
    recordedDecisions: report.timeline.recorded.map(decisionOf),
  };
}

/** A view back as a request (to move a subscriber to a new hub with the same view). */
function requestOf(view: NormalisedView): ViewRequest {
  return {
    ...(view.layers === null ? {} : { layers: view.layers }),
    ...(view.districts === null ? {} : { districts: view.districts }),
    ...(view.bbox === null ? {} : { bbox: view.bbox }),
    cohorts: view.cohorts,
    maxRateHz: view.maxRateHz,
  };
}

/** One hosted session. Mutations of its playback run one at a time (`serially`). */
class HostedSession {
  hub: StreamHub;
  meter: OutcomeMeter;
  lastTouch: number;
  closed = false;
  /** Set while a seek or the finish runs: trainee actions wait for it (409) rather than race it. */
  busy: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private control: Control | undefined;
  lastPhase: SessionPhase;

  constructor(
    readonly id: string,
    readonly kind: SessionKind,
    readonly recording: Recording,
    readonly createdBy: string,
    readonly replay: ReplaySession,
    readonly exercise: TrainingExercise | undefined,
    manager: SessionManager,
  ) {
    this.lastTouch = manager.wallNow();
    this.hub = manager.newHub(replay.current);
    this.meter = OutcomeMeter.attach(replay.current, manager.costModel);
    manager.announceEngine(id, replay.current);
    replay.onEngine((engine) => {
      this.meter.detach();
      this.meter = OutcomeMeter.attach(engine, manager.costModel);
      manager.announceEngine(id, engine);
    });
    replay.onAdvance(() => {
      this.hub.flush();
      if (this.phase !== this.lastPhase) manager.announceClock(this);
    });
    replay.onEnd(() => manager.announceClock(this));
    this.lastPhase = this.phase;
  }

  get engine(): Engine {
    return this.replay.current;
  }

  get phase(): SessionPhase {
    if (this.exercise !== undefined) return this.exercise.finished ? 'finished' : this.exercise.handedOver ? 'handed-over' : 'replaying';
    return this.engine.kernel.settledUntil >= this.replay.endMs ? 'finished' : 'replaying';
  }

  get clock(): SessionClock {
    return { nowMs: Math.max(0, this.engine.now), endMs: this.replay.endMs, speed: this.replay.currentSpeed, paused: !this.replay.playing };
  }

  info(): SessionInfo {
    const error = this.replay.error?.message;
    return {
      id: this.id,
      kind: this.kind,
      recording: this.recording.meta.id,
      createdBy: this.createdBy,
      phase: this.phase,
      clock: this.clock,
      ...(this.exercise === undefined ? {} : { handoverMs: this.exercise.handoverMs }),
      viewers: this.hub.subscriberCount(),
      ...(error === undefined ? {} : { error }),
    };
  }

  /** The operator checks of the live server (`Control`, with the live guard policy), bound to this session's engine of the moment. */
  controlFor(audit: AuditLog, guard?: GuardPolicy): Control {
    const engine = this.engine;
    if (this.control?.engine !== engine) {
      // Control wants a runner for its clock actions; sessions never use those (playback is the
      // ReplaySession's), so this one is never started.
      this.control = new Control(engine, new RealtimeRunner(engine), audit);
      this.control.onAccepted = (atMs) => this.hub.expedite(atMs);
      this.control.guardRequestAt = `POST /api/sessions/${this.id}/actions/request`;
    }
    this.control.guard = guard;
    return this.control;
  }

  /** Runs `fn` after the session's previous playback mutation has finished. */
  serially<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new NotFoundError(`session "${this.id}" is closed`);
      this.busy = what;
      try {
        return await fn();
      } finally {
        this.busy = undefined;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * Hosts sessions for the server: create, list, playback control, trainee actions, finish, close.
 * Errors: NotFoundError (unknown session or recording → 404), ConflictError (impossible now → 409),
 * ValidationError from the scenarios layer (a recording that does not rebuild → 400).
 *
 * @example
 * const sessions = new SessionManager({ behaviours, recordings: fileRecordings(dir), audit });
 * const info = await sessions.create(principal, { recording: 'storm', kind: 'replay', speed: 60 });
 * sessions.hubOf(info.id); // subscribe viewers here
 */
export class SessionManager {
  readonly costModel: CostModel;
  private readonly sessions = new Map<string, HostedSession>();
  /** Slots taken by sessions still being built (their engines replay before they are listed). */
  private opening = 0;
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private timer: WallTimer | undefined;
  private readonly wall: WallClock;
  private closing = false;
  private readonly maxSessions: number;
  private readonly idleMs: number;
  /** Wall-clock ms, for idle closing only (never inside a simulation). */
  readonly wallNow: () => number;
  private readonly cityHash: string | undefined;
  private counter = 0;

  constructor(private readonly options: SessionManagerOptions) {
    this.costModel = options.costModel ?? DEFAULT_COST_MODEL;
    this.maxSessions = options.maxSessions ?? 4;
    if (!(Number.isInteger(this.maxSessions) && this.maxSessions >= 1)) throw new RangeError(`maxSessions (STRATUM_MAX_SESSIONS) must be a whole number ≥ 1 (got ${this.maxSessions})`);
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.wall = options.playbackClock ?? systemWallClock;
    this.wallNow = () => this.wall.now();
    this.cityHash = options.city === undefined ? undefined : hashCity(options.city);
    // Low-rate channel of every session: clocks and alerts at 1 Hz, idle views and sessions dropped.
    const every = (): void => {
      this.timer = this.wall.setTimeout(() => {
        this.tick();
        if (!this.closing) every();
      }, 1000, true);
    };
    every();
  }

  private playbackClock(): { clock?: WallClock } {
    return this.options.playbackClock === undefined ? {} : { clock: this.options.playbackClock };
  }

  /** Hears clocks, alerts, moved subscriptions and closed sessions (the socket gateway). */
  on(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: SessionEvent): void {
    for (const l of this.listeners) l(event);
  }

  private readonly engineListeners = new Set<(session: string, engine: Engine) => void>();

  /** Hears each engine a session starts on, before it runs (its first, and each after a backward seek): the session's history. */
  onSessionEngine(listener: (session: string, engine: Engine) => void): () => void {
    this.engineListeners.add(listener);
    return () => this.engineListeners.delete(listener);
  }

  announceEngine(session: string, engine: Engine): void {
    for (const l of this.engineListeners) l(session, engine);
  }

  newHub(engine: Engine): StreamHub {
    return new StreamHub(engine, this.options.ringFrames === undefined ? {} : { ringFrames: this.options.ringFrames });
  }

  get recordings(): RecordingSource {
    return this.options.recordings;
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  get size(): number {
    return this.sessions.size;
  }

  private session(id: string): HostedSession {
    const s = this.sessions.get(id);
    if (s === undefined) throw new NotFoundError(`unknown session "${id}" (see GET /api/sessions)`);
    s.lastTouch = this.wallNow();
    return s;
  }

  /** The hub a viewer of session `id` subscribes to (NotFoundError naming it when unknown). */
  hubOf(id: string): StreamHub {
    return this.session(id).hub;
  }

  clockOf(id: string): SessionClockInfo {
    const s = this.session(id);
    return { session: s.id, phase: s.phase, ...s.clock };
  }

  detail(id: string): SessionDetail {
    const s = this.session(id);
    const engine = s.engine;
    const index = engine.index;
    const failedByLayer: Record<string, number> = Object.fromEntries(index.layers.map((l) => [l, 0]));
    let hospitalsDegradedNow = 0;
    for (let a = 0; a < index.assetCount; a++) {
      const view = engine.kernel.view(a);
      if (view.status === Status.Failed || view.status === Status.Faulted) failedByLayer[index.layerName(a)]! += 1;
      if (index.city.assets[a]!.kind === 'hospital' && view.level < 1) hospitalsDegradedNow++;
    }
    const result = s.exercise?.result;
    return { ...s.info(), summary: { ...summarise(engine, s.meter), failedByLayer, hospitalsDegradedNow }, ...(result === undefined ? {} : { result: sessionScore(result) }) };
  }

  /** Opens a session on a recording and starts playing it (unless `paused`). */
  async create(principal: Principal, request: CreateSessionRequest): Promise<SessionInfo> {
    if (this.closing) throw new ConflictError('the server is closing');
    if (this.sessions.size + this.opening >= this.maxSessions) throw new ConflictError(`at most ${this.maxSessions} sessions at once; delete one (DELETE /api/sessions/:id) first`);
    const speed = request.speed ?? 1;
    const tooFast = speedProblem(speed);
    if (tooFast !== undefined) throw tooFast;
    this.opening++;
    try {
      const loaded = await this.options.recordings.load(request.recording);
      if (loaded === undefined) throw new NotFoundError(`unknown recording "${request.recording}" (see GET /api/recordings)`);
      const recording = loaded.recording;
      const endMs = recording.meta.untilMs;
      const city = loaded.city ?? (this.cityHash === recording.meta.cityHash ? this.options.city : undefined);
      let replay: ReplaySession;
      let exercise: TrainingExercise | undefined;
      if (request.kind === 'training') {
        // Default handover: when the recorded operators first acted (else the start).
        const handoverMs = request.handoverMs ?? recording.entries.find(isDecision)?.time ?? 0;
        if (handoverMs > endMs) throw new ConflictError(`handoverMs ${handoverMs} is after the end of the recording (${endMs} ms)`);
        exercise = await TrainingExercise.open({ recording, behaviours: this.options.behaviours, handoverMs, costModel: this.costModel, trainer: principal.name, ...(this.options.ledger === undefined ? {} : { ledger: this.options.ledger }), ...(city === undefined ? {} : { city }), ...this.playbackClock() });
        replay = exercise.replay;
      } else {
        replay = await ReplaySession.open(recording, this.options.behaviours, { ...(city === undefined ? {} : { city }), ...this.playbackClock() });
      }
      replay.setSpeed(speed);
      const id = `${request.kind}-${++this.counter}-${randomBytes(3).toString('hex')}`;
      const session = new HostedSession(id, request.kind, recording, principal.name, replay, exercise, this);
      if (this.closing) {
        await replay.close();
        throw new ConflictError('the server is closing');
      }
      this.sessions.set(id, session);
      if (request.paused !== true) replay.play(speed);
      this.options.ledger?.append('training', principal.name, principal.role, { event: 'session.create', session: id, kind: request.kind, recording: recording.meta.id, speed, ...(exercise === undefined ? {} : { handoverMs: exercise.handoverMs }) });
      return session.info();
    } finally {
      this.opening--;
    }
  }

  /** Pause, resume, speed or seek. Resolves when done (a seek has reached its time). */
  async clock(principal: Principal, id: string, request: SessionClockRequest): Promise<SessionInfo> {
    const s = this.session(id);
    const info = await s.serially(request.action, async () => {
      if (s.exercise?.finished === true) throw new ConflictError(`session "${id}" is finished (scored); start another to play it again`);
      const replay = s.replay;
      switch (request.action) {
        case 'pause':
          if (!replay.playing) throw new ConflictError(`session "${id}" is already paused`);
          await replay.pause();
          break;
        case 'resume':
          if (replay.playing) throw new ConflictError(`session "${id}" is already playing`);
          if (s.engine.kernel.settledUntil >= replay.endMs) throw new ConflictError(`session "${id}" is at the end of the recording; seek back first`);
          replay.play();
          break;
        case 'speed': {
          const problem = request.speed === undefined ? new ConflictError('speed: a speed is required for action "speed"') : speedProblem(request.speed);
          if (problem !== undefined) throw problem;
          replay.setSpeed(request.speed!);
          break;
        }
        case 'seek':
          await this.seek(s, request.toMs);
          break;
      }
      return s.info();
    });
    this.options.ledger?.append('training', principal.name, principal.role, { event: `session.${request.action}`, session: id, ...(request.speed === undefined ? {} : { speed: request.speed }), ...(request.toMs === undefined ? {} : { toMs: request.toMs }) });
    this.announceClock(s);
    return info;
  }

  private async seek(s: HostedSession, toMs: number | undefined): Promise<void> {
    if (toMs === undefined) throw new ConflictError('toMs: a time is required for action "seek"');
    if (toMs > s.replay.endMs) throw new ConflictError(`cannot seek to ${toMs} ms: the recording ends at ${s.replay.endMs} ms`);
    const settled = Math.max(0, s.engine.kernel.settledUntil);
    if (s.exercise?.handedOver === true && toMs < settled) {
      throw new ConflictError(`cannot seek back after the handover: the trainees' actions since ${s.exercise.handoverMs} ms would be lost (seek forward, or start another session)`);
    }
    const before = s.engine;
    await s.replay.seek(toMs);
    if (s.engine !== before) this.moveToNewHub(s);
  }

  /** A backward seek built a new engine: a new hub (new epoch); its viewers move with a snapshot. */
  private moveToNewHub(s: HostedSession): void {
    const old = s.hub;
    s.hub = this.newHub(s.engine);
    for (const view of old.views.values()) {
      const request = requestOf(view.view);
      for (const subscriber of [...view.subscribers]) {
        const ack = { ...s.hub.subscribe(subscriber, request), session: s.id };
        this.emit({ type: 'moved', subscriber, ack });
        s.hub.prime(subscriber);
      }
    }
    old.close();
  }

  /**
   * A trainee's operator action on the session's engine, checked against that engine's state by the
   * live server's `Control` (same 404/409 rules and the same guard policy), audited, ledgered and put
   * on the trainees' timeline. `approved`: a guarded action a second person approved
   * (session-guard.ts): the guard is passed, the live-state checks run again now.
   */
  act(principal: Principal, id: string, action: TraineeAction, approved?: { readonly requestedBy: string; readonly approvedBy: string }): JournalEntry {
    const { control, exercise, via } = this.traineeDoor(principal, id, action.action, action.target);
    let entry: JournalEntry;
    if (approved !== undefined) {
      const command = action.action === 'shed' ? { type: 'shed' as const, target: action.target, share: action.share } : action.action === 'reroute' ? { type: 'reroute' as const, target: action.target, to: action.to, share: action.share } : { type: action.action, target: action.target };
      entry = control.audited(principal, via, `approve.${action.action}`, action.target, 'read', () => control.submitApproved(command, `${via}:approved:${approved.requestedBy}+${approved.approvedBy}`));
    } else {
      entry = action.action === 'reroute'
        ? control.reroute(principal, action.target, action.to, action.share, via)
        : control.operate(principal, action.action, action.target, action.action === 'shed' ? action.share : undefined, via);
    }
    exercise.recordDecision(entry, approved?.requestedBy ?? principal.name);
    return entry;
  }

  /**
   * The checks every trainee action (and request for one) passes before the session's door: a
   * training session, not busy, the trainees in control. A refusal is audited (`via: session:<id>`).
   */
  traineeDoor(principal: Principal, id: string, action: string, target: string): { control: Control; exercise: TrainingExercise; via: string; engine: Engine } {
    const s = this.session(id);
    const control = s.controlFor(this.options.audit, this.options.guard);
    const via = `session:${id}`;
    const refuse = (error: Error): never => control.audited(principal, via, action, target, 'operate', () => {
      throw error;
    });
    const exercise = s.exercise;
    if (exercise === undefined) return refuse(new ConflictError(`session "${id}" is a replay: actions apply only in training sessions`));
    if (s.busy !== undefined) return refuse(new ConflictError(`session "${id}" is busy (${s.busy}); try again when it is done`));
    try {
      exercise.checkCanAct();
    } catch (error) {
      return refuse(error as Error);
    }
    return { control, exercise, via, engine: s.engine };
  }

  /** Training: runs to the end, scores the trainees against the recording (once). */
  async finish(principal: Principal, id: string): Promise<SessionScore> {
    const s = this.session(id);
    const exercise = s.exercise;
    if (exercise === undefined) throw new ConflictError(`session "${id}" is a replay: only training sessions are scored`);
    const report = await s.serially('finish', () => exercise.finish());
    s.hub.flush();
    this.announceClock(s);
    this.options.ledger?.append('training', principal.name, principal.role, { event: 'session.finish', session: id, score: report.score });
    return sessionScore(report);
  }

  /** Closes a session (its viewers hear `closed`). */
  async delete(principal: Principal, id: string): Promise<void> {
    const s = this.session(id);
    await this.close1(s, 'deleted');
    this.options.ledger?.append('training', principal.name, principal.role, { event: 'session.delete', session: id });
  }

  private async close1(s: HostedSession, reason: SessionClosedInfo['reason']): Promise<void> {
    if (s.closed) return;
    this.sessions.delete(s.id);
    // Waits for a running seek or finish; later mutations find the session closed.
    await s.serially('close', async () => {
      s.closed = true;
      this.emit({ type: 'closed', session: s.id, reason });
      s.meter.detach();
      s.hub.close();
      await s.replay.close();
    });
  }

  announceClock(s: HostedSession): void {
    s.lastPhase = s.phase;
    this.emit({ type: 'clock', clock: { session: s.id, phase: s.lastPhase, ...s.clock } });
  }

  private tick(): void {
    const now = this.wallNow();
    for (const s of [...this.sessions.values()]) {
      const viewers = s.hub.subscriberCount();
      if (viewers === 0 && now - s.lastTouch > this.idleMs && s.busy === undefined) {
        void this.close1(s, 'idle');
        continue;
      }
      if (viewers > 0) s.lastTouch = now;
      s.hub.sweep(now);
      const { alerts } = s.hub.takeAlerts();
      if (alerts.length > 0) this.emit({ type: 'alerts', session: s.id, alerts });
      this.announceClock(s);
    }
  }

  /** Closes every session (server close). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) this.wall.clearTimeout(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => this.close1(s, 'server-closing')));
  }
}
