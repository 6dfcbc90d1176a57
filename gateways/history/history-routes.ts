import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CAUSE_NAMES, STATUS_NAMES, type Engine } from '../../engine/index.ts';
import type { CostModel } from '../../scenarios/index.ts';
import { PgHistoryQueries, SeriesSink } from '../adapters/history-pg.ts';
import type { ConnectedAdapters } from '../adapters/index.ts';
import { errorResponses, GatewayError, InvalidError, NotFoundError } from '../door/index.ts';
import { HistoryHub, type HistorySource } from './history.ts';
import { ALL } from './history-series.ts';
import { alignRange, assetSeries, seriesBuckets } from './history-store.ts';
import { ErrorCode } from '../protocol.ts';
import type { SessionManager } from '../sessions/index.ts';

/**
 * `GET /api/assets/:id/history` and `GET /api/history`: history an operator and an analyst can ask
 * for, in the run's virtual time, as JSON or CSV (`Accept: text/csv` or `format=csv`). With
 * `session=ID` the answer comes from that replay/training session's own history; with `run=ID`
 * (PostgreSQL only) from an earlier run of the same city. See the README, "History".
 */
export const MAX_BUCKETS = 10_000;
export const MAX_STATUS_CHANGES = 10_000;
const MIN_STEP_MS = 1_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const NICE_STEPS = [1, 5, 10, 15, 30, 60, 300, 600, 900, 1_800, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600, 86_400].map((s) => s * 1_000);

/** `90`, `90ms`, `30s`, `5m`, `1h`, `7d` → ms; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** A point in virtual time: a duration since the run began (`0`, `90m`, `36h`), `now` or `now-<duration>`. */
export function parseInstant(text: string, nowMs: number): number | undefined {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^now-(.+)$/.exec(t);
  if (rel !== null) {
    const d = parseDuration(rel[1]!);
    return d === undefined ? undefined : Math.max(0, nowMs - d);
  }
  return parseDuration(t);
}

const instantText = z.string().max(40).describe('virtual time: ms or a duration since the run began (`36h`), `now`, or `now-<duration>` (`now-24h`)');
const rangeQuery = z.strictObject({
  from: instantText.optional().describe('start, inclusive (default: `to` − 1 h); rounded down to a whole step'),
  to: instantText.optional().describe('end, exclusive (default `now`); rounded up to a whole step'),
  step: z.string().max(20).optional().describe(`bucket width: ms or \`30s\`, \`1m\`, \`1h\`, \`1d\` (≥ 1 s; default: a round width giving ≤ 200 buckets; at most ${MAX_BUCKETS} buckets)`),
  session: z.string().min(1).max(100).optional().describe('a replay/training session id: its own history'),
  run: z.string().min(1).max(200).optional().describe('an earlier run id (PostgreSQL history only; `GET /api/history/runs`)'),
  format: z.enum(['json', 'csv']).optional().describe('overrides `Accept` (text/csv or application/json)'),
});
type RangeQuery = z.infer<typeof rangeQuery>;

const timeNote = 'virtual ms since the run began (the simulation clock, not wall-clock time)';
const range = z.object({
  time: z.literal('virtual-ms').describe(timeNote),
  nowMs: z.number().describe('the source clock now'),
  fromMs: z.number(),
  toMs: z.number(),
  stepMs: z.number(),
  store: z.string().describe('embedded, timescaledb or postgres-partitions'),
  scope: z.string().describe('live, session:<id> or run:<id>'),
  retainedFromMs: z.number().nullable().describe('embedded store: older records were evicted (bounded); null: all kept'),
});
const assetHistoryResponse = range.extend({
  asset: z.string(),
  kind: z.string(),
  layer: z.string().nullable(),
  district: z.string(),
  buckets: z.array(z.object({ startMs: z.number(), changes: z.number().int(), meanLoad: z.number(), maxLoad: z.number(), minLevel: z.number().describe('service level 0..1'), maxStress: z.number(), lastStatus: z.string() })),
  statusChanges: z.array(z.object({
    timeMs: z.number(), seq: z.number().int(), from: z.string(), to: z.string(),
    cause: z.object({ code: z.string(), from: z.string().describe('the actor whose message caused it, or `input`'), seq: z.number(), timeMs: z.number() }).nullable(),
  })).describe(`every status change in [fromMs, toMs), exact, oldest first (at most ${MAX_STATUS_CHANGES})`),
  statusChangesTruncated: z.boolean(),
});
const layerHistoryResponse = range.extend({
  layer: z.string().nullable().describe('null: every layer'),
  district: z.string().nullable().describe('null: every district'),
  currency: z.string(),
  buckets: z.array(z.object({
    startMs: z.number(),
    samples: z.number().int().describe('instants with a change in the bucket'),
    failed: z.number().int().describe('peak assets failed or faulted'),
    degraded: z.number().int().describe('peak assets degraded'),
    peopleWithout: z.object({ power: z.number(), water: z.number(), telecom: z.number() }).describe('peak people without each service (only the selected layer’s with `layer`)'),
    costPerHour: z.number().describe('peak outage cost rate'),
  })),
});

export interface HistoryRoutesContext {
  readonly engine: Engine;
  readonly sessions: SessionManager;
  readonly costModel: CostModel;
  readonly adapters: ConnectedAdapters | undefined;
  readonly env: NodeJS.ProcessEnv;
}

function bound(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a whole number ≥ 1 (got "${text}")`);
  return n;
}

class NotAcceptableError extends GatewayError {
  constructor(accept: string) {
    super(406, ErrorCode.Invalid, `cannot answer with "${accept}": ask for application/json or text/csv (or format=json|csv)`);
  }
}

function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = request.headers.accept ?? '';
  if (accept === '' || /application\/json|\*\/\*|application\/\*/.test(accept)) return false;
  if (/text\/csv|text\/\*/.test(accept)) return true;
  throw new NotAcceptableError(accept);
}

const csvCell = (v: string | number | null | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvLine = (cells: ReadonlyArray<string | number | null | undefined>): string => `${cells.map(csvCell).join(',')}\n`;

function sendCsv(reply: FastifyReply, name: string, text: string): FastifyReply {
  return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `inline; filename="${name}.csv"`).send(text);
}

/**
 * Sends a body already typed against its response schema as JSON text: fastify's zod serializer
 * would check every bucket again (a 1,440-bucket answer spent most of its time there).
 */
function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/** Registers the history routes and the recorders behind them; cleans up when fastify closes. */
export async function registerHistoryRoutes(fastify: FastifyInstance, ctx: HistoryRoutesContext): Promise<HistoryHub> {
  const maxChanges = bound(ctx.env, 'STRATUM_HISTORY_MAX_CHANGES');
  const maxSamples = bound(ctx.env, 'STRATUM_HISTORY_MAX_SAMPLES');
  const bounds = { ...(maxChanges === undefined ? {} : { maxChanges }), ...(maxSamples === undefined ? {} : { maxSamples }) };
  let pg: { queries: PgHistoryQueries; sink: SeriesSink } | undefined;
  const pgHistory = ctx.adapters?.history;
  if (pgHistory !== undefined) {
    const queries = await PgHistoryQueries.open(pgHistory, { retention: ctx.env['STRATUM_HISTORY_RETENTION'] ?? '30 days' });
    pg = { queries, sink: new SeriesSink(queries) };
    const index = ctx.engine.index;
    // Names for SQL readers (the Grafana dashboard): actor index → id, kind, layer, district.
    await queries.saveActors(index.ids.map((id, a) => ({
      id,
      kind: a < index.assetCount ? index.city.assets[a]!.kind : 'cohort',
      layer: a < index.assetCount ? index.layerName(a) : 'cohort',
      district: index.districts[index.districtOf[a]!] ?? '',
    })));
  }
  const hub = new HistoryHub({ live: ctx.engine, costModel: ctx.costModel, bounds, ...(pg === undefined ? {} : { pg }) });
  const offEngine = ctx.sessions.onSessionEngine((session, engine) => hub.sessionEngine(session, engine));
  const offClosed = ctx.sessions.on((event) => {
    if (event.type === 'closed') hub.sessionClosed(event.session);
  });
  fastify.addHook('onClose', async () => {
    offEngine();
    offClosed();
    await hub.close();
  });

  const app = fastify.withTypeProvider<ZodTypeProvider>();

  const sourceOf = async (q: RangeQuery): Promise<HistorySource> => {
    if (q.session !== undefined && q.run !== undefined) throw new InvalidError('invalid request: querystring.run: give session or run, not both', [{ path: 'querystring.run', reason: 'give session or run, not both' }]);
    if (q.session !== undefined) {
      ctx.sessions.clockOf(q.session); // 404 naming the session when unknown
      const source = hub.sessionSource(q.session);
      if (source === undefined) throw new NotFoundError(`session "${q.session}" has no history yet (querystring.session)`);
      return source;
    }
    if (q.run !== undefined) {
      if (hub.pg === undefined) throw new InvalidError('invalid request: querystring.run: earlier runs are kept only in PostgreSQL (STRATUM_ADAPTERS=1 with STRATUM_PG_URL)', [{ path: 'querystring.run', reason: 'needs the PostgreSQL history' }]);
      if (q.run !== hub.pg.runId && !(await hub.pg.runs()).some((r) => r.runId === q.run)) throw new NotFoundError(`no run "${q.run}" in the history (querystring.run; GET /api/history/runs lists them)`);
    }
    return hub.liveSource(q.run);
  };

  /** Resolves from/to/step against the source's clock and checks them; errors name the parameter. */
  const rangeOf = (q: RangeQuery, nowMs: number): { fromMs: number; toMs: number; stepMs: number } => {
    const bad = (param: string, reason: string): never => {
      throw new InvalidError(`invalid request: querystring.${param}: ${reason}`, [{ path: `querystring.${param}`, reason }]);
    };
    const to = q.to === undefined ? nowMs : (parseInstant(q.to, nowMs) ?? bad('to', `"${q.to}" is not a virtual time (ms, a duration such as 36h, now or now-24h)`));
    const from = q.from === undefined ? Math.max(0, to - 3_600_000) : (parseInstant(q.from, nowMs) ?? bad('from', `"${q.from}" is not a virtual time (ms, a duration such as 36h, now or now-24h)`));
    if (!(from < to)) bad('from', `must be before to (from ${from} ms, to ${to} ms of virtual time)`);
    let step: number;
    if (q.step === undefined) step = NICE_STEPS.find((s) => (to - from) / s <= 200) ?? Math.ceil((to - from) / 200 / 86_400_000) * 86_400_000;
    else step = parseDuration(q.step) ?? bad('step', `"${q.step}" is not a duration (ms, or 30s, 1m, 1h, 1d)`);
    if (step < MIN_STEP_MS) bad('step', `must be at least 1s (got ${step} ms)`);
    const aligned = alignRange(from, to, step);
    if (aligned.buckets > MAX_BUCKETS) bad('step', `${aligned.buckets} buckets of ${step} ms from ${from} to ${to}; at most ${MAX_BUCKETS}: widen the step or narrow the range`);
    return { fromMs: aligned.fromMs, toMs: aligned.toMs, stepMs: step };
  };

  const header = async (source: HistorySource, r: { fromMs: number; toMs: number; stepMs: number }) => ({
    time: 'virtual-ms' as const,
    nowMs: source.engine.now,
    ...r,
    store: source.queries.backend,
    scope: source.scope,
    retainedFromMs: (await source.queries.retainedFromMs()) ?? null,
  });

  app.get('/api/assets/:id/history', {
    config: { right: 'read' },
    schema: {
      tags: ['history'],
      summary: 'One asset (or cohort) over time: downsampled load, service level, stress and status per bucket, plus every status change with its cause. Times: virtual ms since the run began.',
      description: 'Per bucket the samples are the state at the bucket start and after each change in it. JSON, or CSV with `Accept: text/csv` (rows `record=bucket` and `record=status-change`).',
      security: [{ bearer: [] }],
      params: z.object({ id: z.string().min(1).max(200).describe('asset or cohort id') }),
      querystring: rangeQuery,
      response: { 200: assetHistoryResponse, ...errorResponses, 406: errorResponses[400] },
    },
  }, async (request, reply) => {
    const csv = wantsCsv(request, request.query.format);
    const source = await sourceOf(request.query);
    const index = source.engine.index;
    const actor = index.indexOf(request.params.id);
    if (actor === undefined) throw new NotFoundError(`no asset or cohort "${request.params.id}" (path id)`);
    const r = rangeOf(request.query, source.engine.now);
    const raw = await source.queries.assetHistory(actor, r.fromMs, r.toMs, r.stepMs, MAX_STATUS_CHANGES + 1);
    const changes = raw.statusChanges;
    const buckets = assetSeries(raw, r.fromMs, r.toMs, r.stepMs, source.engine.kernel.view(actor)).map((b) => ({ ...b, lastStatus: STATUS_NAMES[b.lastStatus] ?? String(b.lastStatus) }));
    const statusChanges = changes.slice(0, MAX_STATUS_CHANGES).map((c) => ({
      timeMs: c.time,
      seq: c.seq,
      from: STATUS_NAMES[c.from] ?? String(c.from),
      to: STATUS_NAMES[c.to] ?? String(c.to),
      cause: c.cause === null ? null : { code: CAUSE_NAMES[c.cause.code] ?? String(c.cause.code), from: index.nameOf(c.cause.from), seq: c.cause.seq, timeMs: c.cause.time },
    }));
    const isAsset = actor < index.assetCount;
    if (csv) {
      let text = csvLine(['record', 'start_ms', 'changes', 'mean_load', 'max_load', 'min_level', 'max_stress', 'last_status', 'time_ms', 'seq', 'status_from', 'status_to', 'cause', 'cause_actor', 'cause_seq', 'cause_time_ms']);
      for (const b of buckets) text += csvLine(['bucket', b.startMs, b.changes, b.meanLoad, b.maxLoad, b.minLevel, b.maxStress, b.lastStatus]);
      for (const c of statusChanges) text += csvLine(['status-change', null, null, null, null, null, null, null, c.timeMs, c.seq, c.from, c.to, c.cause?.code, c.cause?.from, c.cause?.seq, c.cause?.timeMs]);
      return sendCsv(reply, `${request.params.id}-history`, text);
    }
    return sendJson(reply, {
      ...(await header(source, r)),
      asset: request.params.id,
      kind: isAsset ? index.city.assets[actor]!.kind : 'cohort',
      layer: isAsset ? index.layerName(actor) : null,
      district: index.districts[index.districtOf[actor]!]!,
      buckets,
      statusChanges,
      statusChangesTruncated: changes.length > MAX_STATUS_CHANGES,
    } satisfies z.infer<typeof assetHistoryResponse>);
  });

  const layerQuery = rangeQuery.extend({
    layer: z.string().min(1).max(100).optional().describe('one layer (power, water, telecom, …); default every layer'),
    district: z.string().min(1).max(200).optional().describe('one district; default every district'),
  });

  app.get('/api/history', {
    config: { right: 'read' },
    schema: {
      tags: ['history'],
      summary: 'A layer and/or district over time: assets failed and degraded, people without power / water / telecom, outage cost rate — the peak of each per bucket. Times: virtual ms since the run began.',
      description: 'JSON, or CSV with `Accept: text/csv`. People without a service are counted in the cohort’s district; with `layer`, only that layer’s service.',
      security: [{ bearer: [] }],
      querystring: layerQuery,
      response: { 200: layerHistoryResponse, ...errorResponses, 406: errorResponses[400] },
    },
  }, async (request, reply) => {
    const q = request.query;
    const csv = wantsCsv(request, q.format);
    const source = await sourceOf(q);
    const index = source.engine.index;
    if (q.layer !== undefined && !index.layers.includes(q.layer)) throw new InvalidError(`invalid request: querystring.layer: unknown layer "${q.layer}" (known: ${index.layers.join(', ')})`, [{ path: 'querystring.layer', reason: `unknown layer "${q.layer}"` }]);
    if (q.district !== undefined && !index.districts.includes(q.district)) throw new InvalidError(`invalid request: querystring.district: unknown district "${q.district}" (known: ${index.districts.slice(0, 20).join(', ')}${index.districts.length > 20 ? ', …' : ''})`, [{ path: 'querystring.district', reason: `unknown district "${q.district}"` }]);
    const r = rangeOf(q, source.engine.now);
    const raw = await source.queries.seriesRaw(q.layer ?? ALL, q.district ?? ALL, r.fromMs, r.toMs, r.stepMs);
    const buckets = seriesBuckets(raw, r.fromMs, r.toMs, r.stepMs).map((b) => ({
      startMs: b.startMs, samples: b.samples, failed: b.failed, degraded: b.degraded,
      peopleWithout: { power: b.peoplePower, water: b.peopleWater, telecom: b.peopleTelecom }, costPerHour: b.costPerHour,
    }));
    if (csv) {
      let text = csvLine(['start_ms', 'samples', 'failed', 'degraded', 'people_without_power', 'people_without_water', 'people_without_telecom', 'cost_per_hour']);
      for (const b of buckets) text += csvLine([b.startMs, b.samples, b.failed, b.degraded, b.peopleWithout.power, b.peopleWithout.water, b.peopleWithout.telecom, b.costPerHour]);
      return sendCsv(reply, `history-${q.layer ?? 'all'}-${q.district ?? 'all'}`, text);
    }
    return sendJson(reply, { ...(await header(source, r)), layer: q.layer ?? null, district: q.district ?? null, currency: ctx.costModel.currency, buckets } satisfies z.infer<typeof layerHistoryResponse>);
  });

  app.get('/api/history/runs', {
    config: { right: 'read' },
    schema: {
      tags: ['history'],
      summary: 'Runs with history: the live one, and earlier ones kept in PostgreSQL (newest first)',
      security: [{ bearer: [] }],
      response: { 200: z.object({ live: z.string().nullable(), store: z.string(), runs: z.array(z.object({ runId: z.string(), lastWrite: z.string(), samples: z.number().int(), toMs: z.number() })) }), ...errorResponses },
    },
  }, async () => {
    if (hub.pg === undefined) return { live: null, store: 'embedded', runs: [] };
    return { live: hub.pg.runId, store: hub.pg.backend, runs: await hub.pg.runs() };
  });

  return hub;
}
