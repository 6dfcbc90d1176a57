import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WaterSolverBehaviour, type WaterSolverState } from '../../actors/index.ts';
import type { Engine } from '../../engine/index.ts';
import { errorResponses, InvalidError, NotFoundError } from '../door/index.ts';
import { parseDuration, parseInstant } from './history-routes.ts';
import { alignRange } from './history-store.ts';

/** The hydraulic readings kept per asset. */
export const READING_KINDS = ['pressureM', 'tankLevelM', 'flowM3s'] as const;
export type ReadingKind = (typeof READING_KINDS)[number];

/** Samples kept per asset and reading (the oldest are dropped): three days of 15-minute snapshots. */
export const MAX_READINGS_PER_SERIES = 288;

interface Series {
  times: number[];
  values: number[];
}

export interface ReadingBucket {
  readonly startMs: number;
  readonly samples: number;
  readonly min: number;
  readonly mean: number;
  readonly max: number;
  /** The value at the bucket's end (carried in when the bucket has no sample). */
  readonly last: number;
}

/**
 * The history of the hydraulic water solver's readings (junction pressure, tank level, pump flow)
 * of one engine, in virtual time: after every engine advance, when a water solver has solved again,
 * each reading that moved since its previous sample is appended (the solver rounds them to a gauge's
 * resolution: 1 cm, 1 mm, 0.1 L/s). Bounded: MAX_READINGS_PER_SERIES per asset and reading.
 * Readings are not asset status changes (they add nothing to the state-change stream), so they are
 * kept here beside the state-change history rather than in it.
 *
 * @example
 * const readings = new WaterReadingHistory(engine);
 * const off = runner.onAdvance(() => readings.record());
 */
export class WaterReadingHistory {
  private readonly solvers: { actor: number; behaviour: WaterSolverBehaviour }[] = [];
  private readonly seenSolves = new Map<number, number>();
  private readonly series = new Map<number, Map<ReadingKind, Series>>();

  constructor(readonly engine: Engine) {
    const index = engine.index;
    for (let actor = index.assetCount + index.cohortCount; actor < index.actorCount; actor++) {
      const behaviour = engine.kernel.behaviourOf(actor);
      if (behaviour instanceof WaterSolverBehaviour) this.solvers.push({ actor, behaviour });
    }
  }

  /** True when the city's water layer runs on EPANET (there is something to record). */
  get hydraulic(): boolean {
    return this.solvers.length > 0;
  }

  /** Appends the readings of every snapshot solved since the last call. */
  record(): void {
    for (const { actor, behaviour } of this.solvers) {
      const state = this.engine.kernel.states[actor] as WaterSolverState;
      if (state.solves === 0 || this.seenSolves.get(actor) === state.solves) continue;
      this.seenSolves.set(actor, state.solves);
      for (const r of behaviour.readings(state, this.engine.index)) {
        let byKind = this.series.get(r.actor);
        if (byKind === undefined) {
          byKind = new Map();
          this.series.set(r.actor, byKind);
        }
        let s = byKind.get(r.kind);
        if (s === undefined) {
          s = { times: [], values: [] };
          byKind.set(r.kind, s);
        }
        if (s.values.length > 0 && s.values[s.values.length - 1] === r.value) continue;
        s.times.push(state.solvedAt);
        s.values.push(r.value);
        if (s.times.length > MAX_READINGS_PER_SERIES) {
          s.times.shift();
          s.values.shift();
        }
      }
    }
  }

  /**
   * The network now (the last snapshot of each water solver): junction assets' pressures, tanks'
   * levels and time to empty, pumps running or stopped — what the twin UI's water panel and pressure
   * colours show. Null when the city's water layer is not on EPANET.
   */
  now(): WaterNow | null {
    if (this.solvers.length === 0) return null;
    const index = this.engine.index;
    const out: WaterNow = { solvedAtMs: 0, minPressureM: 0, requiredPressureM: 0, junctions: { ids: [], pressureM: [] }, tanks: [], pumps: [] };
    for (const { actor, behaviour } of this.solvers) {
      const state = this.engine.kernel.states[actor] as WaterSolverState;
      out.solvedAtMs = Math.max(out.solvedAtMs, state.solvedAt);
      out.minPressureM = behaviour.settings.pda.minPressureM;
      out.requiredPressureM = behaviour.settings.pda.requiredPressureM;
      for (const r of behaviour.readings(state, index)) {
        if (r.kind === 'pressureM') {
          out.junctions.ids.push(index.ids[r.actor]!);
          out.junctions.pressureM.push(r.value);
        } else if (r.kind === 'flowM3s') out.pumps.push({ id: index.ids[r.actor]!, running: r.value > 0, flowM3s: r.value });
      }
      for (const f of behaviour.tankForecasts(state, index)) {
        out.tanks.push({ tank: f.tank, asset: f.asset < 0 ? null : index.ids[f.asset]!, levelM: Math.round(f.levelM * 1000) / 1000, minLevelM: f.minLevelM, maxLevelM: f.maxLevelM, hoursToEmpty: Number.isFinite(f.secondsToEmpty) ? Math.round((f.secondsToEmpty / 3600) * 100) / 100 : null });
      }
    }
    return out;
  }

  /** Which readings an asset has. */
  kindsOf(actor: number): ReadingKind[] {
    return READING_KINDS.filter((k) => this.series.get(actor)?.has(k) === true);
  }

  /**
   * Buckets of one reading over the aligned range [fromMs, toMs): min, mean, max of the samples in
   * each (the value carried in counts as the bucket's first sample), and the last value. Buckets
   * before the first sample are left out.
   */
  buckets(actor: number, kind: ReadingKind, fromMs: number, toMs: number, stepMs: number): ReadingBucket[] {
    const s = this.series.get(actor)?.get(kind);
    if (s === undefined) return [];
    const out: ReadingBucket[] = [];
    let k = 0;
    while (k < s.times.length && s.times[k]! < fromMs) k++;
    let carried: number | undefined = k > 0 ? s.values[k - 1] : undefined;
    for (let start = fromMs; start < toMs; start += stepMs) {
      const values: number[] = carried === undefined ? [] : [carried];
      while (k < s.times.length && s.times[k]! < start + stepMs) values.push(s.values[k++]!);
      if (values.length === 0) continue;
      carried = values[values.length - 1]!;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let sum = 0;
      for (const v of values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
        sum += v;
      }
      out.push({ startMs: start, samples: values.length, min, mean: sum / values.length, max, last: carried });
    }
    return out;
  }
}

export interface WaterNow {
  solvedAtMs: number;
  minPressureM: number;
  requiredPressureM: number;
  junctions: { ids: string[]; pressureM: number[] };
  tanks: { tank: string; asset: string | null; levelM: number; minLevelM: number; maxLevelM: number; hoursToEmpty: number | null }[];
  pumps: { id: string; running: boolean; flowM3s: number }[];
}

const waterNowResponse = z.object({
  hydraulic: z.boolean(),
  solvedAtMs: z.number().optional(),
  minPressureM: z.number().optional(),
  requiredPressureM: z.number().optional(),
  junctions: z.object({ ids: z.array(z.string()), pressureM: z.array(z.number()) }).optional(),
  tanks: z.array(z.object({ tank: z.string(), asset: z.string().nullable(), levelM: z.number(), minLevelM: z.number(), maxLevelM: z.number(), hoursToEmpty: z.number().nullable() })).optional(),
  pumps: z.array(z.object({ id: z.string(), running: z.boolean(), flowM3s: z.number() })).optional(),
});

const bucketSchema = z.object({ startMs: z.number(), samples: z.number().int(), min: z.number(), mean: z.number(), max: z.number(), last: z.number() });
const readingsResponse = z.object({
  time: z.literal('virtual-ms'),
  nowMs: z.number(),
  fromMs: z.number(),
  toMs: z.number(),
  stepMs: z.number(),
  asset: z.string(),
  units: z.object({ pressureM: z.literal('m'), tankLevelM: z.literal('m'), flowM3s: z.literal('m3/s') }),
  readings: z.object({ pressureM: z.array(bucketSchema).optional(), tankLevelM: z.array(bucketSchema).optional(), flowM3s: z.array(bucketSchema).optional() }),
});

/**
 * `GET /api/assets/:id/readings?from=&to=&step=`: the live twin's hydraulic readings of one water
 * asset over virtual time (the inspector's pressure, tank level and pump trend). Same time syntax
 * as `/api/assets/:id/history`; default the last 6 h in 15-minute buckets.
 */
export function registerWaterReadingRoutes(fastify: FastifyInstance, readings: WaterReadingHistory): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const instant = z.string().max(40);
  app.get('/api/water', {
    config: { right: 'read' },
    schema: {
      tags: ['history'],
      summary: 'The water network now (EPANET, last snapshot): junction pressures (m), tank levels (m) and hours to empty, pumps running or stopped; `hydraulic: false` when the city solves water by connectivity',
      security: [{ bearer: [] }],
      response: { 200: waterNowResponse, ...errorResponses },
    },
  }, () => {
    const now = readings.now();
    return now === null ? { hydraulic: false } : { hydraulic: true, ...now };
  });
  app.get('/api/assets/:id/readings', {
    config: { right: 'read' },
    schema: {
      tags: ['history'],
      summary: 'A water asset’s hydraulic readings over time (EPANET: junction pressure, tank level, pump flow): min, mean, max and last per bucket. Times: virtual ms since the run began.',
      security: [{ bearer: [] }],
      params: z.object({ id: z.string().min(1).max(200).describe('asset id') }),
      querystring: z.strictObject({
        from: instant.optional().describe('start (default `to` − 6 h)'),
        to: instant.optional().describe('end, exclusive (default `now`)'),
        step: z.string().max(20).optional().describe('bucket width (default 15m; ≥ 1 s; at most 2,000 buckets)'),
      }),
      response: { 200: readingsResponse, ...errorResponses },
    },
  }, (request) => {
    const engine = readings.engine;
    const actor = engine.index.indexOf(request.params.id);
    if (actor === undefined || actor >= engine.index.assetCount) throw new NotFoundError(`no asset "${request.params.id}" (path id)`);
    readings.record();
    const bad = (param: string, reason: string): never => {
      throw new InvalidError(`invalid request: querystring.${param}: ${reason}`, [{ path: `querystring.${param}`, reason }]);
    };
    const q = request.query;
    const now = engine.now;
    const to = q.to === undefined ? now : (parseInstant(q.to, now) ?? bad('to', `"${q.to}" is not a time (ms, 36h, now, now-1h)`));
    const from = q.from === undefined ? Math.max(0, to - 6 * 3_600_000) : (parseInstant(q.from, now) ?? bad('from', `"${q.from}" is not a time (ms, 36h, now, now-1h)`));
    if (from >= to) bad('from', `must be before to (${from} ≥ ${to} ms)`);
    const step = q.step === undefined ? 900_000 : (parseDuration(q.step) ?? bad('step', `"${q.step}" is not a duration (ms, 30s, 1m, 1h, 1d)`));
    if (step < 1000) bad('step', `must be at least 1s (got ${step} ms)`);
    const r = alignRange(from, to, step);
    if (r.buckets > 2000) bad('step', `${r.buckets} buckets; at most 2000: widen the step or narrow the range`);
    const out: Partial<Record<ReadingKind, ReadingBucket[]>> = {};
    for (const kind of readings.kindsOf(actor)) out[kind] = readings.buckets(actor, kind, r.fromMs, r.toMs, step);
    return { time: 'virtual-ms' as const, nowMs: now, fromMs: r.fromMs, toMs: r.toMs, stepMs: step, asset: request.params.id, units: { pressureM: 'm' as const, tankLevelM: 'm' as const, flowM3s: 'm3/s' as const }, readings: out };
  });
}
