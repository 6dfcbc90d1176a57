import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireUrl, serviceFromEnv, waitFor } from './adapters/testing.ts';
import { bundleParser, FRAMES_BUNDLE } from './frame-bundle.ts';
import { FrameKind, peekFrameHeader, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from './protocol.ts';

const redis = serviceFromEnv('redis');
if (redis.skip) console.log(`gateways/roles.test.ts: ${redis.reason}`);

const CLI = fileURLToPath(new URL('../bin/stratum.mjs', import.meta.url));
const ADMIN = `roles-admin-${randomBytes(6).toString('hex')}`;
const PREFIX = `stratum-test:roles:${randomBytes(4).toString('hex')}`;

interface Proc {
  child: ChildProcess;
  url: string;
  stderr: string;
}

/** Starts `stratum start …` and resolves with the URL it prints (engine: "serving … at URL", gateway: "gateway at URL:"). */
function startProcess(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const proc: Proc = { child, url: '', stderr: '' };
    const timer = setTimeout(() => reject(new Error(`no URL within 30 s from stratum start ${args.join(' ')}:\n${proc.stderr}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      proc.stderr += chunk.toString();
      const m = pattern.exec(proc.stderr);
      if (m !== null && proc.url === '') {
        proc.url = m[1]!;
        clearTimeout(timer);
        resolve(proc);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (proc.url === '') reject(new Error(`stratum start ${args.join(' ')} exited ${code}:\n${proc.stderr}`));
    });
  });
}

/** A viewer that records every frame it gets and, when its gateway dies, resumes on another with `since`. */
class Viewer {
  readonly frames: { kind: FrameKind; frame: number; since: number; hash: string }[] = [];
  epoch = '';
  last = -1;
  resumedWith: SubscribeAck['mode'][] = [];
  private socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> | undefined;

  constructor(readonly name: string, private gateways: () => string[], private at: number) {}

  async connect(): Promise<void> {
    const url = this.gateways()[this.at % this.gateways().length]!;
    const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { token: ADMIN, frames: FRAMES_BUNDLE }, parser: bundleParser });
    this.socket = socket;
    socket.on('frame', (data: ArrayBuffer | Uint8Array) => {
      const bytes = new Uint8Array(data);
      const h = peekFrameHeader(bytes);
      this.frames.push({ kind: h.kind, frame: h.frame, since: h.since, hash: createHash('sha1').update(bytes).digest('hex') });
      this.last = h.frame;
    });
    socket.on('disconnect', () => {
      if (this.socket !== socket) return;
      // The gateway went away: the next one in the list, resuming from the last frame held.
      this.at++;
      void this.connect();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (e) => reject(e));
    }).catch(async () => {
      socket.close();
      this.at++;
      await new Promise((r) => setTimeout(r, 100));
      return this.connect();
    });
    const since = this.last >= 0 ? { epoch: this.epoch, frame: this.last } : undefined;
    const ack = await new Promise<SubscribeAck>((resolve) => socket.emit('subscribe', { ...(since === undefined ? {} : { since }) }, (r: SubscribeAck | { ok: false }) => resolve(r as SubscribeAck)));
    expect(ack.ok, `${this.name} subscribe: ${JSON.stringify(ack)}`).toBe(true);
    if (since !== undefined) this.resumedWith.push(ack.mode);
    this.epoch = ack.epoch;
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.close();
  }
}

describe.skipIf(redis.skip)('engine and gateway roles: one engine, three gateways, frames fanned out over Redis Streams', () => {
  let engine: Proc;
  const gateways: Proc[] = [];
  let dataDir: string;
  const alive = (): string[] => gateways.filter((g) => g.child.exitCode === null && g.child.signalCode === null).map((g) => g.url);

  beforeAll(async () => {
    const url = requireUrl(redis);
    dataDir = mkdtempSync(join(tmpdir(), 'stratum-roles-'));
    const env = { STRATUM_REDIS_URL: url, STRATUM_FANOUT_PREFIX: PREFIX, STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_RATE_LIMIT: '100000' };
    engine = await startProcess(['--role', 'engine', '--assets', '2000', '--seed', '7', '--port', '0', '--no-ui', '--data-dir', dataDir], env, /serving \d+ assets at (http:\/\/\S+)/);
    for (let i = 0; i < 3; i++) {
      gateways.push(await startProcess(['--role', 'gateway', '--engine-url', engine.url, '--port', '0', '--no-ui'], env, /gateway at (http:\/\/[^\s:]+:\d+)/));
    }
  }, 90_000);

  afterAll(async () => {
    for (const p of [...gateways, engine]) if (p !== undefined && p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all([...gateways, engine].filter((p) => p !== undefined).map((p) => (p.child.exitCode !== null || p.child.signalCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
    if (redis.url !== undefined) {
      const r = new Redis(redis.url);
      const keys = await r.keys(`${PREFIX}:*`);
      if (keys.length > 0) await r.del(...keys);
      r.disconnect();
    }
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('viewers on every gateway get the same frames; a gateway killed mid-storm loses no frame for its viewers', async () => {
    const api = async (base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, json: await res.json() };
    };
    // HTTP reads through a gateway are the engine's answers.
    const topology = (await api(gateways[0]!.url, 'GET', '/api/topology')).json as { ids: string[]; assetCount?: number };
    expect(topology.ids.length).toBeGreaterThan(2000);

    const urls = gateways.map((g) => g.url);
    const viewers = Array.from({ length: 9 }, (_, i) => new Viewer(`viewer${i}`, () => alive(), i));
    await Promise.all(viewers.map((v) => v.connect()));
    // A raw ws viewer on a gateway that stays up (the same frames through the other transport).
    const wsFrames: Viewer['frames'] = [];
    const ws = new WebSocket(`${gateways[1]!.url.replace('http', 'ws')}/ws?token=${ADMIN}`);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const h = peekFrameHeader(new Uint8Array(data));
      wsFrames.push({ kind: h.kind, frame: h.frame, since: h.since, hash: createHash('sha1').update(data).digest('hex') });
    });
    await waitFor('the ws viewer\'s snapshot', () => wsFrames.length > 0);
    // One more straight on the engine: the gateways must pass on the engine's own bytes.
    const direct = new Viewer('direct', () => [engine.url], 0);
    await direct.connect();
    expect(new Set(viewers.map((v) => v.epoch)).size).toBe(1);
    expect(direct.epoch).toBe(viewers[0]!.epoch);

    // Socket inputs on a gateway reach the engine's door: accepted with the journal's sequence, refused naming the field.
    const commander: ClientSocket<ServerToClientEvents, ClientToServerEvents> = ioClient(urls[0]!, { transports: ['websocket'], reconnection: false, auth: { token: ADMIN } });
    await new Promise<void>((resolve) => commander.once('connect', () => resolve()));
    const accepted = (await commander.emitWithAck('command', { type: 'fail', target: topology.ids[100] })) as { ok: boolean; seq?: number };
    expect(accepted.ok, JSON.stringify(accepted)).toBe(true);
    expect(typeof accepted.seq).toBe('number'); // the journal's sequence number (the first input's is 0)
    const refused = (await commander.emitWithAck('command', { type: 'fail', target: topology.ids[101], severity: 7 })) as { ok: boolean; code?: string; message?: string };
    expect(refused.ok).toBe(false);
    expect(refused.code).toBe('invalid');
    expect(refused.message).toContain('severity');
    commander.close();

    // The storm: failures injected through every gateway (forwarded to the engine's door) and one socket command.
    const victims = topology.ids.slice(0, 60);
    const doomed = gateways[2]!;
    for (let i = 0; i < victims.length; i++) {
      const via = urls[i % 2]!;
      const res = await api(via, 'POST', '/api/inject', { type: 'fail', target: victims[i] });
      expect(res.status, JSON.stringify(res.json)).toBe(202);
      if (i === 25) doomed.child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 40));
    }
    // Everyone settles on the same last frame.
    await waitFor('every viewer at the engine viewer\'s frame', () => {
      const target = direct.last;
      return target > 0 && viewers.every((v) => v.last === target);
    }, 15_000, 50);
    // Wait a little more for trailing frames, then again.
    await new Promise((r) => setTimeout(r, 500));
    await waitFor('every viewer at the same frame', () => viewers.every((v) => v.last === direct.last) && wsFrames[wsFrames.length - 1]!.frame === direct.last, 10_000, 50);

    const byFrame = new Map<number, string>();
    for (const f of direct.frames) if (f.kind === FrameKind.Delta && f.since === f.frame - 1) byFrame.set(f.frame, f.hash);
    const wsViewer = { name: 'ws', frames: wsFrames } as Viewer;
    expect(wsFrames[wsFrames.length - 1]!.frame).toBe(direct.last);
    for (const v of [...viewers, wsViewer]) {
      // A contiguous chain from the first snapshot: each delta applies on the frame before it (no gap), no frame twice.
      const [first, ...rest] = v.frames;
      expect(first!.kind, v.name).toBe(FrameKind.Snapshot);
      let at = first!.frame;
      const seen = new Set<number>([at]);
      for (const f of rest) {
        expect(f.kind, `${v.name} frame ${f.frame}: ${JSON.stringify(v.frames.slice(0, 6))}`).toBe(FrameKind.Delta);
        if (f.since === f.frame) continue; // the empty "up to date" delta after a resume that missed nothing
        expect(f.since, `${v.name}: frame ${f.frame} applies on ${f.since}, but it holds ${at}`).toBe(at);
        expect(seen.has(f.frame), `${v.name}: frame ${f.frame} twice`).toBe(false);
        seen.add(f.frame);
        at = f.frame;
        // The same bytes as the engine's own viewer got for that frame.
        if (byFrame.has(f.frame)) expect(f.hash, `${v.name} frame ${f.frame}`).toBe(byFrame.get(f.frame));
      }
    }
    // The viewers of the killed gateway resumed elsewhere from their last frame.
    const moved = viewers.filter((v) => v.resumedWith.length > 0);
    expect(moved.length).toBe(3);
    for (const v of moved) expect(v.resumedWith, v.name).toEqual(['catch-up']);
    expect(direct.last).toBeGreaterThan(10);
    for (const v of [...viewers, direct]) v.close();
    ws.close();
  }, 60_000);
});
