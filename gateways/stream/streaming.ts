import { randomBytes } from 'node:crypto';
import { systemWallClock, type Engine, type StateChange, type WallClock, type WallTimer } from '../../engine/index.ts';
import {
  encodeFrame,
  FrameKind,
  normaliseView,
  viewKey,
  WIRE_CAUSE_NAMES,
  WIRE_STATUS_NAMES,
  WireStatus,
  type Alert,
  type NormalisedView,
  type ResumeFrom,
  type SubscribeAck,
  type ViewRequest,
} from '../protocol.ts';

/**
 * Delta streaming: one coalescer per distinct view, shared by every subscriber of that view.
 *
 * - Changes from the engine's state-change stream mark actors dirty in each view that contains them.
 * - A view cuts a frame at most `maxRateHz` times a second, right after an engine advance (leading
 *   edge: an idle view cuts at once, so an injection reaches viewers within one advance). A frame
 *   reads the actors' current values (latest wins), is encoded once, and the same bytes go to every
 *   subscriber that is up to date.
 * - Each view keeps a bounded ring of recent frames (columns and bytes). A subscriber that is behind
 *   — it reconnected with `since`, or its socket was backed up — gets ONE merged delta built from the
 *   ring (latest value per actor wins), or a snapshot when the ring no longer covers its gap.
 * - A subscriber whose socket is backed up is simply skipped; what it holds on the server is one
 *   number (the last frame it was sent). Nothing queues per socket beyond the transport's own buffer,
 *   which the skip keeps below the high-water mark plus one frame.
 */

/**
 * After an input is accepted (an operator action, an injection), the next frame of every view goes
 * out as soon as the instant of the input has settled (between two instants of the advance that
 * applied it), whatever the view's rate: the person who acted sees the effect at once. Each view
 * has EXPEDITE_BURST such early frames, refilled at EXPEDITE_PER_SECOND (the default view rate, so
 * inputs up to ten a second each get their own early frame); once they are spent (a burst of inputs, a telemetry flood through the API),
 * early frames come no sooner than EXPEDITED_INTERVAL_MS after the previous one. So cascades stay
 * rate-limited and a view never exceeds 1000 / EXPEDITED_INTERVAL_MS frames a second.
 */
export const EXPEDITED_INTERVAL_MS = 1000 / 30;
export const EXPEDITE_BURST = 4;
export const EXPEDITE_PER_SECOND = 10;
/** Inputs waiting for their instant to settle before their early frame (see StreamHub.expedite). */
const MAX_PENDING_EXPEDITES = 256;

/** Where a subscriber's bytes go: a Socket.io socket, a ws socket, or a test double. */
export interface FrameSink {
  /** True while the transport holds more than it should: frames are then merged instead of sent. */
  backedUp(): boolean;
  send(bytes: Uint8Array): void;
  /** Sinks of one transport that can send the same bytes to many at once (encoded once). */
  readonly group?: BroadcastGroup;
}

export interface BroadcastGroup {
  sendMany(sinks: readonly FrameSink[], bytes: Uint8Array): void;
}

export interface StreamOptions {
  /** Frames kept per view for catch-up (default 128, about 13 s at 10 Hz). */
  readonly ringFrames?: number;
  /** Early frames per view after inputs: burst and refill per second (default EXPEDITE_BURST, EXPEDITE_PER_SECOND). */
  readonly expediteBurst?: number;
  readonly expeditePerSecond?: number;
  /** Alerts sent per flush at most (default 200); the rest are counted as dropped. */
  readonly maxAlertsPerFlush?: number;
  /** A view without subscribers is kept this long for reconnecting clients (default 60 s). */
  readonly idleViewMs?: number;
  /** The wall clock of frame cadence and idle views (default the system's; tests advance a `ManualWallClock`). */
  readonly clock?: WallClock;
}

interface StoredFrame {
  readonly frame: number;
  readonly since: number;
  readonly clock: number;
  readonly actors: Uint32Array;
  readonly status: Uint8Array;
  readonly level: Float64Array;
  readonly load: Float64Array;
  readonly stress: Float64Array;
  readonly bytes: Uint8Array;
}

/**
 * What the socket transports need from a source of frames: the live `StreamHub`, a session's, or a
 * gateway's `RelayHub` (frames cut by the engine process, relayed through Redis Streams).
 */
export interface FrameSource {
  /** Names this source's incarnation (the `hello` event's `epoch`). */
  readonly epoch: string;
  /** Layer and district names a view may name (others are refused, naming the field). */
  readonly names: { readonly layers: readonly string[]; readonly districts: readonly string[] };
  /** A relay answers once it holds the view's state: its ack may be a promise. */
  subscribe(s: Subscriber, request: ViewRequest, since?: ResumeFrom): SubscribeAck | Promise<SubscribeAck>;
  /** Sends the subscriber its first frame (after the ack went out). */
  prime(s: Subscriber): void;
  /** The subscriber's transport drained: send what it missed (cheap when it is up to date). */
  drained(s: Subscriber): void;
  unsubscribeSubscriber(s: Subscriber): void;
}

/** Per-subscriber server state: deliberately O(1). */
/**
 * Sends frame `frame` (following `since`): up-to-date subscribers of a broadcast-capable transport
 * get it in one broadcast per group; everyone else (behind, backed up, plain sinks) goes through
 * `deliver`. Shared by the engine's view coalescers and a gateway's relay.
 */
export function broadcastFrame(subscribers: Iterable<Subscriber>, since: number, frame: number, bytes: Uint8Array, stats: StreamStats, deliver: (s: Subscriber) => void): void {
  const batches = new Map<BroadcastGroup, FrameSink[]>();
  for (const s of subscribers) {
    const group = s.sink.group;
    if (group !== undefined && s.lastSent === since && !s.sink.backedUp()) {
      let list = batches.get(group);
      if (list === undefined) batches.set(group, (list = []));
      list.push(s.sink);
      s.lastSent = frame;
      stats.framesSent++;
      stats.bytesSent += bytes.length;
    } else deliver(s);
  }
  for (const [group, sinks] of batches) group.sendMany(sinks, bytes);
}

export class Subscriber {
  /** Last frame sent to this subscriber; -1 = it needs a snapshot. */
  lastSent = -1;
  /** Frames skipped (merged) because the sink was backed up. */
  merged = 0;
  view: ViewCoalescer | undefined;

  constructor(readonly id: string, readonly sink: FrameSink) {}
}

export interface StreamStats {
  framesCut: number;
  frameBytes: number;
  /** Actor updates carried by the frames cut (sum of their actor counts). */
  frameActors: number;
  framesSent: number;
  bytesSent: number;
  snapshotsSent: number;
  mergedSent: number;
  framesSkipped: number;
}

/** One distinct view: membership mask, dirty set, frame ring and its subscribers. */
export class ViewCoalescer {
  readonly key: string;
  readonly members: Uint8Array;
  readonly memberCount: number;
  readonly subscribers = new Set<Subscriber>();
  frame = 0;
  private lastCutWall = -Infinity;
  private readonly dirtyMask: Uint8Array;
  private dirty: number[] = [];
  private readonly ring: StoredFrame[] = [];
  private snapshotCache: { frame: number; bytes: Uint8Array } | undefined;
  private catchUpCache = new Map<number, Uint8Array>();
  timer: WallTimer | undefined;
  /** Wall time (the hub's clock) the last subscriber left, or undefined while it has some. */
  emptySince: number | undefined;

  /** `epoch` names this incarnation of the view: frame numbers are only comparable within it. */
  constructor(readonly view: NormalisedView, private readonly hub: StreamHub, readonly epoch: string) {
    this.key = viewKey(view);
    this.expediteTokens = hub.expediteBurst;
    const index = hub.engine.index;
    const n = index.assetCount + index.cohortCount;
    this.members = new Uint8Array(n);
    this.dirtyMask = new Uint8Array(n);
    const layers = view.layers === null ? null : new Set(view.layers.map((l) => index.layers.indexOf(l)));
    const districts = view.districts === null ? null : new Set(view.districts.map((d) => index.districts.indexOf(d)));
    const city = index.city;
    let count = 0;
    for (let a = 0; a < n; a++) {
      const isAsset = a < index.assetCount;
      if (!isAsset && !view.cohorts) continue;
      if (isAsset && layers !== null && !layers.has(index.layerOf[a]!)) continue;
      if (districts !== null && !districts.has(index.districtOf[a]!)) continue;
      if (view.bbox !== null) {
        const p = isAsset ? city.assets[a]!.position : city.cohorts[a - index.assetCount]!.position;
        const b = view.bbox;
        if (p === null || p.x < b.minX || p.x > b.maxX || p.y < b.minY || p.y > b.maxY) continue;
      }
      this.members[a] = 1;
      count++;
    }
    this.memberCount = count;
  }

  get intervalMs(): number {
    return 1000 / this.view.maxRateHz;
  }

  /** Set when an input was accepted: the next frame may come sooner than the view's rate. */
  expedited = false;
  /** Immediate early frames this view may still send (token bucket, see EXPEDITE_BURST). */
  private expediteTokens: number;
  private expediteRefilledAt = 0;

  /** Wall time the next frame is due: now for an input with a token left, else by rate (floored when expedited). */
  private dueAt(nowWall: number): number {
    if (!this.expedited) return this.lastCutWall + this.intervalMs;
    this.expediteTokens = Math.min(this.hub.expediteBurst, this.expediteTokens + ((nowWall - this.expediteRefilledAt) / 1000) * this.hub.expeditePerSecond);
    this.expediteRefilledAt = nowWall;
    if (this.expediteTokens >= 1) return nowWall;
    return this.lastCutWall + Math.min(this.intervalMs, EXPEDITED_INTERVAL_MS);
  }

  markDirty(actor: number): void {
    if (this.members[actor] !== 1 || this.dirtyMask[actor] === 1) return;
    this.dirtyMask[actor] = 1;
    this.dirty.push(actor);
    // First change since the last frame: arm the timer now rather than wait for the end of the
    // engine advance (a big advance can take tens of ms; the first changes should not wait for it).
    if (this.dirty.length === 1) this.maybeCut(this.hub.clock.now(), true);
  }

  get hasDirty(): boolean {
    return this.dirty.length > 0;
  }

  /**
   * Cuts a frame now if due, else arms a timer for when it is. `deferred` (from inside the stream
   * listener, mid-advance) never cuts synchronously: it arms a timer, which may fire between two
   * messages of a running advance — the frame then carries every actor's latest committed view.
   */
  maybeCut(nowWall: number, deferred = false): void {
    if (this.dirty.length === 0 || this.timer !== undefined) return;
    const due = this.dueAt(nowWall);
    if (nowWall >= due && !deferred) {
      this.cut(nowWall);
      return;
    }
    this.timer = this.hub.clock.setTimeout(() => {
      this.timer = undefined;
      this.cut(this.hub.clock.now());
    }, Math.max(0, due - nowWall));
  }

  /** Cuts a frame now whatever the rate (tests, replays stepping instant by instant). */
  cutNow(): void {
    if (this.timer !== undefined) this.hub.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.cut(this.hub.clock.now());
  }

  private cut(nowWall: number): void {
    if (this.dirty.length === 0) return;
    // A frame sooner than the view's rate spent one of its early-frame tokens.
    if (this.expedited && nowWall < this.lastCutWall + this.intervalMs) this.expediteTokens = Math.max(0, this.expediteTokens - 1);
    this.lastCutWall = nowWall;
    this.expedited = false;
    const actors = Uint32Array.from(this.dirty).sort();
    this.dirty = [];
    const n = actors.length;
    const status = new Uint8Array(n);
    const level = new Float64Array(n);
    const load = new Float64Array(n);
    const stress = new Float64Array(n);
    const kernel = this.hub.engine.kernel;
    for (let i = 0; i < n; i++) {
      const a = actors[i]!;
      this.dirtyMask[a] = 0;
      const v = kernel.view(a);
      status[i] = v.status;
      level[i] = v.level;
      load[i] = v.load;
      stress[i] = v.stress;
    }
    const since = this.frame;
    this.frame += 1;
    const clock = this.hub.engine.now;
    const bytes = encodeFrame({ kind: FrameKind.Delta, frame: this.frame, since, clock, actors, status, level, load, stress });
    this.ring.push({ frame: this.frame, since, clock, actors, status, level, load, stress, bytes });
    if (this.ring.length > this.hub.ringFrames) this.ring.shift();
    this.catchUpCache.clear();
    const stats = this.hub.stats;
    stats.framesCut++;
    stats.frameBytes += bytes.length;
    stats.frameActors += n;
    this.hub.onFrame?.(this.key, bytes.length, n);
    broadcastFrame(this.subscribers, since, this.frame, bytes, stats, (sub) => this.deliver(sub));
  }

  /** Sends what the subscriber needs to reach the current frame, unless its sink is backed up. */
  deliver(s: Subscriber): void {
    if (s.lastSent === this.frame) return;
    if (s.sink.backedUp()) {
      s.merged++;
      this.hub.stats.framesSkipped++;
      return;
    }
    const stats = this.hub.stats;
    let bytes: Uint8Array;
    if (s.lastSent === this.frame - 1 && this.ring.length > 0 && this.ring[this.ring.length - 1]!.since === s.lastSent) {
      bytes = this.ring[this.ring.length - 1]!.bytes;
    } else {
      const merged = this.catchUp(s.lastSent);
      if (merged !== undefined) {
        bytes = merged;
        stats.mergedSent++;
      } else {
        bytes = this.snapshot();
        stats.snapshotsSent++;
      }
    }
    s.lastSent = this.frame;
    stats.framesSent++;
    stats.bytesSent += bytes.length;
    s.sink.send(bytes);
  }

  /** One delta from `since` to the current frame merged from the ring, or undefined if not covered. */
  catchUp(since: number): Uint8Array | undefined {
    if (since < 0 || since > this.frame) return undefined;
    const cached = this.catchUpCache.get(since);
    if (cached !== undefined) return cached;
    const first = this.ring.findIndex((f) => f.since === since);
    if (since !== this.frame && first < 0) return undefined;
    const latest = new Map<number, { frame: StoredFrame; i: number }>();
    if (first >= 0) {
      for (let k = first; k < this.ring.length; k++) {
        const f = this.ring[k]!;
        for (let i = 0; i < f.actors.length; i++) latest.set(f.actors[i]!, { frame: f, i });
      }
    }
    const actors = [...latest.keys()].sort((a, b) => a - b);
    const pick = <T>(col: (f: StoredFrame) => ArrayLike<T>): T[] => actors.map((a) => {
      const at = latest.get(a)!;
      return col(at.frame)[at.i]!;
    });
    const bytes = encodeFrame({
      kind: FrameKind.Delta,
      frame: this.frame,
      since,
      clock: this.ring[this.ring.length - 1]?.clock ?? this.hub.engine.now,
      actors,
      status: pick((f) => f.status),
      level: pick((f) => f.level),
      load: pick((f) => f.load),
      stress: pick((f) => f.stress),
    });
    this.catchUpCache.set(since, bytes);
    return bytes;
  }

  /** Every member actor as of now, labelled with the current frame number (cached per frame). */
  snapshot(): Uint8Array {
    if (this.snapshotCache?.frame === this.frame) return this.snapshotCache.bytes;
    const kernel = this.hub.engine.kernel;
    const actors: number[] = [];
    for (let a = 0; a < this.members.length; a++) if (this.members[a] === 1) actors.push(a);
    const n = actors.length;
    const status = new Uint8Array(n);
    const level = new Float64Array(n);
    const load = new Float64Array(n);
    const stress = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = kernel.view(actors[i]!);
      status[i] = v.status;
      level[i] = v.level;
      load[i] = v.load;
      stress[i] = v.stress;
    }
    const bytes = encodeFrame({ kind: FrameKind.Snapshot, frame: this.frame, since: 0, clock: this.hub.engine.now, actors, status, level, load, stress });
    this.snapshotCache = { frame: this.frame, bytes };
    return bytes;
  }

  dispose(): void {
    if (this.timer !== undefined) this.hub.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The fan-out hub: owns the views, subscribes once to the engine's stream, cuts frames after each
 * runner advance, collects alerts (assets entering failed/faulted) for the low-rate alert channel.
 */
export class StreamHub implements FrameSource {
  readonly epoch = randomBytes(6).toString('base64url');
  readonly views = new Map<string, ViewCoalescer>();
  readonly ringFrames: number;
  readonly expediteBurst: number;
  readonly expeditePerSecond: number;
  readonly stats: StreamStats = { framesCut: 0, frameBytes: 0, frameActors: 0, framesSent: 0, bytesSent: 0, snapshotsSent: 0, mergedSent: 0, framesSkipped: 0 };
  onFrame: ((viewKey: string, bytes: number, actors: number) => void) | undefined;
  private pendingAlerts: Alert[] = [];
  private droppedAlerts = 0;
  private readonly maxAlerts: number;
  private readonly unsubscribe: () => void;
  private viewList: ViewCoalescer[] = [];
  /** Virtual times (ms) of accepted inputs whose instant has not settled yet (see `expedite`). */
  private pendingExpedites: number[] = [];
  private incarnations = 0;
  private readonly idleMs: number;
  /** Wall time for frame cadence (never inside the simulation). */
  readonly clock: WallClock;

  constructor(readonly engine: Engine, options: StreamOptions = {}) {
    this.clock = options.clock ?? systemWallClock;
    this.ringFrames = options.ringFrames ?? 128;
    this.expediteBurst = options.expediteBurst ?? EXPEDITE_BURST;
    this.expeditePerSecond = options.expeditePerSecond ?? EXPEDITE_PER_SECOND;
    this.idleMs = options.idleViewMs ?? 60_000;
    this.maxAlerts = options.maxAlertsPerFlush ?? 200;
    const offChanges = engine.stream.subscribe((c) => this.onChange(c));
    const offInstants = engine.onInstantSettled(this.onInstant);
    this.unsubscribe = () => {
      offChanges();
      offInstants();
    };
  }

  get names(): { readonly layers: readonly string[]; readonly districts: readonly string[] } {
    return this.engine.index;
  }

  private onChange(c: StateChange): void {
    const index = this.engine.index;
    if (c.actor >= index.assetCount + index.cohortCount) return;
    for (const v of this.viewList) v.markDirty(c.actor);
    const failing = c.after.status === WireStatus.Failed || c.after.status === WireStatus.Faulted;
    if (failing && c.before.status !== c.after.status && c.actor < index.assetCount) {
      if (this.pendingAlerts.length >= this.maxAlerts) this.droppedAlerts++;
      else {
        this.pendingAlerts.push({
          time: c.time,
          actor: c.actor,
          id: index.ids[c.actor]!,
          layer: index.layerName(c.actor),
          status: WIRE_STATUS_NAMES[c.after.status] ?? 'failed',
          cause: WIRE_CAUSE_NAMES[c.cause?.code ?? 0] ?? 'none',
          causedBy: c.cause === null ? 'input' : index.nameOf(c.cause.from),
        });
      }
    }
  }

  /** Called after every engine advance (RealtimeRunner.onAdvance) and by timers. */
  flush(): void {
    this.settleExpedites();
    this.flushViews();
  }

  private flushViews(): void {
    const now = this.clock.now();
    for (const v of this.viewList) {
      if (v.hasDirty) {
        if (v.timer !== undefined) {
          this.clock.clearTimeout(v.timer);
          v.timer = undefined;
        }
        v.maybeCut(now);
      }
    }
  }

  /**
   * An input was accepted: let every view cut its next frame early (see EXPEDITED_INTERVAL_MS).
   * With `atMs` (the input's virtual time) the early frame waits until that instant has settled, so
   * it is the frame that carries the input's effect: expediting at acceptance instead let a frame of
   * unrelated changes (an advance that had not reached the input yet) spend the early cut, and the
   * input's own frame then waited the view's full interval.
   */
  expedite(atMs?: number): void {
    if (atMs === undefined || atMs <= this.engine.kernel.settledUntil) {
      for (const v of this.viewList) v.expedited = true;
      return;
    }
    // Bounded: under a flood of inputs the frames come by rate anyway (tokens run out first).
    if (this.pendingExpedites.length < MAX_PENDING_EXPEDITES && this.pendingExpedites[this.pendingExpedites.length - 1] !== atMs) this.pendingExpedites.push(atMs);
  }

  /** Expedites the views for every pending input whose instant has settled; true when one had. */
  private settleExpedites(): boolean {
    if (this.pendingExpedites.length === 0) return false;
    const settled = this.engine.kernel.settledUntil;
    const left = this.pendingExpedites.filter((t) => t > settled);
    if (left.length === this.pendingExpedites.length) return false;
    this.pendingExpedites = left;
    for (const v of this.viewList) v.expedited = true;
    return true;
  }

  /**
   * After each instant of an advance: once an input's instant has settled its frame goes out at
   * once, not when the advance ends (a runner advance catching up on a busy city runs many more
   * instants after it; measured on the 100,000-asset electrical city: p50 inject → frame 38 → 13 ms).
   */
  private readonly onInstant = (): void => {
    if (this.settleExpedites()) this.flushViews();
  };

  /** Adds alerts raised outside the state-change stream (the telemetry monitor), under the same cap. */
  raise(alerts: readonly Alert[]): void {
    for (const alert of alerts) {
      if (this.pendingAlerts.length >= this.maxAlerts) this.droppedAlerts++;
      else this.pendingAlerts.push(alert);
    }
  }

  /** Takes the alerts collected since the last call (and how many were dropped over the cap). */
  takeAlerts(): { alerts: Alert[]; dropped: number } {
    const out = { alerts: this.pendingAlerts, dropped: this.droppedAlerts };
    this.pendingAlerts = [];
    this.droppedAlerts = 0;
    return out;
  }

  /**
   * Subscribes (or moves) a subscriber to a view. Sends a catch-up delta when `since` names this
   * epoch and the ring still covers it, else a snapshot.
   */
  subscribe(s: Subscriber, request: ViewRequest, since?: ResumeFrom | undefined): SubscribeAck {
    this.unsubscribeSubscriber(s);
    const normal = normaliseView(request);
    const key = viewKey(normal);
    let view = this.views.get(key);
    if (view === undefined) {
      view = new ViewCoalescer(normal, this, `${this.epoch}.${++this.incarnations}`);
      this.views.set(key, view);
      this.viewList = [...this.views.values()];
    }
    view.subscribers.add(s);
    view.emptySince = undefined;
    s.view = view;
    let mode: SubscribeAck['mode'] = 'snapshot';
    s.lastSent = -1;
    if (since !== undefined && since.epoch === view.epoch && view.catchUp(since.frame) !== undefined) {
      s.lastSent = since.frame;
      mode = 'catch-up';
    }
    return { ok: true, epoch: view.epoch, viewKey: key, actors: view.memberCount, mode };
  }

  /** Sends the subscriber its first frame (call after the ack went out). */
  prime(s: Subscriber): void {
    const view = s.view;
    if (view === undefined) return;
    if (s.lastSent === view.frame) {
      // Up to date already: an empty delta tells the client so.
      const bytes = view.catchUp(view.frame)!;
      s.sink.send(bytes);
      return;
    }
    view.deliver(s);
  }

  /** Retries a subscriber that was backed up (call on the transport's drain). */
  drained(s: Subscriber): void {
    s.view?.deliver(s);
  }

  unsubscribeSubscriber(s: Subscriber): void {
    const view = s.view;
    if (view === undefined) return;
    view.subscribers.delete(s);
    s.view = undefined;
    if (view.subscribers.size === 0) view.emptySince = this.clock.now();
  }

  /** Drops views that have had no subscriber for `idleViewMs`. */
  sweep(now = this.clock.now()): void {
    let changed = false;
    for (const view of this.viewList) {
      if (view.emptySince !== undefined && now - view.emptySince >= this.idleMs) {
        view.dispose();
        this.views.delete(view.key);
        changed = true;
      }
    }
    if (changed) this.viewList = [...this.views.values()];
  }

  subscriberCount(): number {
    let n = 0;
    for (const v of this.viewList) n += v.subscribers.size;
    return n;
  }

  close(): void {
    this.unsubscribe();
    for (const v of this.viewList) v.dispose();
    this.views.clear();
    this.viewList = [];
  }
}
