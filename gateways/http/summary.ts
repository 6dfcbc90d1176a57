import { z } from 'zod';
import type { Engine } from '../../engine/index.ts';
import type { OutcomeMeter } from '../../scenarios/index.ts';

const perLayer = z.object({ power: z.number(), water: z.number(), telecom: z.number() });

/** `GET /api/summary` (and a session's summary): the engine's run summary plus what the outage costs. */
export const summaryResponse = z.object({
  stateHash: z.string(),
  events: z.number(),
  failed: z.number().describe('assets out of service (failed or faulted)'),
  degraded: z.number(),
  simulatedSeconds: z.number(),
  inputs: z.number(),
  deliveries: z.number(),
  instants: z.number(),
  escalations: z.number(),
  cityHash: z.string(),
  seed: z.number(),
  driver: z.string(),
  peopleWithoutNow: perLayer.describe('people without the service now (population × share of service lost)'),
  peopleHoursWithout: perLayer.describe('since the engine started'),
  hospitalHoursDegraded: z.number(),
  cost: z.object({
    currency: z.string(),
    total: z.number().describe('cost so far: assets + people'),
    assets: z.number(),
    people: z.number(),
    perHour: z.number().describe('what the outage costs per hour right now'),
  }),
});
export type SummaryResponse = z.infer<typeof summaryResponse>;

/** The summary of an engine metered by `meter` (attached when the engine started). */
export function summarise(engine: Engine, meter: OutcomeMeter): SummaryResponse {
  const outcome = meter.outcome(engine.now);
  return {
    ...engine.summary(),
    peopleWithoutNow: meter.peopleWithoutNow(),
    peopleHoursWithout: outcome.peopleHoursWithout,
    hospitalHoursDegraded: outcome.hospitalHoursDegraded,
    cost: { ...outcome.cost, perHour: meter.costPerHourNow() },
  };
}
