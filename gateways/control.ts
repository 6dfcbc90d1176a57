import { ConflictError, parseCommand, Status, STATUS_NAMES, type Engine, type InputCommand, type JournalEntry, type RealtimeRunner } from '../engine/index.ts';
import type { AuditLog } from './audit.ts';
import { can, type Principal, type Right } from './auth.ts';
import { ForbiddenError, NotFoundError, toReply, UnauthorizedError } from './errors.ts';
import type { ClockInfo, ClockRequest } from './protocol.ts';

/** Operator actions: validated against the live state before they are journalled. */
export const OPERATOR_ACTIONS = ['isolate', 'restore', 'repair', 'shed'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

/**
 * The one place every mutation goes through, whatever the transport: checks the principal's right,
 * validates the payload and the live state, submits to the engine, and writes the audit entry
 * (also for rejections). A rejected mutation changes nothing.
 */
export class Control {
  /** Called after every accepted input (the server expedites the next frames). */
  onAccepted: (() => void) | undefined;

  constructor(readonly engine: Engine, readonly runner: RealtimeRunner, readonly audit: AuditLog) {}

  clockInfo(): ClockInfo {
    return { virtualMs: this.engine.now, speed: this.runner.currentSpeed, paused: this.runner.isPaused, wallMs: Date.now() };
  }

  /** Runs `fn` as an audited mutation. */
  audited<T>(principal: Principal | undefined, via: string, action: string, target: string | null, right: Right, fn: () => T): T {
    try {
      if (principal === undefined) throw new UnauthorizedError();
      if (!can(principal, right)) throw new ForbiddenError(principal.name, principal.role, right);
      const result = fn();
      this.audit.record({ virtualMs: this.engine.now, who: principal.name, role: principal.role, via, action, target, result: 'ok', status: 200 });
      return result;
    } catch (error) {
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
      throw error;
    }
  }

  /** Raw input (injector): any command of the input schema. */
  inject(principal: Principal | undefined, body: unknown, via: string): JournalEntry {
    const target = typeof body === 'object' && body !== null && 'target' in body && typeof body.target === 'string' ? body.target : null;
    const type = typeof body === 'object' && body !== null && 'type' in body && typeof body.type === 'string' ? body.type : 'unknown';
    return this.audited(principal, via, `inject.${type}`, target, 'inject', () => {
      const command = parseCommand(body, `${via} command`);
      return this.submit(principal!, command, via);
    });
  }

  /**
   * Reroute: move a share of an asset's demand to a linked asset of its layer (closing a tie
   * switch). 409 unless both are in service, linked, and the source carries load.
   */
  reroute(principal: Principal | undefined, assetId: string, to: string, share: number, via: string): JournalEntry {
    return this.audited(principal, via, 'reroute', assetId, 'operate', () => {
      const index = this.engine.index;
      const from = index.indexOf(assetId);
      const dest = index.indexOf(to);
      if (from === undefined || from >= index.assetCount) throw new NotFoundError(`unknown asset "${assetId}"`);
      if (dest === undefined || dest >= index.assetCount) throw new NotFoundError(`unknown asset "${to}"`);
      let linked = false;
      for (let k = index.links.offsets[from]!; k < index.links.offsets[from + 1]!; k++) linked ||= index.links.items[k] === dest;
      if (!linked) throw new ConflictError(`cannot reroute from "${assetId}" to "${to}": they are not linked (load moves only over a link of the layer)`);
      this.checkLiveState(from, assetId, 'shed');
      const target = this.engine.kernel.view(dest);
      if (target.status !== Status.Ok && target.status !== Status.Degraded) {
        throw new ConflictError(`cannot reroute to "${to}": it is ${STATUS_NAMES[target.status] ?? target.status}`);
      }
      return this.submit(principal!, { type: 'reroute', target: assetId, to, share }, via);
    });
  }

  /** Operator action on one asset, checked against its live state (ConflictError → 409). */
  operate(principal: Principal | undefined, action: OperatorAction, assetId: string, share: number | undefined, via: string): JournalEntry {
    return this.audited(principal, via, action, assetId, 'operate', () => {
      const actor = this.engine.index.indexOf(assetId);
      if (actor === undefined) throw new NotFoundError(`unknown asset "${assetId}"`);
      if (actor >= this.engine.index.assetCount) throw new ConflictError(`"${assetId}" is a cohort; operator actions apply to assets`);
      this.checkLiveState(actor, assetId, action);
      const command: InputCommand = action === 'shed' ? { type: 'shed', target: assetId, share: share ?? 0.2 } : { type: action, target: assetId };
      return this.submit(principal!, command, via);
    });
  }

  clock(principal: Principal | undefined, request: ClockRequest, via: string): ClockInfo {
    return this.audited(principal, via, `clock.${request.action}`, null, 'clock', () => {
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
    const entry = this.engine.submit(command, { source: `${via}:${principal.name}` });
    if (entry === undefined) throw new ConflictError('duplicate input (already journalled)');
    this.onAccepted?.();
    return entry;
  }
}
