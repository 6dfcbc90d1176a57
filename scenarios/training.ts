import { ConflictError, ValidationError, type CityModel, type Engine, type InputCommand, type JournalEntry, type WallClock } from '../engine/index.ts';
import { OutcomeMeter, SERVICE_LAYERS, type CostModel, DEFAULT_COST_MODEL, type Outcome } from './economics.ts';
import type { Ledger } from './ledger.ts';
import { ReplaySession, type Behaviours, type Recording } from './recording.ts';

/**
 * Training exercises. A trainer replays a recorded incident and hands over control at a chosen
 * virtual time. Up to the handover everything recorded is fed; after it, the incident itself keeps
 * coming — hazards, attacks, failures injected by hand, telemetry, and whatever a scenario scripted —
 * while the recorded operators' decisions are withheld and the trainees' actions apply instead.
 * At the end the trainees' outcome is scored against the recorded one.
 */

/** What people in the control room decide; every other input is the incident happening to the city. */
const DECISION_TYPES: ReadonlySet<InputCommand['type']> = new Set(['isolate', 'restore', 'repair', 'shed', 'reroute', 'order']);

/**
 * A recorded input is an operator's decision when it is an operator action or an order to the
 * public and did not come from a scenario (a scenario's scripted restoration belongs to the
 * incident). A failure injected through the API is the incident, not a decision.
 */
export function isDecision(entry: JournalEntry): boolean {
  return DECISION_TYPES.has(entry.command.type) && !entry.source.startsWith('scenario:');
}

export interface Decision {
  readonly timeMs: number;
  readonly who: string;
  readonly command: InputCommand;
}

export interface TrainingReport {
  readonly recording: string;
  readonly handoverMs: number;
  readonly untilMs: number;
  readonly recorded: Outcome;
  readonly trainee: Outcome;
  /** Trainee minus recorded, per metric (negative is better). */
  readonly delta: { readonly peopleHoursWithout: Record<string, number>; readonly hospitalHoursDegraded: number; readonly cost: number };
  /** 0–100: 50 = as the recorded operators did, 100 = no cost at all, 0 = far worse. */
  readonly score: number;
  readonly timeline: { readonly recorded: readonly Decision[]; readonly trainee: readonly Decision[] };
}

const decisionOf = (e: JournalEntry): Decision => ({ timeMs: e.time, who: e.source, command: e.command });

export class TrainingExercise {
  private readonly traineeDecisions: Decision[] = [];
  private meter: OutcomeMeter;
  private handoverLogged = false;
  private report: TrainingReport | undefined;
  private finishing = false;
  private constructor(
    private readonly recording: Recording,
    private readonly session: ReplaySession,
    readonly handoverMs: number,
    private readonly behaviours: Behaviours,
    private readonly model: CostModel,
    private readonly ledger: Ledger | undefined,
    private readonly trainer: string,
    private readonly city: CityModel | undefined,
  ) {
    this.meter = OutcomeMeter.attach(session.current, model);
    // A backward seek before the handover rebuilds the engine: meter the new one from its start.
    session.onEngine((engine) => {
      this.meter.detach();
      this.meter = OutcomeMeter.attach(engine, model);
    });
    session.onAdvance(() => this.noteHandover());
  }

  /**
   * Opens an exercise at the start of the recording without running it: the caller plays it (real
   * time, seek) and control passes to the trainees when the clock reaches `handoverMs`. Up to the
   * handover the stream is the recording's own (the entries withheld all come later).
   */
  static async open(options: { recording: Recording; behaviours: Behaviours; handoverMs: number; costModel?: CostModel; ledger?: Ledger; trainer?: string; city?: CityModel; clock?: WallClock }): Promise<TrainingExercise> {
    const { recording, handoverMs } = options;
    if (!(handoverMs >= 0 && handoverMs <= recording.meta.untilMs)) throw new ValidationError('training', [{ path: '$.handover', reason: `must be within the recording (0–${recording.meta.untilMs / 1000} s)` }]);
    const keep = recording.entries.map((e) => !(isDecision(e) && e.time >= handoverMs));
    const incident: Recording = {
      dir: recording.dir,
      meta: { ...recording.meta, feedAfter: recording.meta.feedAfter.filter((_, i) => keep[i]), checkpoints: [] },
      entries: recording.entries.filter((_, i) => keep[i]),
    };
    const session = await ReplaySession.open(incident, options.behaviours, { ...(options.city === undefined ? {} : { city: options.city }), ...(options.clock === undefined ? {} : { clock: options.clock }) });
    return new TrainingExercise(recording, session, handoverMs, options.behaviours, options.costModel ?? DEFAULT_COST_MODEL, options.ledger, options.trainer ?? 'trainer', options.city);
  }

  /** Replays the recording up to `handoverMs` (batch) and hands over. */
  static async start(options: { recording: Recording; behaviours: Behaviours; handoverMs: number; costModel?: CostModel; ledger?: Ledger; trainer?: string }): Promise<TrainingExercise> {
    const exercise = await TrainingExercise.open(options);
    await exercise.session.runTo(options.handoverMs);
    return exercise;
  }

  get engine(): Engine {
    return this.session.current;
  }

  /** The replay underneath (playback, speed, pause, seek). */
  get replay(): ReplaySession {
    return this.session;
  }

  /** True once the clock has reached the handover: from then on the trainees act. */
  get handedOver(): boolean {
    return this.session.current.kernel.settledUntil >= this.handoverMs;
  }

  get finished(): boolean {
    return this.report !== undefined;
  }

  /** The score, once `finish` has run. */
  get result(): TrainingReport | undefined {
    return this.report;
  }

  private noteHandover(): void {
    if (this.handoverLogged || !this.handedOver) return;
    this.handoverLogged = true;
    this.ledger?.append('training', this.trainer, 'trainer', { event: 'handover', recording: this.recording.meta.id, handoverMs: this.handoverMs });
  }

  /** Advances the exercise (batch) to `ms`; the incident's inputs are fed on the way. */
  async runTo(ms: number): Promise<void> {
    await this.session.runTo(Math.min(ms, this.recording.meta.untilMs));
  }

  /** A trainee's action, effective now (or at `atMs` if later). Validated; journalled and ledgered. */
  act(command: InputCommand, trainee: string, atMs?: number): JournalEntry {
    this.checkCanAct();
    const entry = this.engine.submit(command, { ...(atMs === undefined ? {} : { at: atMs / 1000 }), source: `trainee:${trainee}` });
    if (entry === undefined) throw new ValidationError('training', [{ path: '$', reason: 'duplicate input' }]);
    this.recordDecision(entry, trainee);
    return entry;
  }

  /** Throws ConflictError unless the trainees have control (after the handover, before the finish). */
  checkCanAct(): void {
    if (this.finished || this.finishing) throw new ConflictError('the exercise is finished');
    if (!this.handedOver) throw new ConflictError(`control passes to the trainees at the handover (${this.handoverMs / 1000} s); the clock is at ${Math.max(0, this.engine.kernel.settledUntil) / 1000} s`);
    // The exercise is scored up to the recording's end: an action after it could change nothing.
    if (this.engine.kernel.settledUntil >= this.recording.meta.untilMs) throw new ConflictError(`the exercise has reached the end of the recording (${this.recording.meta.untilMs / 1000} s): finish it to see the score`);
  }

  /**
   * Notes a trainee's action that was submitted to `engine` by another door (the server's operator
   * checks): it joins the trainees' timeline and the ledger.
   */
  recordDecision(entry: JournalEntry, trainee: string): void {
    this.traineeDecisions.push(decisionOf(entry));
    this.ledger?.append('training', trainee, 'trainee', { event: 'decision', recording: this.recording.meta.id, timeMs: entry.time, command: entry.command });
  }

  /** Runs to the end of the recording and scores the trainees against the recorded run. */
  async finish(): Promise<TrainingReport> {
    if (this.finished || this.finishing) throw new ConflictError('the exercise is already finished');
    this.finishing = true;
    try {
      this.report = await this.score();
      return this.report;
    } finally {
      this.finishing = false;
    }
  }

  private async score(): Promise<TrainingReport> {
    const untilMs = this.recording.meta.untilMs;
    await this.session.pause();
    await this.session.runTo(untilMs);
    this.noteHandover();
    const trainee = this.meter.outcome(untilMs);
    const recorded = await recordedOutcome(this.recording, this.behaviours, this.model, this.city);
    await this.session.close();
    const peopleHoursWithout: Record<string, number> = {};
    for (const l of SERVICE_LAYERS) peopleHoursWithout[l] = Math.round((trainee.peopleHoursWithout[l] - recorded.peopleHoursWithout[l]) * 1000) / 1000;
    const a = recorded.cost.total;
    const b = trainee.cost.total;
    const score = Math.max(a, b) === 0 ? 50 : Math.round(Math.max(0, Math.min(100, 50 + (50 * (a - b)) / Math.max(a, b))));
    const report: TrainingReport = {
      recording: this.recording.meta.id,
      handoverMs: this.handoverMs,
      untilMs,
      recorded,
      trainee,
      delta: { peopleHoursWithout, hospitalHoursDegraded: Math.round((trainee.hospitalHoursDegraded - recorded.hospitalHoursDegraded) * 1000) / 1000, cost: b - a },
      score,
      timeline: { recorded: this.recording.entries.filter((e) => isDecision(e) && e.time >= this.handoverMs).map(decisionOf), trainee: this.traineeDecisions },
    };
    this.ledger?.append('training', this.trainer, 'trainer', { event: 'score', recording: this.recording.meta.id, score, cost: { recorded: a, trainee: b } });
    return report;
  }
}

/** The recorded run's outcome, measured by replaying it (the meta's outcome may use another cost model). */
export async function recordedOutcome(recording: Recording, behaviours: Behaviours, model: CostModel = DEFAULT_COST_MODEL, city?: CityModel): Promise<Outcome> {
  const session = await ReplaySession.open(recording, behaviours, city === undefined ? {} : { city });
  const meter = OutcomeMeter.attach(session.current, model);
  await session.runTo(recording.meta.untilMs);
  const outcome = meter.outcome(recording.meta.untilMs);
  await session.close();
  return outcome;
}
