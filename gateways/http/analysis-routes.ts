import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StudyCity, collectFailures, criticality, explainChain, type CriticalityResult } from '../../actors/index.ts';
import type { Engine } from '../../engine/index.ts';
import { errorBody, NotFoundError } from '../door/index.ts';

const hop = z.object({ id: z.string(), time: z.number(), cause: z.string(), via: z.string() });
const criticalityRow = z.object({ id: z.string(), layer: z.string(), kind: z.string(), betweenness: z.number(), pagerank: z.number(), impact: z.number(), bound: z.number() });

/** Failures kept per actor for live explain chains (older ones are dropped). */
const FAILURES_PER_ACTOR = 16;

/**
 * The analyst's questions over the live engine: why did this asset fail (the causal chain from the
 * input that started it), and which assets matter most (simulated impact beside betweenness and
 * PageRank; computed once per city, in the background between simulations).
 */
export function registerAnalysisRoutes(fastify: FastifyInstance, engine: Engine): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const failures = collectFailures(engine, FAILURES_PER_ACTOR);
  // One ranking per list length asked for (a longer list needs more simulations; a shorter one is a prefix).
  let ranking: { top: number; result: Promise<CriticalityResult> } | undefined;

  app.get('/api/explain/:id', {
    config: { right: 'read' },
    schema: {
      tags: ['analysis'],
      summary: 'Causal chain from the triggering input to this asset\'s latest failure (each hop: asset, simulated seconds, cause, via)',
      security: [{ bearer: [] }],
      params: z.object({ id: z.string().min(1) }),
      response: { 200: z.object({ asset: z.string(), chain: z.array(hop) }), 401: errorBody, 403: errorBody, 404: errorBody },
    },
  }, (request) => {
    const actor = engine.index.indexOf(request.params.id);
    if (actor === undefined) throw new NotFoundError(`unknown asset or cohort "${request.params.id}"`);
    return { asset: request.params.id, chain: explainChain(engine.index, failures, request.params.id) };
  });

  app.get('/api/criticality', {
    config: { right: 'read' },
    schema: {
      tags: ['analysis'],
      summary: 'Assets ranked by simulated impact (stochastic model), with betweenness and PageRank',
      security: [{ bearer: [] }],
      querystring: z.object({ top: z.coerce.number().int().min(1).max(500).default(10) }),
      response: { 200: z.object({ top: z.number(), simulated: z.number(), assets: z.array(criticalityRow) }), 401: errorBody, 403: errorBody },
    },
  }, async (request) => {
    const top = Math.max(10, request.query.top);
    if (ranking === undefined || ranking.top < top) {
      ranking = { top, result: criticality(new StudyCity(engine.index.city), { top, seed: engine.kernel.seed, yieldBetweenRuns: true }) };
    }
    const { rows, simulated } = await ranking.result;
    return { top: request.query.top, simulated, assets: rows.slice(0, request.query.top) };
  });
}
