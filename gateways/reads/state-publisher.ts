import type { Redis } from 'ioredis';
import type { Engine } from '../../engine/index.ts';
import type { SummaryResponse } from '../http/index.ts';
import type { ClockInfo } from '../protocol.ts';
import { connectFanoutRedis, followStream, reachRedis, type FanoutSettings } from '../stream/index.ts';
import { encodeColumns, type StateContext } from './state-codec.ts';
import { readsKeys } from './keys.ts';

/** How often the engine publishes the live state while the clock runs or actors changed (the default view rate). */
export const STATE_PUBLISH_MS = 100;
/** While paused and quiet: one entry this often (the clock and summary a gateway serves stay this fresh). */
export const STATE_HEARTBEAT_MS = 1_000;
/**
 * Snapshots (29 B per actor: 2.9 MB at 100,000) at most this often, however many gateways ask: the
 * stream then holds a few of them among its small deltas, and a flood of requests costs one a second.
 */
export const STATE_SNAPSHOT_MIN_MS = 1_000;
/** Entries kept in `<p>:state` (a gateway that falls further behind asks for a snapshot). */
export const STATE_MAXLEN = 256;

export interface StateSource {
  readonly engine: Engine;
  /** The engine's hub epoch (one per process start; frames carry the same). */
  readonly epoch: string;
  clock(): ClockInfo;
  summary(): SummaryResponse;
  /** The body and ETag of the engine's `GET /api/topology` (the static city description). */
  readonly topology: { readonly etag: string; readonly body: string };
}

/**
 * The engine role's half of gateway reads: publishes the live state of every actor with the
 * kernel's exact numbers, the clock and the run summary on `<p>:state` (state-codec.ts), and the
 * static city description (the topology document) once on `<p>:topology`, so a gateway answers
 * `GET /api/assets`, `/api/summary`, `/api/clock` and `/api/topology` without asking this process.
 *
 * Every STATE_PUBLISH_MS while the clock runs (or something changed) one entry with the actors that
 * changed since the previous entry; a snapshot of all actors at start and when a gateway asks on
 * `<p>:state-requests` (it just started, or it saw a gap). Entries are numbered, so a gateway
 * applies a delta only on the entry before it.
 */
export class StatePublisher {
  private readonly keys: ReturnType<typeof readsKeys>;
  private readonly dirtyMask: Uint8Array;
  private dirty: number[] = [];
  private n = 0;
  private lastPublished = -Infinity;
  private lastSnapshot = -Infinity;
  private snapshotWanted = true;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private readonly offChanges: () => void;
  private readonly reader: Redis;
  private readonly loop: Promise<void>;
  /** Entries published (tests, metrics). */
  published = 0;

  private constructor(private readonly source: StateSource, private readonly redis: Redis, settings: FanoutSettings, lastRequestId: string) {
    this.keys = readsKeys(settings.prefix);
    const index = source.engine.index;
    this.dirtyMask = new Uint8Array(index.assetCount + index.cohortCount);
    this.offChanges = source.engine.stream.subscribe((c) => {
      // Actors past the assets and cohorts are the engine's own (no read shows them), as in the StreamHub.
      if (c.actor >= this.dirtyMask.length || this.dirtyMask[c.actor] === 1) return;
      this.dirtyMask[c.actor] = 1;
      this.dirty.push(c.actor);
    });
    this.reader = redis.duplicate();
    this.loop = followStream(
      (last) => this.reader.xread('BLOCK', 1000, 'STREAMS', this.keys.stateRequests, last) as Promise<[string, [string, string[]][]][] | null>,
      lastRequestId,
      () => this.stopped,
      // Any entry is a request for a snapshot (its content is not read: nothing in it can change more than that).
      () => {
        this.snapshotWanted = true;
      },
    );
    this.timer = setInterval(() => this.tick(), STATE_PUBLISH_MS);
    this.timer.unref();
    this.tick();
  }

  static async start(settings: FanoutSettings, source: StateSource): Promise<StatePublisher> {
    const redis = connectFanoutRedis(settings.redisUrl);
    await reachRedis(redis, settings.redisUrl);
    const keys = readsKeys(settings.prefix);
    await redis.hset(keys.topology, { etag: source.topology.etag, body: source.topology.body });
    return new StatePublisher(source, redis, settings, `${Date.now() - 30_000}-0`);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = performance.now();
    const clock = this.source.clock();
    const snapshot = this.snapshotWanted && now - this.lastSnapshot >= STATE_SNAPSHOT_MIN_MS;
    const quiet = clock.paused && this.dirty.length === 0 && !snapshot;
    if (quiet && now - this.lastPublished < STATE_HEARTBEAT_MS) return;
    this.lastPublished = now;
    const kernel = this.source.engine.kernel;
    if (snapshot) {
      this.snapshotWanted = false;
      this.lastSnapshot = now;
    }
    const actors = snapshot ? Uint32Array.from({ length: this.dirtyMask.length }, (_, a) => a) : Uint32Array.from(this.dirty).sort();
    for (const a of this.dirty) this.dirtyMask[a] = 0;
    this.dirty = [];
    const columns = encodeColumns(actors, (a) => kernel.view(a));
    const context: StateContext = { clock, summary: this.source.summary(), topologyEtag: this.source.topology.etag };
    this.published++;
    void this.redis
      .xadd(this.keys.state, 'MAXLEN', '~', STATE_MAXLEN, '*', 'e', this.source.epoch, 'n', String(this.n++), 'k', snapshot ? 's' : 'd', 'j', JSON.stringify(context), 'b', columns)
      .catch(() => undefined); // a lost entry is a gap the gateways see (they ask for a snapshot)
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.offChanges();
    this.reader.disconnect();
    await this.loop;
    await this.redis.quit().catch(() => undefined);
  }
}
