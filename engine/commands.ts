import { z } from 'zod';

/** The largest voltage magnitude a `voltage` input may carry (pu): well above any real bus, a bound against nonsense. */
export const MAX_VOLTAGE_PU = 2;

/**
 * Inputs from outside, the only door into the simulation. Scenario events, telemetry and operator
 * actions all become one of these, get a virtual time and a sequence number in the journal, and
 * only then reach the actors. Replaying a journal reproduces the run.
 *
 * A module of its own with nothing but zod, so the wire protocol (gateways/protocol.ts) can
 * re-export it to the browser and the k6 client (bundled by `npm run load:build`): every client
 * builds and checks commands with this one schema.
 */
export const inputCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('fail'),
    target: z.string().min(1),
    severity: z.number().min(0).max(1).optional(),
    hazard: z.enum(['flood', 'wind', 'shaking', 'heat', 'fire']).optional(),
  }),
  z.strictObject({ type: z.literal('repair'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('restore'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('isolate'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('telemetry'), target: z.string().min(1), value: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal('shed'), target: z.string().min(1), share: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('reroute'), target: z.string().min(1), to: z.string().min(1), share: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('ambient'), target: z.string().min(1), celsius: z.number().min(-60).max(70) }),
  z.strictObject({
    type: z.literal('cyber'),
    target: z.string().min(1),
    attack: z.enum(['compromise', 'ddos', 'ransomware']),
    severity: z.number().min(0).max(1).optional(),
  }),
  z.strictObject({ type: z.literal('secure'), target: z.string().min(1) }),
  z.strictObject({ type: z.literal('order'), target: z.string().min(1), order: z.enum(['shelter', 'evacuate', 'save-water', 'all-clear']) }),
  // A bus's AC voltage magnitude (pu), as the live voltage monitor computed it (0: collapsed, no
  // converged voltage): the bus's service follows the voltage rule (engine/power/voltage.ts).
  z.strictObject({ type: z.literal('voltage'), target: z.string().min(1), vmPu: z.number().finite().min(0).max(MAX_VOLTAGE_PU) }),
]);

export type InputCommand = z.infer<typeof inputCommandSchema>;
