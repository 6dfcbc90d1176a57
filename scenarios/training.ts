import { ValidationError, type Engine, type InputCommand, type JournalEntry } from '../engine/index.ts';
import { OutcomeMeter, SERVICE_LAYERS, type CostModel, DEFAULT_COST_MODEL, type Outcome } from './economics.ts';
import type { Ledger } from './ledger.ts';
import { ReplaySession, type Behaviours, type Recording } from './recording.ts';

/**
 * Training exercises. A trainer replays a recorded incident and hands over control at a chosen
 * virtual time. Up to the handover everything recorded is fed; after it, only the incident itself
 * (inputs from `scenario:` sources — hazards, attacks, their scripted restorations) keeps coming,
 * while the recorded operators' decisions are withheld and the trainees' actions apply instead.
 * At the end the trainees' outcome is scored against the recorded one.
 */

/** A recorded input is an operator's decision unless it came from a scenario. */
export function isDecision(entry: JournalEntry): boolean {
  return !entry.source.startsWith('scenario:');
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
  private constructor(
    private readonly recording: Recording,
    private readonly session: ReplaySession,
    private readonly meter: OutcomeMeter,
    readonly handoverMs: number,
    private readonly behaviours: Behaviours,
    private readonly model: CostModel,
    private readonly ledger: Ledger | undefined,
  ) {}

  /** Replays the recording up to `handoverMs` (batch) and hands over. */
  static async start(options: { recording: Recording; behaviours: Behaviours; handoverMs: number; costModel?: CostModel; ledger?: Ledger; trainer?: string }): Promise<TrainingExercise> {
    const { recording, handoverMs } = options;
    if (!(handoverMs >= 0 && handoverMs <= recording.meta.untilMs)) throw new ValidationError('training', [{ path: '$.handover', reason: `must be within the recording (0–${recording.meta.untilMs / 1000} s)` }]);
    const keep = recording.entries.map((e) => !(isDecision(e) && e.time >= handoverMs));
    const incident: Recording = {
      dir: recording.dir,
      meta: { ...recording.meta, feedAfter: recording.meta.feedAfter.filter((_, i) => keep[i]), checkpoints: [] },
      entries: recording.entries.filter((_, i) => keep[i]),
    };
    const session = await ReplaySession.open(incident, options.behaviours);
    const meter = OutcomeMeter.attach(session.current, options.costModel ?? DEFAULT_COST_MODEL);
    await session.runTo(handoverMs);
    options.ledger?.append('training', options.trainer ?? 'trainer', 'trainer', { event: 'handover', recording: recording.meta.id, handoverMs });
    return new TrainingExercise(recording, session, meter, handoverMs, options.behaviours, options.costModel ?? DEFAULT_COST_MODEL, options.ledger);
  }

  get engine(): Engine {
    return this.session.current;
  }

  /** Advances the exercise (batch) to `ms`; the incident's inputs are fed on the way. */
  async runTo(ms: number): Promise<void> {
    await this.session.runTo(Math.min(ms, this.recording.meta.untilMs));
  }

  /** A trainee's action, effective now (or at `atMs` if later). Validated; journalled and ledgered. */
  act(command: InputCommand, trainee: string, atMs?: number): JournalEntry {
    const entry = this.engine.submit(command, { ...(atMs === undefined ? {} : { at: atMs / 1000 }), source: `trainee:${trainee}` });
    if (entry === undefined) throw new ValidationError('training', [{ path: '$', reason: 'duplicate input' }]);
    this.traineeDecisions.push(decisionOf(entry));
    this.ledger?.append('training', trainee, 'trainee', { event: 'decision', recording: this.recording.meta.id, timeMs: entry.time, command });
    return entry;
  }

  /** Runs to the end of the recording and scores the trainees against the recorded run. */
  async finish(): Promise<TrainingReport> {
    const untilMs = this.recording.meta.untilMs;
    await this.session.runTo(untilMs);
    const trainee = this.meter.outcome(untilMs);
    const recorded = await recordedOutcome(this.recording, this.behaviours, this.model);
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
    this.ledger?.append('training', 'trainer', 'trainer', { event: 'score', recording: this.recording.meta.id, score, cost: { recorded: a, trainee: b } });
    return report;
  }
}

/** The recorded run's outcome, measured by replaying it (the meta's outcome may use another cost model). */
export async function recordedOutcome(recording: Recording, behaviours: Behaviours, model: CostModel = DEFAULT_COST_MODEL): Promise<Outcome> {
  const session = await ReplaySession.open(recording, behaviours);
  const meter = OutcomeMeter.attach(session.current, model);
  await session.runTo(recording.meta.untilMs);
  const outcome = meter.outcome(recording.meta.untilMs);
  await session.close();
  return outcome;
}
