import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConflictError, type InputCommand, type JournalEntry } from '../../engine/index.ts';
import { ActionGuard, GuardError, type Ledger, type PendingAction } from '../../scenarios/index.ts';
import type { Principal, Control } from '../door/index.ts';
import { errorResponses, GatewayError, NotFoundError } from '../door/index.ts';
import { sessionActionRequestSchema } from '../protocol.ts';
import type { SessionManager, TraineeAction } from './sessions.ts';

/**
 * The guard policy in training sessions. A trainee's operator action passes the live server's
 * guard policy (the session's `Control` has the live guard): a guarded `isolate` is a 409 on
 * `POST /api/sessions/:id/actions` as it is live, and goes through a request that a second person
 * with another role approves — the same rule as `POST /api/actions/request` + approve, with the
 * pending actions kept per session so an approval can never land on the live engine (nor a live
 * approval on a session). Every request, approval and rejection is audited (`via: session:<id>`)
 * and ledgered as a `training` entry naming the session; an approved action joins the trainees'
 * timeline under the requester's name.
 */
export class SessionApprovals {
  private readonly pending = new Map<string, ActionGuard>();

  constructor(private readonly sessions: SessionManager, private readonly ledger?: Ledger) {
    sessions.on((event) => {
      if (event.type === 'closed') this.pending.delete(event.session);
    });
  }

  /** Requests a (guarded) action in training session `id`: the trainee checks of `act`, the target known on the session's engine. */
  request(principal: Principal, id: string, body: TraineeAction & { readonly reason?: string | undefined }): PendingAction {
    const { control, via, engine } = this.sessions.traineeDoor(principal, id, `request.${body.action}`, body.target);
    return control.audited(principal, via, `request.${body.action}`, body.target, 'operate', () => {
      for (const target of body.action === 'reroute' ? [body.target, body.to] : [body.target]) {
        const actor = engine.index.indexOf(target);
        if (actor === undefined || actor >= engine.index.assetCount) throw new NotFoundError(`unknown asset "${target}"`);
      }
      let guard = this.pending.get(id);
      if (guard === undefined) this.pending.set(id, (guard = new ActionGuard()));
      const p = guard.request(commandOf(body), principal.name, principal.role, body.reason ?? '');
      this.ledger?.append('training', principal.name, principal.role, { event: 'approval-request', session: id, id: p.id, command: p.command, reason: p.reason });
      return p;
    });
  }

  list(id: string): readonly PendingAction[] {
    this.sessions.detail(id); // 404 for an unknown session
    return this.pending.get(id)?.pendingList() ?? [];
  }

  /** Approves pending action `pendingId` of session `id` (another person, another role) and runs it on the session's engine. */
  approve(principal: Principal, id: string, pendingId: number, control: Control): JournalEntry {
    const via = `session:${id}`;
    // Only a refusal is audited here; the approved action's own entry (`approve.<action>`) follows.
    const p = control.audited(principal, via, 'approve', String(pendingId), 'read', () => this.guardOf(id).approve(pendingId, principal.name, principal.role), false);
    this.ledger?.append('training', principal.name, principal.role, { event: 'approval', session: id, id: p.id, command: p.command, requestedBy: p.requestedBy });
    return this.sessions.act(principal, id, actionOf(p.command), { requestedBy: p.requestedBy, approvedBy: principal.name });
  }

  reject(principal: Principal, id: string, pendingId: number, reason: string, control: Control): PendingAction {
    const via = `session:${id}`;
    const p = control.audited(principal, via, 'reject', String(pendingId), 'operate', () => this.guardOf(id).reject(pendingId, principal.name, principal.role, reason));
    this.ledger?.append('training', principal.name, principal.role, { event: 'rejection', session: id, id: p.id, command: p.command, reason });
    return p;
  }

  private guardOf(id: string): { approve: ActionGuard['approve']; reject: ActionGuard['reject'] } {
    this.sessions.detail(id); // 404 for an unknown session
    const guard = this.pending.get(id);
    const mapped = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        if (!(error instanceof GuardError)) throw error;
        throw error.code === 'not-found' ? new NotFoundError(`session "${id}": ${error.message}`) : error.code === 'forbidden' ? new GatewayError(403, 'forbidden', error.message) : new ConflictError(error.message);
      }
    };
    return {
      approve: (n, who, role) => mapped(() => (guard ?? new ActionGuard()).approve(n, who, role)),
      reject: (n, who, role, reason) => mapped(() => (guard ?? new ActionGuard()).reject(n, who, role, reason)),
    };
  }
}

function commandOf(a: TraineeAction): InputCommand {
  if (a.action === 'shed') return { type: 'shed', target: a.target, share: a.share };
  if (a.action === 'reroute') return { type: 'reroute', target: a.target, to: a.to, share: a.share };
  return { type: a.action, target: a.target };
}

function actionOf(c: InputCommand): TraineeAction {
  if (c.type === 'shed') return { action: 'shed', target: c.target, share: c.share };
  if (c.type === 'reroute') return { action: 'reroute', target: c.target, to: c.to, share: c.share };
  if (c.type === 'isolate' || c.type === 'restore' || c.type === 'repair') return { action: c.type, target: c.target };
  throw new ConflictError(`${c.type} is not an operator action`);
}

const pendingAction = z.object({ id: z.number().int(), command: z.object({ type: z.string(), target: z.string() }).passthrough(), requestedBy: z.string(), role: z.string(), requestedAt: z.string(), reason: z.string() });
const idParams = z.object({ id: z.string().min(1).max(100).describe('session id') });
const pendingParams = idParams.extend({ pid: z.coerce.number().int().min(1).describe('pending action id') });

/** `/api/sessions/:id/actions/request|pending|:pid/approve|:pid/reject` (zod, rights, audit). */
export function registerSessionApprovalRoutes(fastify: FastifyInstance, ctx: { readonly sessions: SessionManager; readonly approvals: SessionApprovals; readonly control: Control }): void {
  const { approvals, control } = ctx;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const errors = errorResponses;
  app.post('/api/sessions/:id/actions/request', {
    config: { right: 'operate' },
    schema: { tags: ['sessions'], summary: 'A trainee requests a (guarded) operator action in a training session; a second person with another role approves it', security: [{ bearer: [] }], params: idParams, body: sessionActionRequestSchema, response: { 202: z.object({ ok: z.literal(true), pending: pendingAction }), ...errors } },
  }, (request, reply) => {
    const pending = approvals.request(request.principal!, request.params.id, request.body);
    void reply.status(202).send({ ok: true, pending });
  });
  app.get('/api/sessions/:id/actions/pending', {
    config: { right: 'read' },
    schema: { tags: ['sessions'], summary: 'Pending (guarded) action requests of a training session', security: [{ bearer: [] }], params: idParams },
  }, (request) => ({ pending: approvals.list(request.params.id) }));
  app.post('/api/sessions/:id/actions/:pid/approve', {
    config: { right: 'read' },
    schema: { tags: ['sessions'], summary: 'Approve a pending session action (another person, another role: operator, trainer or admin); it runs on the session engine', security: [{ bearer: [] }], params: pendingParams },
  }, (request, reply) => {
    const entry = approvals.approve(request.principal!, request.params.id, request.params.pid, control);
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });
  app.post('/api/sessions/:id/actions/:pid/reject', {
    config: { right: 'operate' },
    schema: { tags: ['sessions'], summary: 'Reject a pending session action', security: [{ bearer: [] }], params: pendingParams, body: z.strictObject({ reason: z.string().max(500).optional() }).nullish() },
  }, (request) => ({ ok: true as const, rejected: approvals.reject(request.principal!, request.params.id, request.params.pid, request.body?.reason ?? '', control) }));
}
