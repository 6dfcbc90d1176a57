import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { requireUrl, serviceFromEnv, waitFor } from '../adapters/testing.ts';
import { startGateway, type RunningGateway } from '../gateway-server.ts';
import { startServerWith, type ServerInternals } from '../server.ts';
import type { FanoutSettings } from '../stream/index.ts';
import { readsKeys } from './keys.ts';
import { GATEWAY_READS } from './routes.ts';

const redis = serviceFromEnv('redis');
if (redis.skip) console.log(`gateways/reads/reads.test.ts: ${redis.reason}`);

const ADMIN = `reads-admin-${randomBytes(6).toString('hex')}`;
const VIEWER = `reads-viewer-${randomBytes(6).toString('hex')}`;
const env = { STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_TOKENS: `wall:viewer:${VIEWER}` };

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function get(base: string, path: string, token: string | null = ADMIN, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${base}${path}`, { headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const withoutWall = (clock: unknown): unknown => ({ ...(clock as Record<string, unknown>), wallMs: 0 });

describe.skipIf(redis.skip)('a gateway answers the live-state reads from the state the engine publishes on Redis', () => {
  let engine: ServerInternals;
  let gateway: RunningGateway;
  let fanout: FanoutSettings;
  let restarted: ServerInternals | undefined;
  const city = parseCity(generateCity({ assets: 1500, seed: 11 }), 'generated');

  beforeAll(async () => {
    fanout = { redisUrl: requireUrl(redis), prefix: `stratum-test:reads:${randomBytes(4).toString('hex')}`, maxLen: 256 };
    engine = await startServerWith({ city, seed: 11, port: 0, quiet: true, uiDir: false, dataDir: false, fanout }, { env, rateLimitPerMinute: 100_000 });
    gateway = await startGateway({ engineUrl: engine.url, fanout, port: 0, quiet: true, uiDir: false, env: { ...env, STRATUM_RATE_LIMIT: '100000' } });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
    await restarted?.close();
    if (redis.url !== undefined && fanout !== undefined) {
      const r = new Redis(redis.url);
      const keys = await r.keys(`${fanout.prefix}:*`);
      if (keys.length > 0) await r.del(...keys);
      r.disconnect();
    }
  });

  it('gives the engine\'s replies for the same state (assets with every filter, summary, clock, topology, refusals) and keeps answering when the engine is gone', async () => {
    const ids = engine.engine.index.ids;
    // Some failures (and their cascades) so the filters and numbers have something to show.
    for (const target of [ids[3], ids[40], ids[200], ids[777]]) {
      const res = await fetch(`${engine.url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'fail', target }) });
      expect(res.status).toBe(202);
    }
    await waitFor('failures applied', () => engine.engine.summary().failed >= 4, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const paused = await fetch(`${engine.url}/api/clock`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'pause' }) });
    expect(paused.status).toBe(200);
    // The gateway has the state once it has applied an entry published after the pause.
    await waitFor('the gateway at the engine\'s state', async () => {
      const [a, b] = await Promise.all([get(engine.url, '/api/summary'), get(gateway.url, '/api/summary')]);
      return b.headers.get('x-stratum-served-by') === 'gateway' && JSON.stringify(a.json) === JSON.stringify(b.json);
    }, 10_000, 100);

    const layers = engine.engine.index.layers;
    const districts = engine.engine.index.districts;
    const kind = engine.engine.index.city.assets[0]!.kind;
    const paths = [
      '/api/assets',
      '/api/assets?role=all&limit=10000',
      '/api/assets?role=cohort&limit=50&offset=5',
      '/api/assets?status=failed',
      '/api/assets?status=degraded&role=all',
      `/api/assets?layer=${layers[0]}&district=${encodeURIComponent(districts[1]!)}`,
      `/api/assets?kind=${encodeURIComponent(kind)}&offset=3&limit=7`,
      `/api/assets?district=${encodeURIComponent(districts[0]!)}&role=all&status=ok`,
      '/api/assets?layer=no-such-layer',
      '/api/summary',
      '/api/whoami',
    ];
    const failed = (await get(engine.url, '/api/assets?status=failed')).json as { total: number };
    expect(failed.total).toBeGreaterThanOrEqual(4);
    for (const path of paths) {
      const [a, b] = await Promise.all([get(engine.url, path), get(gateway.url, path)]);
      expect(b.headers.get('x-stratum-served-by'), path).toBe('gateway');
      expect(b.status, path).toBe(a.status);
      expect(b.json, path).toEqual(a.json);
    }
    // The exact numbers, not the frame's bytes: some level or stress is not a multiple of 1/255 or 1/100.
    const all = (await get(gateway.url, '/api/assets?role=all&limit=10000')).json as { items: { level: number; stress: number; load: number }[] };
    expect(all.items.some((x) => Math.abs(x.level * 255 - Math.round(x.level * 255)) > 1e-9 || Math.abs(x.load - Math.fround(x.load)) > 0)).toBe(true);
    // The clock: the same reading but the wall time it was taken at.
    const [ca, cb] = await Promise.all([get(engine.url, '/api/clock'), get(gateway.url, '/api/clock')]);
    expect(cb.headers.get('x-stratum-served-by')).toBe('gateway');
    expect(withoutWall(cb.json)).toEqual(withoutWall(ca.json));
    expect((cb.json as { paused: boolean }).paused).toBe(true);
    // The topology: the same body and ETag, and 304 for a client that holds it.
    const [ta, tb] = await Promise.all([get(engine.url, '/api/topology'), get(gateway.url, '/api/topology')]);
    expect(tb.headers.get('x-stratum-served-by')).toBe('gateway');
    expect(tb.text).toBe(ta.text);
    expect(tb.headers.get('etag')).toBe(ta.headers.get('etag'));
    expect((await get(gateway.url, '/api/topology', ADMIN, { 'if-none-match': ta.headers.get('etag')! })).status).toBe(304);
    // Refusals read the same: no token, an unknown token, a bad query (401 before 400, as on the engine).
    for (const [path, token] of [['/api/assets', null], ['/api/summary', 'not-a-token-at-all'], ['/api/assets?limit=0&role=everyone', ADMIN], ['/api/assets?limit=0', null], ['/api/clock', null], ['/api/topology', null]] as const) {
      const [a, b] = await Promise.all([get(engine.url, path, token), get(gateway.url, path, token)]);
      expect(b.status, `${path} with ${token}`).toBe(a.status);
      expect(b.json, `${path} with ${token}`).toEqual(a.json);
      expect(b.status, `${path} with ${token}`).toBeGreaterThanOrEqual(400);
    }
    expect((await get(gateway.url, '/api/whoami', VIEWER)).json).toEqual({ name: 'wall', role: 'viewer' });
    // Reads that need the engine are forwarded (the inspector's details, the explain chain).
    const inspector = await get(gateway.url, `/api/assets/${encodeURIComponent(ids[3]!)}`);
    expect(inspector.status).toBe(200);
    expect(inspector.headers.get('x-stratum-served-by')).toBeNull();
    expect(inspector.json).toEqual((await get(engine.url, `/api/assets/${encodeURIComponent(ids[3]!)}`)).json);
    expect(GATEWAY_READS).toContain('GET /api/assets');

    // A gap in the entries (one went missing): the gateway drops its state, asks for a snapshot and is back at the
    // engine's state; the entry after the gap (here with a made-up level for actor 0) is never applied.
    const gaps = gateway.reads.counts.gaps;
    const snapshots = gateway.reads.counts.snapshots;
    const r = new Redis(requireUrl(redis));
    const bogus = Buffer.alloc(4 + 4 + 1 + 24);
    bogus.writeUInt32LE(1, 0);
    bogus.writeDoubleLE(0.123456, 4 + 4 + 1);
    const context = JSON.stringify({ clock: (await get(engine.url, '/api/clock')).json, summary: (await get(engine.url, '/api/summary')).json, topologyEtag: ta.headers.get('etag') });
    await r.xadd(readsKeys(fanout.prefix).state, '*', 'e', gateway.reads.epoch!, 'n', String(gateway.reads.entry + 2), 'k', 'd', 'j', context, 'b', bogus);
    r.disconnect();
    await waitFor('the gap seen', () => gateway.reads.counts.gaps === gaps + 1, 5_000);
    await waitFor('a snapshot after the gap', () => gateway.reads.counts.snapshots > snapshots && gateway.reads.ready, 5_000);
    const everyActor = '/api/assets?role=all&limit=10000';
    const [ea, eb] = await Promise.all([get(engine.url, everyActor), get(gateway.url, everyActor)]);
    expect(eb.headers.get('x-stratum-served-by')).toBe('gateway');
    expect(eb.json).toEqual(ea.json);

    // The gateway's own reads are rate-limited as the engine's are: per token, and per address without a valid token
    // (counted before the 401, so guessing tokens buys no allowance).
    const strict = await startGateway({ engineUrl: engine.url, fanout, port: 0, quiet: true, uiDir: false, env: { ...env, STRATUM_RATE_LIMIT: '3', STRATUM_ANON_RATE_LIMIT: '2' } });
    try {
      await waitFor('the strict gateway ready', () => strict.reads.ready, 5_000);
      const anonymous = [];
      for (let i = 0; i < 3; i++) anonymous.push((await get(strict.url, '/api/summary', `guess-${i}-xxxxxxxx`)).status);
      expect(anonymous).toEqual([401, 401, 429]);
      const admin = [];
      for (let i = 0; i < 4; i++) admin.push((await get(strict.url, '/api/assets')).status);
      expect(admin).toEqual([200, 200, 200, 429]);
      expect(((await get(strict.url, '/api/assets')).json as { code: string }).code).toBe('rate-limited');
    } finally {
      await strict.close();
    }

    // A change after the pause reaches the gateway's reads too (an input forwarded through the gateway).
    const isolate = await fetch(`${gateway.url}/api/assets/${encodeURIComponent(ids[500]!)}/isolate`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(isolate.status).toBe(202);
    await fetch(`${engine.url}/api/clock`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'resume' }) });
    await waitFor('the isolation in the gateway\'s reads', async () => {
      const r = (await get(gateway.url, '/api/assets?status=isolated')).json as { items: { id: string }[] };
      return r.items.some((x) => x.id === ids[500]);
    }, 10_000, 100);

    // The engine goes away: the gateway still answers the live-state reads (the last state it holds, its age in a header)
    // while what needs the engine says the engine did not answer.
    const before = gateway.reads.entry;
    expect(before).toBeGreaterThan(0);
    await engine.close();
    const summary = await get(gateway.url, '/api/summary');
    expect(summary.status).toBe(200);
    expect(Number(summary.headers.get('x-stratum-state-age-ms'))).toBeGreaterThanOrEqual(0);
    expect(((await get(gateway.url, '/api/assets?status=failed')).json as { total: number }).total).toBeGreaterThanOrEqual(4);
    const forwarded = await get(gateway.url, `/api/assets/${encodeURIComponent(ids[3]!)}`);
    expect(forwarded.status).toBe(503);
    expect((forwarded.json as { message: string }).message).toContain('did not answer');
  }, 60_000);

  it('refuses a malformed state entry and changes nothing (the stream is shared)', async () => {
    const r = new Redis(requireUrl(redis));
    const keys = readsKeys(fanout.prefix);
    const rejected = gateway.reads.counts.rejected;
    const entry = gateway.reads.entry;
    // One actor, index 2^31 − 1: the right size, an actor the city does not have.
    const outOfRange = Buffer.alloc(4 + 4 + 1 + 24);
    outOfRange.writeUInt32LE(1, 0);
    outOfRange.writeUInt32LE(0x7fffffff, 4);
    await r.xadd(keys.state, '*', 'e', gateway.reads.epoch ?? 'x', 'n', String(entry + 1), 'k', 'd', 'j', '{"clock":1}', 'b', Buffer.alloc(4));
    await r.xadd(keys.state, '*', 'e', gateway.reads.epoch ?? 'x', 'n', String(entry + 1), 'k', 'd', 'j', JSON.stringify({ clock: { virtualMs: 0, speed: 1, paused: true, wallMs: 0 }, summary: (await get(gateway.url, '/api/summary')).json, topologyEtag: 'x' }), 'b', outOfRange);
    r.disconnect();
    await waitFor('both refused', () => gateway.reads.counts.rejected === rejected + 2, 5_000);
    expect(gateway.reads.lastRejection).toMatch(/actor 2147483647 at position 0|bytes for/);
    expect(gateway.reads.entry).toBe(entry);
    expect(gateway.reads.ready).toBe(true);
  });

  it('follows an engine started again on the same Redis: the new engine\'s state, not the old one\'s', async () => {
    const old = gateway.reads.epoch;
    restarted = await startServerWith({ city, seed: 11, port: 0, quiet: true, uiDir: false, dataDir: false, fanout }, { env, paused: true });
    await waitFor('the gateway on the new engine', () => gateway.reads.epoch === restarted!.hub.epoch && gateway.reads.ready, 10_000, 50);
    expect(gateway.reads.epoch).not.toBe(old);
    const everyActor = '/api/assets?role=all&limit=10000';
    await waitFor('the same summary', async () => JSON.stringify((await get(restarted!.url, '/api/summary')).json) === JSON.stringify((await get(gateway.url, '/api/summary')).json), 5_000, 100);
    const [a, b] = await Promise.all([get(restarted.url, everyActor), get(gateway.url, everyActor)]);
    expect(b.headers.get('x-stratum-served-by')).toBe('gateway');
    expect(b.json).toEqual(a.json);
    expect(((b.json as { items: { status: string }[] }).items.filter((x) => x.status === 'failed')).length).toBe(0); // the old engine's failures are gone
  });
});
