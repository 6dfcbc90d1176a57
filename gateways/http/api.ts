import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { inputCommandSchema, STATUS_NAMES, type Engine } from '../../engine/index.ts';
import { registerAnalysisRoutes } from './analysis-routes.ts';
import { validationRefusal } from './validation-reply.ts';
import { selectAssets, type ActorTable } from './assets-query.ts';
import type { AuditLog, Control } from '../door/index.ts';
import { bearer, can, type Principal, type Right, type TokenStore, errorResponses, ForbiddenError, NotFoundError, toReply, UnauthorizedError } from '../door/index.ts';
import { closure, MAX_GRAPH_RESULTS, neighbours, shortestPath, type Reached } from './graph.ts';
import { topologyGeography } from './geography.ts';
import { actorStateSchema, assetsQuerySchema, assetsReplySchema, clockInfoSchema, clockRequestSchema, PROTOCOL_VERSION, rerouteBodySchema, shedBodySchema, type ActorState, type Topology } from '../protocol.ts';
import { summarise, summaryResponse } from './summary.ts';
import type { OutcomeMeter } from '../../scenarios/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** The right a route needs; absent = public (health, metrics, docs, UI). */
    right?: Right;
  }
}

/** Builds the columnar topology document the UI loads once (see protocol.ts `Topology`). */
export function buildTopology(engine: Engine): Topology {
  const index = engine.index;
  const city = index.city;
  const kinds: string[] = [];
  const kindIndex = new Map<string, number>();
  const positions: (number | null)[] = [];
  const pushPosition = (p: { x: number; y: number; z: number } | null): void => {
    if (p === null) positions.push(null, null, null);
    else positions.push(p.x, p.y, p.z);
  };
  const kind = city.assets.map((a) => {
    let k = kindIndex.get(a.kind);
    if (k === undefined) {
      k = kinds.length;
      kinds.push(a.kind);
      kindIndex.set(a.kind, k);
    }
    return k;
  });
  city.assets.forEach((a) => pushPosition(a.position));
  city.cohorts.forEach((c) => pushPosition(c.position));
  const links: number[] = [];
  for (const l of city.links) links.push(index.indexOf(l.from)!, index.indexOf(l.to)!);
  const dependencies: number[] = [];
  for (let e = 0; e < index.depFrom.length; e++) dependencies.push(index.depFrom[e]!, index.depTo[e]!);
  return {
    protocol: PROTOCOL_VERSION,
    name: city.name,
    cityHash: engine.cityHash,
    assetCount: index.assetCount,
    cohortCount: index.cohortCount,
    layers: index.layers,
    districts: index.districts,
    kinds,
    ids: index.ids,
    kind,
    layer: Array.from(index.layerOf),
    district: Array.from(index.districtOf),
    positions,
    capacity: city.assets.map((a) => (Number.isFinite(a.capacity) ? a.capacity : null)),
    source: city.assets.map((a) => (a.source ? 1 : 0)),
    links,
    dependencies,
    dependencyStrength: Array.from(index.depStrength),
    population: Array.from(index.cohortPopulation),
    reliance: Array.from({ length: index.cohortReliesOn.items.length }, (_, k) => [index.relianceCohort[k]!, index.cohortReliesOn.items[k]!]).flat(),
    ...(city.geography === undefined ? {} : { geography: topologyGeography(city.geography, city.cohorts, index.districts) }),
  };
}

const errors = errorResponses;

// The live-state shapes are the protocol's: a gateway serves the same routes from the published state.
const actorState = actorStateSchema;

const journalAck = z.object({ ok: z.literal(true), seq: z.number().int(), time: z.number() });
const clockInfo = clockInfoSchema;
const idParams = z.object({ id: z.string().min(1).describe('asset or cohort id') });
const reachedList = z.object({ from: z.string(), count: z.number().int(), truncated: z.boolean(), assets: z.array(z.object({ id: z.string(), depth: z.number().int(), status: z.string() })) });

export interface HttpContext {
  readonly engine: Engine;
  readonly control: Control;
  readonly tokens: TokenStore;
  readonly audit: AuditLog;
  readonly metrics: Registry;
  readonly ready: () => boolean;
  /** Meters the live engine's outage cost since start (`GET /api/summary`). */
  readonly meter: OutcomeMeter;
  /** More details of an asset from a gateway service (the live estimator's `estimate`), merged into `GET /api/assets/:id`. */
  readonly assetDetails?: (id: string) => Record<string, unknown> | undefined;
}

/**
 * Registers the HTTP API on a fastify instance that already has the zod compilers, swagger and
 * rate limiting. Authentication runs in `onRequest` (before body validation), so a request without
 * the right gets 401/403 whatever its body.
 */
export function registerHttpApi(fastify: FastifyInstance, ctx: HttpContext): void {
  const { engine, control } = ctx;
  const index = engine.index;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    request.principal = ctx.tokens.verify(bearer(request.headers.authorization));
  });
  // The refusal (401/403) runs as each route's last onRequest hook, after the rate limiter's (which
  // @fastify/rate-limit adds per route too, earlier): anonymous and failed-auth requests are limited
  // per client address like everyone else, instead of being answered before the limiter sees them.
  const authorise = async (request: FastifyRequest): Promise<void> => {
    const right = request.routeOptions.config.right;
    if (right === undefined) return;
    const mutating = request.method !== 'GET' && request.method !== 'HEAD';
    const fail = (error: Error): never => {
      if (mutating) {
        const { status, reply } = toReply(error);
        ctx.audit.record({ virtualMs: engine.now, who: request.principal?.name ?? 'anonymous', role: request.principal?.role ?? 'none', via: 'http', action: `${request.method} ${request.routeOptions.url ?? request.url}`, target: null, result: reply.code, status, detail: reply.message, from: request.ip });
      }
      throw error;
    };
    if (request.principal === undefined) fail(new UnauthorizedError());
    else if (!can(request.principal, right)) fail(new ForbiddenError(request.principal.name, request.principal.role, right));
  };
  app.addHook('onRoute', (route) => {
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [authorise] : [...(Array.isArray(existing) ? existing : [existing]), authorise];
  });

  app.setErrorHandler((error, request, reply) => {
    const refusal = validationRefusal(error);
    if (refusal !== undefined) {
      const { message, problems } = refusal;
      if (request.method !== 'GET') {
        ctx.audit.record({ virtualMs: engine.now, who: request.principal?.name ?? 'anonymous', role: request.principal?.role ?? 'none', via: 'http', action: `${request.method} ${request.routeOptions.url ?? request.url}`, target: null, result: 'invalid', status: 400, detail: message });
      }
      return reply.status(400).send({ ok: false, code: 'invalid', message, problems });
    }
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (statusCode === 429) return reply.status(429).send({ ok: false, code: 'rate-limited', message: (error as Error).message });
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      // fastify's own 4xx: unparsable JSON, wrong content type, body too large …
      return reply.status(statusCode).send({ ok: false, code: 'invalid', message: (error as Error).message });
    }
    const { status, reply: body } = toReply(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ ok: false, code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]} (see /docs)` });
  });

  // ---- health and metrics (public) ----
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: z.object({ ok: z.boolean() }) } } }, () => ({ ok: true }));
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: engine started, real-time loop healthy', response: { 200: z.object({ ok: z.boolean(), virtualMs: z.number() }), 503: z.object({ ok: z.boolean(), reason: z.string() }) } } }, (_req, reply) => {
    if (!ctx.ready()) void reply.status(503).send({ ok: false, reason: control.runner.error?.message ?? 'starting' });
    else void reply.send({ ok: true, virtualMs: engine.now });
  });
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    const text = await ctx.metrics.metrics();
    return reply.header('content-type', ctx.metrics.contentType).send(text);
  });

  // ---- topology (static, ETag) ----
  let topology: { etag: string; body: string } | undefined;
  const topologyOf = (): { etag: string; body: string } => {
    if (topology === undefined) {
      const body = JSON.stringify(buildTopology(engine));
      topology = { etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, body };
    }
    return topology;
  };
  app.get('/api/topology', { config: { right: 'read' }, schema: { tags: ['city'], summary: 'Static city topology (columnar; see protocol.ts Topology). Cacheable, ETag.', security: [{ bearer: [] }] } }, (request, reply) => {
    const t = topologyOf();
    reply.header('etag', t.etag).header('cache-control', 'private, max-age=3600, must-revalidate');
    if (request.headers['if-none-match'] === t.etag) return reply.status(304).send();
    return reply.header('content-type', 'application/json; charset=utf-8').send(t.body);
  });

  const stateOf = (actor: number): ActorState => {
    const v = engine.kernel.view(actor);
    const isAsset = actor < index.assetCount;
    const city = index.city;
    return {
      id: index.ids[actor]!,
      index: actor,
      role: isAsset ? 'asset' : 'cohort',
      kind: isAsset ? city.assets[actor]!.kind : 'cohort',
      layer: isAsset ? index.layerName(actor) : null,
      district: index.districts[index.districtOf[actor]!]!,
      status: STATUS_NAMES[v.status] ?? String(v.status),
      level: v.level,
      load: v.load,
      stress: v.stress,
    };
  };
  const actorOf = (id: string): number => {
    const a = index.indexOf(id);
    if (a === undefined) throw new NotFoundError(`unknown asset or cohort "${id}"`);
    return a;
  };
  const assetOf = (id: string): number => {
    const a = actorOf(id);
    if (a >= index.assetCount) throw new NotFoundError(`"${id}" is a cohort; graph queries take asset ids`);
    return a;
  };

  // ---- live state ----
  const liveTable: ActorTable = {
    assetCount: index.assetCount,
    actorCount: index.assetCount + index.cohortCount,
    layers: index.layers,
    districts: index.districts,
    layerOf: (a) => index.layerOf[a]!,
    districtOf: (a) => index.districtOf[a]!,
    kindOf: (a) => (a < index.assetCount ? index.city.assets[a]!.kind : 'cohort'),
    statusOf: (a) => engine.kernel.statusOf(a),
    stateOf,
  };
  app.get('/api/assets', {
    config: { right: 'read' },
    schema: {
      tags: ['live'],
      summary: 'Assets (and cohorts) with live state, filtered',
      security: [{ bearer: [] }],
      querystring: assetsQuerySchema,
      response: { 200: assetsReplySchema, ...errors },
    },
  }, (request) => selectAssets(request.query, liveTable));

  const edge = z.object({ id: z.string(), kind: z.string(), strength: z.number(), probability: z.number(), status: z.string() });
  app.get('/api/assets/:id', {
    config: { right: 'read' },
    schema: {
      tags: ['live'],
      summary: 'One asset or cohort: live state, inspector details, providers and dependents',
      security: [{ bearer: [] }],
      params: idParams,
      response: { 200: actorState.extend({ details: z.record(z.string(), z.unknown()), providers: z.array(edge), dependents: z.array(edge), links: z.array(z.string()) }), ...errors },
    },
  }, (request) => {
    const a = actorOf(request.params.id);
    const deps = index.city.dependencies;
    const edges = (grouped: { offsets: Int32Array; items: Int32Array }, other: Int32Array) => {
      if (a >= index.assetCount) return [];
      const out: z.infer<typeof edge>[] = [];
      for (let k = grouped.offsets[a]!; k < grouped.offsets[a + 1]!; k++) {
        const e = grouped.items[k]!;
        const o = other[e]!;
        out.push({ id: index.ids[o]!, kind: deps[e]!.kind, strength: deps[e]!.strength, probability: deps[e]!.probability, status: STATUS_NAMES[engine.kernel.statusOf(o)] ?? '?' });
      }
      return out;
    };
    const links: string[] = [];
    if (a < index.assetCount) for (let k = index.links.offsets[a]!; k < index.links.offsets[a + 1]!; k++) links.push(index.ids[index.links.items[k]!]!);
    let details: Record<string, unknown>;
    try {
      details = JSON.parse(JSON.stringify(engine.describe(a), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))) as Record<string, unknown>;
    } catch {
      details = {};
    }
    const extra = ctx.assetDetails?.(index.ids[a]!);
    if (extra !== undefined) details = { ...details, ...extra };
    return { ...stateOf(a), details, providers: edges(index.depsByDependent, index.depFrom), dependents: edges(index.depsByProvider, index.depTo), links };
  });

  // ---- graph queries ----
  const toList = (from: number, r: { reached: Reached[]; truncated: boolean }) => ({
    from: index.ids[from]!,
    count: r.reached.length,
    truncated: r.truncated,
    assets: r.reached.map((x) => ({ id: index.ids[x.asset]!, depth: x.depth, status: STATUS_NAMES[engine.kernel.statusOf(x.asset)] ?? '?' })),
  });
  app.get('/api/graph/neighbours/:id', {
    config: { right: 'read' },
    schema: {
      tags: ['graph'],
      summary: `Assets within depth d over links and/or dependencies (at most ${MAX_GRAPH_RESULTS})`,
      security: [{ bearer: [] }],
      params: idParams,
      querystring: z.object({ depth: z.coerce.number().int().min(1).max(10).default(1), via: z.enum(['links', 'dependencies', 'both']).default('both') }),
      response: { 200: reachedList, ...errors },
    },
  }, (request) => {
    const a = assetOf(request.params.id);
    return toList(a, neighbours(index, a, request.query.depth, request.query.via));
  });
  for (const direction of ['upstream', 'downstream'] as const) {
    app.get(`/api/graph/${direction}/:id`, {
      config: { right: 'read' },
      schema: {
        tags: ['graph'],
        summary: direction === 'upstream' ? 'Everything this asset depends on, transitively' : 'Everything that depends on this asset, transitively',
        security: [{ bearer: [] }],
        params: idParams,
        querystring: z.object({ depth: z.coerce.number().int().min(1).max(1000).optional() }),
        response: { 200: reachedList, ...errors },
      },
    }, (request) => {
      const a = assetOf(request.params.id);
      return toList(a, closure(index, a, direction, request.query.depth));
    });
  }
  app.get('/api/graph/path', {
    config: { right: 'read' },
    schema: {
      tags: ['graph'],
      summary: 'Shortest dependency path between two assets (directed: provider → dependent)',
      security: [{ bearer: [] }],
      querystring: z.object({ from: z.string().min(1), to: z.string().min(1), mode: z.enum(['directed', 'undirected']).default('directed') }),
      response: { 200: z.object({ from: z.string(), to: z.string(), hops: z.number().int(), path: z.array(z.string()) }), ...errors },
    },
  }, (request) => {
    const { from, to, mode } = request.query;
    const path = shortestPath(index, assetOf(from), assetOf(to), mode);
    if (path === undefined) throw new NotFoundError(`no ${mode} dependency path from "${from}" to "${to}"`);
    return { from, to, hops: path.length - 1, path: path.map((p) => index.ids[p]!) };
  });

  // ---- mutations ----
  const principalOf = (request: FastifyRequest): Principal | undefined => request.principal;
  app.post('/api/inject', {
    // Any authenticated caller reaches the door, which parses first and then checks the right the
    // command needs (inject; operate or inject for operator actions): the same answer as over Socket.io.
    config: { right: 'read' },
    schema: {
      tags: ['inputs'],
      summary: 'Inject an input (failure, hazard, cyber attack, telemetry, ambient, order) into the journal',
      security: [{ bearer: [] }],
      body: inputCommandSchema,
      response: { 202: journalAck, ...errors },
    },
  }, (request, reply) => {
    const entry = control.command(principalOf(request), request.body, 'http');
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });

  const summaries = {
    isolate: 'Isolate an asset (409 when already isolated)',
    restore: 'Restore an isolated, tripped or damaged asset now (409 when it is ok)',
    repair: 'Dispatch a repair crew (409 when the asset is ok or isolated)',
  } as const;
  for (const action of ['isolate', 'restore', 'repair'] as const) {
    app.post(`/api/assets/:id/${action}`, {
      config: { right: 'operate' },
      schema: { tags: ['operator'], summary: summaries[action], security: [{ bearer: [] }], params: idParams, response: { 202: journalAck, ...errors } },
    }, (request, reply) => {
      const entry = control.operate(principalOf(request), action, request.params.id, undefined, 'http');
      void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
    });
  }
  app.post('/api/assets/:id/reroute', {
    config: { right: 'operate' },
    schema: {
      tags: ['operator'],
      summary: 'Move a share of the asset\'s demand to a linked asset of its layer (409 unless both are in service and linked)',
      security: [{ bearer: [] }],
      params: idParams,
      body: rerouteBodySchema,
      response: { 202: journalAck, ...errors },
    },
  }, (request, reply) => {
    const entry = control.reroute(principalOf(request), request.params.id, request.body.to, request.body.share, 'http');
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });

  app.post('/api/assets/:id/shed', {
    config: { right: 'operate' },
    schema: {
      tags: ['operator'],
      summary: 'Shed a share of the asset\'s load (409 when it is out of service or carries none)',
      security: [{ bearer: [] }],
      params: idParams,
      body: shedBodySchema,
      response: { 202: journalAck, ...errors },
    },
  }, (request, reply) => {
    const entry = control.operate(principalOf(request), 'shed', request.params.id, request.body.share, 'http');
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });

  // ---- clock ----
  app.get('/api/clock', { config: { right: 'read' }, schema: { tags: ['clock'], summary: 'Virtual clock', security: [{ bearer: [] }], response: { 200: clockInfo, ...errors } } }, () => control.clockInfo());
  app.post('/api/clock', {
    config: { right: 'clock' },
    schema: {
      tags: ['clock'],
      summary: 'Pause, resume or set the speed (virtual seconds per wall second)',
      security: [{ bearer: [] }],
      // `{"speed": 60}` alone is the obvious way to ask for a speed: read it as the speed action.
      body: z.preprocess((b) => (typeof b === 'object' && b !== null && !('action' in b) && 'speed' in b ? { action: 'speed', ...b } : b), clockRequestSchema),
      response: { 200: clockInfo, ...errors },
    },
  }, (request) => control.clock(principalOf(request), request.body, 'http'));

  // ---- summary, identity, audit ----
  app.get('/api/summary', {
    config: { right: 'read' },
    schema: { tags: ['live'], summary: 'Run summary: state hash, failed, degraded, inputs, people without service, economic cost so far and per hour', security: [{ bearer: [] }], response: { 200: summaryResponse, ...errors } },
  }, () => summarise(engine, ctx.meter));
  app.get('/api/whoami', { config: { right: 'read' }, schema: { tags: ['auth'], summary: 'The caller\'s name and role', security: [{ bearer: [] }], response: { 200: z.object({ name: z.string(), role: z.string() }), ...errors } } }, (request) => ({ name: request.principal!.name, role: request.principal!.role }));
  app.get('/api/audit', {
    config: { right: 'audit' },
    schema: {
      tags: ['auth'],
      summary: 'Audit trail of mutations (admin)',
      security: [{ bearer: [] }],
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
    },
  }, (request) => ({ total: ctx.audit.count, entries: ctx.audit.list(request.query.limit), accepted: ctx.audit.acceptedTallies(), anonymous: ctx.audit.anonymousSummary(Math.min(request.query.limit, 100)) }));

  // ---- analysis: explain and criticality over the live engine ----
  registerAnalysisRoutes(fastify, engine);
}
