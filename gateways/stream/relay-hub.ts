import type { Redis } from 'ioredis';
import { GatewayError } from '../door/index.ts';
import {
  applyFrame,
  createViewState,
  decodeFrame,
  encodeFrame,
  ErrorCode,
  FrameKind,
  normaliseView,
  peekFrameHeader,
  viewKey,
  type Alert,
  type ClockInfo,
  type LiveSummary,
  type NormalisedView,
  type ResumeFrom,
  type SubscribeAck,
  type ViewRequest,
  type ViewState,
} from '../protocol.ts';
import { ALIVE_REFRESH_MS, ALIVE_TTL_MS, connectFanoutRedis, FanoutUnavailableError, fanoutKeys, followStream, reachRedis, type FanoutSettings } from './fanout.ts';
import { broadcastFrame, type FrameSource, type StreamStats, type Subscriber } from './streaming.ts';

/** What a gateway learns from the engine's `<p>:meta` hash. */
export interface EngineMeta {
  readonly epoch: string;
  readonly topologyEtag: string;
  readonly layers: readonly string[];
  readonly districts: readonly string[];
}

type StreamEntry = [Buffer, Buffer[]];

interface RelayedFrame {
  readonly frame: number;
  readonly since: number;
  readonly bytes: Uint8Array;
}

/** How long a subscribe waits for the engine's first snapshot of a view before answering 503. */
const FIRST_SNAPSHOT_TIMEOUT_MS = 10_000;

class EngineUnavailableError extends GatewayError {
  constructor(message: string) {
    super(503, ErrorCode.Internal, message);
  }
}

function field(fields: readonly Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
  return undefined;
}

/**
 * One view on a gateway: the frames the engine cut for it, read from `<p>:frames:<viewKey>`, passed
 * on unchanged (same numbers, same bytes on every gateway), a mirror of the view's state (for the
 * snapshot a new viewer needs) and the retained tail of the stream as the catch-up ring: a viewer
 * that resumes with `since` gets every frame after its last one, in order — no gap, no duplicate.
 */
class RelayView {
  readonly subscribers = new Set<Subscriber>();
  epoch: string | undefined;
  /** The last frame applied to the mirror (-1: no state yet). */
  frame = -1;
  clock = 0;
  private ring: RelayedFrame[] = [];
  private mirror: { state: ViewState; members: Uint32Array } | undefined;
  private snapshotCache: { frame: number; bytes: Uint8Array } | undefined;
  private waiters: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private readonly reader: Redis;
  private stopped = false;
  emptySince: number | undefined;

  constructor(readonly key: string, readonly view: NormalisedView, private readonly hub: RelayHub) {
    this.reader = hub.redis.duplicate();
    void this.follow();
  }

  get ready(): boolean {
    return this.mirror !== undefined;
  }

  get memberCount(): number {
    return this.mirror?.members.length ?? 0;
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new EngineUnavailableError(`the engine sent no state for this view within ${FIRST_SNAPSHOT_TIMEOUT_MS / 1000} s (is an engine process running on the same Redis and prefix?)`));
      }, FIRST_SNAPSHOT_TIMEOUT_MS);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Reads the retained tail (catch-up ring, maybe a snapshot), asks the engine for the state, then follows. */
  private async follow(): Promise<void> {
    const stream = this.hub.keys.frames(this.key);
    let last = '0-0';
    try {
      const retained = (await this.hub.redis.xrangeBuffer(stream, '-', '+')) as StreamEntry[];
      for (const [id, fields] of retained) {
        last = id.toString();
        this.onEntry(fields);
      }
    } catch {
      // Redis unreachable: the loop below retries.
    }
    this.hub.requestView(this.view, true);
    await followStream((from) => this.reader.xreadBuffer('BLOCK', 1000, 'STREAMS', stream, from) as Promise<[Buffer, StreamEntry[]][] | null>, last, () => this.stopped, (fields) => this.onEntry(fields));
  }

  private onEntry(fields: Buffer[]): void {
    const epoch = field(fields, 'e')?.toString();
    const raw = field(fields, 'b');
    if (epoch === undefined || raw === undefined) return;
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    let header: ReturnType<typeof peekFrameHeader>;
    try {
      header = peekFrameHeader(bytes);
    } catch {
      return; // not a frame: the stream is shared, a stray entry changes nothing
    }
    if (epoch !== this.epoch) {
      // A new incarnation of the view on the engine (an engine restart): numbers start again.
      this.epoch = epoch;
      this.ring = [];
      this.mirror = undefined;
      this.frame = -1;
      for (const s of this.subscribers) s.lastSent = -1;
    }
    if (header.kind === FrameKind.Snapshot) {
      // Snapshots are for gateways without state; one that follows the view already has it.
      if (this.mirror !== undefined && header.frame === this.frame) return;
      const frame = decodeFrame(bytes);
      let size = 0;
      for (const a of frame.actors) size = Math.max(size, a + 1);
      const state = createViewState(size);
      applyFrame(state, frame);
      this.mirror = { state, members: Uint32Array.from(frame.actors) };
      this.frame = frame.frame;
      this.clock = frame.clock;
      // The ring keeps only what chains to the state.
      while (this.ring.length > 0 && this.ring[this.ring.length - 1]!.frame > this.frame) this.ring.pop();
      if (this.ring.length > 0 && this.ring[this.ring.length - 1]!.frame !== this.frame) this.ring = [];
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.resolve();
      }
      // Subscribers still waiting for their ack (lastSent -1) get their first frame from prime(), after it.
      for (const s of this.subscribers) if (s.lastSent >= 0) this.deliver(s);
      return;
    }
    const tail = this.ring[this.ring.length - 1];
    if (tail !== undefined && header.since !== tail.frame) {
      if (header.frame <= tail.frame) return; // already held (the retained tail read twice)
      this.ring = []; // a break in the chain: catch-up starts again from here
    }
    this.ring.push({ frame: header.frame, since: header.since, bytes });
    if (this.ring.length > this.hub.ringFrames) this.ring.shift();
    if (this.mirror === undefined) return;
    if (header.since !== this.frame) {
      if (header.frame <= this.frame) return;
      // The mirror missed a frame (Redis trimmed it while this gateway was stalled): ask for a snapshot.
      this.mirror = undefined;
      this.frame = -1;
      this.hub.requestView(this.view, true);
      return;
    }
    const decoded = decodeFrame(bytes);
    applyFrame(this.mirror.state, decoded);
    this.frame = header.frame;
    this.clock = header.clock;
    this.fanOut(header.since, bytes);
  }

  /** Up-to-date subscribers of a broadcast transport get the same bytes in one batch; the rest catch up. */
  private fanOut(since: number, bytes: Uint8Array): void {
    const stats = this.hub.stats;
    stats.framesCut++;
    stats.frameBytes += bytes.length;
    broadcastFrame(this.subscribers, since, this.frame, bytes, stats, (sub) => this.deliver(sub));
  }

  /** Whether the ring holds every frame after `since` up to the current one. */
  covers(since: number): boolean {
    if (since === this.frame) return true;
    const tail = this.ring[this.ring.length - 1];
    return tail !== undefined && tail.frame === this.frame && this.ring.some((f) => f.since === since);
  }

  /** Sends what the subscriber needs to reach the current frame: the missed frames themselves, or a snapshot. */
  deliver(s: Subscriber): void {
    if (this.mirror === undefined || s.lastSent === this.frame) return;
    if (s.sink.backedUp()) {
      s.merged++;
      this.hub.stats.framesSkipped++;
      return;
    }
    const stats = this.hub.stats;
    if (s.lastSent >= 0 && this.covers(s.lastSent)) {
      const first = this.ring.findIndex((f) => f.since === s.lastSent);
      for (let k = first; k < this.ring.length; k++) {
        const f = this.ring[k]!;
        s.sink.send(f.bytes);
        stats.framesSent++;
        stats.bytesSent += f.bytes.length;
      }
    } else {
      const bytes = this.snapshot();
      s.sink.send(bytes);
      stats.snapshotsSent++;
      stats.framesSent++;
      stats.bytesSent += bytes.length;
    }
    s.lastSent = this.frame;
  }

  /** Every member actor as the mirror holds it at the current frame (cached per frame). */
  snapshot(): Uint8Array {
    if (this.snapshotCache?.frame === this.frame) return this.snapshotCache.bytes;
    const { state, members } = this.mirror!;
    const pick = <T extends ArrayLike<number>>(column: T): number[] => Array.from(members, (a) => column[a]!);
    const bytes = encodeFrame({ kind: FrameKind.Snapshot, frame: this.frame, since: 0, clock: this.clock, actors: members, status: pick(state.status), level: pick(state.level), load: pick(state.load), stress: pick(state.stress) });
    this.snapshotCache = { frame: this.frame, bytes };
    return bytes;
  }

  emptyDelta(): Uint8Array {
    return encodeFrame({ kind: FrameKind.Delta, frame: this.frame, since: this.frame, clock: this.clock, actors: [], status: [], level: [], load: [], stress: [] });
  }

  close(): void {
    this.stopped = true;
    this.reader.disconnect();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new EngineUnavailableError('the gateway is closing'));
    }
  }
}

/**
 * A gateway's frame source: the `FrameSource` the socket transports use, fed by the engine process
 * through Redis Streams instead of by an engine in this process. Also follows the live channel
 * (clock, alerts, summary) and keeps each watched view alive for the engine.
 */
export class RelayHub implements FrameSource {
  readonly redis: Redis;
  readonly keys: ReturnType<typeof fanoutKeys>;
  readonly ringFrames: number;
  readonly stats: StreamStats = { framesCut: 0, frameBytes: 0, frameActors: 0, framesSent: 0, bytesSent: 0, snapshotsSent: 0, mergedSent: 0, framesSkipped: 0 };
  private readonly views = new Map<string, RelayView>();
  private readonly viewOf = new Map<Subscriber, RelayView>();
  private readonly liveReader: Redis;
  private readonly aliveTimer: NodeJS.Timeout;
  private stopped = false;
  private readonly liveLoop: Promise<void>;
  lastClock: ClockInfo = { virtualMs: 0, speed: 1, paused: false, wallMs: 0 };
  lastSummary: LiveSummary | undefined;
  onClock: ((clock: ClockInfo) => void) | undefined;
  onAlerts: ((alerts: Alert[]) => void) | undefined;
  onSummary: ((summary: LiveSummary) => void) | undefined;

  private constructor(readonly settings: FanoutSettings, private meta: EngineMeta, redis: Redis, private readonly idleViewMs: number) {
    this.redis = redis;
    this.keys = fanoutKeys(settings.prefix);
    this.ringFrames = settings.maxLen;
    this.liveReader = redis.duplicate();
    this.liveLoop = this.followLive();
    this.aliveTimer = setInterval(() => this.keepAlive(), ALIVE_REFRESH_MS);
    this.aliveTimer.unref();
  }

  /** Connects and waits (up to `timeoutMs`) for an engine to have published its meta. */
  static async connect(settings: FanoutSettings, options: { timeoutMs?: number; idleViewMs?: number } = {}): Promise<RelayHub> {
    const redis = connectFanoutRedis(settings.redisUrl);
    await reachRedis(redis, settings.redisUrl);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const keys = fanoutKeys(settings.prefix);
    for (;;) {
      const meta = await redis.hgetall(keys.meta).catch(() => ({}) as Record<string, string>);
      if (meta['epoch'] !== undefined) return new RelayHub(settings, parseMeta(meta), redis, options.idleViewMs ?? 60_000);
      if (Date.now() > deadline) {
        redis.disconnect();
        throw new FanoutUnavailableError(`no engine has published on Redis ${settings.redisUrl} under "${settings.prefix}" (start one with stratum start --role engine)`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get epoch(): string {
    return this.meta.epoch;
  }

  get topologyEtag(): string {
    return this.meta.topologyEtag;
  }

  get names(): { readonly layers: readonly string[]; readonly districts: readonly string[] } {
    return this.meta;
  }

  /** Asks the engine to publish the view (and, with `snapshot`, its state now). */
  requestView(view: NormalisedView, snapshot: boolean): void {
    const key = viewKey(view);
    void this.redis.set(this.keys.alive(key), '1', 'PX', ALIVE_TTL_MS).catch(() => undefined);
    // The request form (the engine validates it like any subscribe): a normalised view's nulls are "all".
    const request: ViewRequest = {
      ...(view.layers === null ? {} : { layers: [...view.layers] }),
      ...(view.districts === null ? {} : { districts: [...view.districts] }),
      ...(view.bbox === null ? {} : { bbox: view.bbox }),
      cohorts: view.cohorts,
      maxRateHz: view.maxRateHz,
    };
    void this.redis.xadd(this.keys.views, 'MAXLEN', '~', 1000, '*', 'view', JSON.stringify(request), 'snapshot', snapshot ? '1' : '0').catch(() => undefined);
  }

  subscribe(s: Subscriber, request: ViewRequest, since?: ResumeFrom): Promise<SubscribeAck> {
    this.unsubscribeSubscriber(s);
    const normal = normaliseView(request);
    const key = viewKey(normal);
    let view = this.views.get(key);
    if (view === undefined) {
      view = new RelayView(key, normal, this);
      this.views.set(key, view);
    }
    view.subscribers.add(s);
    view.emptySince = undefined;
    this.viewOf.set(s, view);
    s.lastSent = -1;
    const joined = view;
    return joined.whenReady().then(() => {
      let mode: SubscribeAck['mode'] = 'snapshot';
      if (since !== undefined && since.epoch === joined.epoch && joined.covers(since.frame)) {
        s.lastSent = since.frame;
        mode = 'catch-up';
      }
      return { ok: true, epoch: joined.epoch!, viewKey: key, actors: joined.memberCount, mode };
    });
  }

  prime(s: Subscriber): void {
    const view = this.viewOf.get(s);
    if (view === undefined || !view.ready) return;
    if (s.lastSent === view.frame) {
      s.sink.send(view.emptyDelta());
      return;
    }
    view.deliver(s);
  }

  drained(s: Subscriber): void {
    this.viewOf.get(s)?.deliver(s);
  }

  unsubscribeSubscriber(s: Subscriber): void {
    const view = this.viewOf.get(s);
    if (view === undefined) return;
    view.subscribers.delete(s);
    this.viewOf.delete(s);
    if (view.subscribers.size === 0) view.emptySince = performance.now();
  }

  subscriberCount(): number {
    return this.viewOf.size;
  }

  /** Refreshes the alive keys of watched views (and re-asks, so a restarted engine relays them again); drops long-idle views. */
  private keepAlive(): void {
    const now = performance.now();
    for (const [key, view] of this.views) {
      if (view.emptySince !== undefined && now - view.emptySince >= this.idleViewMs) {
        view.close();
        this.views.delete(key);
        continue;
      }
      this.requestView(view.view, !view.ready);
    }
    void this.redis.hgetall(this.keys.meta).then((meta) => {
      if (meta['epoch'] !== undefined) this.meta = parseMeta(meta);
    }, () => undefined);
  }

  private async followLive(): Promise<void> {
    let last = '$';
    try {
      const newest = (await this.redis.xrevrange(this.keys.live, '+', '-', 'COUNT', 20)) as [string, string[]][];
      if (newest.length > 0) last = newest[0]![0];
      for (const [, fields] of newest.reverse()) this.onLive(fields);
    } catch {
      // unreachable now: the loop retries
    }
    await followStream((from) => this.liveReader.xread('BLOCK', 1000, 'STREAMS', this.keys.live, from) as Promise<[string, [string, string[]][]][] | null>, last, () => this.stopped, (fields) => this.onLive(fields));
  }

  private onLive(fields: string[]): void {
    let type: string | undefined;
    let json: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 't') type = fields[i + 1];
      if (fields[i] === 'j') json = fields[i + 1];
    }
    if (json === undefined) return;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return;
    }
    if (type === 'clock' && typeof value === 'object' && value !== null) {
      this.lastClock = value as ClockInfo;
      this.onClock?.(this.lastClock);
    } else if (type === 'alerts' && Array.isArray(value)) this.onAlerts?.(value as Alert[]);
    else if (type === 'summary' && typeof value === 'object' && value !== null) {
      this.lastSummary = value as LiveSummary;
      this.onSummary?.(this.lastSummary);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.aliveTimer);
    for (const view of this.views.values()) view.close();
    this.views.clear();
    this.liveReader.disconnect();
    await this.liveLoop;
    await this.redis.quit().catch(() => undefined);
  }
}

function parseMeta(meta: Record<string, string>): EngineMeta {
  const list = (s: string | undefined): string[] => {
    try {
      const v = JSON.parse(s ?? '[]') as unknown;
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  };
  return { epoch: meta['epoch'] ?? '', topologyEtag: meta['topologyEtag'] ?? '', layers: list(meta['layers']), districts: list(meta['districts']) };
}
