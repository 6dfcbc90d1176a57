import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GuardError, type ActionGuard } from '../../scenarios/index.ts';
import type { Control } from '../door/index.ts';
import { errorResponses, NotFoundError } from '../door/index.ts';

/**
 * `POST /api/actions/:id/refuse`: an operator refuses a pending action — one a person requested, or
 * one the trust gate held (HOLD: automation's action on data trusted 40–69, `requestedBy`
 * `trust-gate`). The refusal leaves the queue and goes to the ledger (kind `rejection`, with the
 * reason); approving stays `POST /api/actions/:id/approve`.
 */
export function registerHeldActionRoutes(fastify: FastifyInstance, ctx: { readonly guard: ActionGuard; readonly control: Control }): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post('/api/actions/:id/refuse', {
    config: { right: 'operate' },
    schema: {
      tags: ['operator'],
      summary: 'Refuse a pending action (a guarded request, or an automatic action the trust gate held); ledgered as a rejection',
      security: [{ bearer: [] }],
      params: z.object({ id: z.coerce.number().int().min(1) }),
      body: z.strictObject({ reason: z.string().max(500).optional() }).nullish(),
      response: { 200: z.object({ ok: z.literal(true), refused: z.number().int() }), ...errorResponses },
    },
  }, (request) => {
    const principal = request.principal!;
    const id = request.params.id;
    return ctx.control.audited(principal, 'http', 'refuse', String(id), 'operate', () => {
      try {
        ctx.guard.reject(id, principal.name, principal.role, request.body?.reason ?? '');
      } catch (error) {
        if (error instanceof GuardError) throw new NotFoundError(error.message);
        throw error;
      }
      return { ok: true as const, refused: id };
    });
  });
}
