import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { bearer, can, ForbiddenError, toReply, UnauthorizedError, type TokenStore } from '../door/index.ts';
import { summaryResponse, validationRefusal } from '../http/index.ts';
import { assetsQuerySchema, assetsReplySchema, clockInfoSchema } from '../protocol.ts';
import type { LiveReadModel } from './read-model.ts';

export interface GatewayReadsContext {
  readonly model: LiveReadModel;
  readonly tokens: TokenStore;
  /** Passes a request on to the engine (what the gateway does with every other /api request). */
  readonly forward: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
  /** Requests per minute per token and per address without a valid token (the engine's settings). */
  readonly rateLimitPerMinute: number;
  readonly anonymousRateLimitPerMinute: number;
}

/** The reads a gateway answers itself (README *Roles*); every other /api request is forwarded. */
export const GATEWAY_READS = ['GET /api/assets', 'GET /api/summary', 'GET /api/clock', 'GET /api/topology', 'GET /api/whoami'] as const;

/**
 * Registers the gateway's own live-state reads, with the engine's contracts: the same query schema
 * and reply schema (protocol.ts, http/summary.ts), the same right (`read`) checked the same way
 * (401/403 bodies from the door), the same 400 for a bad query, the same rate limits (per gateway
 * process). Answered from the `LiveReadModel`; until it is ready (start-up, after a gap) the request
 * is forwarded to the engine instead. Replies carry `x-stratum-served-by: gateway` and
 * `x-stratum-state-age-ms` (how long ago the engine published what they show).
 */
export async function registerGatewayReads(parent: FastifyInstance, ctx: GatewayReadsContext): Promise<void> {
  await parent.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    await scope.register(fastifyRateLimit, {
      global: true,
      max: (_request, key) => (key.startsWith('ip:') ? ctx.anonymousRateLimitPerMinute : ctx.rateLimitPerMinute),
      timeWindow: 60_000,
      keyGenerator: (request) => {
        const principal = ctx.tokens.verify(bearer(request.headers.authorization));
        return principal === undefined ? `ip:${request.ip}` : `token:${principal.tokenHash}`;
      },
    });
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.setErrorHandler((error, _request, reply) => {
      const refusal = validationRefusal(error);
      if (refusal !== undefined) return reply.status(400).send({ ok: false, code: 'invalid', ...refusal });
      const statusCode = (error as { statusCode?: number }).statusCode;
      if (statusCode === 429) return reply.status(429).send({ ok: false, code: 'rate-limited', message: (error as Error).message });
      const { status, reply: body } = toReply(error);
      return reply.status(status).send(body);
    });
    // As on the engine: the right is checked before the query is validated (a caller without it gets 401/403
    // whatever it asked), as each route's last onRequest hook, after the rate limiter's: callers without a valid
    // token are limited per address before they are refused.
    const authorise = async (request: FastifyRequest): Promise<void> => {
      const principal = ctx.tokens.verify(bearer(request.headers.authorization));
      if (principal === undefined) throw new UnauthorizedError();
      if (!can(principal, 'read')) throw new ForbiddenError(principal.name, principal.role, 'read');
    };
    scope.addHook('onRoute', (route) => {
      const existing = route.onRequest;
      route.onRequest = existing === undefined ? [authorise] : [...(Array.isArray(existing) ? existing : [existing]), authorise];
    });
    /** Answers from the model when it is ready, else forwards. */
    const served = <T>(answer: (request: FastifyRequest, reply: FastifyReply) => T) => async (request: FastifyRequest, reply: FastifyReply): Promise<T | undefined> => {
      if (!ctx.model.ready) {
        await ctx.forward(request, reply); // sends the engine's reply
        return undefined;
      }
      void reply.header('x-stratum-served-by', 'gateway').header('x-stratum-state-age-ms', String(ctx.model.ageMs));
      return answer(request, reply);
    };
    app.get('/api/assets', { schema: { querystring: assetsQuerySchema, response: { 200: assetsReplySchema } } }, served((request) => ctx.model.assets(assetsQuerySchema.parse(request.query))));
    app.get('/api/summary', { schema: { response: { 200: summaryResponse } } }, served(() => ctx.model.summary()));
    app.get('/api/clock', { schema: { response: { 200: clockInfoSchema } } }, served(() => ctx.model.clock()));
    app.get('/api/topology', served((request, reply) => {
      const t = ctx.model.topologyDocument();
      void reply.header('etag', t.etag).header('cache-control', 'private, max-age=3600, must-revalidate');
      if (request.headers['if-none-match'] === t.etag) return reply.status(304).send();
      return reply.header('content-type', 'application/json; charset=utf-8').send(t.body);
    }));
    // Who the caller is needs only the tokens (the gateway holds the engine's).
    app.get('/api/whoami', (request, reply) => {
      void reply.header('x-stratum-served-by', 'gateway');
      const principal = ctx.tokens.verify(bearer(request.headers.authorization))!;
      return { name: principal.name, role: principal.role };
    });
  });
}
