import {
  ConflictError,
  parseCommand,
  Status,
  STATUS_NAMES,
  ValidationError,
  type Engine,
  type InputCommand,
  type JournalEntry,
  type RealtimeRunner,
} from '../../engine/index.ts';
import { expandScenario, type ExpandedEvent, type Scenario } from '../../scenarios/index.ts';
import type { AuditLog, TallyCounter } from './audit.ts';
import { fastTelemetry } from './door-fast.ts';
import { can, type Principal, type Right } from './auth.ts';
import { ForbiddenError, InvalidError, NotFoundError, toReply, UnauthorizedError } from './errors.ts';
import { clockRequestSchema, shareSchema, type ClockInfo, type ClockRequest } from '../protocol.ts';
import { zodProblems } from '../../engine/index.ts';
import type { z } from 'zod';

/** Operator actions: validated against the live state (and the guard policy) before they are journalled. */
export const OPERATOR_ACTIONS = ['isolate', 'restore', 'repair', 'shed'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];
/** Input command types that are operator actions whatever door they come through. */
const OPERATOR_COMMANDS = new Set<string>([...OPERATOR_ACTIONS, 'reroute']);

/** Whether an input command is an operator action (and so goes through the guard policy and the live-state checks). */
export function isOperatorCommand(command: InputCommand): command is Extract<InputCommand, { type: OperatorAction | 'reroute' }> {
  return OPERATOR_COMMANDS.has(command.type);
}

/** The guard policy: an operator action that needs a second person's approval (scenarios `ActionGuard`). */
export interface GuardPolicy {
  isGuarded(command: InputCommand): boolean;
}

/**
 * Bounds on the work one request may cause (documented in the README, "Limits"). A scenario is
 * checked against them after parsing and before it is expanded, so a refused one costs nothing.
 */
export interface DoorLimits {
  /** Events in one scenario document. */
  readonly maxScenarioEvents: number;
  /** Hours from the scenario's start to any event time, track point, profile point or duration. */
  readonly maxScenarioHours: number;
  /** Storm-track samples of one storm event ((last hour − first hour) × 60 / stepMinutes + 1). */
  readonly maxTrackSteps: number;
  /** Storm-track samples × assets, summed over the storms of a scenario (the expansion's cost, ~0.1 µs each). */
  readonly maxExpansionWork: number;
  /** Inputs one scenario may expand to (affected assets per request). */
  readonly maxScenarioInputs: number;
}

export const DEFAULT_DOOR_LIMITS: DoorLimits = {
  maxScenarioEvents: 1_000,
  maxScenarioHours: 720,
  maxTrackSteps: 2_000,
  maxExpansionWork: 10_000_000,
  maxScenarioInputs: 50_000,
};

/** The limits from the environment (`STRATUM_MAX_SCENARIO_EVENTS`, …); a bad value is a start-up error naming it. */
export function doorLimitsFromEnv(env: NodeJS.ProcessEnv): DoorLimits {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got "${raw}"`);
    return value;
  };
  return {
    maxScenarioEvents: read('STRATUM_MAX_SCENARIO_EVENTS', DEFAULT_DOOR_LIMITS.maxScenarioEvents),
    maxScenarioHours: read('STRATUM_MAX_SCENARIO_HOURS', DEFAULT_DOOR_LIMITS.maxScenarioHours),
    maxTrackSteps: read('STRATUM_MAX_TRACK_STEPS', DEFAULT_DOOR_LIMITS.maxTrackSteps),
    maxExpansionWork: read('STRATUM_MAX_SCENARIO_WORK', DEFAULT_DOOR_LIMITS.maxExpansionWork),
    maxScenarioInputs: read('STRATUM_MAX_SCENARIO_INPUTS', DEFAULT_DOOR_LIMITS.maxScenarioInputs),
  };
}

/** Parses with one of the protocol's schemas; a failure is a 400 naming the fields. */
function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(what, zodProblems(parsed.error));
  return parsed.data;
}

/** What an ingest adapter (Kafka) needs of the door. */
export interface IngestDoor {
  submitBatch(
    commands: readonly InputCommand[],
    options: { source: string; sourceSeqs: readonly number[] },
    rejected?: (position: number, error: unknown) => void,
  ): { accepted: number; duplicates: number };
}

/**
 * The batch step of the door (`Control.submitBatch`; an ingest process without a server calls it
 * with no guard): inputs already parsed with the command schema, the guard policy per input (a
 * guarded operator action goes to `rejected` with a 409 reason), then one journal append.
 */
export function admitBatch(
  engine: Engine,
  guard: GuardPolicy | undefined,
  commands: readonly InputCommand[],
  options: { source: string; sourceSeqs: readonly number[] },
  rejected?: (position: number, error: unknown) => void,
  /** The door's checks of an operator action (guard policy, live state); absent: the guard alone. */
  checkOperator?: (command: Extract<InputCommand, { type: OperatorAction | 'reroute' }>) => void,
): { accepted: number; duplicates: number } {
  let positions: number[] | undefined;
  if (guard !== undefined || checkOperator !== undefined) {
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      if (command.type === 'telemetry' || !isOperatorCommand(command)) {
        positions?.push(i);
        continue;
      }
      try {
        if (checkOperator !== undefined) checkOperator(command);
        else if (guard!.isGuarded(command)) throw new ConflictError(`${command.type} on "${command.target}" is guarded: request it at POST /api/actions/request; a second role approves it`);
        positions?.push(i);
      } catch (error) {
        positions ??= Array.from({ length: i }, (_, k) => k);
        rejected?.(i, error);
      }
    }
  }
  if (positions === undefined) return engine.submitBatch(commands, options, rejected);
  const kept = positions;
  return engine.submitBatch(kept.map((i) => commands[i]!), { source: options.source, sourceSeqs: kept.map((i) => options.sourceSeqs[i]!) }, (k, error) => rejected?.(kept[k]!, error));
}

interface CallerDoor {
  readonly submitOptions: { readonly source: string };
  readonly telemetry: TallyCounter;
}

/**
 * The one door: every input from outside reaches `Engine.submit` / `submitBatch` through this class
 * and nowhere else in gateways/ (eslint forbids the calls elsewhere; see gateways/door/CONTEXT.md "The
 * one door"). Each input passes the same pipeline whatever its transport: parse (one zod schema per
 * input kind, gateways/protocol.ts and the engine's command schema), authorise by role, the guard
 * policy (a guarded operator action is a 409 through every door; it goes through request/approve),
 * the live-state preconditions, audit, journal, acknowledge. Rate limits are the transports' (HTTP:
 * per token or client address; sockets: per token) and run before the door. A refused input
 * changes nothing.
 */
export class Control {
  /**
   * While the audit entry of an accepted synchronous action is recorded: the journal positions the
   * action added ([from, to)), so an audit listener (the ledger) can name exactly its inputs.
   */
  actionJournalled: { readonly from: number; readonly to: number } | undefined;
  /** Called after every accepted input with its virtual time (ms; the earliest of several): the server expedites the frame that shows it. */
  onAccepted: ((atMs: number) => void) | undefined;
  /** Guarded operator actions (set by the scenario routes, which own the ledger-backed guard). */
  guard: GuardPolicy | undefined;
  /** Where a guarded action is requested instead (named in the 409). */
  guardRequestAt = 'POST /api/actions/request';

  constructor(
    readonly engine: Engine,
    readonly runner: RealtimeRunner,
    readonly audit: AuditLog,
    readonly limits: DoorLimits = DEFAULT_DOOR_LIMITS,
    /** Expands admitted scenarios off the event loop (a worker thread); absent: on the loop (tests, sessions). */
    readonly expander?: { expand(scenario: Scenario): Promise<ExpandedEvent[]> },
  ) {}

  clockInfo(): ClockInfo {
    return { virtualMs: this.engine.now, speed: this.runner.currentSpeed, paused: this.runner.isPaused, wallMs: Date.now() };
  }

  /** Runs `fn` as an audited mutation (`recordAccepted: false`: only a refusal is recorded; the caller records the outcome). */
  audited<T>(principal: Principal | undefined, via: string, action: string, target: string | null, right: Right, fn: () => T, recordAccepted = true): T {
    try {
      this.authorise(principal, right);
      const from = this.engine.journal.length;
      const result = fn();
      if (recordAccepted) {
        // `fn` runs synchronously: the journal positions it added are this action's inputs, whatever
        // other sources (Kafka, the estimator) journal between two actions.
        this.actionJournalled = { from, to: this.engine.journal.length };
        try {
          this.recordOk(principal!, via, action, target);
        } finally {
          this.actionJournalled = undefined;
        }
      }
      return result;
    } catch (error) {
      this.recordRefusal(principal, via, action, target, error);
      throw error;
    }
  }

  /** `audited` for an asynchronous mutation: the right is checked first, the entry is written once it settles. */
  async auditedAsync<T>(principal: Principal | undefined, via: string, action: string, target: string | null, right: Right, fn: () => Promise<T>): Promise<T> {
    try {
      this.authorise(principal, right);
      const result = await fn();
      this.recordOk(principal!, via, action, target);
      return result;
    } catch (error) {
      this.recordRefusal(principal, via, action, target, error);
      throw error;
    }
  }

  private authorise(principal: Principal | undefined, right: Right): void {
    if (principal === undefined) throw new UnauthorizedError();
    if (!can(principal, right)) throw new ForbiddenError(principal.name, principal.role, right);
  }

  private recordOk(principal: Principal, via: string, action: string, target: string | null): void {
    this.audit.record({ virtualMs: this.engine.now, who: principal.name, role: principal.role, via, action, target, result: 'ok', status: 200 });
  }

  private recordRefusal(principal: Principal | undefined, via: string, action: string, target: string | null, error: unknown): void {
    const { status, reply } = toReply(error);
    this.audit.record({
      virtualMs: this.engine.now,
      who: principal?.name ?? 'anonymous',
      role: principal?.role ?? 'none',
      via,
      action,
      target,
      result: reply.code,
      status,
      detail: reply.message.slice(0, 500),
    });
  }

  /**
   * Any input command from outside (HTTP `POST /api/inject`, the Socket.io `command` event): parsed
   * with the engine's one command schema. An operator action (isolate, restore, repair, shed,
   * reroute) is an operator action whatever door and role it comes with: it takes the operator
   * path (guard policy, live-state checks, ledgered as `operator-action`) and needs the `operate`
   * or the `inject` right; every other command needs `inject`.
   */
  command(principal: Principal | undefined, body: unknown, via: string): JournalEntry {
    // The hot path (a valid telemetry reading from a caller with the inject right) skips the
    // schema's general machinery: door-fast.ts takes only what the schema accepts, as it would
    // parse it. Anything else is parsed with the schema.
    let command: InputCommand | undefined = principal !== undefined && can(principal, 'inject') ? fastTelemetry(body) : undefined;
    if (command === undefined) {
      const target = typeof body === 'object' && body !== null && 'target' in body && typeof body.target === 'string' ? body.target.slice(0, 200) : null;
      const type = typeof body === 'object' && body !== null && 'type' in body && typeof body.type === 'string' ? body.type.slice(0, 40) : 'unknown';
      // Parsed before the role is checked: the right needed depends on the command's type, and every
      // door then answers a bad body with the same 400 whoever sends it.
      command = this.audited(principal, via, OPERATOR_COMMANDS.has(type) ? type : `inject.${type}`, target, 'read', () => parseCommand(body, `${via} command`), false);
    }
    const parsed = command;
    // Accepted telemetry is counted in the audit, not an entry per reading (audit.ts says why).
    if (parsed.type === 'telemetry' && can(principal!, 'inject')) return this.acceptTelemetry(principal!, parsed, via);
    return this.audited(principal, via, OPERATOR_COMMANDS.has(parsed.type) ? parsed.type : `inject.${parsed.type}`, parsed.target.slice(0, 200), 'read', () => {
      const operator = isOperatorCommand(parsed);
      const right: Right = operator && can(principal!, 'operate') ? 'operate' : 'inject';
      if (!can(principal!, right)) throw new ForbiddenError(principal!.name, principal!.role, right);
      if (!operator) return this.submit(principal!, parsed, via);
      if (parsed.type === 'reroute') return this.rerouteChecked(principal!, parsed.target, parsed.to, parsed.share, via);
      return this.operateChecked(principal!, parsed.type, parsed.target, parsed.type === 'shed' ? parsed.share : undefined, via);
    });
  }

  /** Raw input (injector): any command of the input schema. Same as `command`. */
  inject(principal: Principal | undefined, body: unknown, via: string): JournalEntry {
    return this.command(principal, body, via);
  }

  /**
   * Reroute: move a share of an asset's demand to a linked asset of its layer (closing a tie
   * switch). 409 unless both are in service, linked, and the source carries load.
   */
  reroute(principal: Principal | undefined, assetId: string, to: string, share: number, via: string): JournalEntry {
    return this.audited(principal, via, 'reroute', assetId, 'operate', () => this.rerouteChecked(principal!, assetId, to, share, via));
  }

  /** Operator action on one asset, checked against the guard policy and its live state (ConflictError → 409). */
  operate(principal: Principal | undefined, action: OperatorAction, assetId: string, share: number | undefined, via: string): JournalEntry {
    return this.audited(principal, via, action, assetId, 'operate', () => this.operateChecked(principal!, action, assetId, share, via));
  }

  /** Pause, resume or speed; `body` is parsed with the one clock schema after the right is checked (the right does not depend on it). */
  clock(principal: Principal | undefined, body: ClockRequest | unknown, via: string): ClockInfo {
    const action = typeof body === 'object' && body !== null && 'action' in body && typeof body.action === 'string' ? body.action.slice(0, 20) : 'unknown';
    return this.audited(principal, via, `clock.${action}`, null, 'clock', () => {
      const request = parseWith(clockRequestSchema, body, `${via} clock request`);
      if (request.action === 'pause') {
        if (this.runner.isPaused) throw new ConflictError('the clock is already paused');
        this.runner.pause();
      } else if (request.action === 'resume') {
        if (!this.runner.isPaused) throw new ConflictError('the clock is already running');
        this.runner.resume();
      } else {
        if (request.speed === undefined) throw new ConflictError('speed: a speed is required for action "speed"');
        this.runner.setSpeed(request.speed);
      }
      return this.clockInfo();
    });
  }

  /**
   * A scenario run: checked against the limits before it is expanded (400 naming the field and
   * the limit), expanded (off the event loop when the server gave an expander), every target
   * checked, then journalled from `startInSeconds` after the earliest time an input can take — all
   * or nothing. The caller audits (it knows the request) and ledgers.
   */
  async submitScenario(scenario: Scenario, startInSeconds: number, source: string): Promise<{ events: ExpandedEvent[]; entries: JournalEntry[]; startMs: number }> {
    this.checkScenarioLimits(scenario);
    const events = this.expander === undefined ? expandScenario(scenario, this.engine.index, this.engine.kernel.seed) : await this.expander.expand(scenario);
    if (events.length > this.limits.maxScenarioInputs) {
      throw new InvalidError(`scenario ${scenario.name} expands to ${events.length} inputs on this city; the limit is ${this.limits.maxScenarioInputs} (STRATUM_MAX_SCENARIO_INPUTS)`, [
        { path: 'body.events', reason: `expands to ${events.length} inputs, limit ${this.limits.maxScenarioInputs}` },
      ]);
    }
    const problems: { path: string; reason: string }[] = [];
    for (const event of events) {
      try {
        this.engine.targetsOf(event.command);
      } catch (error) {
        problems.push({ path: `$.events[${event.origin}].target`, reason: (error as Error).message });
      }
    }
    if (problems.length > 0) throw new ValidationError(`scenario ${scenario.name} (${scenario.source})`, problems);
    // The start is taken after the expansion (which may have waited for the worker): now, or later by startInSeconds.
    const startMs = this.engine.earliestInputTime() + startInSeconds * 1000;
    const entries: JournalEntry[] = [];
    for (const event of events) {
      const entry = this.engine.submit(event.command, { at: startMs / 1000 + event.at, source });
      if (entry !== undefined) entries.push(entry);
    }
    if (entries.length > 0) this.onAccepted?.(Math.min(...entries.map((e) => e.time)));
    return { events, entries, startMs };
  }

  /**
   * A guarded action approved by a second person (the caller checked the approval and audits). The
   * live state may have changed since the request: the preconditions are checked again now.
   */
  submitApproved(command: InputCommand, source: string): JournalEntry {
    if (isOperatorCommand(command)) {
      const actor = this.engine.index.indexOf(command.target);
      if (actor === undefined || actor >= this.engine.index.assetCount) throw new NotFoundError(`unknown asset "${command.target}"`);
      this.checkLiveState(actor, command.target, command.type === 'reroute' ? 'shed' : command.type);
    }
    const entry = this.engine.submit(command, { source });
    if (entry === undefined) throw new ConflictError('duplicate input');
    this.onAccepted?.(entry.time);
    return entry;
  }

  /**
   * A batch of inputs from another system (Kafka commands and telemetry), already parsed with the
   * command schema: an operator action passes the same checks as on its route — the guard policy
   * and the live-state preconditions (refused through `rejected` with the 404/409 reason) — then one
   * journal append.
   */
  submitBatch(
    commands: readonly InputCommand[],
    options: { source: string; sourceSeqs: readonly number[] },
    rejected?: (position: number, error: unknown) => void,
  ): { accepted: number; duplicates: number } {
    const atMs = this.engine.inputTimeNow();
    const result = admitBatch(this.engine, this.guard, commands, options, rejected, (command) => this.checkOperatorCommand(command));
    if (result.accepted > 0) this.onAccepted?.(atMs);
    return result;
  }

  private checkScenarioLimits(scenario: Scenario): void {
    const limits = this.limits;
    const refuse = (path: string, reason: string): never => {
      throw new InvalidError(`scenario ${scenario.name}: ${path}: ${reason}`, [{ path, reason }]);
    };
    if (scenario.events.length > limits.maxScenarioEvents) {
      refuse('body.events', `${scenario.events.length} events; the limit is ${limits.maxScenarioEvents} (STRATUM_MAX_SCENARIO_EVENTS)`);
    }
    const maxSeconds = limits.maxScenarioHours * 3600;
    const hours = `the limit is ${limits.maxScenarioHours} hours from the start (STRATUM_MAX_SCENARIO_HOURS)`;
    if (scenario.durationHours !== undefined && scenario.durationHours > limits.maxScenarioHours) refuse('body.durationHours', `${scenario.durationHours} hours; ${hours}`);
    let work = 0;
    const positioned = this.positionedAssets();
    scenario.events.forEach((event, k) => {
      const at = `body.events[${k}]`;
      if (event.at > maxSeconds) refuse(`${at}.at`, `${event.at} s; ${hours}`);
      if ('durationHours' in event && event.durationHours !== undefined && event.at + event.durationHours * 3600 > maxSeconds) refuse(`${at}.durationHours`, `ends after ${((event.at + event.durationHours * 3600) / 3600).toFixed(1)} hours; ${hours}`);
      if (event.type === 'heatwave') {
        event.profile.forEach((p, i) => {
          if (event.at + p.hour * 3600 > maxSeconds) refuse(`${at}.profile[${i}].hour`, `${p.hour}; ${hours}`);
        });
      }
      if (event.type === 'storm') {
        event.track.forEach((p, i) => {
          if (event.at + p.hour * 3600 > maxSeconds) refuse(`${at}.track[${i}].hour`, `${p.hour}; ${hours}`);
        });
        const first = event.track[0]!.hour;
        const last = event.track[event.track.length - 1]!.hour;
        const steps = Math.floor(((last - first) * 60) / event.stepMinutes) + 1;
        if (steps > limits.maxTrackSteps) {
          refuse(`${at}.stepMinutes`, `the track from hour ${first} to ${last} every ${event.stepMinutes} min is ${steps} steps; the limit is ${limits.maxTrackSteps} (STRATUM_MAX_TRACK_STEPS): shorten the track or raise stepMinutes`);
        }
        work += Math.max(0, steps) * positioned;
      }
    });
    if (work > limits.maxExpansionWork) {
      refuse('body.events', `the storm tracks cost ${work} samples × assets on this city; the limit is ${limits.maxExpansionWork} (STRATUM_MAX_SCENARIO_WORK): raise stepMinutes or shorten the tracks`);
    }
  }

  private positionedCount: number | undefined;
  private positionedAssets(): number {
    this.positionedCount ??= this.engine.index.city.assets.filter((a) => a.position !== null).length;
    return this.positionedCount;
  }

  private operateChecked(principal: Principal, action: OperatorAction, assetId: string, share: number | undefined, via: string): JournalEntry {
    if (share !== undefined) {
      const parsed = shareSchema.safeParse(share);
      if (!parsed.success) throw new InvalidError(`share: expected a finite number from 0 to 1, got ${String(share)}`, [{ path: 'share', reason: 'a finite number from 0 to 1' }]);
    }
    const command = action === 'shed' ? { type: 'shed' as const, target: assetId, share: share ?? 0.2 } : { type: action, target: assetId };
    this.checkOperatorCommand(command);
    return this.submit(principal, command, via);
  }

  private rerouteChecked(principal: Principal, assetId: string, to: string, share: number, via: string): JournalEntry {
    if (!shareSchema.safeParse(share).success) throw new InvalidError(`share: expected a finite number from 0 to 1, got ${String(share)}`, [{ path: 'share', reason: 'a finite number from 0 to 1' }]);
    const command = { type: 'reroute' as const, target: assetId, to, share };
    this.checkOperatorCommand(command);
    return this.submit(principal, command, via);
  }

  /**
   * The checks of an operator action after parsing, whatever its door: the target is an asset
   * (404, 409 for a cohort), the guard policy (409), the live state (409); for a reroute also the
   * link and the destination's state.
   */
  private checkOperatorCommand(command: Extract<InputCommand, { type: OperatorAction | 'reroute' }>): void {
    const index = this.engine.index;
    const assetId = command.target;
    if (command.type !== 'reroute') {
      const actor = index.indexOf(assetId);
      if (actor === undefined) throw new NotFoundError(`unknown asset "${assetId}"`);
      if (actor >= index.assetCount) throw new ConflictError(`"${assetId}" is a cohort; operator actions apply to assets`);
      this.checkGuard(command);
      this.checkLiveState(actor, assetId, command.type);
      return;
    }
    const to = command.to;
    const from = index.indexOf(assetId);
    const dest = index.indexOf(to);
    if (from === undefined || from >= index.assetCount) throw new NotFoundError(`unknown asset "${assetId}"`);
    if (dest === undefined || dest >= index.assetCount) throw new NotFoundError(`unknown asset "${to}"`);
    let linked = false;
    for (let k = index.links.offsets[from]!; k < index.links.offsets[from + 1]!; k++) linked ||= index.links.items[k] === dest;
    if (!linked) throw new ConflictError(`cannot reroute from "${assetId}" to "${to}": they are not linked (load moves only over a link of the layer)`);
    this.checkGuard(command);
    this.checkLiveState(from, assetId, 'shed');
    const target = this.engine.kernel.view(dest);
    if (target.status !== Status.Ok && target.status !== Status.Degraded) {
      throw new ConflictError(`cannot reroute to "${to}": it is ${STATUS_NAMES[target.status] ?? target.status}`);
    }
  }

  private checkGuard(command: InputCommand): void {
    if (this.guard?.isGuarded(command) === true) {
      throw new ConflictError(`${command.type} on "${command.target}" is guarded: request it at ${this.guardRequestAt}; a second role approves it`);
    }
  }

  private checkLiveState(actor: number, id: string, action: OperatorAction): void {
    const view = this.engine.kernel.view(actor);
    const status = STATUS_NAMES[view.status] ?? String(view.status);
    switch (action) {
      case 'isolate':
        if (view.status === Status.Isolated) throw new ConflictError(`cannot isolate "${id}": it is already isolated`);
        break;
      case 'restore':
        if (view.status === Status.Ok) throw new ConflictError(`cannot restore "${id}": it is ok (nothing to restore)`);
        break;
      case 'repair':
        if (view.status === Status.Ok || view.status === Status.Isolated) {
          throw new ConflictError(`cannot dispatch a repair to "${id}": it is ${status}${view.status === Status.Isolated ? ' (restore it instead)' : ''}`);
        }
        break;
      case 'shed':
        if (view.status !== Status.Ok && view.status !== Status.Degraded) throw new ConflictError(`cannot shed load at "${id}": it is ${status}`);
        if (!(view.load > 0)) throw new ConflictError(`cannot shed load at "${id}": it carries no load`);
        break;
    }
  }

  private submit(principal: Principal, command: InputCommand, via: string): JournalEntry {
    const entry = this.engine.submit(command, this.doorOf(principal, via).submitOptions);
    if (entry === undefined) throw new ConflictError('duplicate input (already journalled)');
    this.onAccepted?.(entry.time);
    return entry;
  }

  /** A parsed telemetry reading from a caller who may inject: journalled (the live-state check is the engine's: unknown target 404), counted in the audit; a refusal is an audit entry. */
  private acceptTelemetry(principal: Principal, command: InputCommand, via: string): JournalEntry {
    const door = this.doorOf(principal, via);
    let entry: JournalEntry | undefined;
    try {
      entry = this.engine.submit(command, door.submitOptions);
      if (entry === undefined) throw new ConflictError('duplicate input (already journalled)');
    } catch (error) {
      this.recordRefusal(principal, via, 'inject.telemetry', command.target.slice(0, 200), error);
      throw error;
    }
    door.telemetry.count(this.engine.now);
    this.onAccepted?.(entry.time);
    return entry;
  }

  /** Per caller and door, built once: the journal source (`via:name`), its submit options and the audit counter of accepted telemetry. */
  private readonly doors = new WeakMap<Principal, Map<string, CallerDoor>>();
  private doorOf(principal: Principal, via: string): CallerDoor {
    let byVia = this.doors.get(principal);
    if (byVia === undefined) this.doors.set(principal, (byVia = new Map()));
    let door = byVia.get(via);
    if (door === undefined) {
      door = { submitOptions: { source: `${via}:${principal.name}` }, telemetry: this.audit.tally(principal.name, principal.role, via, 'inject.telemetry') };
      // Bounded: a principal that sends through many vias (sessions come and go) starts afresh.
      if (byVia.size >= 64) byVia.clear();
      byVia.set(via, door);
    }
    return door;
  }
}
