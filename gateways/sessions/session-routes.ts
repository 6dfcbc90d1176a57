import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Right, Control } from '../door/index.ts';
import { errorResponses } from '../door/index.ts';
import { operatorActionSchema, SESSION_KINDS, SESSION_PHASES, sessionClockRequestSchema } from '../protocol.ts';
import type { SessionManager } from './sessions.ts';
import { summaryResponse } from '../http/index.ts';

/**
 * `/api/sessions`: replays and training exercises hosted beside the live engine (see sessions.ts).
 * Registered after `registerHttpApi`, whose `onRequest` hook checks `config.right` (401/403 before
 * the body is read) and whose error handler turns zod problems into 400s naming the field. Every
 * mutation is audited through the live `Control` (accepted or not) and ledgered by the manager.
 */
export interface SessionRoutesContext {
  readonly sessions: SessionManager;
  /** The live control: its audit trail records the session mutations. */
  readonly control: Control;
}

const errors = errorResponses;

const sessionInfo = z.object({
  id: z.string(),
  kind: z.enum(SESSION_KINDS),
  recording: z.string(),
  createdBy: z.string(),
  phase: z.enum(SESSION_PHASES),
  clock: z.object({ nowMs: z.number(), endMs: z.number(), speed: z.number(), paused: z.boolean() }),
  handoverMs: z.number().optional(),
  viewers: z.number().int(),
  error: z.string().optional(),
});
const perLayer = z.object({ power: z.number(), water: z.number(), telecom: z.number() });
const outcome = z.object({
  fromMs: z.number(),
  toMs: z.number(),
  peopleHoursWithout: perLayer,
  hospitalHoursDegraded: z.number(),
  assetOutageHours: z.record(z.string(), z.number()),
  cost: z.object({ currency: z.string(), assets: z.number(), people: z.number(), total: z.number() }),
});
const decision = z.object({ timeMs: z.number(), who: z.string(), command: z.object({ type: z.string(), target: z.string() }).passthrough() });
const score = z.object({
  score: z.number(),
  metrics: z.object({ recorded: outcome, trainee: outcome, delta: z.object({ peopleHoursWithout: z.record(z.string(), z.number()), hospitalHoursDegraded: z.number(), cost: z.number() }) }),
  traineeDecisions: z.array(decision).readonly(),
  recordedDecisions: z.array(decision).readonly(),
});
const sessionDetail = sessionInfo.extend({
  summary: summaryResponse.extend({ failedByLayer: z.record(z.string(), z.number()), hospitalsDegradedNow: z.number().int() }),
  result: score.optional(),
});

const idParams = z.object({ id: z.string().min(1).max(100).describe('session id') });
const speed = z.number().positive().describe('virtual seconds per wall second, 0.1–1000 (409 outside)');
const createBody = z.strictObject({
  recording: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'a recording id (letters, digits, . _ -)').describe('recording id (GET /api/recordings)'),
  kind: z.enum(SESSION_KINDS),
  speed: speed.optional(),
  paused: z.boolean().optional(),
  handoverMs: z.number().min(0).optional().describe('training: when control passes to the trainees (default: the first recorded decision)'),
}).superRefine((body, ctx) => {
  if (body.kind === 'replay' && body.handoverMs !== undefined) ctx.addIssue({ code: 'custom', path: ['handoverMs'], message: 'only training sessions have a handover' });
});
const clockBody = sessionClockRequestSchema;
const actionBody = operatorActionSchema;
const journalAck = z.object({ ok: z.literal(true), seq: z.number().int(), time: z.number() });

export function registerSessionRoutes(fastify: FastifyInstance, ctx: SessionRoutesContext): void {
  const { sessions, control } = ctx;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  /** An async mutation, audited once with its outcome (Control.audited is synchronous). */
  const audited = async <T>(request: FastifyRequest, action: string, target: string | null, right: Right, fn: () => Promise<T>): Promise<T> => {
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      return control.audited(request.principal, 'http', action, target, right, () => {
        throw error;
      });
    }
    return control.audited(request.principal, 'http', action, target, right, () => result);
  };

  app.get('/api/sessions', {
    config: { right: 'read' },
    schema: { tags: ['sessions'], summary: 'Replay and training sessions hosted beside the live engine', security: [{ bearer: [] }], response: { 200: z.object({ sessions: z.array(sessionInfo) }), ...errors } },
  }, () => ({ sessions: sessions.list() }));

  app.post('/api/sessions', {
    config: { right: 'clock' },
    schema: {
      tags: ['sessions'],
      summary: 'Start a replay or a training exercise of a recording (trainer, admin); viewers subscribe with { session: id }',
      security: [{ bearer: [] }],
      body: createBody,
      response: { 201: z.object({ ok: z.literal(true), session: sessionInfo }), ...errors },
    },
  }, async (request, reply) => {
    const session = await audited(request, 'session.create', request.body.recording, 'clock', () => sessions.create(request.principal!, request.body));
    return reply.status(201).send({ ok: true, session });
  });

  app.get('/api/sessions/:id', {
    config: { right: 'read' },
    schema: { tags: ['sessions'], summary: 'One session with the summary of its engine (failures by layer, people without service, cost so far) and, once finished, its score', security: [{ bearer: [] }], params: idParams, response: { 200: sessionDetail, ...errors } },
  }, (request) => sessions.detail(request.params.id));

  app.post('/api/sessions/:id/clock', {
    config: { right: 'clock' },
    schema: { tags: ['sessions'], summary: 'Pause, resume, set the speed (0.1–1000×) or seek (back or forward) a session', security: [{ bearer: [] }], params: idParams, body: clockBody, response: { 200: z.object({ ok: z.literal(true), session: sessionInfo }), ...errors } },
  }, async (request) => {
    const session = await audited(request, `session.${request.body.action}`, request.params.id, 'clock', () => sessions.clock(request.principal!, request.params.id, request.body));
    return { ok: true as const, session };
  });

  app.post('/api/sessions/:id/actions', {
    config: { right: 'operate' },
    schema: { tags: ['sessions'], summary: 'A trainee\'s operator action on the training engine (409 before the handover and in replays; the live engine is untouched)', security: [{ bearer: [] }], params: idParams, body: actionBody, response: { 202: journalAck, ...errors } },
  }, (request, reply) => {
    // Audited by the session's Control (via `session:<id>`), like the live operator routes.
    const entry = sessions.act(request.principal!, request.params.id, request.body);
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });

  app.post('/api/sessions/:id/finish', {
    config: { right: 'clock' },
    schema: { tags: ['sessions'], summary: 'Training: run to the end and score the trainees against the recorded outcome, with both decision timelines (409 twice or for replays)', security: [{ bearer: [] }], params: idParams, response: { 200: score, ...errors } },
  }, (request) => audited(request, 'session.finish', request.params.id, 'clock', () => sessions.finish(request.principal!, request.params.id)));

  app.delete('/api/sessions/:id', {
    config: { right: 'clock' },
    schema: { tags: ['sessions'], summary: 'Close a session (its viewers get sessionClosed)', security: [{ bearer: [] }], params: idParams, response: { 200: z.object({ ok: z.literal(true) }), ...errors } },
  }, async (request) => {
    await audited(request, 'session.delete', request.params.id, 'clock', () => sessions.delete(request.principal!, request.params.id));
    return { ok: true as const };
  });
}
