/**
 * The connection to the engine: HTTP for the topology and one-off requests, Socket.io for the live
 * stream. Everything received is written into the store; nothing here renders.
 *
 * Routes live in `ROUTES` so an API change touches one place.
 */
import { io, type Socket } from 'socket.io-client';
import { bundleParser, clockRequestSchema, decodeFrame, FRAMES_BUNDLE, sessionClockRequestSchema, PROTOCOL_VERSION, type Alert, type ClientToServerEvents, type ErrorReply, type OperatorAction, type ServerSummary, type ServerToClientEvents, type SessionClockInfo, type SessionClockRequest, type SessionInfo, type SubscribeRequest, type Topology } from '../model.ts';
import type { TwinStore } from '../store.ts';

const part = encodeURIComponent;

export const ROUTES = {
  topology: '/api/topology',
  summary: '/api/summary',
  asset: (id: string) => `/api/assets/${part(id)}`,
  operate: (id: string, action: OperatorAction) => `/api/assets/${part(id)}/${action}`,
  explain: (id: string) => `/api/explain/${part(id)}`,
  failedAssets: (limit: number) => `/api/assets?status=failed&limit=${limit}`,
  scenarios: '/api/scenarios',
  scenarioRun: (name: string) => `/api/scenarios/${part(name)}/run`,
  recordings: '/api/recordings',
  sessions: '/api/sessions',
  session: (id: string) => `/api/sessions/${part(id)}`,
  sessionClock: (id: string) => `/api/sessions/${part(id)}/clock`,
  sessionActions: (id: string) => `/api/sessions/${part(id)}/actions`,
  sessionFinish: (id: string) => `/api/sessions/${part(id)}/finish`,
} as const;

/** An operator action: `share` for shed and reroute, `to` (a linked asset) for reroute. */
export interface OperatorRequest {
  readonly action: OperatorAction;
  readonly target: string;
  readonly share?: number;
  readonly to?: string;
}

/**
 * Where an operator action goes: the live asset routes, or, in a training session after the
 * handover, the session's action route (the trainee acts on the session's engine, never the live city).
 * Returns null when the source on screen takes no actions (a replay, or training before handover).
 */
export function operatorRoute(source: string | null, session: SessionInfo | null, request: OperatorRequest): { path: string; body: Record<string, unknown> | undefined } | null {
  const { action, target, share, to } = request;
  const params: Record<string, unknown> = {};
  if (share !== undefined && (action === 'shed' || action === 'reroute')) params['share'] = share;
  if (to !== undefined && action === 'reroute') params['to'] = to;
  if (source !== null) {
    // A session whose details have not arrived yet must not fall through to the live routes.
    if (session === null || session.id !== source || session.kind !== 'training' || session.phase !== 'handed-over') return null;
    return { path: ROUTES.sessionActions(session.id), body: { action, target, ...params } };
  }
  return { path: ROUTES.operate(target, action), body: Object.keys(params).length > 0 ? params : undefined };
}

export type Command = Record<string, unknown> & { type: string };

/** Thrown for a refused request; `code` is the protocol's ErrorCode when the server gave one. */
export class RequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(message: string, code: string, status: number) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.status = status;
  }
}

export interface TwinClient {
  connect(token: string): Promise<void>;
  disconnect(): void;
  /** Submits an input (inject panel) over the socket. */
  command(command: Command): Promise<{ seq: number; time: number }>;
  /** Drives the live clock over the socket. */
  clock(action: 'pause' | 'resume' | 'speed', speed?: number): Promise<void>;
  /** Sends an operator action where the source on screen takes it (see `operatorRoute`). */
  operate(request: OperatorRequest): Promise<void>;
  /** Drives the on-screen session's clock (pause, resume, speed, seek). */
  sessionClock(request: SessionClockRequest): Promise<void>;
  /** Puts the live city (null) or a session on screen and subscribes to it. */
  setSource(source: string | null): void;
  /** Refreshes the server summary, the on-screen session and the list of sessions now. */
  refresh(): Promise<void>;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

type TwinSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type Method = 'GET' | 'POST' | 'DELETE';

/**
 * A watched session's details (its summary with the cost, phase and clock) are polled this often. The
 * live summary and the session list are pushed (`summary`, `sessions` events): a wall of pages
 * sharing one token stays far below the per-token rate limit.
 */
const POLL_MS = 2000;

/** Failed assets loaded (each with its explain chain) when a page opens on a live city. */
const CURRENT_FAILURES = 12;

/** `GET /api/sessions` answers a list; accept `{ sessions }` too. */
function sessionList(reply: unknown): SessionInfo[] {
  if (Array.isArray(reply)) return reply as SessionInfo[];
  const list = (reply as { sessions?: unknown } | null)?.sessions;
  return Array.isArray(list) ? (list as SessionInfo[]) : [];
}

/** `GET /api/sessions/:id` answers the session plus its summary; accept `{ session, summary }` too. */
function sessionDetail(reply: unknown): { session: SessionInfo; summary: ServerSummary | null } {
  const r = reply as (SessionInfo & { summary?: ServerSummary }) | { session: SessionInfo; summary?: ServerSummary };
  if ('session' in r) return { session: r.session, summary: r.summary ?? null };
  const { summary, ...session } = r;
  return { session, summary: summary ?? null };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What of a session the panels show, without what moves on every poll (its time, its viewer count):
 * the time goes to the fast clock, so a playing session costs no React render per poll.
 */
function sessionShape(s: SessionInfo | null): unknown {
  if (s === null) return null;
  const { viewers: _viewers, clock, ...rest } = s;
  return { ...rest, clock: { ...clock, nowMs: 0 } };
}

export function createClient(store: TwinStore, baseUrl = ''): TwinClient {
  let socket: TwinSocket | null = null;
  let epoch: string | null = null;
  let topologyEtag: string | null = null;
  /** Frames that arrive between a subscribe and its ack belong to the previous view (or source): drop them. */
  let awaitingAck = false;
  let pollTimer: ReturnType<typeof setInterval> | null = null;
  /** Stream counters, visible as `window.__twin.net` for tests and support. */
  const stats = { frames: 0, gaps: 0, errors: 0, dropped: 0, lastError: '', etag: '', helloEtag: '', subscribes: 0 };
  const w = globalThis as unknown as { __twin?: Record<string, unknown> };
  w.__twin = { ...(w.__twin ?? {}), net: stats };

  const requestWithHeaders = async <T>(method: Method, path: string, body?: unknown): Promise<{ json: T; headers: Headers }> => {
    const token = store.getState().token;
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const e = (json ?? {}) as Partial<ErrorReply> & { error?: string };
      throw new RequestError(e.message ?? e.error ?? `${method} ${path}: HTTP ${res.status}`, e.code ?? String(res.status), res.status);
    }
    return { json: json as T, headers: res.headers };
  };
  const request = async <T>(method: Method, path: string, body?: unknown): Promise<T> => (await requestWithHeaders<T>(method, path, body)).json;

  const loadTopology = async (): Promise<void> => {
    const { json: t, headers } = await requestWithHeaders<Topology>('GET', ROUTES.topology);
    // The hello message carries the same ETag: a different one means the city changed under us.
    topologyEtag = headers.get('etag');
    store.setTopology(t);
  };

  const subscribe = (s: TwinSocket): void => {
    const { fast: f, source } = store.getState();
    const since = epoch !== null && f.frame > 0 ? { since: { epoch, frame: f.frame } } : {};
    // `session` is the session API's addition to SubscribeRequest; absent means the live city.
    const subscription: SubscribeRequest & { session?: string } = { view: { maxRateHz: 10 }, ...since, ...(source === null ? {} : { session: source }) };
    awaitingAck = true;
    stats.subscribes++;
    s.emit('subscribe', subscription, (reply) => {
      // A newer subscribe (another source) may have gone out meanwhile; its ack decides.
      if (store.getState().source !== source) return;
      awaitingAck = false;
      if (!reply.ok) {
        store.notify('error', `Subscription to ${source === null ? 'the live city' : `session ${source}`} refused: ${reply.message}`);
        return;
      }
      epoch = reply.epoch;
    });
  };

  /** Records a session's clock (fast state) and, when its phase or playback changed, its details (slow state). */
  const noteSessionClock = (c: SessionClockInfo): void => {
    store.setClock({ time: c.nowMs, speed: c.speed, paused: c.paused });
    const session = store.getState().session;
    if (session === null || session.id !== c.session) return;
    const { session: _id, phase, ...clock } = c;
    if (session.phase !== phase || session.clock.paused !== clock.paused || session.clock.speed !== clock.speed || session.clock.endMs !== clock.endMs) {
      store.setState({ session: { ...session, phase, clock } });
    }
  };

  const onAlerts = (alerts: readonly Alert[]): void => {
    const { index } = store.getState();
    if (!index) return;
    for (const a of alerts) {
      const from = index.indexOf.get(a.causedBy);
      if (from !== undefined) store.noteCause(a.actor, from);
    }
    store.setState((s) => ({ alerts: [...alerts.slice(-20).reverse(), ...s.alerts].slice(0, 50), alertCount: s.alertCount + alerts.length }));
  };

  /**
   * A page opened mid-incident: the assets already failed, with their causes, newest first. The
   * alerts stream only carries what fails from now on, so without this "Latest failures" would
   * start empty on a city that is down.
   */
  const loadCurrentFailures = async (): Promise<void> => {
    try {
      const failed = await request<{ items: Array<{ id: string; index: number; layer: string | null; status: string }> }>('GET', ROUTES.failedAssets(CURRENT_FAILURES));
      const found: Alert[] = [];
      for (const item of failed.items) {
        let hop: { time: number; cause: string; via: string } | undefined;
        try {
          hop = (await request<{ chain: Array<{ time: number; cause: string; via: string }> }>('GET', ROUTES.explain(item.id))).chain.at(-1);
        } catch {
          // No chain recorded (failed before the server kept one): listed without a cause.
        }
        found.push({ time: (hop?.time ?? 0) * 1000, actor: item.index, id: item.id, layer: item.layer ?? '', status: 'failed', cause: hop?.cause ?? 'failed', causedBy: hop?.via ?? 'input' });
      }
      found.sort((a, b) => b.time - a.time || a.actor - b.actor);
      if (store.getState().source !== null) return;
      // Alerts that arrived meanwhile are newer: they stay first.
      store.setState((st) => ({ alerts: [...st.alerts, ...found.filter((a) => !st.alerts.some((x) => x.actor === a.actor))].slice(0, 50) }));
    } catch {
      // Not fatal: the stream fills the panel from now on.
    }
  };

  const applySessions = (sessions: SessionInfo[]): void => {
    if (!same(store.getState().sessions.map(sessionShape), sessions.map(sessionShape))) store.setState({ sessions });
  };

  /** Everything slow, over HTTP: on connect, after an action, when the source changes. */
  const poll = async (): Promise<void> => {
    await pollSource(store.getState().source);
    try {
      applySessions(sessionList(await request<unknown>('GET', ROUTES.sessions)));
    } catch {
      // A server without the session API (404) or a dropped connection: no sessions to offer.
      if (store.getState().sessions.length > 0) store.setState({ sessions: [] });
    }
  };

  /** The live summary, or the watched session's details and summary. */
  const pollSource = async (source: string | null): Promise<void> => {
    try {
      if (source === null) {
        const summary = await request<ServerSummary>('GET', ROUTES.summary);
        const s = store.getState();
        if (s.source === null && !same(s.serverSummary, summary)) store.setState({ serverSummary: summary });
      } else {
        const { session, summary } = sessionDetail(await request<unknown>('GET', ROUTES.session(source)));
        const s = store.getState();
        if (s.source === source) {
          if (!same(sessionShape(s.session), sessionShape(session))) store.setState({ session });
          if (!same(s.serverSummary, summary)) store.setState({ serverSummary: summary });
          store.setClock({ time: session.clock.nowMs, speed: session.clock.speed, paused: session.clock.paused });
        }
      }
    } catch (error) {
      const e = error as RequestError;
      if (source !== null && e.status === 404 && store.getState().source === source) {
        store.notify('warn', `Session ${source} is gone from the server; back to the live city.`);
        client.setSource(null);
      }
    }
  };

  const client: TwinClient = {
    async connect(token) {
      client.disconnect();
      store.setState({ token, connection: 'connecting' });
      try {
        await loadTopology();
      } catch (error) {
        const e = error as RequestError;
        if (e.status === 401 || e.status === 403) {
          // The sign-in form says so (one message, in place); no toast on top of it.
          store.setState({ connection: 'unauthorised', token: null });
        } else {
          store.setState({ connection: 'lost' });
          store.notify('error', `Could not load the city: ${e.message}`);
        }
        throw error;
      }
      const s: TwinSocket = io(baseUrl || undefined, { auth: { token, protocol: PROTOCOL_VERSION, frames: FRAMES_BUNDLE, summary: true }, parser: bundleParser, transports: ['websocket'], reconnectionDelayMax: 4000 });
      socket = s;
      s.on('connect', () => {
        const wasLost = store.getState().connection === 'lost';
        store.setState({ connection: 'connected', everLost: store.getState().everLost || wasLost });
        if (wasLost) store.notify('ok', 'Connection recovered — catching up on what was missed.');
        subscribe(s);
        void poll();
        if (!wasLost) void loadCurrentFailures();
      });
      s.on('disconnect', (reason) => {
        if (socket !== s) return;
        store.setState({ connection: 'lost' });
        store.notify('warn', `Connection lost (${reason}). Reconnecting… the picture is frozen until it is back.`);
        // A server-side disconnect does not reconnect by itself (socket.io); a restarting engine does that.
        if (reason === 'io server disconnect') s.connect();
      });
      s.on('connect_error', (err) => {
        if (/unauthori[sz]ed|forbidden/i.test(err.message)) {
          store.setState({ connection: 'unauthorised', token: null });
          s.disconnect();
        } else if (store.getState().connection !== 'lost') {
          store.setState({ connection: 'lost' });
          store.notify('warn', `Cannot reach the engine (${err.message}). Retrying…`);
        }
      });
      s.on('hello', (hello) => {
        stats.helloEtag = hello.topologyEtag;
        stats.etag = topologyEtag ?? '';
        store.setState({ role: hello.role, user: hello.name });
        if (hello.protocol !== PROTOCOL_VERSION) store.notify('error', `The server speaks protocol ${hello.protocol}, this page ${PROTOCOL_VERSION}: reload the page.`);
        if (topologyEtag !== null && hello.topologyEtag !== '' && hello.topologyEtag.replace(/^W\//, '') !== topologyEtag.replace(/^W\//, '')) {
          epoch = null;
          void loadTopology().then(() => subscribe(s));
        }
      });
      s.on('frame', (bytes) => {
        stats.frames++;
        if (awaitingAck) {
          stats.dropped++;
          return;
        }
        try {
          const frame = decodeFrame(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
          if (!store.applyFrame(frame)) {
            stats.gaps++;
            subscribe(s); // a gap: ask for what we missed
          }
        } catch (error) {
          stats.errors++;
          stats.lastError = (error as Error).message;
        }
      });
      s.on('clock', (c) => {
        // The live clock is broadcast to every socket; a session's clock comes with its frames and the session poll.
        if (store.getState().source === null) store.setClock({ time: c.virtualMs, speed: c.speed, paused: c.paused });
      });
      s.on('alerts', (alerts) => {
        // Live alerts go to every socket; a session on screen has its own (sessionAlerts).
        if (store.getState().source === null) onAlerts(alerts);
      });
      s.on('estimation', (run) => store.setState({ estimationRuns: run.runs }));
      s.on('sessionAlerts', (a) => {
        if (store.getState().source === a.session) onAlerts(a.alerts);
      });
      s.on('sessionClock', (c) => {
        if (store.getState().source === c.session) noteSessionClock(c);
      });
      s.on('resubscribed', (ack) => {
        // A backward seek rebuilt the session's engine: a snapshot of the new sequence follows.
        if ((ack.session ?? null) !== store.getState().source) return;
        epoch = ack.epoch;
        awaitingAck = false;
        // Failures and cascades from after the new position no longer happened.
        store.getState().fast.pulses.length = 0;
        store.setState({ alerts: [], alertCount: 0 });
      });
      s.on('sessionClosed', (info) => {
        if (store.getState().source !== info.session) return;
        store.notify('warn', `Session ${info.session} was closed (${info.reason}); back to the live city.`);
        client.setSource(null);
      });
      s.on('problem', (p) => store.notify('error', p.message));
      s.on('summary', (summary) => {
        const state = store.getState();
        if (state.source === null && !same(state.serverSummary, summary)) store.setState({ serverSummary: summary });
      });
      s.on('sessions', (sessions) => applySessions([...sessions]));
      if (pollTimer !== null) clearInterval(pollTimer);
      pollTimer = setInterval(() => {
        const source = store.getState().source;
        if (socket?.connected && source !== null) void pollSource(source);
      }, POLL_MS);
    },
    disconnect() {
      if (pollTimer !== null) clearInterval(pollTimer);
      pollTimer = null;
      if (socket) {
        const s = socket;
        socket = null;
        s.removeAllListeners();
        s.disconnect();
      }
    },
    command(command) {
      return new Promise((resolve, reject) => {
        if (!socket) return reject(new RequestError('not connected', 'unavailable', 0));
        socket.timeout(10_000).emit('command', command, (err: Error | null, reply) => {
          if (err) return reject(new RequestError('the engine did not answer in time', 'timeout', 0));
          if (!reply.ok) return reject(new RequestError(reply.message, reply.code, 0));
          resolve({ seq: reply.seq, time: reply.time });
        });
      });
    },
    clock(action, speed) {
      return new Promise((resolve, reject) => {
        if (!socket) return reject(new RequestError('not connected', 'unavailable', 0));
        // Checked with the server's schema before it goes out: the same 400 the server would give, at once.
        const parsed = clockRequestSchema.safeParse(speed === undefined ? { action } : { action, speed });
        if (!parsed.success) return reject(new RequestError(`invalid clock request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'invalid', 400));
        socket.timeout(10_000).emit('clock', parsed.data, (err: Error | null, reply) => {
          if (err) return reject(new RequestError('the engine did not answer in time', 'timeout', 0));
          if (!reply.ok) return reject(new RequestError(reply.message, reply.code, 0));
          store.setClock({ time: reply.clock.virtualMs, speed: reply.clock.speed, paused: reply.clock.paused });
          resolve();
        });
      });
    },
    async operate(req) {
      const { source, session } = store.getState();
      const route = operatorRoute(source, session, req);
      if (route === null) throw new RequestError(session?.kind === 'training' ? 'the trainees act only after the handover' : 'a replay takes no operator actions', 'conflict', 409);
      await request('POST', route.path, route.body);
    },
    async sessionClock(req) {
      const source = store.getState().source;
      if (source === null) throw new RequestError('no session on screen', 'conflict', 409);
      const parsed = sessionClockRequestSchema.safeParse(req);
      if (!parsed.success) throw new RequestError(`invalid clock request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'invalid', 400);
      const reply = await request<unknown>('POST', ROUTES.sessionClock(source), req);
      // The reply carries the session (as such or under `session`): show the new speed, pause state and time at once.
      const r = reply as (SessionInfo & { session?: undefined }) | { session: SessionInfo } | null;
      const info = r === null ? undefined : r.session ?? (r as SessionInfo);
      if (info?.clock !== undefined && info.id === source) noteSessionClock({ session: source, phase: info.phase, ...info.clock });
      void poll();
    },
    setSource(source) {
      const s = store.getState();
      if (s.source === source) return;
      store.switchSource(source, source === null ? null : (s.sessions.find((x) => x.id === source) ?? null));
      epoch = null;
      if (socket?.connected) subscribe(socket);
      void poll();
    },
    refresh: poll,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    del: (path) => request('DELETE', path),
  };
  return client;
}

/** Reads `#token=…` from the URL fragment (wall displays; `?token=` too) and removes it from the address bar. */
export function tokenFromFragment(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  const q = new URLSearchParams(window.location.search);
  const fromQuery = q.get('token');
  if (!m && fromQuery === null) return null;
  // Keep the token out of the address bar (and out of screenshots and browser history).
  q.delete('token');
  const search = q.toString();
  history.replaceState(null, '', window.location.pathname + (search ? `?${search}` : ''));
  return m ? decodeURIComponent(m[1]!) : fromQuery;
}
