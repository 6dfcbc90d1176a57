import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { startStratumChild } from '../../test/stratum-child.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

/**
 * The embedded history of `npm start` comes from the durable store: on a restart on the same data
 * directory the journal replay (recovery) feeds the state-change stream, and with it the history,
 * so the history from before the restart is answered again — after a clean stop and after kill -9.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked by the assertions
type Json = any;

const ADMIN = 'admin-token-history-restart';
const ASSETS = 300;
const SEED = 9;
const MINUTE = 60_000;
const city = parseCity(generateCity({ assets: ASSETS, seed: SEED }), 'generated');

async function request(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

/** Fails two assets through the API (each acknowledged once its journal group is durable). */
async function failTwo(url: string): Promise<void> {
  for (const target of ['pw-tx-1', 'wt-ps-0']) {
    const res = await request(url, '/api/inject', { method: 'POST', body: JSON.stringify({ type: 'fail', target, hazard: 'fire' }) });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
  }
}

/** Waits until the server's virtual clock reaches `ms` (the history route reports it as `nowMs`). */
async function waitClock(url: string, ms: number): Promise<void> {
  for (let i = 0; i < 1_200; i++) {
    const res = await request(url, '/api/history?from=0&to=1s&step=1s');
    if (res.status === 200 && res.json.nowMs >= ms) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`virtual clock did not reach ${ms} ms in 30 s`);
}

/** What must survive: the asset's and the layer's answers over [0, toMs), without the fields that name the clock now. */
async function historyUntil(url: string, toMs: number): Promise<{ asset: Json; cascade: Json; layer: Json }> {
  const strip = (body: Json): Json => {
    const { nowMs, retainedFromMs, ...rest } = body;
    void nowMs;
    expect(retainedFromMs).toBeNull();
    return rest;
  };
  const asset = await request(url, `/api/assets/pw-tx-1/history?from=0&to=${toMs}&step=1m`);
  const cascade = await request(url, `/api/assets/wt-ps-0/history?from=0&to=${toMs}&step=10s`);
  const layer = await request(url, `/api/history?from=0&to=${toMs}&step=1m`);
  for (const r of [asset, cascade, layer]) expect(r.status, JSON.stringify(r.json)).toBe(200);
  return { asset: strip(asset.json), cascade: strip(cascade.json), layer: strip(layer.json) };
}

/** The failures are in it: the transformer's status change with its cause, failed assets in the layer series. */
function expectIncident(h: { asset: Json; layer: Json }): void {
  expect(h.asset.statusChanges.length).toBeGreaterThanOrEqual(1);
  expect(h.asset.statusChanges[0]).toMatchObject({ from: 'ok', to: 'failed', cause: { from: 'input' } });
  expect(Math.max(...h.layer.buckets.map((b: Json) => b.failed))).toBeGreaterThanOrEqual(2);
}

describe('embedded history across restarts on a data directory', () => {
  it('answers the history from before a clean stop after the restart, unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-history-restart-'));
    const start = (): Promise<ServerInternals> =>
      startServerWith({ city, seed: SEED, port: 0, quiet: true, speed: 600, adminToken: ADMIN, dataDir: dir, uiDir: false }, { rateLimitPerMinute: 1_000_000, env: { STRATUM_RECORDINGS: join(dir, 'recordings') } });
    let server = await start();
    let before: Awaited<ReturnType<typeof historyUntil>>;
    let toMs: number;
    try {
      await failTwo(server.url);
      toMs = (Math.floor(server.engine.now / MINUTE) + 5) * MINUTE;
      await waitClock(server.url, toMs);
      before = await historyUntil(server.url, toMs);
      expectIncident(before);
    } finally {
      await server.close();
    }
    server = await start();
    try {
      await waitClock(server.url, toMs);
      expect(await historyUntil(server.url, toMs)).toEqual(before);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('answers the history from before a kill -9 after the restart (`stratum start --data-dir` as a child process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-history-kill-'));
    let { child, url } = await startChild(dir);
    let before: Awaited<ReturnType<typeof historyUntil>>;
    let toMs: number;
    try {
      await failTwo(url);
      const now = (await request(url, '/api/history?from=0&to=1s&step=1s')).json.nowMs as number;
      toMs = (Math.floor(now / MINUTE) + 5) * MINUTE;
      await waitClock(url, toMs);
      before = await historyUntil(url, toMs);
      expectIncident(before);
    } finally {
      await kill9(child);
    }
    ({ child, url } = await startChild(dir));
    try {
      await waitClock(url, toMs);
      expect(await historyUntil(url, toMs)).toEqual(before);
    } finally {
      await kill9(child);
    }
  }, 60_000);
});

/** `stratum start` as a child process on a free port, with the data directory `dir`. */
async function startChild(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const { child, url } = await startStratumChild(['start', '--assets', String(ASSETS), '--seed', String(SEED), '--port', '0', '--no-ui', '--speed', '600', '--data-dir', dir], {
    STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_RATE_LIMIT: '10000000', LOG_LEVEL: 'warn', STRATUM_RECORDINGS: join(dir, 'recordings'),
  });
  for (let i = 0; i < 1_200; i++) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return { child, url };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('not ready in 30 s');
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}
