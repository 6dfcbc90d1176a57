import type { Behaviour, BehaviourSet, StepContext } from './behaviour.ts';
import type { CityIndex } from './city-index.ts';
import { DivergenceError } from './errors.ts';
import { CauseCode, MessageKind, type ActorView, type SimMessage, type StateChange } from './protocol.ts';
import { Rng, mixSeed } from './rng.ts';
import type { StateChangeStream } from './stream.ts';
import { TimeQueue } from './time-queue.ts';

/** The actors due in one round of one instant, ascending, each with its batch in (time, seq) order. */
export interface Round {
  readonly now: number;
  readonly number: number;
  readonly actors: Int32Array;
  readonly batches: readonly SimMessage[][];
}

/** Runs the transitions of one round. The live driver uses nact actors; the batch driver calls them directly. */
export interface Driver {
  readonly name: 'nact' | 'direct';
  /** Creates the actors (after the kernel has computed every initial state). */
  start(kernel: Kernel): Promise<void>;
  /** Runs every batch of the round; each actor reports through `kernel.complete`. */
  runRound(round: Round): Promise<void> | void;
  stop(): Promise<void>;
}

/** A crash that supervision escalated: the actor was taken out of service. Nothing is dropped silently. */
export interface EscalatedCrash {
  readonly actor: number;
  readonly time: number;
  readonly error: string;
  readonly batch: readonly SimMessage[];
}

export interface SupervisionPolicy {
  /** Crashes allowed within the window before escalating. */
  readonly maxRestarts: number;
  /** Window in virtual ms. */
  readonly windowMs: number;
}

/**
 * The kernel's whole state between instants, for a snapshot: committed actor states (each as its
 * behaviour's `snapshot` gives it), the clock, the scheduler's message sequence, the messages
 * waiting on the virtual clock (6 numbers each: to, from, kind, value, aux, seq, bucket by bucket in
 * delivery order) and supervision. Views are not kept: they are `view(state)`.
 */
export interface KernelSnapshot {
  readonly states: unknown[];
  readonly messageSeq: number;
  readonly currentTime: number;
  readonly processedUntil: number;
  readonly queueTimes: Float64Array;
  /** Messages per bucket of `queueTimes`. */
  readonly queueCounts: Uint32Array;
  readonly queueMessages: Float64Array;
  readonly crashes: [number, number[]][];
  readonly escalations: EscalatedCrash[];
  readonly faulted: number[];
  readonly parkedMessages: number;
  readonly deliveries: number;
  readonly instants: number;
  readonly rounds: number;
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = { maxRestarts: 3, windowMs: 60_000 };

/** Largest number of rounds one instant may take before the engine calls it a zero-delay loop. */
const MAX_ROUNDS_PER_INSTANT = 100_000;

interface Outcome {
  state: unknown;
  outbox: SimMessage[];
}

/**
 * The simulation kernel: committed actor state, the virtual clock and the (time, seq) scheduler. It
 * is driver-agnostic: a round's outputs are routed and its state changes published in ascending
 * actor order after the whole round completed, so the nact driver (whose actors finish in any
 * order) and the direct driver produce the same stream byte for byte.
 */
export class Kernel {
  readonly index: CityIndex;
  readonly seed: number;
  /** Last committed state per actor. A crashed actor restarts from here. */
  readonly states: unknown[];
  private readonly behaviours: Behaviour[];
  /** The last published view of each actor (immutable objects, shared with the stream's events). */
  private readonly views: ActorView[];

  private queue = new TimeQueue<SimMessage>();
  private pendingByActor: (SimMessage[] | undefined)[];
  private messageSeq = 0;
  private currentTime = 0;
  /** Virtual time up to which everything has been processed. */
  private processedUntil = -1;
  private outcomes: (Outcome | undefined)[] = [];
  private readonly crashes = new Map<number, number[]>();
  /** One reusable step context: a step runs synchronously to its end, so no two steps ever share it. */
  private readonly context: KernelStepContext;
  readonly escalations: EscalatedCrash[] = [];
  /** Actors out of service after an escalated crash: their batches are set aside until an operator restores them. */
  private readonly faulted = new Set<number>();
  /** Messages that reached a faulted actor, counted (the batches themselves are in `escalations`' wake). */
  private parkedMessages = 0;
  private deliveries = 0;
  private instants = 0;
  private rounds = 0;

  constructor(
    index: CityIndex,
    behaviourSet: BehaviourSet,
    seed: number,
    readonly stream: StateChangeStream,
    readonly supervision: SupervisionPolicy = DEFAULT_SUPERVISION,
  ) {
    this.index = index;
    this.seed = seed >>> 0;
    const n = index.actorCount;
    this.behaviours = new Array<Behaviour>(n);
    this.states = new Array<unknown>(n);
    this.views = new Array<ActorView>(n);
    this.pendingByActor = new Array<SimMessage[] | undefined>(n);
    this.context = new KernelStepContext(index, this.seed);
    for (let a = 0; a < n; a++) {
      const behaviour = behaviourSet.behaviourOf(a);
      this.behaviours[a] = behaviour;
      const state = behaviour.init(a, index);
      this.states[a] = state;
      this.views[a] = behaviour.view(state);
    }
    for (const a of behaviourSet.starters(index)) this.schedule(a, -1, MessageKind.Start, 0, 0, 0);
  }

  /** The virtual clock in ms: the instant being processed, or the time run to. */
  get now(): number {
    return this.currentTime;
  }

  /** Everything at or before this virtual time has been processed; inputs must come later. */
  get settledUntil(): number {
    return this.processedUntil;
  }

  /** Messages waiting on the virtual clock. */
  get queueDepth(): number {
    return this.queue.size;
  }

  get counters(): { deliveries: number; instants: number; rounds: number; messages: number; parked: number } {
    return { deliveries: this.deliveries, instants: this.instants, rounds: this.rounds, messages: this.messageSeq, parked: this.parkedMessages };
  }

  behaviourOf(actor: number): Behaviour {
    return this.behaviours[actor]!;
  }

  view(actor: number): ActorView {
    return this.views[actor]!;
  }

  statusOf(actor: number): number {
    return this.views[actor]!.status;
  }

  /**
   * Puts a message on the virtual clock. Inputs from outside come through the engine's journal,
   * which calls this with `from = -1`.
   */
  schedule(to: number, from: number, kind: MessageKind, value: number, aux: number, time: number): SimMessage {
    if (time <= this.processedUntil) {
      throw new RangeError(`cannot schedule at ${time} ms: the clock has settled up to ${this.processedUntil} ms`);
    }
    const message: SimMessage = { to, from, kind, value, aux, seq: this.messageSeq++ };
    this.queue.push(time, message);
    return message;
  }

  /** Time of the next instant with work, if any. */
  nextInstant(): number | undefined {
    return this.queue.peekTime();
  }

  /**
   * Processes every instant up to and including `untilMs`, then sets the clock to `untilMs`.
   * Between instants nothing happens, so the clock may jump. `afterInstant` runs after each instant
   * settles and before the next one starts (the engine schedules inputs that arrived meanwhile).
   */
  async runUntil(driver: Driver, untilMs: number, afterInstant?: () => void): Promise<void> {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > untilMs) break;
      await this.runInstant(driver);
      afterInstant?.();
    }
    if (untilMs > this.currentTime) this.currentTime = untilMs;
    if (untilMs > this.processedUntil) this.processedUntil = untilMs;
  }

  /** Processes the earliest instant completely (all its rounds). Returns false when nothing waits. */
  async runInstant(driver: Driver): Promise<boolean> {
    const bucket = this.queue.popBucket();
    if (bucket === undefined) return false;
    this.currentTime = bucket.time;
    this.instants++;
    let messages = bucket.items;
    let roundNumber = 0;
    while (messages.length > 0) {
      if (roundNumber >= MAX_ROUNDS_PER_INSTANT) {
        throw new DivergenceError(
          `instant ${bucket.time} ms did not settle after ${MAX_ROUNDS_PER_INSTANT} rounds: a zero-latency message loop (give the dependencies a latency)`,
        );
      }
      const round = this.groupRound(messages, roundNumber);
      this.outcomes = new Array<Outcome | undefined>(round.actors.length);
      const running = driver.runRound(round);
      if (running !== undefined) await running;
      messages = this.finishRound(round);
      roundNumber++;
      this.rounds++;
    }
    this.processedUntil = bucket.time;
    return true;
  }

  private groupRound(messages: SimMessage[], roundNumber: number): Round {
    const pending = this.pendingByActor;
    const touched: number[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const batch = pending[m.to];
      if (batch === undefined) {
        pending[m.to] = [m];
        touched.push(m.to);
      } else {
        batch.push(m);
      }
    }
    this.deliveries += messages.length;
    const actors = Int32Array.from(touched).sort();
    const batches = new Array<SimMessage[]>(actors.length);
    for (let k = 0; k < actors.length; k++) {
      const a = actors[k]!;
      batches[k] = pending[a]!;
      pending[a] = undefined;
    }
    return { now: this.currentTime, number: roundNumber, actors, batches };
  }

  /**
   * Runs one actor's transition on its committed state (the direct driver) or on the state nact
   * holds (the live driver; the same object). Pure: throws on a behaviour error, commits nothing.
   */
  step(actor: number, state: unknown, batch: readonly SimMessage[], roundNumber: number): Outcome {
    if (this.faulted.has(actor)) {
      // Out of service: only an operator restore brings the behaviour back; the rest is parked.
      if (!batch.some((m) => m.kind === MessageKind.Restore)) {
        this.parkedMessages += batch.length;
        return { state, outbox: NO_MESSAGES };
      }
      this.faulted.delete(actor);
    }
    const ctx = this.context;
    ctx.reset(actor, this.currentTime, roundNumber);
    const next = this.behaviours[actor]!.step(state, batch, ctx);
    return { state: next, outbox: ctx.take() };
  }

  /** Records the outcome of slot `k` of the current round. Routing happens when the round ends. */
  complete(k: number, actor: number, outcome: Outcome): void {
    this.states[actor] = outcome.state;
    this.outcomes[k] = outcome;
  }

  /**
   * Supervision decision for a crash of `actor` at the current instant: `restart` (reset from the
   * last committed state and retry the batch) while restarts within the window stay under the
   * limit, else `escalate`.
   */
  onCrash(actor: number): 'restart' | 'escalate' {
    const now = this.currentTime;
    const history = (this.crashes.get(actor) ?? []).filter((t) => t > now - this.supervision.windowMs);
    history.push(now);
    this.crashes.set(actor, history);
    return history.length > this.supervision.maxRestarts ? 'escalate' : 'restart';
  }

  /** Escalated crash: the actor leaves service (status faulted), keeping the rest of its state. */
  fault(k: number, actor: number, batch: readonly SimMessage[], error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.escalations.push({ actor, time: this.currentTime, error: message, batch });
    this.faulted.add(actor);
    const cause = { code: CauseCode.Crash, from: actor, seq: batch[0]?.seq ?? -1, time: this.currentTime };
    const faulted = this.behaviours[actor]!.fault(this.states[actor], cause);
    this.complete(k, actor, { state: faulted, outbox: [] });
  }

  private finishRound(round: Round): SimMessage[] {
    const next: SimMessage[] = [];
    const now = this.currentTime;
    for (let k = 0; k < round.actors.length; k++) {
      const actor = round.actors[k]!;
      const outcome = this.outcomes[k];
      if (outcome === undefined) throw new Error(`kernel: actor ${actor} did not complete round ${round.number}`);
      const outbox = outcome.outbox;
      for (let i = 0; i < outbox.length; i++) {
        const m = outbox[i]!;
        const delay = m.seq;
        m.seq = this.messageSeq++;
        if (delay <= 0) next.push(m);
        else this.queue.push(now + delay, m);
      }
      this.publishIfChanged(actor, outcome.state);
    }
    this.outcomes = [];
    return next;
  }

  /**
   * The kernel's state for a snapshot. Only between instants (the engine calls it when idle). Actor
   * states are immutable, so they are taken by reference; the queue is copied.
   */
  snapshot(): KernelSnapshot {
    if (this.outcomes.length > 0) throw new Error('kernel: a snapshot is taken between instants only');
    const buckets = this.queue.entries();
    const queueTimes = new Float64Array(buckets.length);
    const queueCounts = new Uint32Array(buckets.length);
    const queueMessages = new Float64Array(this.queue.size * 6);
    let o = 0;
    for (let b = 0; b < buckets.length; b++) {
      const { time, items } = buckets[b]!;
      queueTimes[b] = time;
      queueCounts[b] = items.length;
      for (const m of items) {
        queueMessages[o++] = m.to;
        queueMessages[o++] = m.from;
        queueMessages[o++] = m.kind;
        queueMessages[o++] = m.value;
        queueMessages[o++] = m.aux;
        queueMessages[o++] = m.seq;
      }
    }
    const states = new Array<unknown>(this.states.length);
    for (let a = 0; a < states.length; a++) {
      const behaviour = this.behaviours[a]!;
      states[a] = behaviour.snapshot === undefined ? this.states[a] : behaviour.snapshot(this.states[a]);
    }
    return {
      states,
      messageSeq: this.messageSeq,
      currentTime: this.currentTime,
      processedUntil: this.processedUntil,
      queueTimes,
      queueCounts,
      queueMessages,
      crashes: [...this.crashes].map(([actor, times]) => [actor, [...times]]),
      escalations: [...this.escalations],
      faulted: [...this.faulted],
      parkedMessages: this.parkedMessages,
      deliveries: this.deliveries,
      instants: this.instants,
      rounds: this.rounds,
    };
  }

  /**
   * Replaces a fresh kernel's state with a snapshot's (before any instant ran; the engine restarts
   * its driver afterwards). Checks the shape first and changes nothing when it does not fit.
   */
  restore(saved: KernelSnapshot): void {
    if (this.instants !== 0) throw new Error('kernel: restore needs a fresh kernel');
    const n = this.states.length;
    if (saved.states.length !== n) throw new RangeError(`kernel snapshot: ${saved.states.length} actor states, this city has ${n} actors`);
    if (saved.queueTimes.length !== saved.queueCounts.length || saved.queueMessages.length !== 6 * saved.queueCounts.reduce((sum, c) => sum + c, 0)) throw new RangeError('kernel snapshot: the message queue is inconsistent');
    const states = new Array<unknown>(n);
    for (let a = 0; a < n; a++) {
      const behaviour = this.behaviours[a]!;
      states[a] = behaviour.restore === undefined ? saved.states[a] : behaviour.restore(saved.states[a], a, this.index);
    }
    const queue = new TimeQueue<SimMessage>();
    const q = saved.queueMessages;
    let o = 0;
    for (let b = 0; b < saved.queueTimes.length; b++) {
      const time = saved.queueTimes[b]!;
      for (let k = 0; k < saved.queueCounts[b]!; k++, o += 6) queue.push(time, { to: q[o]!, from: q[o + 1]!, kind: q[o + 2]! as MessageKind, value: q[o + 3]!, aux: q[o + 4]!, seq: q[o + 5]! });
    }
    for (let a = 0; a < n; a++) {
      this.states[a] = states[a];
      this.views[a] = this.behaviours[a]!.view(states[a]);
    }
    this.queue = queue;
    this.messageSeq = saved.messageSeq;
    this.currentTime = saved.currentTime;
    this.processedUntil = saved.processedUntil;
    this.crashes.clear();
    for (const [actor, times] of saved.crashes) this.crashes.set(actor, [...times]);
    this.escalations.length = 0;
    this.escalations.push(...saved.escalations);
    this.faulted.clear();
    for (const actor of saved.faulted) this.faulted.add(actor);
    this.parkedMessages = saved.parkedMessages;
    this.deliveries = saved.deliveries;
    this.instants = saved.instants;
    this.rounds = saved.rounds;
  }

  private publishIfChanged(actor: number, state: unknown): void {
    const behaviour = this.behaviours[actor]!;
    const after = behaviour.view(state);
    const before = this.views[actor]!;
    if (after.status === before.status && after.level === before.level && after.load === before.load && after.stress === before.stress) {
      return;
    }
    this.views[actor] = after;
    const change: StateChange = {
      time: this.currentTime,
      seq: this.stream.allocateSeq(),
      actor,
      before,
      after,
      cause: behaviour.cause(state),
    };
    this.stream.publish(change);
  }

}


const NO_MESSAGES: SimMessage[] = [];

/**
 * The context a behaviour sees during one step. Reused across steps to keep the hot path free of
 * per-step closures; `take()` hands over the messages sent during the step.
 */
class KernelStepContext implements StepContext {
  now = 0;
  self = 0;
  private round = 0;
  private outbox: SimMessage[] = NO_MESSAGES;
  private rng: Rng | undefined;

  constructor(
    readonly index: CityIndex,
    private readonly seed: number,
  ) {}

  reset(self: number, now: number, round: number): void {
    this.self = self;
    this.now = now;
    this.round = round;
    this.outbox = NO_MESSAGES;
    this.rng = undefined;
  }

  /** Seeded by (run seed, actor, instant, round): a retried batch draws the same numbers. */
  random(): number {
    this.rng ??= new Rng(mixSeed(mixSeed(this.seed, this.self), mixSeed(this.now, this.round)));
    return this.rng.next();
  }

  send(to: number, kind: MessageKind, value: number, aux: number, delayMs: number): void {
    if (this.outbox === NO_MESSAGES) this.outbox = [];
    // Until routed, `seq` carries the delay: it saves an allocation per message on the hot path.
    this.outbox.push({ to, from: this.self, kind, value, aux, seq: delayMs });
  }

  take(): SimMessage[] {
    const out = this.outbox;
    this.outbox = NO_MESSAGES;
    return out;
  }
}
