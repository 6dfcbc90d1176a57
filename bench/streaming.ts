/**
 * Streaming benchmark: the live server with N Socket.io viewers in a separate process.
 *
 * Measures
 * - `deltaBytesPerAssetUpdate`: bytes on the wire per asset update in the delta stream — encoded frame
 *   bytes plus the Socket.io/WebSocket envelope of each frame, over every delta frame of the run,
 *   divided by the asset updates those frames carry;
 * - `fullStateJsonBytesPerAssetUpdate`: what a naive server would send for the same updates if it
 *   broadcast the full state as JSON (`[{id,status,level,load,stress}, …]`) at each of those frames;
 * - `injectToDeltaP50Ms` / `P99Ms`: wall time from sending `POST /api/inject` (a failure of one
 *   asset) to the arrival, at each viewer, of the first frame that shows the asset failed. Viewers
 *   run in child processes, one per core; all processes stamp with `performance.timeOrigin + performance.now()`.
 *
 * Run directly as the child: `node --import tsx bench/streaming.ts --viewers URL[,URL…] TOKEN N [TRANSPORT] [OFFSET]`.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { generateCity, parseCity, Rng, Status, type CityIndex, type CityModel, type Engine } from '../engine/index.ts';
import { decodeFrame, peekFrameHeader, type ClientToServerEvents, type Frame, type ServerToClientEvents } from '../gateways/protocol.ts';
import { startServerWith, type ServerInternals } from '../gateways/server.ts';
import { bundleParser, FRAME_PACKET_HEADER, FRAMES_BUNDLE } from '../gateways/frame-bundle.ts';

/**
 * Socket.io envelope per frame as the UI receives it (one-message bundle, gateways/frame-bundle.ts):
 * mark, header length, the packet header, the attachment's length varint (≤ 3 bytes) and one
 * WebSocket frame header (≤ 4 bytes for payloads under 64 KiB). The default parser's form would
 * cost `4` + the same header in a text message plus two WebSocket headers: about the same bytes.
 */
const SOCKET_IO_ENVELOPE_BYTES = 1 + 1 + FRAME_PACKET_HEADER.length + 3 + 4;

const wallNow = (): number => performance.timeOrigin + performance.now();

type ChildMessage =
  | { type: 'ready'; connected: number }
  | { type: 'seen'; actor: number; viewer: number; at: number }
  | { type: 'watching'; actor: number }
  | { type: 'error'; message: string };
/** `baseline`: the first frame carrying the actor with another load counts (else: the first showing it failed). */
type ParentMessage = { type: 'watch'; actor: number; baseline?: number } | { type: 'stop' };

/**
 * One measured input: the body to POST to /api/inject, the actor whose change the viewers wait
 * for, and (for a load change rather than a failure) the load that actor shows now.
 */
export interface BenchInjection {
  readonly body: Record<string, unknown>;
  readonly watch: number;
  readonly baseline?: number;
}

/** Chooses each measured input from the engine's live state, never an actor already `used`. */
export type BenchInjector = (engine: Engine, rng: Rng, used: ReadonlySet<number>) => BenchInjection | null;

/** The default injection: one random asset (of `targets`, else any) that is still ok fails outright. */
export function failOneAsset(targets?: readonly number[]): BenchInjector {
  return (engine, rng, used) => {
    const index = engine.index;
    for (let tries = 0; tries < 1000; tries++) {
      const a = targets === undefined ? Math.floor(rng.next() * index.assetCount) : targets[Math.floor(rng.next() * targets.length)]!;
      if (engine.kernel.view(a).status === Status.Ok && !used.has(a)) return { body: { type: 'fail', target: index.ids[a], severity: 1 }, watch: a };
    }
    return null;
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k]!;
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** What `measureInjectToDelta` needs: the engine (to pick healthy assets), where to inject, and where viewers connect. */
export interface InjectToDeltaSetup {
  readonly engine: Engine;
  /** Base URL the injections are POSTed to (`/api/inject`). */
  readonly injectUrl: string;
  readonly token: string;
  /** Viewers are spread over these URLs in turn (one server, or several gateways). */
  readonly viewerUrls: readonly string[];
  readonly viewers: number;
  readonly injections: number;
  readonly quick: boolean;
  readonly transport?: string;
  /** Called (and awaited) once every viewer holds its snapshot, before the first injection. */
  readonly onConnected?: () => void | Promise<void>;
  /** Seed of the asset choice (the same choice for runs compared side by side). */
  readonly seed?: number;
  /** What each measured input is (default: one random asset fails). */
  readonly inject?: BenchInjector;
}

export interface InjectToDelta {
  readonly connected: number;
  readonly processes: number;
  /** Arrival minus injection time of every viewer for every measured injection, ms, sorted. */
  readonly latencies: number[];
  readonly perInjectionMedians: number[];
  readonly missed: number;
}

/**
 * Injection → first delta at each viewer: viewers in child processes (one per core, never in the
 * server's process), each injection the failure of one healthy asset, timed from the POST to the
 * arrival of the first frame showing it failed. Shared by the streaming and the fan-out benches.
 */
export async function measureInjectToDelta(setup: InjectToDeltaSetup): Promise<InjectToDelta> {
  const { engine } = setup;
  const inject = setup.inject ?? failOneAsset();
  const transport = setup.transport ?? 'socket.io';
  // Viewers are independent clients: they run in one process per core (never in the server's), so
  // one process handling 500 sockets in turn does not pass for the server's fan-out time.
  const processes = Math.max(1, Math.min(availableParallelism(), setup.viewers));
  const urls = setup.viewerUrls.join(',');
  const children = Array.from({ length: processes }, (_, p) => {
    const share = Math.floor(setup.viewers / processes) + (p < setup.viewers % processes ? 1 : 0);
    return fork(fileURLToPath(import.meta.url), ['--viewers', urls, setup.token, String(share), transport, String(p)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  const seen = new Map<number, number[]>();
  /** Viewer processes that have started watching an actor: the injection waits for all of them. */
  const watchAcks = new Map<number, number>();
  let connected = -1;
  let ready = 0;
  let readyViewers = 0;
  let childError: string | undefined;
  for (const child of children) {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        readyViewers += m.connected;
        if (++ready === children.length) connected = readyViewers;
      } else if (m.type === 'watching') {
        watchAcks.set(m.actor, (watchAcks.get(m.actor) ?? 0) + 1);
      } else if (m.type === 'seen') {
        const list = seen.get(m.actor) ?? [];
        list.push(m.at);
        seen.set(m.actor, list);
      } else childError = m.message;
    });
  }
  const until = async (what: string, check: () => boolean, ms: number): Promise<void> => {
    const start = Date.now();
    while (!check()) {
      if (childError !== undefined) throw new Error(`viewer process: ${childError}`);
      if (Date.now() - start > ms) throw new Error(`streaming bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  try {
    await until('viewers to connect and receive their snapshot', () => connected >= 0, 300_000);
    await setup.onConnected?.();
    // The first injections warm up the JIT on both sides; they are not measured.
    const warmup = 5;
    const rng = new Rng(setup.seed ?? 5);
    const latencies: number[] = [];
    // One number per injection (its median over the viewers): every viewer sees the same frame, so
    // one stalled injection moves 500 samples at once — these show whether p99 is one stall.
    const perInjectionMedians: number[] = [];
    let missed = 0;
    for (let k = -warmup; k < setup.injections; k++) {
      // Setting up (a 100,000-actor engine, 500 handshakes and snapshots) leaves a heap full of
      // garbage whose collection would land on an early measured injection: collect it before the
      // warm-up injections, which also absorb the sweeping after it (`npm run bench` exposes gc).
      // Collections the measured run itself causes still count.
      if (k === -warmup) (globalThis as { gc?: () => void }).gc?.();
      const next = inject(engine, rng, new Set(seen.keys()));
      if (next === null) break;
      const actor = next.watch;
      for (const child of children) child.send({ type: 'watch', actor, ...(next.baseline === undefined ? {} : { baseline: next.baseline }) } satisfies ParentMessage);
      await until(`viewer processes to watch actor ${actor}`, () => watchAcks.get(actor) === children.length, 10_000);
      const sentAt = wallNow();
      const res = await fetch(`${setup.injectUrl}/api/inject`, {
        method: 'POST',
        headers: { authorization: `Bearer ${setup.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(next.body),
      });
      if (res.status !== 202) throw new Error(`inject answered ${res.status}: ${await res.text()}`);
      try {
        await until(`injection ${k} to reach every viewer`, () => (seen.get(actor)?.length ?? 0) >= connected, 10_000);
      } catch {
        if (k >= 0) missed++;
      }
      if (k >= 0) {
        const arrivals = (seen.get(actor) ?? []).map((at) => at - sentAt).sort((x, y) => x - y);
        latencies.push(...arrivals);
        if (arrivals.length > 0) perInjectionMedians.push(arrivals[arrivals.length >> 1]!);
      }
      await new Promise((r) => setTimeout(r, setup.quick ? 60 : 120));
    }
    latencies.sort((a, b) => a - b);
    return { connected, processes, latencies, perInjectionMedians, missed };
  } finally {
    await Promise.all(children.map((child) => {
      if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          const kill = setTimeout(() => child.kill(), 5000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
        }
      });
    }));
  }
}

export { percentile, round };

export interface StreamingBenchOptions {
  readonly assets: number;
  readonly viewers: number;
  readonly quick: boolean;
  /** The city to serve (default: a generated city of `assets` assets, seed 11). */
  readonly city?: CityModel;
  /** The actors injections fail (default: any asset); the water bench fails its EPANET network's assets. */
  readonly targets?: (index: CityIndex) => readonly number[];
  /** What each measured input is (default: one asset of `targets` fails); the grid bench changes a bus's load. */
  readonly inject?: BenchInjector;
  /** The server's environment (default none). */
  readonly env?: NodeJS.ProcessEnv;
  /** Work the server does meanwhile (e.g. telemetry the live estimator takes), started once the viewers are in (awaited: it may prime itself first); returns its stop. */
  readonly background?: (server: ServerInternals) => Promise<() => Promise<void>>;
}

export async function runStreamingBench(options: StreamingBenchOptions): Promise<Record<string, number | string>> {
  const city = options.city ?? parseCity(generateCity({ assets: options.assets, seed: 11 }), 'generated');
  const server = await startServerWith(
    { city, seed: 11, port: 0, quiet: true, speed: 10 },
    { rateLimitPerMinute: 1_000_000, eventsPerSecond: 1_000_000, env: options.env ?? {} },
  );
  const index = server.engine.index;
  // Socket.io with one-message frames by default (the UI's transport); STRATUM_BENCH_VIEWER_TRANSPORT=ws measures raw ws
  // viewers, =socket.io-default the default parser's two-message frames.
  const requested = process.env['STRATUM_BENCH_VIEWER_TRANSPORT'];
  const transport = requested === 'ws' || requested === 'socket.io-default' ? requested : 'socket.io';
  let stopBackground: (() => Promise<void>) | undefined;
  try {
    let statsBefore = { ...server.stats };
    const injections = options.quick ? 15 : 60;
    const measured = await measureInjectToDelta({
      engine: server.engine, injectUrl: server.url, token: server.adminToken, viewerUrls: [server.url], viewers: options.viewers, injections, quick: options.quick, transport,
      inject: options.inject ?? failOneAsset(options.targets?.(index)),
      onConnected: async () => {
        stopBackground = await options.background?.(server);
        statsBefore = { ...server.stats };
      },
    });
    // A district-wide event: many updates per frame (the cascade case).
    const district = index.districts[Math.floor(index.districts.length / 2)]!;
    await fetch(`${server.url}/api/inject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'fail', target: `district:${district}`, severity: 0.6, hazard: 'flood' }),
    });
    await new Promise((r) => setTimeout(r, options.quick ? 1000 : 3000));

    const frames = server.stats.framesCut - statsBefore.framesCut;
    const frameBytes = server.stats.frameBytes - statsBefore.frameBytes;
    const updates = server.stats.frameActors - statsBefore.frameActors;
    const fullState = index.ids.slice(0, index.assetCount + index.cohortCount).map((id, a) => {
      const v = server.engine.kernel.view(a);
      return { id, status: v.status, level: v.level, load: v.load, stress: v.stress };
    });
    const fullStateJsonBytes = Buffer.byteLength(JSON.stringify(fullState));
    const deltaWireBytes = frameBytes + frames * SOCKET_IO_ENVELOPE_BYTES;
    const deltaPerUpdate = updates === 0 ? Number.NaN : deltaWireBytes / updates;
    const fullPerUpdate = updates === 0 ? Number.NaN : (frames * (fullStateJsonBytes + SOCKET_IO_ENVELOPE_BYTES)) / updates;
    const { latencies, perInjectionMedians } = measured;
    return {
      streamingAssets: index.assetCount,
      streamingViewers: measured.connected,
      viewerTransport: transport,
      viewerProcesses: measured.processes,
      streamingFrames: frames,
      streamingAssetUpdates: updates,
      deltaFrameBytesPerAssetUpdate: round(updates === 0 ? Number.NaN : frameBytes / updates),
      deltaBytesPerAssetUpdate: round(deltaPerUpdate),
      fullStateJsonBytes,
      fullStateJsonBytesPerAssetUpdate: round(fullPerUpdate),
      fullStateJsonToDeltaRatio: round(fullPerUpdate / deltaPerUpdate, 1),
      injections: injections,
      injectionsMissedByAViewer: measured.missed,
      injectToDeltaSlowestInjectionsMs: [...perInjectionMedians].sort((x, y) => y - x).slice(0, 3).map((v) => v.toFixed(1)).join(' '),
      injectToDeltaSamples: latencies.length,
      injectToDeltaP50Ms: round(percentile(latencies, 50)),
      injectToDeltaP99Ms: round(percentile(latencies, 99)),
      injectToDeltaMaxMs: round(latencies[latencies.length - 1] ?? Number.NaN),
      framesSkippedForSlowViewers: server.stats.framesSkipped - statsBefore.framesSkipped,
    };
  } finally {
    await stopBackground?.();
    await server.close();
  }
}

/** The viewer process: N Socket.io (or raw ws) clients on the whole-city view; reports when watched actors fail. */
async function viewerProcess(urls: readonly string[], token: string, count: number, transport: string, offset: number): Promise<void> {
  const send = (m: ChildMessage): void => {
    process.send?.(m);
  };
  const watched = new Set<number>();
  /** Per watched actor: the load it showed when the watch began (load-change watches only). */
  const baselines = new Map<number, number>();
  let decoded: Frame | undefined;
  const reported = new Map<number, Set<number>>();
  const onFrame = (viewer: number, bytes: Uint8Array): void => {
    if (watched.size === 0) return;
    const header = peekFrameHeader(bytes);
    if (header.count === 0) return;
    const at = wallNow();
    // Every viewer of the view gets the same bytes: decode each frame once.
    if (decoded?.frame !== header.frame) decoded = decodeFrame(bytes);
    const frame = decoded;
    for (const actor of watched) {
      const i = frame.actors.indexOf(actor);
      if (i < 0) continue;
      const baseline = baselines.get(actor);
      // Frames carry load as float32: a change is one beyond its rounding.
      if (baseline !== undefined ? Math.abs(frame.load[i]! - baseline) <= 1e-3 * Math.max(1, Math.abs(baseline)) : frame.status[i] !== Status.Failed && frame.status[i] !== Status.Faulted) continue;
      const done = reported.get(actor) ?? new Set<number>();
      if (done.has(viewer)) continue;
      done.add(viewer);
      reported.set(actor, done);
      send({ type: 'seen', actor, viewer, at });
    }
  };
  const open = (viewer: number): { close(): void; ready: Promise<void> } => {
    let primed = false;
    // Spread over the servers in turn (several gateways), each process starting at its own offset.
    const url = urls[(viewer + offset) % urls.length]!;
    if (transport === 'ws') {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
      const ready = new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data, isBinary) => {
          if (!isBinary) return;
          if (!primed) {
            primed = true;
            resolve();
            return;
          }
          onFrame(viewer, data as Buffer);
        });
      });
      return { close: () => ws.close(), ready };
    }
    // 'socket.io' = what the UI does (one-message bundles); 'socket.io-default' = the default parser's two messages.
    const bundles = transport === 'socket.io';
    const socket = io(url, { transports: ['websocket'], auth: bundles ? { token, frames: FRAMES_BUNDLE } : { token }, reconnection: false, ...(bundles ? { parser: bundleParser } : {}) }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    const ready = new Promise<void>((resolve, reject) => {
      socket.on('connect_error', (e) => reject(e));
      socket.on('frame', (bytes) => {
        if (!primed) {
          primed = true;
          resolve();
          return;
        }
        onFrame(viewer, bytes as Uint8Array);
      });
      socket.on('connect', () => {
        void socket.emitWithAck('subscribe', {}).then((ack) => {
          if (!ack.ok) reject(new Error(ack.message));
        });
      });
    });
    return { close: () => socket.disconnect(), ready };
  };
  const sockets: ReturnType<typeof open>[] = [];
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'watch') {
      watched.add(m.actor);
      if (m.baseline !== undefined) baselines.set(m.actor, m.baseline);
      send({ type: 'watching', actor: m.actor });
    }
    else {
      for (const v of sockets) v.close();
      process.exit(0);
    }
  });
  try {
    // Connect in batches so that 500 handshakes do not all land at once.
    for (let k = 0; k < count; k += 50) {
      const batch = Array.from({ length: Math.min(50, count - k) }, (_, j) => open(k + j));
      sockets.push(...batch);
      await Promise.all(batch.map((b) => b.ready));
    }
    send({ type: 'ready', connected: sockets.length });
  } catch (error) {
    send({ type: 'error', message: (error as Error).message });
  }
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self && process.argv[2] === '--viewers') {
  void viewerProcess(process.argv[3]!.split(','), process.argv[4]!, Number(process.argv[5]), process.argv[6] ?? 'socket.io', Number(process.argv[7] ?? 0));
} else if (process.argv[1] === self) {
  const assets = Number(process.argv[2] ?? 5000);
  const viewers = Number(process.argv[3] ?? 50);
  void runStreamingBench({ assets, viewers, quick: process.argv.includes('--quick') }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
