/**
 * Validation of the electrical fields a power asset may carry (`asset.electrical`) and of the
 * city's `grid` section. Plugged into the city schema in ../model/validate.ts.
 */
import { z } from 'zod';

const finite = z.number().finite('must be a finite number');
const nonNegative = finite.min(0, 'must be ≥ 0');
const assetId = z.string().min(1, 'must be a non-empty string').max(200, 'must be at most 200 characters');

export const electricalSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('bus'),
    busType: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], { message: 'must be 1 (PQ), 2 (PV), 3 (reference) or 4 (isolated)' }),
    pdMw: finite.default(0),
    qdMvar: finite.default(0),
    gsMw: finite.default(0),
    bsMvar: finite.default(0),
    vaDeg: finite.default(0),
    vmPu: finite.positive('must be > 0').default(1),
    baseKv: nonNegative.default(0),
    vmaxPu: finite.positive('must be > 0').optional(),
    vminPu: nonNegative.optional(),
  }),
  z.strictObject({
    kind: z.literal('branch'),
    from: assetId,
    to: assetId,
    rPu: finite.default(0),
    xPu: finite.refine((x) => x !== 0, 'must be non-zero (the DC model divides by it)'),
    bPu: finite.default(0),
    rateAMva: nonNegative.default(0),
    rateBMva: nonNegative.default(0),
    rateCMva: nonNegative.default(0),
    tap: nonNegative.default(0),
    shiftDeg: finite.default(0),
    inService: z.boolean().default(true),
    // pandapower's branch shunt conductance and T-model transformer asymmetry (AC only; absent: 0).
    gPu: finite.optional(),
    gAsymPu: finite.optional(),
    bAsymPu: finite.optional(),
  }),
  z.strictObject({
    kind: z.literal('generator'),
    bus: assetId,
    pgMw: finite,
    qgMvar: finite.default(0),
    vgPu: finite.positive('must be > 0').optional(),
    /** null: no limit (MATPOWER's Inf, which JSON cannot hold). */
    pmaxMw: finite.nullable().default(null),
    pminMw: finite.nullable().default(null),
    inService: z.boolean().default(true),
  }),
]);

export const gridSchema = z.strictObject({
  baseMva: finite.positive('must be > 0'),
});
