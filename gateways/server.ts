import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { createBehaviours } from '../actors/index.ts';
import { performance } from 'node:perf_hooks';
import { Engine, hashCity, RealtimeRunner, StratumError, type CityModel, type WallClock } from '../engine/index.ts';
import { checkpointWriter, openDataDir, openLedger, registerDurability, type RecoveryState, AuditLog, bearer, configuredTokens, hashToken, redactTokens, tokensFromEnvironment, Control, doorLimitsFromEnv, ScenarioExpander, WhatIfRunner, readSnapshotCompanion, restoreNewestSnapshot, SnapshotKeeper, snapshotSettings } from './door/index.ts';
import { DEFAULT_COST_MODEL, defaultRecordingsDir, OutcomeMeter, type CostModel } from '../scenarios/index.ts';
import { acceptEmptyBodies, registerFavicon, registerHttpApi, registerScenarioRoutes, registerTokenRoutes, type TokenReload, summarise, createMetrics, registerEventLoopDelay, registerSnapshotMetrics } from './http/index.ts';
import type { HeldHistory, HistoryHub } from './history/index.ts';
import { registerHistoryRoutes } from './history/index.ts';
import { registerSessionRoutes, registerSessionApprovalRoutes, SessionApprovals, fileRecordings, firstOf, SessionManager } from './sessions/index.ts';
import { registerGridRoutes } from './http/index.ts';
import { connectAdapters, PgRecordings, registerServiceMetrics } from './adapters/index.ts';
import { PROTOCOL_VERSION } from './protocol.ts';
import { controlDoor, FramePublisher, SocketGateway, StreamHub, type FanoutSettings, type StreamStats } from './stream/index.ts';
import { telemetryMonitorFromEnv } from './automation/index.ts';
import { attachTankAlerts, tankHorizonSeconds } from './automation/index.ts';
import { registerWaterReadingRoutes, WaterReadingHistory } from './history/index.ts';
import { estimationEvent, liveEstimatorFromEnv, registerEstimationRoutes, voltageMonitorFromEnv } from './automation/index.ts';
import { registerHeldActionRoutes } from './http/index.ts';
import { StatePublisher } from './reads/index.ts';

export interface StartServerOptions {
  city: CityModel;
  seed: number;
  port: number;
  host?: string;
  /** Virtual seconds per wall second (default 1). */
  speed?: number;
  /** Admin bearer token; else `STRATUM_ADMIN_TOKEN`; else one is generated (returned, print it). */
  adminToken?: string;
  /** No request logs (tests). */
  quiet?: boolean;
  /** pino level of the HTTP logger (request logs at `info`); else `STRATUM_LOG_LEVEL`; else `warn`. */
  logLevel?: string;
  /** Built UI to serve at `/` (default twin-ui/dist when it exists; `false`: the API only). */
  uiDir?: string | false;
  /** Cost model for the economic impact in `/api/summary` (default: the documented defaults). */
  costModel?: CostModel;
  /**
   * Data directory (durable journal, ledger, checkpoint; see gateways/door/durability.ts): else
   * `STRATUM_DATA_DIR`; else none (journal in memory: tests, embedding). `stratum start` defaults it
   * to `./data`. `false`: none, whatever the environment says.
   */
  dataDir?: string | false;
  /**
   * The engine role: publish every frame, the clock, alerts and summary on Redis Streams for gateway
   * processes (gateways/stream/fanout.ts). Absent: one process (role `all`), nothing published.
   */
  fanout?: FanoutSettings;
}

/** The HTTP port could not be bound (in use, not allowed, no such interface): one line for the operator. */
export class ListenError extends StratumError {}

/** Listens on `host` (default 127.0.0.1) and `port`; on failure closes what was built and throws one `ListenError` line. */
export async function listenOrClose(app: { listen(o: { port: number; host: string }): Promise<string> }, host: string | undefined, port: number, close: () => Promise<void>): Promise<{ address: string }> {
  const on = host ?? '127.0.0.1';
  try {
    return { address: await app.listen({ port, host: on }) };
  } catch (error) {
    await close();
    throw listenError(error, on, port);
  }
}

function listenError(error: unknown, host: string, port: number): ListenError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  const reason =
    code === 'EADDRINUSE' ? 'the port is in use (another stratum start?)'
    : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
    : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? `no interface has the address ${host}`
    : (error as Error).message;
  return new ListenError(`cannot listen on ${where}: ${reason}; choose another with --port N (or PORT=N) or --host`, { cause: error });
}

export interface RunningServer {
  url: string;
  adminToken: string;
  engine: Engine;
  /**
   * Re-reads `STRATUM_TOKENS` and `STRATUM_TOKENS_FILE` and swaps the tokens in (the start-up admin
   * token stays); clients whose token went away are disconnected. Throws `TokenConfigError` naming
   * the bad entry, and then nothing changed. The CLI calls it on SIGHUP.
   */
  reloadTokens(): TokenReload;
  close(): Promise<void>;
}

/** Tuning knobs beyond the public options (tests and benchmarks). */
export interface ServerTuning {
  /** Bytes a socket may hold before its frames are merged (default 256 KiB). */
  highWaterBytes?: number;
  /** HTTP requests per minute per token (default 1200; env STRATUM_RATE_LIMIT). */
  rateLimitPerMinute?: number;
  /** HTTP requests per minute per client address without a valid token (default 120; env STRATUM_ANON_RATE_LIMIT). */
  anonymousRateLimitPerMinute?: number;
  /** Socket events per second per token (default 20). */
  eventsPerSecond?: number;
  /** Frames kept per view for catch-up (default 128). */
  ringFrames?: number;
  /** Start with the clock paused. */
  paused?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Replay/training sessions at once (default 4; env STRATUM_MAX_SESSIONS). */
  maxSessions?: number;
  /** A session without viewers or requests this long is closed (default 15 min). */
  sessionIdleMs?: number;
  /** Wall clock that paces the live run (`RealtimeRunner`); tests advance a `ManualWallClock` instead of sleeping. */
  runnerClock?: WallClock;
  /** Wall clock of the sessions (playback, the 1 Hz channel, idle closing); tests advance a `ManualWallClock`. */
  sessionPlaybackClock?: WallClock;
  /** Called once the port listens, before the journal is recovered (tests watch `/readyz` say `recovering`). */
  onListening?: (url: string) => void;
}

/** What tests and benchmarks can reach inside a running server. */
export interface ServerInternals extends RunningServer {
  runner: RealtimeRunner;
  hub: StreamHub;
  sockets: SocketGateway;
  audit: AuditLog;
  stats: StreamStats;
  sessions: SessionManager;
  /** The one door every input passes (gateways/door/control.ts). */
  control: Control;
  /** The live engine's and the sessions' history (gateways/history/history.ts). */
  history: HistoryHub;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Starts the live twin in this process: the engine (nact driver) in real time, the HTTP API, the
 * Socket.io and ws streams, and the UI, all on one port. Port 0 picks a free port.
 *
 * @example
 * const server = await startServer({ city, seed: 1, port: 8080 });
 * console.log(`open ${server.url}/?token=${server.adminToken}`);
 * await server.close();
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const s = await startServerWith(options);
  return { url: s.url, adminToken: s.adminToken, engine: s.engine, reloadTokens: s.reloadTokens, close: s.close };
}

/** `startServer` with tuning knobs and internals exposed (tests, benchmarks). */
export async function startServerWith(options: StartServerOptions, tuning: ServerTuning = {}): Promise<ServerInternals> {
  const env = tuning.env ?? process.env;
  const { store: tokens, adminToken } = tokensFromEnvironment(options.adminToken, env);
  const dataDirPath = options.dataDir === false ? undefined : options.dataDir ?? env['STRATUM_DATA_DIR'];
  const cityHash = hashCity(options.city);
  const data = dataDirPath === undefined ? undefined : await openDataDir(dataDirPath, cityHash, options.seed, env);
  const snapshotConfig = data === undefined ? undefined : snapshotSettings(env);
  const engine = await Engine.create({ city: options.city, cityHash, behaviours: (i) => createBehaviours(i), seed: options.seed, driver: 'nact', ...(data === undefined ? {} : { journal: data.journal }) });
  // The newest usable snapshot, before anything below subscribes to the stream; recover() replays the journal after it.
  const snapshotStart = data === undefined ? undefined : restoreNewestSnapshot(engine, data.dir, data.checkpoint);
  const recovery: RecoveryState = { phase: data === undefined ? 'done' : 'recovering', inputs: 0 };
  const runner = new RealtimeRunner(engine, { speed: options.speed ?? 1, ...(tuning.runnerClock === undefined ? {} : { clock: tuning.runnerClock }) });
  const meter = OutcomeMeter.attach(engine, options.costModel ?? DEFAULT_COST_MODEL);
  const audit = new AuditLog();
  // Admitted scenarios are expanded in a worker thread (started on the first run), off the event loop.
  const expander = new ScenarioExpander(options.city, engine.kernel.seed);
  const control = new Control(engine, runner, audit, doorLimitsFromEnv(env), expander);
  const hub = new StreamHub(engine, tuning.ringFrames === undefined ? {} : { ringFrames: tuning.ringFrames });
  control.onAccepted = (atMs) => {
    hub.expedite(atMs);
    runner.nudge();
  };
  const quiet = options.quiet ?? false;

  const app = Fastify({
    // Request logs only when asked for (--log-level info): at the default they scroll the start-up
    // lines (URL, token) away at once. Logged URLs have any `token=` value redacted.
    logger: quiet
      ? false
      : {
          level: options.logLevel ?? env['STRATUM_LOG_LEVEL'] ?? 'warn',
          serializers: { req: (request: { method: string; url: string; ip: string }) => ({ method: request.method, url: redactTokens(request.url), remoteAddress: request.ip }) },
        },
    bodyLimit: 1_048_576,
  });
  acceptEmptyBodies(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerDurability(app, engine, recovery);
  const { ledger: openedLedger, repairs } = openLedger(data, data === undefined ? env['STRATUM_LEDGER_FILE'] : data.ledgerFile);
  for (const repair of repairs) app.log.warn(`repaired on start: ${repair}`);
  for (const refusal of snapshotStart?.refused ?? []) app.log.warn(refusal);

  const rateLimit = tuning.rateLimitPerMinute ?? Number(env['STRATUM_RATE_LIMIT'] ?? 1200);
  const anonymousRateLimit = tuning.anonymousRateLimitPerMinute ?? Number(env['STRATUM_ANON_RATE_LIMIT'] ?? 120);
  await app.register(fastifyRateLimit, {
    global: true,
    // Callers with a valid token are limited per token; everyone else (no token, an unknown one) per
    // client address, at a lower rate, so random tokens do not buy a fresh allowance.
    max: (_request, key) => (key.startsWith('ip:') ? anonymousRateLimit : rateLimit),
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const principal = tokens.verify(bearer(request.headers.authorization));
      return principal === undefined ? `ip:${request.ip}` : `token:${principal.tokenHash}`;
    },
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz' || request.url === '/metrics',
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Stratum Twin control API', version: `protocol ${PROTOCOL_VERSION}`, description: 'Live digital twin: city topology, live state, graph queries, inputs, operator actions, clock. Streaming: Socket.io at /socket.io and raw ws at /ws (see gateways/protocol.ts).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const late: { sockets?: SocketGateway } = {};
  const metrics = createMetrics(engine, hub, () => late.sockets?.counts ?? { socketio: 0, ws: 0 });
  const stopLoopDelay = registerEventLoopDelay(metrics);
  // Real adapters (gateways/adapters) only when STRATUM_ADAPTERS=1; each one by its URL variable.
  const adapters = env['STRATUM_ADAPTERS'] === '1' ? await connectAdapters(engine, env, control) : undefined;
  if (adapters !== undefined) {
    registerServiceMetrics(metrics, () => adapters.health());
    app.addHook('onSend', async (request, _reply, payload) => (request.url === '/readyz' && typeof payload === 'string' ? JSON.stringify({ ...(JSON.parse(payload) as object), services: adapters.health() }) : payload));
  }
  let topologyEtag = '';
  let started = false;
  // The live state estimator (opt-in, STRATUM_ESTIMATION=1; gateways/live-estimator.ts).
  const estimator = liveEstimatorFromEnv(env, engine, control, runner, (alerts) => hub.raise(alerts), (error) => app.log.error(`state estimation run failed: ${error.message}`));
  registerHttpApi(app, { engine, control, tokens, audit, metrics, meter, ready: () => started && runner.error === undefined, assetDetails: (id) => {
    const estimate = estimator?.assetEstimate(id);
    return estimate === undefined ? undefined : { estimate };
  } });
  registerEstimationRoutes(app, estimator, env['STRATUM_ESTIMATION'] === '1' ? 'the city has no electrical power assets' : 'off: set STRATUM_ESTIMATION=1');
  // With the PostgreSQL adapter on, recordings go to the database too (and sessions read them from there).
  const pgRecordings = adapters?.history === undefined ? undefined : await PgRecordings.open({ pool: adapters.history.pool, schema: env['STRATUM_RECORDINGS_SCHEMA'] ?? 'stratum' });
  const whatIfRunner = new WhatIfRunner(options.city, engine.kernel.seed, engine.cityHash);
  const { ledger, guard } = registerScenarioRoutes(app, { engine, control, audit, city: options.city, env, ledger: openedLedger, whatIf: whatIfRunner, ...(pgRecordings === undefined ? {} : { recordingStore: pgRecordings }) });
  registerHeldActionRoutes(app, { guard, control });
  // Replays and training exercises beside the live engine, on recordings of this server's folder.
  const sessions = new SessionManager({
    behaviours: (i) => createBehaviours(i),
    recordings: pgRecordings === undefined ? fileRecordings(defaultRecordingsDir(env)) : firstOf(fileRecordings(defaultRecordingsDir(env)), pgRecordings),
    audit,
    ledger,
    city: options.city,
    costModel: options.costModel ?? DEFAULT_COST_MODEL,
    maxSessions: tuning.maxSessions ?? Number(env['STRATUM_MAX_SESSIONS'] ?? 4),
    ...(tuning.sessionIdleMs === undefined ? {} : { idleMs: tuning.sessionIdleMs }),
    ...(tuning.sessionPlaybackClock === undefined ? {} : { playbackClock: tuning.sessionPlaybackClock }),
    ...(tuning.ringFrames === undefined ? {} : { ringFrames: tuning.ringFrames }),
    guard,
  });
  registerSessionRoutes(app, { sessions, control });
  registerSessionApprovalRoutes(app, { sessions, approvals: new SessionApprovals(sessions, ledger), control });
  // Before the recovery below: the journal replay refills the embedded history (gateways/history.ts).
  const waterReadings = new WaterReadingHistory(engine);
  registerWaterReadingRoutes(app, waterReadings);
  const history = await registerHistoryRoutes(app, { engine, sessions, costModel: options.costModel ?? DEFAULT_COST_MODEL, adapters, env });
  // Restarted from a snapshot: the history before it comes from the snapshot's companion (the
  // journal before the snapshot is not replayed); the tail replayed below adds the rest.
  const loadedSnapshot = snapshotStart?.loaded;
  if (data !== undefined && loadedSnapshot !== undefined) {
    const held = readSnapshotCompanion(data.dir, 'history', loadedSnapshot.seq);
    if ('value' in held) history.live.embedded.importHeld(held.value as HeldHistory);
    else app.log.warn(`history before the snapshot at entry ${loadedSnapshot.seq} is not restored: ${held.missing}`);
  }
  const reloadTokens = (): TokenReload => {
    const diff = tokens.replaceWith(configuredTokens(hashToken(adminToken), env));
    return { ...diff, disconnected: late.sockets?.dropRevoked() ?? 0, total: tokens.size };
  };
  registerTokenRoutes(app, { tokens, control, reload: reloadTokens });
  const grid = registerGridRoutes(app, { engine });
  // The live voltage monitor (opt-in, STRATUM_VOLTAGE_MONITOR=1; gateways/automation/voltage-monitor.ts).
  const voltages = voltageMonitorFromEnv(env, engine, control, (alerts) => hub.raise(alerts));
  if (grid !== null && voltages !== null) grid.voltages = voltages;
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  registerFavicon(app);

  const uiDir = options.uiDir ?? resolve(here, '../twin-ui/dist');
  if (uiDir !== false && existsSync(uiDir)) await app.register(fastifyStatic, { root: resolve(uiDir), prefix: '/', wildcard: false });

  await app.ready();
  const gateway = new SocketGateway(app.server, {
    hub,
    sessions,
    door: controlDoor(control),
    tokens,
    summary: () => summarise(engine, meter),
    topologyEtag: () => topologyEtag,
    ...(tuning.highWaterBytes === undefined ? {} : { highWaterBytes: tuning.highWaterBytes }),
    ...(tuning.eventsPerSecond === undefined ? {} : { eventsPerSecond: tuning.eventsPerSecond }),
  });
  late.sockets = gateway;
  const offEstimation = estimator?.onRun((summary) => gateway.broadcastEstimation(estimationEvent(summary)));

  // Frames are cut right after each engine advance; alerts at 2 Hz, clock and session list at 1 Hz, summary at 0.5 Hz (the last two only when changed).
  const checkpoints = data === undefined ? undefined : checkpointWriter(engine, data.checkpointFile);
  const snapshots = data === undefined ? undefined : new SnapshotKeeper(engine, data.dir, snapshotConfig!, { checkpointFile: data.checkpointFile, log: (m) => app.log.error(m), companions: [{ name: 'history', capture: () => history.live.embedded.exportHeld() }] });
  if (snapshots !== undefined) registerSnapshotMetrics(metrics, snapshots);
  const offAdvance = runner.onAdvance(() => {
    hub.flush();
    checkpoints?.afterAdvance();
    snapshots?.afterAdvance();
  });
  const offTelemetry = telemetryMonitorFromEnv(env, engine, runner, (alerts) => hub.raise(alerts), { control, guard, ledger }, estimator);
  const offTankAlerts = attachTankAlerts(engine, runner, (alerts) => hub.raise(alerts), tankHorizonSeconds(env, engine));
  const offWaterReadings = waterReadings.hydraulic ? runner.onAdvance(() => waterReadings.record()) : () => undefined;
  const late2: { fanout?: FramePublisher; state?: StatePublisher } = {};
  const alertTimer = setInterval(() => {
    const { alerts } = hub.takeAlerts();
    gateway.broadcastAlerts({ type: 'alerts', alerts });
    if (alerts.length > 0) late2.fanout?.publishLive('alerts', alerts);
  }, 500);
  let clockTicks = 0;
  const clockTimer = setInterval(() => {
    gateway.broadcastClock();
    gateway.broadcastSessions();
    if (++clockTicks % 2 === 0) gateway.broadcastSummary();
    const fanout = late2.fanout;
    if (fanout !== undefined) {
      fanout.publishLive('clock', control.clockInfo());
      if (clockTicks % 2 === 0) fanout.publishLive('summary', summarise(engine, meter));
    }
    hub.sweep();
  }, 1000);
  alertTimer.unref();
  clockTimer.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(alertTimer);
      clearInterval(clockTimer);
      offAdvance();
      offTelemetry();
      offTankAlerts();
      offWaterReadings();
      grid?.stop();
      voltages?.stop();
      estimator?.detach();
      offEstimation?.();
      await runner.stop();
      if (recovery.phase === 'done') await snapshots?.final();
      await sessions.close();
      await late2.fanout?.close();
      await late2.state?.close();
      await gateway.close();
      hub.close();
      await app.close();
      await adapters?.close();
      meter.detach();
      stopLoopDelay();
      await expander.close();
      await whatIfRunner.close();
      await engine.stop();
    })();
    return closing;
  };
  const { address } = await listenOrClose(app, options.host, options.port, close);
  const topology = await app.inject({ method: 'GET', url: '/api/topology', headers: { authorization: `Bearer ${adminToken}` } });
  topologyEtag = String(topology.headers['etag'] ?? '');
  if (options.fanout !== undefined) {
    try {
      late2.fanout = await FramePublisher.start(hub, options.fanout, { topologyEtag });
      // The live state, clock, summary and topology for the gateways' own reads (gateways/reads/).
      late2.state = await StatePublisher.start(options.fanout, { engine, epoch: hub.epoch, clock: () => control.clockInfo(), summary: () => summarise(engine, meter), topology: { etag: topologyEtag, body: topology.body } });
    } catch (error) {
      await close();
      throw error;
    }
  }
  tuning.onListening?.(address.replace('://[::1]', '://localhost'));
  if (data !== undefined) {
    // Listening already: /readyz answers `recovering` (and inputs are refused) until the journal is replayed.
    const cp = data.checkpoint;
    const startedAt = performance.now();
    try {
      const result = await engine.recover({
        ...(cp === undefined ? {} : { untilMs: cp.settledUntil, checkpoint: cp }),
        onProgress: (inputs) => {
          recovery.inputs = inputs;
        },
      });
      recovery.inputs = result.inputs;
      recovery.untilMs = result.untilMs;
      recovery.checkpoint = result.checkpoint;
      const loaded = snapshotStart?.loaded;
      recovery.snapshot = loaded === undefined ? null : { seq: loaded.seq, clockMs: loaded.clockMs };
      recovery.replayed = result.replayed;
      app.log.info(`recovered ${result.inputs} journalled inputs (${loaded === undefined ? 'no snapshot' : `snapshot ${loaded.file} at entry ${loaded.seq}, loaded in ${loaded.loadMs.toFixed(0)} ms`}; ${result.replayed} replayed from ${data.journalFile}) to ${result.untilMs / 1000} s in ${((performance.now() - startedAt) / 1000).toFixed(2)} s (checkpoint: ${result.checkpoint})`);
      if (result.checkpoint === 'mismatch') throw new Error(`the replayed state differs from ${data.checkpointFile} at ${cp!.settledUntil} ms`);
      hub.flush();
      recovery.phase = 'done';
    } catch (error) {
      recovery.phase = 'failed';
      recovery.reason = (error as Error).message;
      app.log.error({ err: error }, 'recovery failed: the server stays up, not ready, and refuses inputs');
    }
  }
  if (tuning.paused !== true && recovery.phase === 'done') runner.start();
  started = true;

  const url = address.replace('://[::1]', '://localhost');
  return { url, adminToken, engine, reloadTokens, close, runner, hub, sockets: gateway, audit, stats: hub.stats, sessions, control, history };
}
