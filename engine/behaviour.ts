import type { CityIndex } from './city-index.ts';
import type { ActorView, Cause, MessageKind, SimMessage } from './protocol.ts';

/**
 * What a behaviour may do while handling one batch. Time is the scheduler's virtual clock; randomness
 * comes only from `random()`, which is seeded by (run seed, actor, instant, round) so that re-running
 * a batch after a crash draws the same numbers.
 */
export interface StepContext {
  /** Virtual time of this instant, in ms. */
  readonly now: number;
  /** The actor's own index. */
  readonly self: number;
  readonly index: CityIndex;
  /** A deterministic random float in [0, 1). */
  random(): number;
  /** Sends a message, delivered `delayMs` later on the virtual clock (0 = the next round of this instant). */
  send(to: number, kind: MessageKind, value: number, aux: number, delayMs: number): void;
}

/**
 * A behaviour is a pure transition plus a view. The engine owns the state: it commits what `step`
 * returns and, after a crash, resets the actor to the last committed state. `step` must not mutate
 * its input state (copy on write) and must not read clocks or global randomness.
 */
export interface Behaviour<S = unknown> {
  /** The initial state of actor `actor`. */
  init(actor: number, index: CityIndex): S;
  /** Handles all messages due for this actor at one instant, in (time, seq) order. */
  step(state: S, batch: readonly SimMessage[], ctx: StepContext): S;
  /** What the outside world sees. Called after every step; a change becomes a stream event. */
  view(state: S): ActorView;
  /** The state after supervision gave up on the actor: out of service (status faulted) with this cause. */
  fault(state: S, cause: Cause): S;
  /** Why the actor is out of service, if it is. */
  cause(state: S): Cause | null;
  /** A JSON-friendly description of the state for inspectors. */
  describe(state: S, index: CityIndex): Record<string, unknown>;
  /**
   * Optional: what an engine snapshot stores of the state (default: the state itself, which must
   * then be plain data — objects, arrays, typed arrays, numbers, strings, booleans, null). Drop what
   * `init` rebuilds from the city (shared graphs); `restore` puts it back.
   */
  snapshot?(state: S): unknown;
  /** Optional: the state back from what `snapshot` stored. */
  restore?(saved: unknown, actor: number, index: CityIndex): S;
}

/** Maps every actor index to its behaviour. Provided by actors/; the engine never imports it. */
export interface BehaviourSet {
  behaviourOf(actor: number): Behaviour;
  /** Actors that receive a Start message at the first instant (e.g. the layer solvers). */
  starters(index: CityIndex): Iterable<number>;
}
