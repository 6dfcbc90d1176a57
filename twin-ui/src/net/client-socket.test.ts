/**
 * The client's socket handling with a scripted socket (no server): which frames and clocks reach the
 * store when the source on screen changes. The real server and browser run in twin-ui/e2e.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame } from '../../../gateways/protocol.ts';
import { FrameKind, Status, type SessionInfo } from '../model.ts';
import { gridTopology } from '../fixtures.ts';
import { createTwinStore } from '../store.ts';

type Handler = (...args: unknown[]) => void;

/** A socket that records what the client emits and lets the test play the server. */
class ScriptedSocket {
  readonly handlers = new Map<string, Handler>();
  readonly emitted: { event: string; payload: unknown; ack: Handler | undefined }[] = [];
  connected = true;
  on(event: string, handler: Handler): this {
    this.handlers.set(event, handler);
    return this;
  }
  emit(event: string, payload: unknown, ack?: Handler): this {
    this.emitted.push({ event, payload, ack });
    return this;
  }
  serve(event: string, ...args: unknown[]): void {
    this.handlers.get(event)?.(...args);
  }
  removeAllListeners(): this {
    this.handlers.clear();
    return this;
  }
  disconnect(): this {
    return this;
  }
  connect(): this {
    return this;
  }
}

const sockets: ScriptedSocket[] = [];
vi.mock('socket.io-client', () => ({
  io: () => {
    const s = new ScriptedSocket();
    sockets.push(s);
    return s;
  },
}));

const topology = gridTopology(20);
const session: SessionInfo = { id: 'replay-1', kind: 'replay', recording: 'rec', createdBy: 'tina', phase: 'replaying', clock: { nowMs: 0, endMs: 600_000, speed: 10, paused: false }, viewers: 1 };
const snapshot = (frame: number, clock: number, status: number) =>
  encodeFrame({ kind: FrameKind.Snapshot, frame, since: 0, clock, actors: [0], status: [status], level: [1], load: [1], stress: [0] });

/** A client signed in on a scripted socket that has connected. */
async function connected() {
  const { createClient } = await import('./client.ts');
  const store = createTwinStore();
  const client = createClient(store, 'http://engine');
  await client.connect('token');
  const s = sockets[0]!;
  s.serve('connect');
  return { store, client, s };
}

describe('client: sources on one socket', () => {
  beforeEach(() => {
    sockets.length = 0;
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.endsWith('/api/topology')) return new Response(JSON.stringify(topology), { headers: { etag: '"t"' } });
      if (url.endsWith('/api/sessions')) return new Response(JSON.stringify({ sessions: [session] }));
      if (url.endsWith('/api/sessions/replay-1')) return new Response(JSON.stringify({ ...session, summary: { cost: { currency: 'EUR', total: 5, perHour: 1 } } }));
      return new Response(JSON.stringify({ cost: { currency: 'EUR', total: 1, perHour: 0 } }));
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('drops frames until the new subscription is acknowledged, then applies the session; live clocks and alerts stay out', async () => {
    const { store, client, s } = await connected();
    const live = s.emitted.find((e) => e.event === 'subscribe')!;
    expect(live.payload).not.toHaveProperty('session');
    live.ack!({ ok: true, epoch: 'live.1', viewKey: 'k', actors: 20, mode: 'snapshot' });
    s.serve('frame', snapshot(1, 5000, Status.Failed));
    expect(store.getState().fast.status[0]).toBe(Status.Failed);
    await client.refresh();

    store.setState({ sessions: [session] });
    client.setSource('replay-1');
    expect(store.getState().fast.status[0]).toBe(Status.Ok);
    const sub = s.emitted.filter((e) => e.event === 'subscribe').at(-1)!;
    expect(sub.payload).toMatchObject({ session: 'replay-1' });
    // A live frame still in flight before the ack: not the session's, dropped.
    s.serve('frame', snapshot(2, 6000, Status.Failed));
    expect(store.getState().fast.status[0]).toBe(Status.Ok);
    sub.ack!({ ok: true, epoch: 's.1', viewKey: 'k', actors: 20, mode: 'snapshot', session: 'replay-1' });
    s.serve('frame', snapshot(1, 120_000, Status.Isolated));
    expect(store.getState().fast.status[0]).toBe(Status.Isolated);
    expect(store.getState().fast.time).toBe(120_000);
    // The live clock and live alerts are broadcast to every socket: they do not touch the replay.
    s.serve('clock', { virtualMs: 9_999_999, speed: 30, paused: false, wallMs: 0 });
    s.serve('alerts', [{ time: 1, actor: 3, id: 'x', layer: 'power', status: 'failed', cause: 'damage', causedBy: 'input' }]);
    expect(store.getState().fast.time).toBe(120_000);
    expect(store.getState().alerts).toEqual([]);
    // Another session's clock is ignored; this one's is applied.
    s.serve('sessionClock', { session: 'other', phase: 'replaying', nowMs: 1, endMs: 2, speed: 1, paused: true });
    expect(store.getState().fast.paused).toBe(false);
    s.serve('sessionClock', { session: 'replay-1', phase: 'finished', nowMs: 600_000, endMs: 600_000, speed: 10, paused: true });
    expect(store.getState().fast.paused).toBe(true);
    expect(store.getState().session?.phase).toBe('finished');
    await client.refresh();
    expect(store.getState().serverSummary?.cost?.total).toBe(5);

    // The session closes on the server: back to the live city, resubscribed without a session.
    s.serve('sessionClosed', { session: 'replay-1', reason: 'deleted' });
    expect(store.getState().source).toBeNull();
    expect(s.emitted.filter((e) => e.event === 'subscribe').at(-1)!.payload).not.toHaveProperty('session');
    expect(store.getState().notices.at(-1)?.text).toContain('replay-1 was closed (deleted)');
    client.disconnect();
  });

  it('takes the live summary and the session list from the socket, and polls only a watched session', async () => {
    const fetched: string[] = [];
    const served = globalThis.fetch;
    vi.stubGlobal('fetch', async (url: string) => {
      fetched.push(new URL(url).pathname);
      return served(url);
    });
    vi.useFakeTimers();
    try {
      const { store, client, s } = await connected();
      s.serve('summary', { failed: 1, degraded: 0, simulatedSeconds: 60, peopleWithoutNow: { power: 10, water: 0, telecom: 0 }, cost: { currency: 'EUR', total: 42, assets: 40, people: 2, perHour: 3 } });
      expect(store.getState().serverSummary?.cost?.total).toBe(42);
      s.serve('sessions', [session]);
      expect(store.getState().sessions.map((x) => x.id)).toEqual(['replay-1']);
      // Live: a minute of timers asks the server nothing.
      await vi.advanceTimersByTimeAsync(100);
      fetched.length = 0;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fetched).toEqual([]);
      // Watching a session: its details every 2 s, and the live summary pushed meanwhile is not shown.
      client.setSource('replay-1');
      await vi.advanceTimersByTimeAsync(100);
      fetched.length = 0;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(fetched.length).toBeGreaterThanOrEqual(4);
      expect(new Set(fetched)).toEqual(new Set(['/api/sessions/replay-1']));
      s.serve('summary', { failed: 9, degraded: 0, simulatedSeconds: 61, peopleWithoutNow: { power: 10, water: 0, telecom: 0 }, cost: { currency: 'EUR', total: 99, assets: 97, people: 2, perHour: 3 } });
      expect(store.getState().serverSummary?.cost?.total).toBe(5);
      client.disconnect();
    } finally {
      vi.useRealTimers();
    }
  });
});
