import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { CityIndex, generateCity, parseCity, Status, ValidationError } from '../../engine/index.ts';
import { expandScenario, loadLibraryScenario, parseScenario } from '../../scenarios/index.ts';
import { ScenarioExpander } from './expander.ts';
import { EventRateLimiter } from '../stream/index.ts';
import { AuditLog } from './audit.ts';
import { redactTokens } from './auth.ts';
import type { ClientToServerEvents, ErrorReply, ServerToClientEvents, WsServerMessage } from '../protocol.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked field by field
type Json = any;

const TOKENS = { viewer: 'door-viewer-1', operator: 'door-operator-1', injector: 'door-injector-1', trainer: 'door-trainer-1', admin: 'door-admin-123' };
const ANON_LIMIT = 40;

/**
 * The probes of issue 12 against a real server (fastify, Socket.io, ws on port 0; 1,000 generated
 * assets, clock paused so the live state moves only when the test advances it).
 */
describe('the one door (issue 12 probes, real server)', () => {
  let server: ServerInternals;
  const clients: Client[] = [];

  const api = async (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
  const connect = async (token: string): Promise<Client> => {
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token } });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };
  /** A power asset carrying load, in service (shed is allowed on it). */
  const loadedAsset = (skip = 0): string => {
    const index = server.engine.index;
    let seen = 0;
    for (let a = 0; a < index.assetCount; a++) {
      const v = server.engine.kernel.view(a);
      if (index.layerName(a) === 'power' && v.status === Status.Ok && v.load > 0 && seen++ === skip) return index.ids[a]!;
    }
    throw new Error('no loaded power asset');
  };

  beforeAll(async () => {
    const city = parseCity(generateCity({ assets: 1000, seed: 12 }), 'generated');
    server = await startServerWith(
      { city, seed: 12, port: 0, quiet: true, adminToken: TOKENS.admin },
      {
        paused: true,
        eventsPerSecond: 100_000,
        rateLimitPerMinute: 100_000,
        anonymousRateLimitPerMinute: ANON_LIMIT,
        env: { STRATUM_TOKENS: `vera:viewer:${TOKENS.viewer},otto:operator:${TOKENS.operator},ingrid:injector:${TOKENS.injector},tara:trainer:${TOKENS.trainer}` },
      },
    );
    await server.engine.runUntil(60_000);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  it('refuses a shed share that is not a finite number in 0..1 through Socket.io as over HTTP, naming the field, and changes nothing', async () => {
    const target = loadedAsset();
    const operator = await connect(TOKENS.operator);
    const journal = server.engine.journal.length;
    for (const share of ['abc', 5, -3, 1e308, null, '0.5']) {
      const reply = (await operator.emitWithAck('command', { type: 'shed', target, share })) as ErrorReply;
      expect(reply.ok, `share ${String(share)}`).toBe(false);
      expect(reply.code).toBe('invalid');
      expect(reply.message).toContain('share');
      const http = await api('POST', `/api/assets/${target}/shed`, TOKENS.operator, { share });
      expect(http.status).toBe(400);
      expect(http.json.message).toContain('share');
    }
    expect(server.engine.journal.length).toBe(journal);
    expect(server.engine.journal.entries.some((e) => e.command.type === 'shed' && !Number.isFinite(e.command.share))).toBe(false);
    expect((await api('GET', `/api/assets/${target}`, TOKENS.viewer)).status).toBe(200);
    const ok = (await operator.emitWithAck('command', { type: 'shed', target, share: 0.25 })) as { ok: boolean };
    expect(ok.ok).toBe(true);
  });

  it('applies the guard policy to operator actions through every door: HTTP route, Socket.io command, an injector\'s POST /api/inject', async () => {
    const target = loadedAsset(3);
    expect((await api('POST', '/api/actions/guarded', TOKENS.admin, { key: 'isolate', guarded: true })).status).toBe(200);
    try {
      const journal = server.engine.journal.length;
      const http = await api('POST', `/api/assets/${target}/isolate`, TOKENS.operator);
      expect(http.status).toBe(409);
      expect(http.json.message).toContain('guarded');
      const operator = await connect(TOKENS.operator);
      const socket = (await operator.emitWithAck('command', { type: 'isolate', target })) as ErrorReply;
      expect(socket).toMatchObject({ ok: false, code: 'conflict' });
      expect(socket.message).toContain('guarded');
      const inject = await api('POST', '/api/inject', TOKENS.injector, { type: 'isolate', target });
      expect(inject.status).toBe(409);
      expect(inject.json.message).toContain('guarded');
      const injector = await connect(TOKENS.injector);
      expect(((await injector.emitWithAck('command', { type: 'isolate', target })) as ErrorReply).code).toBe('conflict');
      // A Kafka batch goes through the same door: the guarded isolate is refused, the telemetry beside it goes in.
      const refused: number[] = [];
      const result = server.control.submitBatch(
        [{ type: 'isolate', target }, { type: 'telemetry', target, value: 1 }],
        { source: 'kafka:probe:0', sourceSeqs: [0, 1] },
        (position) => refused.push(position),
      );
      expect(refused).toEqual([0]);
      expect(result.accepted).toBe(1);
      expect(server.engine.journal.entries.slice(journal).map((e) => e.command.type)).toEqual(['telemetry']);
    } finally {
      await api('POST', '/api/actions/guarded', TOKENS.admin, { key: 'isolate', guarded: false });
    }
  });

  it('an approved guarded action is checked against the live state at approval time', async () => {
    const target = loadedAsset(7);
    expect((await api('POST', '/api/actions/guarded', TOKENS.admin, { key: 'restore', guarded: true })).status).toBe(200);
    try {
      const journal = server.engine.journal.length;
      const request = await api('POST', '/api/actions/request', TOKENS.operator, { action: 'restore', target, reason: 'probe' });
      expect(request.status).toBe(202);
      const approve = await api('POST', `/api/actions/${request.json.pending.id}/approve`, TOKENS.admin);
      expect(approve.status).toBe(409);
      expect(approve.json.message).toContain('nothing to restore');
      expect(server.engine.journal.length).toBe(journal);
    } finally {
      await api('POST', '/api/actions/guarded', TOKENS.admin, { key: 'restore', guarded: false });
    }
  });

  it('an injector\'s operator command is an operator action: live-state checked and ledgered as one', async () => {
    const target = loadedAsset(5);
    const first = await api('POST', '/api/inject', TOKENS.injector, { type: 'isolate', target });
    expect(first.status).toBe(202);
    await server.engine.runUntil(server.engine.now + 1_000);
    const again = await api('POST', '/api/inject', TOKENS.injector, { type: 'isolate', target });
    expect(again.status).toBe(409);
    const ledger = await api('GET', '/api/ledger?limit=20', TOKENS.admin);
    const entry = (ledger.json.entries as { kind: string; payload?: { action?: string; target?: string } }[]).findLast((e) => e.payload?.target === target);
    expect(entry?.kind).toBe('operator-action');
  });

  it('ledgers an operator action with exactly the inputs it journalled, not the readings other sources journalled meanwhile', async () => {
    const target = loadedAsset(6);
    const reading = loadedAsset(7);
    // Another source (a Kafka partition, the field) journals readings between two audited actions.
    server.control.submitBatch(Array.from({ length: 50 }, (_, i) => ({ type: 'telemetry' as const, target: reading, value: 1 + i })), { source: 'kafka:field:0', sourceSeqs: Array.from({ length: 50 }, (_, i) => 10_000 + i) });
    const reply = await api('POST', `/api/assets/${encodeURIComponent(target)}/isolate`, TOKENS.operator);
    expect(reply.status).toBe(202);
    const ledger = await api('GET', '/api/ledger?limit=20', TOKENS.admin);
    const entry = (ledger.json.entries as { kind: string; payload?: { target?: string; inputs?: { command: { type: string; target: string } }[] } }[]).findLast((e) => e.payload?.target === target);
    expect(entry?.kind).toBe('operator-action');
    expect(entry?.payload?.inputs?.map((i) => i.command)).toEqual([{ type: 'isolate', target }]);
  });

  it('refuses a storm track of 3000 hours at 1-minute steps at once with a 400 naming the field and the limit; /healthz keeps answering', async () => {
    const journal = server.engine.journal.length;
    const started = performance.now();
    const storm = { name: 'long-storm', events: [{ at: 0, type: 'storm', track: [{ x: '0%', y: '0%', hour: 0 }, { x: '100%', y: '100%', hour: 3000 }], maxWind: 50, radius: '20%', stepMinutes: 1 }] };
    const [reply, health] = await Promise.all([api('POST', '/api/scenarios/run', TOKENS.injector, storm), api('GET', '/healthz')]);
    expect(reply.status).toBe(400);
    expect(reply.json.problems[0].path).toMatch(/^body\.events\[0\]\.(track\[1\]\.hour|stepMinutes)$/);
    expect(reply.json.message).toMatch(/limit is \d+/);
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(5_000);
    // Within the hours limit but too many steps: the step count is named.
    const dense = { name: 'dense-storm', events: [{ at: 0, type: 'storm', track: [{ x: '0%', y: '0%', hour: 0 }, { x: '100%', y: '100%', hour: 700 }], maxWind: 50, radius: '20%', stepMinutes: 1 }] };
    const steps = await api('POST', '/api/scenarios/run', TOKENS.injector, dense);
    expect(steps.status).toBe(400);
    expect(steps.json.problems[0].path).toBe('body.events[0].stepMinutes');
    expect(steps.json.message).toContain('42001 steps');
    const many = { name: 'many', events: Array.from({ length: 1001 }, (_, k) => ({ at: k, type: 'fail', target: { kind: 'substation' } })) };
    const tooMany = await api('POST', '/api/scenarios/run', TOKENS.injector, many);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.problems[0].path).toBe('body.events');
    expect(server.engine.journal.length).toBe(journal);
  });

  it('refuses a live speed outside 0.01–100000 (5e-324 included) over HTTP and Socket.io', async () => {
    const trainer = await connect(TOKENS.trainer);
    for (const speed of [5e-324, 0, -1, 1e9, 'fast']) {
      const http = await api('POST', '/api/clock', TOKENS.trainer, { action: 'speed', speed });
      expect(http.status, `speed ${String(speed)}`).toBe(400);
      expect(http.json.message).toContain('speed');
      const socket = (await trainer.emitWithAck('clock', { action: 'speed', speed } as never)) as ErrorReply;
      expect(socket.code).toBe('invalid');
    }
    expect(server.runner.currentSpeed).toBe(1);
  });

  it('refuses subscriptions naming layers or districts the city does not have (Socket.io and ws)', async () => {
    const viewer = await connect(TOKENS.viewer);
    const reply = (await viewer.emitWithAck('subscribe', { view: { layers: ['power', 'plasma'] } })) as ErrorReply;
    expect(reply).toMatchObject({ ok: false, code: 'invalid' });
    expect(reply.problems?.[0]?.path).toBe('view.layers[1]');
    expect(reply.message).toContain('plasma');
    const districts = (await viewer.emitWithAck('subscribe', { view: { districts: ['atlantis'] } })) as ErrorReply;
    expect(districts.problems?.[0]?.path).toBe('view.districts[0]');
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${TOKENS.viewer}&layers=plasma`);
    const error = await new Promise<WsServerMessage>((resolve) => ws.on('message', (data, binary) => {
      if (binary) return;
      const m = JSON.parse(String(data)) as WsServerMessage;
      if (m.type === 'error') resolve(m);
    }));
    ws.close();
    expect(error).toMatchObject({ code: 'invalid' });
    expect((error as { message: string }).message).toContain('plasma');
  });

  it('limits anonymous and failed-auth requests per address before answering 401, and keeps their audit apart from real users\'', async () => {
    const marker = await api('POST', '/api/clock', TOKENS.admin, { action: 'pause' });
    expect(marker.status).toBe(409); // audited as admin's conflict
    const statuses: number[] = [];
    for (let i = 0; i < ANON_LIMIT + 10; i++) {
      statuses.push((await api('POST', '/api/inject', i % 2 === 0 ? undefined : `random-token-${i}`, { type: 'fail', target: 'x' })).status);
    }
    expect(statuses.slice(0, ANON_LIMIT - 5).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(ANON_LIMIT)).toEqual(Array.from({ length: 10 }, () => 429));
    // A real user is not limited by the anonymous flood from the same address.
    expect((await api('GET', '/api/whoami', TOKENS.viewer)).status).toBe(200);
    const audit = await api('GET', '/api/audit?limit=10000', TOKENS.admin);
    expect((audit.json.entries as { who: string; action: string }[]).some((e) => e.who === 'admin' && e.action === 'clock.pause')).toBe(true);
    expect((audit.json.entries as { who: string }[]).some((e) => e.who === 'anonymous')).toBe(false);
    expect(audit.json.anonymous.total).toBeGreaterThanOrEqual(ANON_LIMIT - 5);
  });

  it('counts as viewers only sockets that passed authentication (bare engine.io connections are not viewers)', async () => {
    const before = server.sockets.counts.socketio;
    const bare: WebSocket[] = [];
    for (let i = 0; i < 25; i++) bare.push(new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`));
    await Promise.all(bare.map((ws) => new Promise((resolve) => ws.once('message', resolve))));
    expect(server.sockets.io.engine.clientsCount).toBeGreaterThanOrEqual(25);
    expect(server.sockets.counts.socketio).toBe(before);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`stratum_viewers_connected{transport="socket.io"} ${before}`);
    for (const ws of bare) ws.close();
  });

  it('exports the event-loop delay (p99 and max) in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/stratum_event_loop_delay_p99_seconds \d/);
    expect(text).toMatch(/stratum_event_loop_delay_max_seconds \d/);
  });
});

describe('scenario expansion off the event loop', () => {
  it('the worker expands exactly as the server would, and a bad scenario keeps its field-naming problems', async () => {
    const city = parseCity(generateCity({ assets: 800, seed: 5 }), 'generated');
    const index = new CityIndex(city);
    const expander = new ScenarioExpander(city, 42);
    try {
      for (const name of ['storm-crossing', 'earthquake', 'summer-heatwave']) {
        const scenario = loadLibraryScenario(name);
        expect(await expander.expand(scenario), name).toEqual(expandScenario(scenario, index, 42));
      }
      const bad = parseScenario({ name: 'bad', events: [{ at: 1, type: 'fail', target: { kind: 'no-such-kind' } }] }, 'test');
      const error = await expander.expand(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).problems[0]!.path).toBe('$.events[0]');
    } finally {
      await expander.close();
    }
  });
});

describe('socket event rate limit (wall clock as a port, advanced by the test)', () => {
  it('allows the burst, refuses the next event, and refills at the rate as the clock moves', () => {
    let now = 1_000;
    const limiter = new EventRateLimiter(20, 40, () => now);
    const taken = Array.from({ length: 41 }, () => limiter.take('t'));
    expect(taken.filter(Boolean)).toHaveLength(40);
    expect(taken[40]).toBe(false);
    expect(limiter.take('other-token')).toBe(true);
    now += 100; // 0.1 s at 20/s: two more events
    expect([limiter.take('t'), limiter.take('t'), limiter.take('t')]).toEqual([true, true, false]);
    now += 60_000; // a long pause refills to the burst, not beyond
    expect(Array.from({ length: 41 }, () => limiter.take('t')).filter(Boolean)).toHaveLength(40);
  });
});

describe('audit and secrets (units)', () => {
  it('anonymous rejects cannot evict real users\' entries', () => {
    const audit = new AuditLog(10, 5);
    audit.record({ virtualMs: 0, who: 'otto', role: 'operator', via: 'http', action: 'isolate', target: 'a', result: 'ok', status: 200 });
    for (let i = 0; i < 10_000; i++) audit.record({ virtualMs: 0, who: 'anonymous', role: 'none', via: 'http', action: 'POST /api/inject', target: null, result: 'unauthorized', status: 401, from: `10.0.0.${i % 3}` });
    expect(audit.list(10).map((e) => e.who)).toEqual(['otto']);
    const anonymous = audit.anonymousSummary(3);
    expect(anonymous.total).toBe(10_000);
    expect(anonymous.recent).toHaveLength(3);
    expect(Object.values(anonymous.byAddress).reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('redacts token= values from logged URLs', () => {
    expect(redactTokens('/ws?token=secret-1&layers=power')).toBe('/ws?token=***&layers=power');
    expect(redactTokens('/socket.io/?EIO=4&TOKEN=abc')).toBe('/socket.io/?EIO=4&TOKEN=***');
    expect(redactTokens('/api/assets?layer=power')).toBe('/api/assets?layer=power');
  });
});
