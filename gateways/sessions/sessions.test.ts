import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, hashCity, ManualWallClock, parseCity, Status, type WallClock } from '../../engine/index.ts';
import { cityFromSource, loadRecording, MAX_SPEED, MIN_SPEED, ReplaySession, saveRecording, verifyLedgerFile } from '../../scenarios/index.ts';
import { bundleParser, FRAMES_BUNDLE } from '../frame-bundle.ts';
import {
  decodeFrame,
  FrameKind,
  SESSION_MAX_SPEED,
  SESSION_MIN_SPEED,
  type ClientToServerEvents,
  type Frame,
  type ServerToClientEvents,
  type SessionClockInfo,
  type SessionClosedInfo,
  type Alert,
  type ClockInfo,
  type SubscribeAck,
  type WsServerMessage,
} from '../protocol.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked by the assertions
type Json = any;

const CITY = { generate: { assets: 300, seed: 7 } } as const;
const TOKENS = { admin: 'admin-token-123', trainer: 'trainer-token-1', op: 'operator-token-1', view: 'viewer-token-12' };
const ENV_TOKENS = `tr:trainer:${TOKENS.trainer},op:operator:${TOKENS.op},view:viewer:${TOKENS.view}`;
const behaviours = (i: Parameters<typeof createBehaviours>[0]) => createBehaviours(i);
const HANDOVER_MS = 900_000;
const END_MS = 3_600_000;

/**
 * A recorded incident the way the live server records one: a scripted failure (the incident), an
 * operator's isolation before the handover and a restoration after it (the decision trainees replace).
 */
async function recordIncident(dir: string, id: string): Promise<void> {
  const live = await Engine.create({ city: cityFromSource(CITY), behaviours, seed: 3, driver: 'direct' });
  // Both transmission substations: the generated grid is N-1 secure, so one alone cuts nobody off.
  live.submit({ type: 'fail', target: 'pw-tx-0', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
  live.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 30, source: 'scenario:drill' });
  live.submit({ type: 'fail', target: 'wt-ps-0', hazard: 'flood' }, { at: 1500, source: 'scenario:drill' });
  await live.runUntil(600_000);
  live.submit({ type: 'isolate', target: 'pw-dx-3' }, { source: 'http:op' });
  await live.runUntil(1_800_000);
  live.submit({ type: 'restore', target: 'pw-tx-1' }, { source: 'http:op' });
  await live.runUntil(END_MS);
  saveRecording(live, { city: CITY, dir, id, title: 'drill' });
  await live.stop();
}

/** Resolves when `check` returns a value (polled every 20 ms); rejects after `ms`. */
function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = async (): Promise<void> => {
      try {
        const value = await check();
        if (value !== undefined) return resolve(value);
      } catch (error) {
        return reject(error as Error);
      }
      if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(() => void poll(), 20);
    };
    void poll();
  });
}

/** The state hash of a straight batch replay of the recording to `ms`. */
async function straightHash(dir: string, id: string, ms: number): Promise<string> {
  const replay = await ReplaySession.open(loadRecording(id, dir), behaviours);
  await replay.runTo(ms);
  const hash = replay.current.stream.stateHash();
  await replay.close();
  return hash;
}

async function startTestServer(dir: string, tuning: { maxSessions?: number; sessionIdleMs?: number; sessionPlaybackClock?: WallClock } = {}): Promise<ServerInternals> {
  return startServerWith(
    { city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: TOKENS.admin },
    { paused: true, maxSessions: 3, ...tuning, env: { STRATUM_TOKENS: ENV_TOKENS, STRATUM_RECORDINGS: dir, STRATUM_LEDGER_FILE: join(dir, 'ledger.ndjson') } },
  );
}

describe('replay and training sessions over the live server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-sessions-'));
  let server: ServerInternals;
  const clients: Client[] = [];

  const call = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };
  const create = async (body: Record<string, unknown>): Promise<Json> => {
    const res = await call('POST', '/api/sessions', TOKENS.trainer, body);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    return res.json.session;
  };
  const clock = (id: string, body: Record<string, unknown>) => call('POST', `/api/sessions/${id}/clock`, TOKENS.trainer, body);
  const detail = async (id: string): Promise<Json> => (await call('GET', `/api/sessions/${id}`, TOKENS.view)).json;

  /** A Socket.io viewer of a session that records frames, session clocks, moves and closes. */
  const viewer = async (session: string) => {
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.view } });
    clients.push(socket);
    const frames: Frame[] = [];
    const clocks: SessionClockInfo[] = [];
    const moves: SubscribeAck[] = [];
    const closed: SessionClosedInfo[] = [];
    socket.on('frame', (bytes) => frames.push(decodeFrame(bytes as Uint8Array)));
    socket.on('sessionClock', (c) => clocks.push(c));
    socket.on('resubscribed', (ack) => moves.push(ack));
    socket.on('sessionClosed', (c) => closed.push(c));
    const ack = await socket.emitWithAck('subscribe', { session, view: { maxRateHz: 30 } });
    return { socket, frames, clocks, moves, closed, ack };
  };

  // Session playback is paced by this clock: the test moves it, so "1000× for 50 ms" is exactly
  // 50 virtual seconds and a paused session is seen to stand still without waiting.
  const playback = new ManualWallClock();

  beforeAll(async () => {
    await recordIncident(dir, 'incident');
    server = await startTestServer(dir, { sessionPlaybackClock: playback });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.close();
  });

  it('plays a recording as a session: viewers get its frames, seek back and forward land on the straight run, pause/resume/speed', async () => {
    expect([SESSION_MIN_SPEED, SESSION_MAX_SPEED]).toEqual([MIN_SPEED, MAX_SPEED]);
    const session = await create({ recording: 'incident', kind: 'replay', paused: true, speed: 10 });
    expect(session).toMatchObject({ kind: 'replay', recording: 'incident', createdBy: 'tr', phase: 'replaying', clock: { nowMs: 0, endMs: END_MS, speed: 10, paused: true } });
    expect(session.handoverMs).toBeUndefined();
    const id = session.id as string;
    const liveJournal = server.engine.journal.length;

    const v = await viewer(id);
    expect(v.ack).toMatchObject({ ok: true, session: id, mode: 'snapshot' });
    await waitFor('the snapshot and the session clock', () => (v.frames.length > 0 && v.clocks.length > 0 ? true : undefined));
    expect(v.frames[0]!.kind).toBe(FrameKind.Snapshot);
    expect(v.clocks[0]).toMatchObject({ session: id, phase: 'replaying', nowMs: 0, paused: true });

    // Forward: the same engine runs on; viewers get deltas stamped with the session's clock.
    const forward = await clock(id, { action: 'seek', toMs: 2_000_000 });
    expect(forward.status).toBe(200);
    expect(forward.json.session.clock.nowMs).toBe(2_000_000);
    expect((await detail(id)).summary.stateHash).toBe(await straightHash(dir, 'incident', 2_000_000));
    // pw-tx-1 failed at 30 s: the deltas of the seek carry it, stamped with the session's clock.
    const tx = server.engine.index.indexOf('pw-tx-1')!;
    const delta = await waitFor('a delta carrying pw-tx-1', () => v.frames.find((f) => f.kind === FrameKind.Delta && f.actors.includes(tx)));
    expect(delta.clock).toBeGreaterThanOrEqual(30_000);
    expect(delta.clock).toBeLessThanOrEqual(2_000_000);

    // Back: a new engine, so a new hub and epoch; the viewer is moved with a fresh snapshot.
    const framesBefore = v.frames.length;
    const back = await clock(id, { action: 'seek', toMs: 700_000 });
    expect(back.status).toBe(200);
    const move = await waitFor('the move to the new hub', () => v.moves[0]);
    expect(move).toMatchObject({ ok: true, session: id, mode: 'snapshot' });
    expect(move.epoch).not.toBe(v.ack.ok ? v.ack.epoch : '');
    const snapshot = await waitFor('a snapshot at 700 s', () => v.frames.slice(framesBefore).find((f) => f.kind === FrameKind.Snapshot));
    expect(snapshot.clock).toBe(700_000);
    const summary = (await detail(id)).summary;
    expect(summary.stateHash).toBe(await straightHash(dir, 'incident', 700_000));
    expect(summary.failedByLayer.power).toBeGreaterThanOrEqual(1);
    expect(summary).toMatchObject({ peopleWithoutNow: { power: expect.any(Number) }, cost: { total: expect.any(Number), perHour: expect.any(Number) }, hospitalsDegradedNow: expect.any(Number) });
    const forwardAgain = await clock(id, { action: 'seek', toMs: 2_500_000 });
    expect(forwardAgain.status).toBe(200);
    expect((await detail(id)).summary.stateHash).toBe(await straightHash(dir, 'incident', 2_500_000));

    // Impossible or malformed clock requests change nothing.
    expect((await clock(id, { action: 'seek', toMs: END_MS + 1 })).status).toBe(409);
    const negative = await clock(id, { action: 'seek', toMs: -1 });
    expect(negative.status).toBe(400);
    expect(negative.json.message).toContain('body.toMs');
    expect((await clock(id, { action: 'speed', speed: 5000 })).status).toBe(409);
    expect((await clock(id, { action: 'speed', speed: 0.05 })).status).toBe(409);
    const noSpeed = await clock(id, { action: 'speed' });
    expect(noSpeed.status).toBe(400);
    expect(noSpeed.json.message).toContain('body.speed');
    expect((await clock(id, { action: 'pause' })).status).toBe(409);
    expect((await clock(id, { action: 'seek', toMs: 1000 })).status).toBe(200);
    expect((await call('POST', `/api/sessions/${id}/clock`, TOKENS.op, { action: 'resume' })).status).toBe(403);
    expect((await call('POST', `/api/sessions/${id}/clock`, undefined, { action: 'resume' })).status).toBe(401);
    expect((await detail(id)).clock).toMatchObject({ nowMs: 1000, speed: 10, paused: true });

    // Real-time playback: resume at 1000×, pause, then play to the end of the recording.
    expect((await clock(id, { action: 'speed', speed: 1000 })).json.session.clock.speed).toBe(1000);
    expect((await clock(id, { action: 'resume' })).json.session.clock.paused).toBe(false);
    expect((await clock(id, { action: 'resume' })).status).toBe(409);
    await playback.advance(50); // one 50 ms playback tick at 1000×: 50 virtual seconds
    expect((await detail(id)).clock.nowMs).toBe(1000 + 50_000);
    const paused = await clock(id, { action: 'pause' });
    expect(paused.json.session.clock.paused).toBe(true);
    const at = paused.json.session.clock.nowMs as number;
    expect(at).toBe(51_000);
    await playback.advance(10_000); // ten wall seconds later, a paused session has not moved
    expect((await detail(id)).clock.nowMs).toBe(at);
    await waitFor('a session clock showing the pause', () => v.clocks.find((c) => c.paused && c.nowMs === at));
    await clock(id, { action: 'seek', toMs: END_MS - 60_000 });
    await clock(id, { action: 'resume' });
    await playback.advance(100); // 60 virtual seconds left: the second tick reaches the end
    const end = await detail(id);
    expect(end.phase).toBe('finished');
    expect(end.clock).toMatchObject({ nowMs: END_MS, paused: true });
    expect(end.summary.stateHash).toBe(loadRecording('incident', dir).meta.stateHash);
    expect((await clock(id, { action: 'resume' })).status).toBe(409);

    // The live engine never saw any of it.
    expect(server.engine.journal.length).toBe(liveJournal);
    expect(server.audit.list(1000).some((e) => e.action === 'session.seek' && e.target === id && e.result === 'ok')).toBe(true);
    expect(server.audit.list(1000).some((e) => e.action === 'session.speed' && e.result === 'conflict')).toBe(true);
  });

  it('streams a session over raw ws, and names an unknown session', async () => {
    const session = await create({ recording: 'incident', kind: 'replay', paused: true });
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${TOKENS.view}&session=${session.id}`);
    const messages: WsServerMessage[] = [];
    let binary = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary) binary++;
      else messages.push(JSON.parse(String(data)) as WsServerMessage);
    });
    await waitFor('subscribed, a frame and the session clock', () => (binary > 0 && messages.some((m) => m.type === 'session-clock') ? true : undefined));
    expect(messages.find((m) => m.type === 'subscribed')).toMatchObject({ session: session.id });
    ws.send(JSON.stringify({ type: 'subscribe', session: 'replay-404' }));
    const error = await waitFor('an error', () => messages.find((m) => m.type === 'error'));
    expect(error).toMatchObject({ code: 'not-found', message: expect.stringContaining('replay-404') });
    ws.close();
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.view } });
    clients.push(socket);
    const reply = await socket.emitWithAck('subscribe', { session: 'nope-1' });
    expect(reply).toMatchObject({ ok: false, code: 'not-found', message: expect.stringContaining('nope-1') });
    expect((await call('DELETE', `/api/sessions/${session.id}`, TOKENS.trainer)).status).toBe(200);
  });

  it('training: trainee actions wait for the handover, apply to the session engine only, and the finish scores both timelines', async () => {
    const session = await create({ recording: 'incident', kind: 'training', paused: true, handoverMs: HANDOVER_MS });
    expect(session).toMatchObject({ kind: 'training', phase: 'replaying', handoverMs: HANDOVER_MS });
    const id = session.id as string;
    const act = (body: Record<string, unknown>, token = TOKENS.op) => call('POST', `/api/sessions/${id}/actions`, token, body);
    const liveJournal = server.engine.journal.length;
    const liveDx1 = server.engine.kernel.view(server.engine.index.indexOf('pw-dx-1')!).status;

    const early = await act({ action: 'isolate', target: 'pw-dx-1' });
    expect(early.status).toBe(409);
    expect(early.json.message).toContain('handover');
    await clock(id, { action: 'seek', toMs: HANDOVER_MS });
    expect((await detail(id)).phase).toBe('handed-over');

    const inputs = (await detail(id)).summary.inputs as number;
    expect((await act({ action: 'isolate', target: 'pw-dx-1' }, TOKENS.view)).status).toBe(403);
    expect((await call('POST', `/api/sessions/${id}/actions`, undefined, { action: 'isolate', target: 'pw-dx-1' })).status).toBe(401);
    const noShare = await act({ action: 'shed', target: 'pw-dx-2' });
    expect(noShare.status).toBe(400);
    expect(noShare.json.message).toContain('body.share');
    expect((await act({ action: 'explode', target: 'pw-dx-2' })).status).toBe(400);
    expect((await act({ action: 'isolate', target: 'pw-nowhere' })).status).toBe(404);
    expect((await detail(id)).summary.inputs).toBe(inputs);

    const isolated = await act({ action: 'isolate', target: 'pw-dx-1' });
    expect(isolated.status).toBe(202);
    expect(isolated.json.time).toBeGreaterThanOrEqual(HANDOVER_MS);
    await clock(id, { action: 'seek', toMs: HANDOVER_MS + 60_000 });
    // Checked against the session engine's state, as the live operator routes check the live one.
    expect((await act({ action: 'isolate', target: 'pw-dx-1' })).json.message).toContain('already isolated');
    const dx1 = server.engine.index.indexOf('pw-dx-1')!;
    expect(server.engine.kernel.view(dx1).status).toBe(liveDx1);
    expect(liveDx1).not.toBe(Status.Isolated);
    expect(server.engine.journal.length).toBe(liveJournal);
    expect((await detail(id)).summary.inputs).toBe(inputs + 1);
    expect((await clock(id, { action: 'seek', toMs: HANDOVER_MS })).status).toBe(409);

    const finish = await call('POST', `/api/sessions/${id}/finish`, TOKENS.trainer);
    expect(finish.status, JSON.stringify(finish.json)).toBe(200);
    expect(finish.json.score).toBeGreaterThanOrEqual(0);
    expect(finish.json.score).toBeLessThanOrEqual(100);
    expect(finish.json.metrics.recorded.peopleHoursWithout.power).toBeGreaterThan(0);
    expect(finish.json.metrics.delta.cost).toBe(finish.json.metrics.trainee.cost.total - finish.json.metrics.recorded.cost.total);
    expect(finish.json.traineeDecisions).toEqual([expect.objectContaining({ who: `session:${id}:op`, command: { type: 'isolate', target: 'pw-dx-1' } })]);
    expect(finish.json.recordedDecisions).toEqual([expect.objectContaining({ who: 'http:op', command: { type: 'restore', target: 'pw-tx-1' } })]);
    expect((await call('POST', `/api/sessions/${id}/finish`, TOKENS.trainer)).status).toBe(409);
    expect((await act({ action: 'restore', target: 'pw-dx-1' })).status).toBe(409);
    const done = await detail(id);
    expect(done.phase).toBe('finished');
    expect(done.result.score).toBe(finish.json.score);

    const replay = await create({ recording: 'incident', kind: 'replay', paused: true });
    expect((await call('POST', `/api/sessions/${replay.id}/actions`, TOKENS.op, { action: 'isolate', target: 'pw-dx-1' })).status).toBe(409);
    expect((await call('POST', `/api/sessions/${replay.id}/finish`, TOKENS.trainer)).status).toBe(409);

    const ledger = verifyLedgerFile(join(dir, 'ledger.ndjson'));
    expect(ledger.ok).toBe(true);
    const events = ledger.entries.filter((e) => e.kind === 'training').map((e) => (e.payload as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['session.create', 'handover', 'decision', 'score', 'session.finish']));
    expect(server.audit.list(1000).some((e) => e.via === `session:${id}` && e.action === 'isolate' && e.result === 'ok')).toBe(true);
    expect(server.audit.list(1000).some((e) => e.via === `session:${id}` && e.result === 'conflict')).toBe(true);
  });

  it('lists sessions, bounds them, refuses bad bodies without change, closes on delete; a live recording becomes a session', async () => {
    for (const s of (await call('GET', '/api/sessions', TOKENS.view)).json.sessions as { id: string }[]) await call('DELETE', `/api/sessions/${s.id}`, TOKENS.admin);
    const bad = [
      [{ recording: 'incident', kind: 'movie' }, 'body.kind'],
      [{ recording: '../etc', kind: 'replay' }, 'body.recording'],
      [{ recording: 'incident', kind: 'replay', handoverMs: 5 }, 'body.handoverMs'],
      [{ recording: 'incident', kind: 'replay', extra: 1 }, 'body'],
    ] as const;
    for (const [body, field] of bad) {
      const res = await call('POST', '/api/sessions', TOKENS.trainer, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.message).toContain(field);
    }
    expect((await call('POST', '/api/sessions', TOKENS.trainer, { recording: 'missing', kind: 'replay' })).status).toBe(404);
    expect((await call('POST', '/api/sessions', TOKENS.trainer, { recording: 'incident', kind: 'replay', speed: 2000 })).status).toBe(409);
    expect((await call('POST', '/api/sessions', TOKENS.trainer, { recording: 'incident', kind: 'training', handoverMs: END_MS + 1 })).status).toBe(409);
    expect((await call('POST', '/api/sessions', TOKENS.op, { recording: 'incident', kind: 'replay' })).status).toBe(403);
    expect((await call('POST', '/api/sessions', undefined, { recording: 'incident', kind: 'replay' })).status).toBe(401);
    expect((await call('GET', '/api/sessions', TOKENS.view)).json.sessions).toEqual([]);
    // Every socket is told when the list changes (the UI does not poll for it).
    const watcher: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.view } });
    clients.push(watcher);
    const pushed: Array<ReadonlyArray<{ id: string }>> = [];
    watcher.on('sessions', (l) => pushed.push(l));
    await waitFor('the list on connect', () => (pushed.length > 0 ? true : undefined));
    expect(pushed[0]).toEqual([]);

    // A recording of the live run (city written beside the journal) opens as a session.
    expect((await call('POST', '/api/inject', TOKENS.admin, { type: 'fail', target: 'pw-dx-2' })).status).toBe(202);
    await call('POST', '/api/clock', TOKENS.admin, { action: 'speed', speed: 1000 });
    await call('POST', '/api/clock', TOKENS.admin, { action: 'resume' });
    await waitFor('the live clock to pass 30 s', () => (server.engine.kernel.settledUntil > 30_000 ? true : undefined));
    await call('POST', '/api/clock', TOKENS.admin, { action: 'pause' });
    const saved = await call('POST', '/api/recordings', TOKENS.trainer, { title: 'live drill' });
    expect(saved.status).toBe(201);
    // Its city file rebuilds the same city (what `stratum replay` of a live recording needs).
    expect(hashCity(cityFromSource(loadRecording(saved.json.id, dir).meta.city))).toBe(server.engine.cityHash);
    const training = await create({ recording: saved.json.id, kind: 'training', paused: true });
    expect(training.handoverMs).toBe(0); // the injection is the first recorded decision, at the start
    const replay = await create({ recording: saved.json.id, kind: 'replay', paused: true });
    await clock(replay.id, { action: 'seek', toMs: saved.json.untilMs });
    expect((await detail(replay.id)).summary.stateHash).toBe(saved.json.stateHash);

    const third = await create({ recording: 'incident', kind: 'replay', paused: true });
    const full = await call('POST', '/api/sessions', TOKENS.trainer, { recording: 'incident', kind: 'replay' });
    expect(full.status).toBe(409);
    expect(full.json.message).toContain('at most 3');
    const list = (await call('GET', '/api/sessions', TOKENS.view)).json.sessions as Json[];
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/sessions', '/api/sessions/{id}', '/api/sessions/{id}/clock', '/api/sessions/{id}/actions', '/api/sessions/{id}/finish']));
    expect(list.map((s) => s.id).sort()).toEqual([training.id, replay.id, third.id].sort());
    expect(list.find((s) => s.id === training.id)).toMatchObject({ kind: 'training', recording: saved.json.id, createdBy: 'tr', handoverMs: 0, clock: { paused: true } });
    await waitFor('the pushed list of all three', () => (pushed.some((l) => l.length === 3) ? true : undefined));

    const v = await viewer(third.id);
    expect((await call('DELETE', `/api/sessions/${third.id}`, TOKENS.view)).status).toBe(403);
    expect((await call('DELETE', `/api/sessions/${third.id}`, TOKENS.trainer)).status).toBe(200);
    expect(await waitFor('sessionClosed', () => v.closed[0])).toEqual({ session: third.id, reason: 'deleted' });
    expect((await call('GET', `/api/sessions/${third.id}`, TOKENS.view)).status).toBe(404);
    await waitFor('a pushed list without the deleted session', () => {
      const last = pushed.at(-1)!;
      return last.length === 2 && !last.some((x) => x.id === third.id) ? true : undefined;
    });
    expect((await call('DELETE', `/api/sessions/${third.id}`, TOKENS.trainer)).status).toBe(404);
  });
});

describe('session lifetime', () => {
  const start = async (server: ServerInternals): Promise<{ id: string; closed: SessionClosedInfo[]; socket: Client }> => {
    const res = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ recording: 'incident', kind: 'replay', speed: 100 }) });
    const { session } = (await res.json()) as Json;
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.view } });
    const closed: SessionClosedInfo[] = [];
    socket.on('sessionClosed', (c) => closed.push(c));
    expect(await socket.emitWithAck('subscribe', { session: session.id })).toMatchObject({ ok: true, session: session.id });
    return { id: session.id, closed, socket };
  };

  it('closes a session nobody watches or drives once it has been idle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-sessions-idle-'));
    await recordIncident(dir, 'incident');
    // The sessions' wall clock (idle time and their 1 Hz channel) moves only when the test says so:
    // however slow the machine, nothing closes early, and the close needs no real second to pass.
    const wall = new ManualWallClock();
    const server = await startTestServer(dir, { sessionIdleMs: 1500, sessionPlaybackClock: wall });
    try {
      const watched = await start(server);
      const idle = await start(server);
      idle.socket.disconnect();
      await waitFor('the idle socket to leave', () => (server.sessions.list().find((s) => s.id === idle.id)?.viewers === 0 ? true : undefined));
      await wall.advance(1000); // a tick: idle for at most 1 s so far, nothing closes
      expect(server.sessions.size).toBe(2);
      await wall.advance(1000); // the next tick finds it idle past 1.5 s
      await waitFor('the idle session to close', () => (server.sessions.size === 1 ? true : undefined), 5000);
      expect(server.sessions.list().map((s) => s.id)).toEqual([watched.id]);
      watched.socket.disconnect();
    } finally {
      await server.close();
    }
  });

  it('server close closes every session and tells their viewers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-sessions-close-'));
    await recordIncident(dir, 'incident');
    const server = await startTestServer(dir);
    const { id, closed, socket } = await start(server);
    expect(server.sessions.list().map((s) => s.id)).toEqual([id]);
    await server.close();
    expect(server.sessions.size).toBe(0);
    expect(await waitFor('sessionClosed', () => closed[0])).toEqual({ session: id, reason: 'server-closing' });
    socket.disconnect();
  });
});

describe('live clock and alerts versus session viewers', () => {
  it('a session viewer gets only its session\'s clock and alerts, and the live ones again once it watches nothing or live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-sessions-live-'));
    await recordIncident(dir, 'incident');
    const server = await startTestServer(dir);
    const sockets: Client[] = [];
    const wsClients: WebSocket[] = [];
    const admin = async (method: string, path: string, body?: unknown): Promise<Json> => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKENS.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return res.json();
    };
    /** A Socket.io client with the bundle parser (as the UI), counting live and session events. */
    const bundleClient = () => {
      const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.view, frames: FRAMES_BUNDLE }, parser: bundleParser });
      sockets.push(socket);
      const got = { clocks: [] as ClockInfo[], alerts: [] as (readonly Alert[])[], sessionClocks: [] as SessionClockInfo[], sessionAlerts: 0, closed: [] as SessionClosedInfo[] };
      socket.on('clock', (c) => got.clocks.push(c));
      socket.on('alerts', (a) => got.alerts.push(a));
      socket.on('sessionClock', (c) => got.sessionClocks.push(c));
      socket.on('sessionAlerts', () => void got.sessionAlerts++);
      socket.on('sessionClosed', (c) => got.closed.push(c));
      return { socket, got };
    };
    const wsClient = (query: string) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${TOKENS.view}${query}`);
      wsClients.push(ws);
      const messages: WsServerMessage[] = [];
      ws.on('message', (data, isBinary) => {
        if (!isBinary) messages.push(JSON.parse(String(data)) as WsServerMessage);
      });
      const count = (type: WsServerMessage['type']): number => messages.filter((m) => m.type === type).length;
      return { ws, messages, count };
    };
    try {
      const { session } = await admin('POST', '/api/sessions', { recording: 'incident', kind: 'replay', paused: true });
      const id = session.id as string;
      expect((await admin('GET', '/api/recordings')).recordings).toEqual([expect.objectContaining({ id: 'incident', store: 'file' })]);

      const watcher = bundleClient();
      const live = bundleClient();
      expect(await watcher.socket.emitWithAck('subscribe', { session: id })).toMatchObject({ ok: true, session: id });
      expect(await live.socket.emitWithAck('subscribe', {})).toMatchObject({ ok: true });
      // Whatever came before the acks (the hello clock) is not the point: count from here.
      watcher.got.clocks.length = 0;
      live.got.clocks.length = 0;
      const wsWatcher = wsClient(`&session=${id}`);
      const wsLive = wsClient('');
      await waitFor('both ws clients subscribed', () => (wsWatcher.count('subscribed') === 1 && wsLive.count('subscribed') === 1 ? true : undefined));

      // Live alerts (a failure on the live engine) and session alerts (the recording's fire at 30 s).
      expect((await admin('POST', '/api/inject', { type: 'fail', target: 'pw-tx-0' })).ok).toBe(true);
      await admin('POST', '/api/clock', { action: 'resume' });
      await admin('POST', `/api/sessions/${id}/clock`, { action: 'seek', toMs: 120_000 });
      await waitFor('live alerts and two live clocks on the live clients, session alerts on the watchers', () =>
        live.got.alerts.some((a) => a.some((x) => x.id === 'pw-tx-0')) && live.got.clocks.length >= 2 && wsLive.count('alerts') > 0 && wsLive.count('clock') >= 2 && watcher.got.sessionAlerts > 0 && wsWatcher.count('session-alerts') > 0 ? true : undefined);
      expect(watcher.got.clocks).toEqual([]);
      expect(watcher.got.alerts).toEqual([]);
      expect(watcher.got.sessionClocks.length).toBeGreaterThan(0);
      expect(watcher.got.sessionClocks.every((c) => c.session === id)).toBe(true);
      expect(wsWatcher.count('clock')).toBe(0);
      expect(wsWatcher.count('alerts')).toBe(0);
      expect(wsWatcher.count('session-clock')).toBeGreaterThan(0);

      // Back to the live view (ws) or nothing to watch (the session is deleted): the live clock returns.
      wsWatcher.ws.send(JSON.stringify({ type: 'subscribe' }));
      expect((await admin('DELETE', `/api/sessions/${id}`)).ok).toBe(true);
      expect(await waitFor('sessionClosed', () => watcher.got.closed[0])).toEqual({ session: id, reason: 'deleted' });
      await waitFor('the live clock on the former watchers', () => (watcher.got.clocks.length > 0 && wsWatcher.count('clock') > 0 ? true : undefined));
      await admin('POST', '/api/clock', { action: 'pause' });
    } finally {
      for (const s of sockets) s.disconnect();
      for (const ws of wsClients) ws.close();
      await server.close();
    }
  });
});
