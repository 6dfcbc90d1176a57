/**
 * The connection to the engine: HTTP for the topology and one-off requests, Socket.io for the live
 * stream. Everything received is written into the store; nothing here renders.
 *
 * Routes live in `ROUTES` so an API change touches one place.
 */
import { io, type Socket } from 'socket.io-client';
import { decodeFrame, PROTOCOL_VERSION, type Alert, type ClientToServerEvents, type ErrorReply, type ServerToClientEvents, type Topology } from '../model.ts';
import type { TwinStore } from '../store.ts';

export const ROUTES = {
  topology: '/api/topology',
  asset: (id: string) => `/api/assets/${encodeURIComponent(id)}`,
  explain: (id: string) => `/api/explain/${encodeURIComponent(id)}`,
  scenarios: '/api/scenarios',
  scenarioRun: (name: string) => `/api/scenarios/${encodeURIComponent(name)}/run`,
} as const;

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
  command(command: Command): Promise<{ seq: number; time: number }>;
  clock(action: 'pause' | 'resume' | 'speed', speed?: number): Promise<void>;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

type TwinSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function createClient(store: TwinStore, baseUrl = ''): TwinClient {
  let socket: TwinSocket | null = null;
  let epoch: string | null = null;
  let topologyEtag: string | null = null;
  let alertsSeen = 0;
  /** Stream counters, visible as `window.__twin.net` for tests and support. */
  const stats = { frames: 0, gaps: 0, errors: 0, lastError: '', etag: '', helloEtag: '' };
  const w = globalThis as unknown as { __twin?: Record<string, unknown> };
  w.__twin = { ...(w.__twin ?? {}), net: stats };

  const requestWithHeaders = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ json: T; headers: Headers }> => {
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
  const request = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => (await requestWithHeaders<T>(method, path, body)).json;


  const loadTopology = async (): Promise<void> => {
    const { json: t, headers } = await requestWithHeaders<Topology>('GET', ROUTES.topology);
    // The hello message carries the same ETag: a different one means the city changed under us.
    topologyEtag = headers.get('etag');
    store.setTopology(t);
  };

  const subscribe = (s: TwinSocket): void => {
    const f = store.getState().fast;
    const since = epoch !== null && f.frame > 0 ? { since: { epoch, frame: f.frame } } : {};
    s.emit('subscribe', { view: { maxRateHz: 10 }, ...since }, (reply) => {
      if (!reply.ok) {
        store.notify('error', `Subscription refused: ${reply.message}`);
        return;
      }
      epoch = reply.epoch;
    });
  };

  const onAlerts = (alerts: readonly Alert[]): void => {
    const ix = store.getState().index;
    if (!ix) return;
    for (const a of alerts) {
      const from = ix.indexOf.get(a.causedBy);
      if (from !== undefined) store.noteCause(a.actor, from);
    }
    alertsSeen += alerts.length;
    store.setState((s) => ({ alerts: [...alerts.slice(-20).reverse(), ...s.alerts].slice(0, 50), alertCount: alertsSeen }));
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
          store.setState({ connection: 'unauthorised', token: null });
          store.notify('error', 'That token was not accepted. Check it and sign in again.');
        } else {
          store.setState({ connection: 'lost' });
          store.notify('error', `Could not load the city: ${e.message}`);
        }
        throw error;
      }
      const s: TwinSocket = io(baseUrl || undefined, { auth: { token, protocol: PROTOCOL_VERSION }, transports: ['websocket'], reconnectionDelayMax: 4000 });
      socket = s;
      s.on('connect', () => {
        const wasLost = store.getState().connection === 'lost';
        store.setState({ connection: 'connected', everLost: store.getState().everLost || wasLost });
        if (wasLost) store.notify('ok', 'Connection recovered — catching up on what was missed.');
        subscribe(s);
      });
      s.on('disconnect', (reason) => {
        if (socket !== s) return;
        store.setState({ connection: 'lost' });
        store.notify('warn', `Connection lost (${reason}). Reconnecting… the picture is frozen until it is back.`);
      });
      s.on('connect_error', (err) => {
        if (/unauthori[sz]ed|forbidden/i.test(err.message)) {
          store.setState({ connection: 'unauthorised', token: null });
          store.notify('error', 'The server refused this token. Sign in again.');
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
      s.on('clock', (c) => store.setClock({ time: c.virtualMs, speed: c.speed, paused: c.paused }));
      s.on('alerts', onAlerts);
      s.on('problem', (p) => store.notify('error', p.message));
    },
    disconnect() {
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
        socket.timeout(10_000).emit('clock', speed === undefined ? { action } : { action, speed }, (err: Error | null, reply) => {
          if (err) return reject(new RequestError('the engine did not answer in time', 'timeout', 0));
          if (!reply.ok) return reject(new RequestError(reply.message, reply.code, 0));
          store.setClock({ time: reply.clock.virtualMs, speed: reply.clock.speed, paused: reply.clock.paused });
          resolve();
        });
      });
    },
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
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
