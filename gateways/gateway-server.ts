import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { StratumError } from '../engine/index.ts';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { configuredTokens, GatewayError, hashToken, redactTokens, tokensFromEnvironment } from './door/index.ts';
import { registerFavicon, type TokenReload } from './http/index.ts';
import { listenOrClose } from './server.ts';
import { ErrorCode, type ClockInfo, type ErrorReply } from './protocol.ts';
import { RelayHub, SocketGateway, type FanoutSettings, type SocketDoor } from './stream/index.ts';
import { LiveReadModel, registerGatewayReads } from './reads/index.ts';

/**
 * The gateway role (`stratum start --role gateway`): no engine here. Viewers (Socket.io, raw ws)
 * are served from the frames the engine process publishes on Redis Streams (`RelayHub`); the
 * live-state reads (`GATEWAY_READS`: assets, summary, clock, topology, whoami) are answered from
 * the state the engine publishes beside them (`LiveReadModel`, gateways/reads/); every other HTTP
 * request under /api (inputs, and reads that need the engine), /docs and /openapi.json is forwarded
 * to the engine, whose one door checks, journals and audits inputs; socket inputs (`command`, `clock`) are
 * forwarded the same way with the socket's own token. Any number of gateways can run: they hold
 * no state a viewer depends on (frames, numbers and the catch-up ring all come from Redis).
 */
export interface GatewayOptions {
  /** The engine process's HTTP base URL (`--engine-url`, `STRATUM_ENGINE_URL`). */
  engineUrl: string;
  fanout: FanoutSettings;
  port: number;
  host?: string;
  /** Built UI to serve at `/` (default twin-ui/dist when it exists; `false`: none). */
  uiDir?: string | false;
  quiet?: boolean;
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for an engine to have published (default 30 s). */
  engineWaitMs?: number;
  highWaterBytes?: number;
  eventsPerSecond?: number;
}

export interface RunningGateway {
  url: string;
  hub: RelayHub;
  /** The live state the gateway answers reads from. */
  reads: LiveReadModel;
  sockets: SocketGateway;
  /** Re-reads STRATUM_TOKENS / STRATUM_TOKENS_FILE (SIGHUP), as the engine does. */
  reloadTokens(): TokenReload;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Headers a proxy must not pass on (hop-by-hop, or recomputed). */
const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length', 'proxy-connection', 'te', 'trailer', 'content-encoding']);

/** A setting the gateway cannot start without (the CLI prints it as one line). */
export class GatewayConfigError extends StratumError {}

class EngineUnreachableError extends GatewayError {
  constructor(engineUrl: string, cause: unknown) {
    super(503, ErrorCode.Internal, `the engine at ${engineUrl} did not answer (${(cause as Error).message})`, undefined, { cause });
  }
}

/** Socket inputs go to the engine's door over HTTP, with the socket's own token (so rights and audit are the caller's). */
class RemoteDoor implements SocketDoor {
  constructor(private readonly engineUrl: string, private readonly hub: RelayHub) {}

  clockInfo(): ClockInfo {
    return this.hub.lastClock;
  }

  async command(_principal: unknown, token: string | undefined, command: unknown, via: string): Promise<{ seq: number; time: number }> {
    const reply = (await this.post('/api/inject', token, command, via)) as { seq: number; time: number };
    return { seq: reply.seq, time: reply.time };
  }

  async clock(_principal: unknown, token: string | undefined, request: unknown, via: string): Promise<ClockInfo> {
    return (await this.post('/api/clock', token, request ?? {}, via)) as ClockInfo;
  }

  private async post(path: string, token: string | undefined, body: unknown, via: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.engineUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-stratum-via': `gateway:${via}`, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new EngineUnreachableError(this.engineUrl, error);
    }
    const reply = (await response.json().catch(() => ({}))) as Partial<ErrorReply> & Record<string, unknown>;
    if (!response.ok) throw new GatewayError(response.status, (reply.code as ErrorCode | undefined) ?? ErrorCode.Internal, reply.message ?? `engine answered ${response.status}`, reply.problems);
    return reply;
  }
}

/** Starts a gateway process's server. Throws when no engine published on Redis within `engineWaitMs`. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const engineUrl = options.engineUrl.replace(/\/+$/, '');
  // The engine's tokens: a token generated here would exist nowhere else (the engine would refuse it).
  if (!['STRATUM_ADMIN_TOKEN', 'STRATUM_TOKENS', 'STRATUM_TOKENS_FILE'].some((name) => (env[name] ?? '') !== '')) {
    throw new GatewayConfigError('a gateway needs the engine\'s tokens: set STRATUM_ADMIN_TOKEN, STRATUM_TOKENS or STRATUM_TOKENS_FILE as for the engine');
  }
  const { store: tokens, adminToken } = tokensFromEnvironment(undefined, env);
  const hub = await RelayHub.connect(options.fanout, { ...(options.engineWaitMs === undefined ? {} : { timeoutMs: options.engineWaitMs }) });
  const reads = await LiveReadModel.connect(options.fanout).catch(async (error: unknown) => {
    await hub.close();
    throw error;
  });

  const app = Fastify({
    logger: options.quiet === true ? false : { level: options.logLevel ?? env['STRATUM_LOG_LEVEL'] ?? 'warn', serializers: { req: (r: { method: string; url: string }) => ({ method: r.method, url: redactTokens(r.url) }) } },
    bodyLimit: 1_048_576,
  });
  // Bodies pass through untouched: the engine validates them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const registry = new Registry();
  const viewers: Gauge = new Gauge({ name: 'stratum_gateway_viewers', help: 'Viewers subscribed on this gateway', registers: [registry], collect: (): void => viewers.set(hub.subscriberCount()) });
  const relayed = new Counter({ name: 'stratum_gateway_frames_relayed_total', help: 'Frames received from the engine and passed on', registers: [registry] });
  let relayedSeen = 0;
  const sent: Gauge = new Gauge({
    name: 'stratum_gateway_frames_sent', help: 'Frames sent to viewers (all transports) since start', registers: [registry],
    collect: (): void => {
      relayed.inc(hub.stats.framesCut - relayedSeen);
      relayedSeen = hub.stats.framesCut;
      sent.set(hub.stats.framesSent);
    },
  });

  new Gauge({ name: 'stratum_gateway_state_age_seconds', help: 'Age of the live state this gateway answers reads from (since the engine published it)', registers: [registry], collect(): void {
    this.set(Number.isFinite(reads.ageMs) ? reads.ageMs / 1000 : -1);
  } });

  /** Whether this gateway answers the live-state reads itself, and how old its state is. */
  const readsStatus = () => ({ ready: reads.ready, ...(reads.ready ? { ageMs: reads.ageMs } : { reason: reads.notReadyReason }) });
  app.get('/healthz', () => ({ ok: true, role: 'gateway' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      const response = await fetch(`${engineUrl}/readyz`);
      const engine = (await response.json()) as { ok?: boolean };
      return reply.status(response.ok && engine.ok === true ? 200 : 503).send({ ok: response.ok && engine.ok === true, role: 'gateway', engine, reads: readsStatus() });
    } catch (error) {
      return reply.status(503).send({ ok: false, role: 'gateway', reason: `engine at ${engineUrl} unreachable: ${(error as Error).message}`, reads: readsStatus() });
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_HEADERS.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-forwarded-for'] = request.ip;
    const body = request.body instanceof Buffer && request.body.length > 0 && request.method !== 'GET' && request.method !== 'HEAD' ? request.body : undefined;
    let response: Response;
    try {
      response = await fetch(`${engineUrl}${request.url}`, { method: request.method, headers, ...(body === undefined ? {} : { body }), redirect: 'manual' });
    } catch (error) {
      const { status, reply: r } = { status: 503, reply: { ok: false, code: ErrorCode.Internal, message: new EngineUnreachableError(engineUrl, error).message } };
      return reply.status(status).send(r);
    }
    reply.status(response.status);
    response.headers.forEach((value, name) => {
      if (!HOP_HEADERS.has(name)) void reply.header(name, value);
    });
    return reply.send(Buffer.from(await response.arrayBuffer()));
  };
  // The live-state reads are answered here (forwarded while this gateway holds no state yet); the rest goes to the engine.
  await registerGatewayReads(app, { model: reads, tokens, forward, rateLimitPerMinute: Number(env['STRATUM_RATE_LIMIT'] ?? 1200), anonymousRateLimitPerMinute: Number(env['STRATUM_ANON_RATE_LIMIT'] ?? 120) });
  for (const path of ['/api/*', '/docs', '/docs/*', '/openapi.json']) app.all(path, forward);
  registerFavicon(app);
  const uiDir = options.uiDir ?? resolve(here, '../twin-ui/dist');
  if (uiDir !== false && existsSync(uiDir)) await app.register(fastifyStatic, { root: resolve(uiDir), prefix: '/', wildcard: false });
  await app.ready();

  const sockets = new SocketGateway(app.server, {
    hub,
    door: new RemoteDoor(engineUrl, hub),
    tokens,
    summary: () => hub.lastSummary,
    topologyEtag: () => hub.topologyEtag,
    ...(options.highWaterBytes === undefined ? {} : { highWaterBytes: options.highWaterBytes }),
    ...(options.eventsPerSecond === undefined ? {} : { eventsPerSecond: options.eventsPerSecond }),
  });
  hub.onClock = () => sockets.broadcastClock();
  hub.onAlerts = (alerts) => sockets.broadcastAlerts({ type: 'alerts', alerts });
  hub.onSummary = () => sockets.broadcastSummary();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await sockets.close();
      await hub.close();
      await reads.close();
      await app.close();
    })();
    return closing;
  };
  const { address } = await listenOrClose(app, options.host, options.port, close);
  const reloadTokens = (): TokenReload => {
    const diff = tokens.replaceWith(configuredTokens(hashToken(adminToken), env));
    return { ...diff, disconnected: sockets.dropRevoked(), total: tokens.size };
  };
  return { url: address.replace('://[::1]', '://localhost'), hub, reads, sockets, reloadTokens, close };
}
