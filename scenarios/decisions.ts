import { Engine, ValidationError, type CityIndex, type CityModel, type InputCommand, type JournalEntry, type RunSummary } from '../engine/index.ts';
import { OutcomeMeter, type CostModel, DEFAULT_COST_MODEL, type Outcome } from './economics.ts';
import type { Ledger } from './ledger.ts';
import type { Behaviours } from './recording.ts';

/**
 * Guarded operator actions and "what if" simulation.
 *
 * An admin marks action types (`isolate`, `shed`, …) or one action on one asset (`isolate:pw-tx-0`)
 * as guarded. A guarded action is only requested; it runs when a second person with a different
 * role approves it. Every mark, request, approval and rejection goes to the ledger.
 */
export interface PendingAction {
  readonly id: number;
  readonly command: InputCommand;
  readonly requestedBy: string;
  readonly role: string;
  readonly requestedAt: string;
  readonly reason: string;
}

export class GuardError extends Error {
  constructor(message: string, readonly code: 'not-found' | 'conflict' | 'forbidden') {
    super(message);
  }
}

export class ActionGuard {
  private readonly guarded = new Set<string>();
  private readonly pending = new Map<number, PendingAction>();
  private next = 1;

  constructor(private readonly ledger?: Ledger, readonly approverRoles: readonly string[] = ['operator', 'trainer', 'admin']) {}

  /** `key` is an action type or `action:assetId`. */
  setGuarded(key: string, guarded: boolean, who: string, role: string): void {
    if (guarded) this.guarded.add(key);
    else this.guarded.delete(key);
    this.ledger?.append('guard', who, role, { key, guarded });
  }

  list(): string[] {
    return [...this.guarded].sort();
  }

  isGuarded(command: InputCommand): boolean {
    return this.guarded.has(command.type) || this.guarded.has(`${command.type}:${command.target}`);
  }

  request(command: InputCommand, who: string, role: string, reason = ''): PendingAction {
    const p: PendingAction = { id: this.next++, command, requestedBy: who, role, requestedAt: new Date().toISOString(), reason };
    this.pending.set(p.id, p);
    this.ledger?.append('approval-request', who, role, { id: p.id, command, reason });
    return p;
  }

  pendingList(): PendingAction[] {
    return [...this.pending.values()];
  }

  /**
   * Approves a pending action: the approver must be another person with another role that may
   * approve. Returns the action (the caller runs it); it leaves the pending list.
   */
  approve(id: number, who: string, role: string): PendingAction {
    const p = this.pending.get(id);
    if (p === undefined) throw new GuardError(`no pending action ${id}`, 'not-found');
    if (who === p.requestedBy) throw new GuardError(`${who} requested action ${id}; a second person must approve it`, 'forbidden');
    if (role === p.role) throw new GuardError(`action ${id} was requested by a ${role}; it needs approval by another role`, 'forbidden');
    if (!this.approverRoles.includes(role)) throw new GuardError(`role ${role} may not approve (approvers: ${this.approverRoles.join(', ')})`, 'forbidden');
    this.pending.delete(id);
    this.ledger?.append('approval', who, role, { id, command: p.command, requestedBy: p.requestedBy });
    return p;
  }

  reject(id: number, who: string, role: string, reason = ''): PendingAction {
    const p = this.pending.get(id);
    if (p === undefined) throw new GuardError(`no pending action ${id}`, 'not-found');
    this.pending.delete(id);
    this.ledger?.append('rejection', who, role, { id, command: p.command, reason });
    return p;
  }
}

export interface WhatIfResult {
  readonly atMs: number;
  readonly untilMs: number;
  readonly command: InputCommand;
  readonly without: { readonly summary: RunSummary; readonly outcome: Outcome };
  readonly with: { readonly summary: RunSummary; readonly outcome: Outcome };
  /** With minus without (negative cost: the action helps). */
  readonly delta: { readonly failed: number; readonly degraded: number; readonly cost: number; readonly peoplePowerHours: number };
}

/**
 * "What happens if": two fresh engines (direct driver) re-feed the live journal up to `atMs`, one
 * then takes the action, both run `horizonSeconds` further. The live engine is never touched.
 *
 * The work runs in slices: between instants (and every 1,024 re-fed inputs) it gives the event loop
 * a turn once `sliceMs` of wall time has passed since the last one, so a server keeps answering
 * while a long what-if runs. The wall clock decides only *when* to yield, never what is computed:
 * the result is the same whatever the slices. The journal is read up to `untilSeq`.
 */
export async function whatIf(options: {
  city: CityModel;
  /** The live engine's index of `city` (read-only, shared): saves building one per copy (~100 ms on 10,000 assets, on the loop). */
  index?: CityIndex;
  cityHash?: string;
  seed: number;
  behaviours: Behaviours;
  /** Iterated once per copy (an array, or `InputJournal.iterate()`, which reads a durable journal lazily). */
  journal: Iterable<JournalEntry>;
  /** Entries from this seq on are left out (inputs journalled after the request). */
  untilSeq?: number;
  feedAfter?: readonly number[];
  atMs: number;
  command: InputCommand;
  horizonSeconds: number;
  costModel?: CostModel;
  /** Wall-time slice before the event loop gets a turn (default 8 ms). */
  sliceMs?: number;
}): Promise<WhatIfResult> {
  const untilMs = options.atMs + options.horizonSeconds * 1000;
  const sliceMs = options.sliceMs ?? 8;
  let sliceStart = performance.now();
  const maybeYield = async (): Promise<void> => {
    if (performance.now() - sliceStart < sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  /** `engine.runUntil(to)` one instant at a time, yielding between instants. */
  const runSliced = async (engine: Engine, to: number): Promise<void> => {
    for (let next = engine.kernel.nextInstant(); next !== undefined && next <= to; next = engine.kernel.nextInstant()) {
      await engine.runUntil(next);
      await maybeYield();
    }
    if (to > engine.kernel.settledUntil) await engine.runUntil(to);
  };
  const run = async (withAction: boolean): Promise<{ summary: RunSummary; outcome: Outcome }> => {
    const engine = await Engine.create({ city: options.city, behaviours: options.behaviours, seed: options.seed, driver: 'direct', ...(options.cityHash === undefined ? {} : { cityHash: options.cityHash }), ...(options.index === undefined ? {} : { index: options.index }) });
    try {
      const meter = OutcomeMeter.attach(engine, options.costModel ?? DEFAULT_COST_MODEL);
      let i = 0;
      for (const e of options.journal) {
        if (options.untilSeq !== undefined && e.seq >= options.untilSeq) break;
        const at = options.feedAfter?.[i] ?? e.feedAfter ?? e.time - 1;
        i++;
        if (at > engine.kernel.settledUntil) await runSliced(engine, Math.min(at, options.atMs));
        if (e.time <= engine.kernel.settledUntil) continue; // already in the past of this copy: cannot happen for a consistent journal
        engine.replay(e);
        if ((i & 1023) === 0) await maybeYield();
      }
      if (options.atMs > engine.kernel.settledUntil) await runSliced(engine, options.atMs);
      if (withAction) {
        try {
          engine.submit(options.command, { at: options.atMs / 1000 + 0.001, source: 'what-if' });
        } catch (error) {
          throw new ValidationError('what-if command', [{ path: '$.command', reason: (error as Error).message }]);
        }
      }
      await runSliced(engine, untilMs);
      return { summary: engine.summary(), outcome: meter.outcome(untilMs) };
    } finally {
      await engine.stop();
    }
  };
  const without = await run(false);
  const withIt = await run(true);
  return {
    atMs: options.atMs,
    untilMs,
    command: options.command,
    without,
    with: withIt,
    delta: {
      failed: withIt.summary.failed - without.summary.failed,
      degraded: withIt.summary.degraded - without.summary.degraded,
      cost: withIt.outcome.cost.total - without.outcome.cost.total,
      peoplePowerHours: Math.round((withIt.outcome.peopleHoursWithout.power - without.outcome.peopleHoursWithout.power) * 1000) / 1000,
    },
  };
}
