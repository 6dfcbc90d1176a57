import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type Socket } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import { zodProblems } from '../../engine/index.ts';
import { bearer, type Principal, type TokenStore, InvalidError, NotFoundError, toReply } from '../door/index.ts';
import {
  PROTOCOL_VERSION,
  subscribeRequestSchema,
  type ClientToServerEvents,
  type ClockInfo,
  type ErrorReply,
  type EstimationEvent,
  type HelloInfo,
  type InterServerEvents,
  type LiveSummary,
  type ServerToClientEvents,
  type SocketData,
  type SubscribeAck,
  type SubscribeRequest,
  type WsServerMessage,
} from '../protocol.ts';
import type { SessionEvent, SessionManager } from '../sessions/index.ts';
import { Subscriber, type BroadcastGroup, type FrameSink, type FrameSource } from './streaming.ts';
import type { SocketDoor } from './socket-door.ts';
import { FRAMES_BUNDLE } from '../frame-bundle.ts';
import { socketBacklog, SocketIoFrameWriter } from './socketio-frames.ts';

/** Above this many bytes held by the transport, frames for that socket are merged instead of sent. */
export const DEFAULT_HIGH_WATER_BYTES = 256 * 1024;
/** Above this many engine.io packets waiting (polling transport, or a busy websocket), likewise. */
const MAX_QUEUED_PACKETS = 4;
/**
 * The Socket.io room of sockets not watching a session: the live `clock` and `alerts` go to it only,
 * so a session's viewer sees that session's clock (`sessionClock`) and never the live one over it.
 */
const LIVE_ROOM = 'live';
/** Sockets in the live room that asked for the pushed summary (`auth.summary`). */
const SUMMARY_ROOM = 'live-summary';

/** One schema per input kind, shared with the HTTP routes and the UI (protocol.ts). */
export const subscribeSchema = subscribeRequestSchema;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error);
    throw new InvalidError(`invalid ${what}: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ')}`, problems);
  }
  return parsed.data;
}

/**
 * Names in a view must exist in the engine it watches: a subscription to an unknown layer or
 * district is refused (400 naming the field and the known names) rather than showing nothing.
 */
function checkViewNames(hub: FrameSource, request: z.infer<typeof subscribeSchema>): void {
  const index = hub.names;
  const problems: { path: string; reason: string }[] = [];
  const check = (field: 'layers' | 'districts', known: readonly string[]): void => {
    request.view?.[field]?.forEach((name, i) => {
      if (!known.includes(name)) problems.push({ path: `view.${field}[${i}]`, reason: `unknown ${field === 'layers' ? 'layer' : 'district'} ${JSON.stringify(name)} (known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''})` });
    });
  };
  check('layers', index.layers);
  check('districts', index.districts);
  if (problems.length > 0) throw new InvalidError(`invalid subscribe request: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ')}`, problems);
}

/** The bearer token a Socket.io client authenticated with (forwarded by a gateway to the engine's door). */
function socketToken(socket: Socket): string | undefined {
  const auth = socket.handshake.auth as { token?: unknown };
  return typeof auth.token === 'string' ? auth.token : bearer(socket.handshake.headers.authorization);
}

/** A small token bucket per token, for socket events (HTTP uses @fastify/rate-limit). */
export class EventRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** `now`: the wall clock in ms (a port: tests pass a clock they advance instead of sleeping). */
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {}

  take(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

const rateLimited: ErrorReply = { ok: false, code: 'rate-limited', message: 'too many events for this token; slow down' };

export interface SocketGatewayOptions {
  readonly hub: FrameSource;
  /** Where socket inputs go: the one door in this process (`controlDoor`), or the engine's over HTTP (a gateway). */
  readonly door: SocketDoor;
  readonly tokens: TokenStore;
  readonly topologyEtag: () => string;
  readonly highWaterBytes?: number;
  /** Socket events per second per token (default 20, burst 40). */
  readonly eventsPerSecond?: number;
  /** Replay/training sessions viewers may subscribe to (`subscribe({ session })`, `/ws?session=`). */
  readonly sessions?: SessionManager;
  /** The live run summary pushed to Socket.io viewers (`summary` event). */
  /** (A gateway has none until the engine published one: undefined then.) */
  readonly summary?: () => LiveSummary | undefined;
}

/** A subscriber watching a session, and how to tell its socket about that session. */
interface SessionViewer {
  readonly session: string;
  notify(event: SessionEvent): void;
}

/**
 * Socket.io and raw ws streaming on one HTTP server. Both authenticate with a bearer token (Socket.io:
 * `auth.token` in the handshake; ws: `?token=` or the Authorization header) and feed the same
 * `StreamHub`: the bytes a ws client gets are the bytes a Socket.io client gets.
 */
export class SocketGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
  readonly wss: WebSocketServer;
  /** Raw ws clients and who each one authenticated as. */
  private readonly wsClients = new Map<WebSocket, Principal>();
  private readonly limiter: EventRateLimiter;
  private readonly highWater: number;
  /** Per-socket bookkeeping visible to tests: the subscriber of each ws client. */
  readonly wsSubscribers = new Map<WebSocket, Subscriber>();
  private readonly onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Subscribers watching a session (not the live engine). */
  private readonly sessionViewers = new Map<Subscriber, SessionViewer>();
  private readonly offSessions: () => void;
  /** The last summary and session list pushed, as JSON: sent again only when they change. */
  private lastSummary = '';
  private lastSessions = '';
  /** Socket.io subscribers that are up to date: the frame is encoded once for all of them (SocketIoFrameWriter). */
  private readonly frameWriter = new SocketIoFrameWriter();
  private readonly broadcast: BroadcastGroup = {
    sendMany: (sinks, bytes) => {
      // The writer encodes the frame once (bundle and default forms, with WebSocket framing) and
      // caches it by identity, so each further socket costs one engine.io write.
      for (const sink of sinks) sink.send(bytes);
    },
  };

  constructor(private readonly http: HttpServer, private readonly options: SocketGatewayOptions) {
    this.highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    const rate = options.eventsPerSecond ?? 20;
    this.limiter = new EventRateLimiter(rate, rate * 2);
    // connectTimeout: an engine.io connection that has not authenticated (joined the namespace)
    // within 10 s is closed (Socket.io's default is 45 s); such connections are never viewers.
    this.io = new Server(http, { path: '/socket.io', serveClient: false, destroyUpgrade: false, maxHttpBufferSize: 1e6, connectTimeout: 10_000 });
    this.io.use((socket, next) => {
      const principal = options.tokens.verify(socketToken(socket));
      if (principal === undefined) {
        const error = new Error('unauthorized') as Error & { data?: unknown };
        error.data = { code: 'unauthorized', message: 'a valid token is required in the handshake: io(url, { auth: { token } })' };
        next(error);
        return;
      }
      socket.data = { name: principal.name, role: principal.role, tokenHash: principal.tokenHash };
      next();
    });
    this.io.on('connection', (socket) => this.onSocketIo(socket));

    this.wss = new WebSocketServer({ noServer: true, maxPayload: 1e6 });
    this.onUpgrade = (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname.startsWith('/socket.io')) return; // engine.io handles its own upgrades
      if (url.pathname !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      const principal = options.tokens.verify(url.searchParams.get('token') ?? bearer(request.headers.authorization));
      if (principal === undefined) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"ok":false,"code":"unauthorized","message":"a valid token is required: /ws?token=…"}');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.onWs(ws, principal, url.searchParams));
    };
    http.on('upgrade', this.onUpgrade);
    this.offSessions = options.sessions?.on((event) => this.onSessionEvent(event)) ?? (() => undefined);
  }

  /** The hub for a subscribe request: the live one, or the session's (404 naming an unknown session). */
  private hubFor(session: string | undefined): FrameSource {
    if (session === undefined) return this.options.hub;
    if (this.options.sessions === undefined) throw new NotFoundError(`unknown session "${session}": this server hosts no sessions (sessions run on the engine process: connect a session's viewers to it)`);
    return this.options.sessions.hubOf(session);
  }

  /**
   * Subscribes to the live view or a session's; the ack names the session. The caller sends the ack,
   * then `hub.prime` the first frame (and, for a session, its clock).
   */
  private subscribeTo(subscriber: Subscriber, request: z.infer<typeof subscribeSchema>, notify: (event: SessionEvent) => void, done: (hub: FrameSource, ack: SubscribeAck) => void, fail: (error: unknown) => void): void {
    const hub = this.hubFor(request.session);
    checkViewNames(hub, request);
    const finish = (ack: SubscribeAck): void => {
      if (request.session === undefined) {
        this.sessionViewers.delete(subscriber);
        done(hub, ack);
        return;
      }
      this.sessionViewers.set(subscriber, { session: request.session, notify });
      done(hub, { ...ack, session: request.session });
    };
    const ack = hub.subscribe(subscriber, request.view ?? {}, request.since);
    // A local hub answers at once (ack and first frame in the same turn); a relay once it holds the view.
    if (ack instanceof Promise) ack.then(finish, fail);
    else finish(ack);
  }

  private onSessionEvent(event: SessionEvent): void {
    if (event.type === 'moved') {
      this.sessionViewers.get(event.subscriber)?.notify(event);
      return;
    }
    const session = event.type === 'clock' ? event.clock.session : event.session;
    for (const [subscriber, viewer] of this.sessionViewers) {
      if (viewer.session !== session) continue;
      viewer.notify(event);
      if (event.type === 'closed') {
        this.options.hub.unsubscribeSubscriber(subscriber);
        this.sessionViewers.delete(subscriber);
      }
    }
  }

  get counts(): { socketio: number; ws: number } {
    // Authenticated sockets only: engine.io connections that never passed the handshake are not viewers.
    return { socketio: this.io.of('/').sockets.size, ws: this.wsClients.size };
  }

  /**
   * Sends the live alerts and clock (low-rate channels) to every client not watching a session:
   * Socket.io through the `live` room (encoded once), ws clients one by one.
   */
  broadcastAlerts(alerts: WsServerMessage & { type: 'alerts' }): void {
    if (alerts.alerts.length === 0) return;
    // Not volatile: a volatile packet is dropped whenever the transport is still writing (a frame
    // just went out), and an operator must not miss a failure. Pending alerts are bounded (StreamHub).
    this.io.to(LIVE_ROOM).emit('alerts', alerts.alerts);
    this.sendToLiveWs(JSON.stringify(alerts));
  }

  /** The live estimator's run (`estimation` event) to every live viewer: the UI refreshes σ and trust. */
  broadcastEstimation(run: EstimationEvent): void {
    this.io.to(LIVE_ROOM).emit('estimation', run);
  }

  broadcastClock(): void {
    const clock = this.options.door.clockInfo();
    this.io.to(LIVE_ROOM).volatile.emit('clock', clock);
    this.sendToLiveWs(JSON.stringify({ type: 'clock', ...clock } satisfies WsServerMessage));
  }

  /** Pushes the live summary to Socket.io sockets watching the live engine when it changed (one encoding for the room). */
  broadcastSummary(): void {
    // Opt-in: a broadcast costs a write per socket, and machine consumers of frames do not need it.
    if (this.options.summary === undefined || (this.io.sockets.adapter.rooms.get(SUMMARY_ROOM)?.size ?? 0) === 0) return;
    const summary = this.options.summary();
    if (summary === undefined) return;
    const json = JSON.stringify(summary);
    if (json === this.lastSummary) return;
    this.lastSummary = json;
    // Not volatile: sent right after the clock, it would find the transport still writing and be dropped.
    this.io.to(SUMMARY_ROOM).emit('summary', summary);
  }

  /**
   * Pushes the session list to every Socket.io socket when a session came, went or changed phase or
   * playback; a session's moving time and viewer count alone are not a change (its clock has its own event).
   */
  broadcastSessions(): void {
    if (this.options.sessions === undefined) return;
    const list = this.options.sessions.list();
    const json = JSON.stringify(list.map(({ clock: { nowMs: _now, ...clock }, viewers: _viewers, ...rest }) => ({ ...rest, clock })));
    if (json === this.lastSessions) return;
    this.lastSessions = json;
    this.io.emit('sessions', list);
  }

  private sendToLiveWs(text: string): void {
    for (const ws of this.wsClients.keys()) {
      if (ws.bufferedAmount >= this.highWater) continue;
      const subscriber = this.wsSubscribers.get(ws);
      if (subscriber !== undefined && this.sessionViewers.has(subscriber)) continue;
      ws.send(text);
    }
  }

  /**
   * After the token set changed (a reload): disconnects every client whose token is gone or now has
   * another role, since rights are checked against the principal of the handshake. Socket.io
   * clients get a server disconnect (a reconnect then fails the handshake with "unauthorized"); ws
   * clients a close with code 1008 and the reason. Returns how many were disconnected.
   */
  dropRevoked(): number {
    const stillValid = (p: { tokenHash: string; role: string }): boolean => this.options.tokens.byTokenHash(p.tokenHash)?.role === p.role;
    let dropped = 0;
    for (const socket of this.io.sockets.sockets.values()) {
      if (stillValid(socket.data)) continue;
      socket.disconnect(true);
      dropped++;
    }
    for (const [ws, principal] of this.wsClients) {
      if (stillValid(principal)) continue;
      ws.close(1008, 'token revoked or its role changed');
      dropped++;
    }
    return dropped;
  }

  private hello(principal: Principal): HelloInfo {
    return { protocol: PROTOCOL_VERSION, epoch: this.options.hub.epoch, role: principal.role, name: principal.name, topologyEtag: this.options.topologyEtag() };
  }

  private onSocketIo(socket: Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>): void {
    const { hub, door } = this.options;
    const token = socketToken(socket);
    const principal: Principal = { name: socket.data.name, role: socket.data.role, tokenHash: socket.data.tokenHash };
    const backlog = socketBacklog(socket);
    // A client that opted in (auth.frames === 'bundle', with bundleParser) gets each frame as one message.
    const wantsBundles = (socket.handshake.auth as { frames?: unknown }).frames === FRAMES_BUNDLE;
    const sink: FrameSink = {
      group: this.broadcast,
      backedUp: () => backlog.queuedPackets() > MAX_QUEUED_PACKETS || backlog.bufferedBytes() > this.highWater,
      send: (bytes) => this.frameWriter.write(socket, bytes, wantsBundles),
    };
    const subscriber = new Subscriber(socket.id, sink);
    backlog.onDrain(() => hub.drained(subscriber));
    const wantsSummary = (socket.handshake.auth as { summary?: unknown }).summary === true;
    /** Live watchers get the live clock and alerts (and the summary when asked); session watchers do not. */
    const watchLive = (live: boolean): void => {
      if (live) {
        void socket.join(LIVE_ROOM);
        if (wantsSummary) void socket.join(SUMMARY_ROOM);
      } else {
        void socket.leave(LIVE_ROOM);
        void socket.leave(SUMMARY_ROOM);
      }
    };
    const notifySession = (event: SessionEvent): void => {
      if (event.type === 'clock') socket.volatile.emit('sessionClock', event.clock);
      else if (event.type === 'alerts') socket.emit('sessionAlerts', { session: event.session, alerts: event.alerts });
      else if (event.type === 'moved') socket.emit('resubscribed', event.ack);
      else {
        socket.emit('sessionClosed', { session: event.session, reason: event.reason });
        // Watching nothing now: the live clock and alerts come again.
        watchLive(true);
      }
    };
    socket.emit('hello', this.hello(principal));
    socket.emit('clock', door.clockInfo());
    const summaryNow = wantsSummary ? this.options.summary?.() : undefined;
    if (summaryNow !== undefined) socket.emit('summary', summaryNow);
    if (this.options.sessions !== undefined) socket.emit('sessions', this.options.sessions.list());
    watchLive(true);

    const guard = <A extends unknown[]>(handler: (...args: A) => void) => (...args: A): void => {
      const ack = args[args.length - 1];
      const reply = (r: ErrorReply): void => {
        if (typeof ack === 'function') (ack as (r: ErrorReply) => void)(r);
        else socket.emit('problem', r);
      };
      if (!this.limiter.take(principal.tokenHash)) {
        reply(rateLimited);
        return;
      }
      try {
        handler(...args);
      } catch (error) {
        reply(toReply(error).reply);
      }
    };

    socket.on('subscribe', guard((request: SubscribeRequest, ack) => {
      if (typeof ack !== 'function') throw new InvalidError('subscribe needs an acknowledgement callback', [{ path: 'ack', reason: 'missing' }]);
      const req = parse(subscribeSchema, request ?? {}, 'subscribe request');
      this.subscribeTo(subscriber, req, notifySession, (source, result) => {
        watchLive(req.session === undefined);
        ack(result);
        source.prime(subscriber);
        if (req.session !== undefined) socket.emit('sessionClock', this.options.sessions!.clockOf(req.session));
      }, (error) => ack(toReply(error).reply));
    }));
    socket.on('unsubscribe', guard((ack?: (r: { ok: true }) => void) => {
      hub.unsubscribeSubscriber(subscriber);
      this.sessionViewers.delete(subscriber);
      watchLive(true);
      if (typeof ack === 'function') ack({ ok: true });
    }));
    socket.on('command', guard((command: unknown, ack) => {
      // The one door: parsed with the command schema; operator actions take the operator path
      // (guard policy, live-state checks) exactly as over HTTP. Acknowledged once the journal holds it.
      const durable = door.command(principal, token, command, 'socket.io');
      if (typeof ack === 'function') void durable.then(({ seq, time }) => ack({ ok: true, seq, time }), (error: unknown) => ack(toReply(error).reply));
      else void durable.catch((error: unknown) => socket.emit('problem', toReply(error).reply));
    }));
    socket.on('clock', guard((request, ack) => {
      const answered = (clock: ClockInfo): void => {
        if (typeof ack === 'function') ack({ ok: true, clock });
        this.broadcastClock();
      };
      const clock = door.clock(principal, token, request, 'socket.io');
      if (clock instanceof Promise) clock.then(answered, (error: unknown) => (typeof ack === 'function' ? ack(toReply(error).reply) : socket.emit('problem', toReply(error).reply)));
      else answered(clock);
    }));
    socket.on('disconnect', () => {
      hub.unsubscribeSubscriber(subscriber);
      this.sessionViewers.delete(subscriber);
    });
  }

  private onWs(ws: WebSocket, principal: Principal, params: URLSearchParams): void {
    const { hub } = this.options;
    this.wsClients.set(ws, principal);
    const sink: FrameSink = {
      backedUp: () => ws.bufferedAmount > this.highWater,
      send: (bytes) => ws.send(bytes, { binary: true }, () => {
        // drained() is cheap for an up-to-date subscriber; the source is the subscriber's (live or session).
        if (ws.bufferedAmount === 0) (source ?? hub).drained(subscriber);
      }),
    };
    const subscriber = new Subscriber(`ws:${Math.random().toString(36).slice(2)}`, sink);
    /** The source the subscriber watches now (the live hub or a session's). */
    let source: FrameSource | undefined;
    const fail = (error: unknown): void => sendJson({ type: 'error', ...toReply(error).reply });
    this.wsSubscribers.set(ws, subscriber);
    const sendJson = (m: WsServerMessage): void => ws.send(JSON.stringify(m));
    sendJson({ type: 'hello', ...this.hello(principal) });

    const notifySession = (event: SessionEvent): void => {
      if (event.type === 'clock') {
        if (ws.bufferedAmount < this.highWater) sendJson({ type: 'session-clock', ...event.clock });
      } else if (event.type === 'alerts') sendJson({ type: 'session-alerts', session: event.session, alerts: event.alerts });
      else if (event.type === 'moved') sendJson({ type: 'subscribed', ...event.ack });
      else sendJson({ type: 'session-closed', session: event.session, reason: event.reason });
    };
    const subscribe = (raw: unknown): void => {
      const req = parse(subscribeSchema, raw, 'subscribe request');
      this.subscribeTo(subscriber, req, notifySession, (subscribed, ack) => {
        source = subscribed;
        sendJson({ type: 'subscribed', ...ack });
        subscribed.prime(subscriber);
        if (req.session !== undefined) sendJson({ type: 'session-clock', ...this.options.sessions!.clockOf(req.session) });
      }, fail);
    };
    // The query string subscribes at once: /ws?token=…&layers=power,water&districts=d0&maxRateHz=5&epoch=…&since=…
    try {
      const list = (name: string): string[] | undefined => params.get(name)?.split(',').filter((s) => s !== '');
      const num = (name: string): number | undefined => (params.get(name) === null ? undefined : Number(params.get(name)));
      const layers = list('layers');
      const districts = list('districts');
      const maxRateHz = num('maxRateHz');
      const cohorts = params.get('cohorts');
      const view = {
        ...(layers === undefined ? {} : { layers }),
        ...(districts === undefined ? {} : { districts }),
        ...(maxRateHz === undefined ? {} : { maxRateHz }),
        ...(cohorts === null ? {} : { cohorts: cohorts !== '0' && cohorts !== 'false' }),
      };
      const epoch = params.get('epoch');
      const since = num('since');
      const session = params.get('session');
      subscribe({ view, ...(epoch === null || since === undefined ? {} : { since: { epoch, frame: since } }), ...(session === null ? {} : { session }) });
    } catch (error) {
      fail(error);
    }
    ws.on('message', (data, isBinary) => {
      if (!this.limiter.take(principal.tokenHash)) {
        sendJson({ type: 'error', ...rateLimited });
        return;
      }
      try {
        if (isBinary) throw new InvalidError('binary messages are not accepted; send JSON text', [{ path: '$', reason: 'binary' }]);
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          throw new InvalidError('message is not valid JSON', [{ path: '$', reason: 'not JSON' }]);
        }
        const type = typeof message === 'object' && message !== null && 'type' in message ? message.type : undefined;
        if (type !== 'subscribe') throw new InvalidError(`unknown message type ${JSON.stringify(type)} (expected "subscribe")`, [{ path: '$.type', reason: 'expected "subscribe"' }]);
        const { type: _type, ...rest } = message as Record<string, unknown>;
        subscribe(rest);
      } catch (error) {
        fail(error);
      }
    });
    ws.on('close', () => {
      hub.unsubscribeSubscriber(subscriber);
      this.sessionViewers.delete(subscriber);
      this.wsClients.delete(ws);
      this.wsSubscribers.delete(ws);
    });
    ws.on('error', () => ws.terminate());
  }

  async close(): Promise<void> {
    this.http.off('upgrade', this.onUpgrade);
    this.offSessions();
    for (const ws of this.wsClients.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.io.disconnectSockets(true);
    // Not io.close(): that would close the HTTP server, which fastify owns and closes.
    this.io.engine.close();
  }
}
