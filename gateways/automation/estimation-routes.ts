import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../door/index.ts';
import type { LiveEstimator } from './live-estimator.ts';

const island = z.object({
  reference: z.string(),
  buses: z.number().int(),
  measurements: z.number().int(),
  j: z.number(),
  chi2Threshold: z.number().nullable(),
  degreesOfFreedom: z.number().int(),
  consistent: z.boolean(),
  removed: z.array(z.object({ sensor: z.string(), normalizedResidual: z.number() })).readonly(),
  unobservable: z.array(z.string()).readonly(),
});
const summary = z.union([
  z.object({ enabled: z.literal(false), reason: z.string() }),
  z.object({
    enabled: z.literal(true),
    runs: z.number().int(),
    lastRunMs: z.number().nullable(),
    readings: z.number().int(),
    sensors: z.number().int(),
    measurements: z.number().int(),
    factorisations: z.number().int(),
    islands: z.array(island).readonly(),
    excluded: z.array(z.object({ sensor: z.string(), sinceMs: z.number(), normalizedResidual: z.number(), agreeingRuns: z.number().int() })).readonly(),
  }),
]);

/**
 * `GET /api/estimation`: the live state estimator's last run — per island J, its chi-square
 * threshold and degrees of freedom, the measurements removed as bad data, the unobservable buses —
 * and the sensors still left out. `{ enabled: false, reason }` when the estimator is off.
 */
export function registerEstimationRoutes(fastify: FastifyInstance, estimator: LiveEstimator | undefined, offReason: string): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/estimation', {
    config: { right: 'read' },
    schema: {
      tags: ['live'],
      summary: 'The live state estimator: per island J, chi-square threshold, degrees of freedom, removed measurements, unobservable buses, last run (virtual ms); sensors excluded as bad data',
      security: [{ bearer: [] }],
      response: { 200: summary, ...errorResponses },
    },
  }, () => estimator?.summary() ?? { enabled: false as const, reason: offReason });
}
