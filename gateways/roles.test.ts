import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireUrl, serviceFromEnv, waitFor } from './adapters/testing.ts';
import { bundleParser, FRAMES_BUNDLE } from './frame-bundle.ts';
import { FrameKind, peekFrameHeader, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from './protocol.ts';

const redis = serviceFromEnv('redis');
const kafka = serviceFromEnv('kafka');
if (redis.skip) console.log(`gateways/roles.test.ts: ${redis.reason}`);
if (kafka.skip) console.log(`gateways/roles.test.ts: ${kafka.reason}`);

const CLI = fileURLToPath(new URL('../bin/stratum.mjs', import.meta.url));
const ADMIN = `roles-admin-${randomBytes(6).toString('hex')}`;
const TAG = randomBytes(4).toString('hex');
const PREFIX = `stratum-test:roles:${TAG}`;
/** The engine's Kafka ingest reads these (topics and group of this run only). */
const TELEMETRY_TOPIC = `roles-telemetry-${TAG}`;
const COMMANDS_TOPIC = `roles-commands-${TAG}`;

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

describe.skipIf(redis.skip || kafka.skip)('engine and gateway roles: Redis, Kafka, one engine and three gateways as processes', () => {
  let engine: Proc;
  const gateways: Proc[] = [];
  let dataDir: string;
  let producer: Producer | undefined;
  const alive = (): string[] => gateways.filter((g) => g.child.exitCode === null && g.child.signalCode === null).map((g) => g.url);

  beforeAll(async () => {
    const url = requireUrl(redis);
    dataDir = mkdtempSync(join(tmpdir(), 'stratum-roles-'));
    const env = { STRATUM_REDIS_URL: url, STRATUM_FANOUT_PREFIX: PREFIX, STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_RATE_LIMIT: '100000' };
    // The engine takes telemetry and commands from Kafka too (its ingest, STRATUM_ADAPTERS=1); no PostgreSQL here.
    const engineEnv = { ...env, STRATUM_ADAPTERS: '1', STRATUM_KAFKA_BROKERS: requireUrl(kafka), STRATUM_KAFKA_TELEMETRY_TOPIC: TELEMETRY_TOPIC, STRATUM_KAFKA_COMMANDS_TOPIC: COMMANDS_TOPIC, STRATUM_KAFKA_GROUP: `roles-${TAG}`, STRATUM_PG_URL: '' };
    engine = await startProcess(['--role', 'engine', '--assets', '2000', '--seed', '7', '--port', '0', '--no-ui', '--data-dir', dataDir], engineEnv, /serving \d+ assets at (http:\/\/\S+)/);
    const client = new Kafka({ brokers: requireUrl(kafka).split(','), clientId: `roles-${TAG}`, logLevel: KafkaLogLevel.NOTHING });
    producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < 3; i++) {
      gateways.push(await startProcess(['--role', 'gateway', '--engine-url', engine.url, '--port', '0', '--no-ui'], env, /gateway at (http:\/\/[^\s:]+:\d+)/));
    }
  }, 90_000);

  afterAll(async () => {
    await producer?.disconnect();
    if (kafka.url !== undefined) {
      const admin = new Kafka({ brokers: kafka.url.split(','), logLevel: KafkaLogLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [TELEMETRY_TOPIC, COMMANDS_TOPIC] }).catch(() => undefined);
      await admin.disconnect();
    }
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

  it('viewers on every gateway get the same frames through a storm from Kafka and HTTP; a gateway killed mid-storm loses no frame for its viewers; the gateways\' own reads equal the engine\'s', async () => {
    const api = async (base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, json: await res.json() };
    };
    // The topology is answered by the gateway itself (from what the engine published), the engine's document.
    await waitFor('gateway 0 answering reads itself', async () => (await fetch(`${gateways[0]!.url}/api/topology`, { headers: { authorization: `Bearer ${ADMIN}` } })).headers.get('x-stratum-served-by') === 'gateway', 10_000, 100);
    const topology = (await api(gateways[0]!.url, 'GET', '/api/topology')).json as { ids: string[]; assetCount?: number };
    expect(topology).toEqual((await api(engine.url, 'GET', '/api/topology')).json);
    expect(topology.ids.length).toBeGreaterThan(2000);
    const inputsBefore = ((await api(engine.url, 'GET', '/api/summary')).json as { inputs: number }).inputs;

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

    // The storm: failures from Kafka (the engine's commands topic) and through two gateways (forwarded to the
    // engine's door), telemetry from Kafka; one gateway SIGKILLed in the middle of it.
    const victims = topology.ids.slice(0, 60);
    const fromKafka = victims.filter((_, i) => i % 3 === 0);
    const readings = topology.ids.slice(300, 340);
    const doomed = gateways[2]!;
    for (let i = 0; i < victims.length; i++) {
      if (i % 3 === 0) {
        await producer!.send({ topic: COMMANDS_TOPIC, messages: [{ key: victims[i]!, value: JSON.stringify({ type: 'fail', target: victims[i] }) }] });
        await producer!.send({ topic: TELEMETRY_TOPIC, messages: readings.slice((i / 3) * 2, (i / 3) * 2 + 2).map((id) => ({ key: id, value: JSON.stringify({ value: 0.25 }) })) });
      } else {
        const res = await api(urls[i % 2]!, 'POST', '/api/inject', { type: 'fail', target: victims[i] });
        expect(res.status, JSON.stringify(res.json)).toBe(202);
      }
      if (i === 25) doomed.child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 40));
    }
    // Every input reached the one door and its journal: 60 failures (20 of them from Kafka) and 40 readings from Kafka.
    // (+1: the commander's accepted socket command above.)
    await waitFor('every Kafka and HTTP input journalled', async () => ((await api(engine.url, 'GET', '/api/summary')).json as { inputs: number }).inputs === inputsBefore + 1 + victims.length + readings.length, 20_000, 100);
    // Everyone settles on the same last frame. The checks below run synchronously right after this
    // wait resolves (no I/O in between), so a frame still trailing the storm cannot slip in halfway.
    await waitFor('every viewer at the engine viewer\'s frame', () => {
      const target = direct.last;
      return target > 0 && viewers.every((v) => v.last === target) && wsFrames[wsFrames.length - 1]?.frame === target;
    }, 15_000, 50);

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

    // The gateways that stayed up answer the live-state reads themselves, with the engine's replies for the same
    // state: pause (through a gateway), let the state settle, compare every actor.
    expect((await api(urls[0]!, 'POST', '/api/clock', { action: 'pause' })).status).toBe(200);
    const engineSummary = async (): Promise<string> => JSON.stringify((await api(engine.url, 'GET', '/api/summary')).json);
    for (const url of urls.slice(0, 2)) {
      await waitFor(`${url} at the engine's state`, async () => JSON.stringify((await api(url, 'GET', '/api/summary')).json) === (await engineSummary()), 10_000, 100);
    }
    const everyActor = '/api/assets?role=all&limit=10000';
    const [onEngine, ...onGateways] = await Promise.all([engine.url, urls[0]!, urls[1]!].map(async (base) => {
      const res = await fetch(`${base}${everyActor}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      return { servedBy: res.headers.get('x-stratum-served-by'), json: (await res.json()) as { total: number; items: { id: string; status: string }[] } };
    }));
    for (const g of onGateways) {
      expect(g.servedBy).toBe('gateway');
      expect(g.json).toEqual(onEngine!.json);
    }
    const failedNow = new Set(onEngine!.json.items.filter((x) => x.status === 'failed').map((x) => x.id));
    for (const id of fromKafka) expect(failedNow.has(id), `${id} failed through Kafka`).toBe(true);
    for (const v of [...viewers, direct]) v.close();
    ws.close();
  }, 60_000);
});
