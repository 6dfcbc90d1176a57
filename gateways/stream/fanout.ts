import { Redis } from 'ioredis';
import { z } from 'zod';
import { StratumError } from '../../engine/index.ts';
import { normaliseView, viewKey, viewRequestSchema, type Alert, type ClockInfo, type LiveSummary } from '../protocol.ts';
import { Subscriber, type StreamHub } from './streaming.ts';

/**
 * Engine → gateway fan-out over Redis Streams (the engine and gateway roles, README "Roles").
 *
 * Why Redis Streams (not Kafka): frames are small, latency-bound and only worth having for seconds.
 * XADD with MAXLEN keeps a bounded, ordered log per view that any number of gateways read with
 * XREAD BLOCK (one round trip, ~0.1 ms on a LAN), and the retained tail doubles as the catch-up ring a
 * gateway serves `since` from after another gateway died. ioredis is already a dependency; Kafka stays
 * for inputs and Monte Carlo work, where durability and consumer groups matter.
 *
 * Keys under the prefix (`STRATUM_FANOUT_PREFIX`, default `stratum:fanout`):
 * - `<p>:meta` (hash): the engine's hub epoch, the topology ETag, layer and district names.
 * - `<p>:views` (stream): view requests from gateways (`view` = JSON ViewRequest, `snapshot` = 1).
 * - `<p>:frames:<viewKey>` (stream, MAXLEN ~ STRATUM_FANOUT_MAXLEN): the frames the engine cut for
 *   that view, the same bytes its own viewers get (`e` = the view's epoch, `b` = frame bytes).
 * - `<p>:alive:<viewKey>` (string with a TTL): set by every gateway that has viewers of the view;
 *   the engine stops publishing a view whose key expired.
 * - `<p>:live` (stream, short): the live clock, alerts and summary (`t` = type, `j` = JSON).
 */
export interface FanoutSettings {
  readonly redisUrl: string;
  readonly prefix: string;
  /** Frames kept per view stream (approximate, XADD MAXLEN ~): the catch-up window across gateways. */
  readonly maxLen: number;
}

/** One read of a Redis stream after entry `last` (XREAD BLOCK, text or binary fields). */
type StreamRead<F> = (last: string) => Promise<[unknown, [string | Buffer, F][]][] | null>;

/**
 * Follows a Redis stream from after entry `from` until `stopped()`, handing each entry's fields to
 * `onEntry` in order; an unreachable Redis is asked again after 200 ms (the entries wait in the stream).
 */
export async function followStream<F>(read: StreamRead<F>, from: string, stopped: () => boolean, onEntry: (fields: F) => void): Promise<void> {
  let last = from;
  while (!stopped()) {
    let result: Awaited<ReturnType<StreamRead<F>>>;
    try {
      result = await read(last);
    } catch {
      if (stopped()) return;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        last = id.toString();
        onEntry(fields);
      }
    }
  }
}

export const DEFAULT_FANOUT_PREFIX = 'stratum:fanout';
export const DEFAULT_FANOUT_MAXLEN = 1024;
/** A gateway refreshes its views' alive keys this often; the keys live three times as long. */
export const ALIVE_REFRESH_MS = 5_000;
export const ALIVE_TTL_MS = 3 * ALIVE_REFRESH_MS;

export function fanoutKeys(prefix: string) {
  return {
    meta: `${prefix}:meta`,
    views: `${prefix}:views`,
    live: `${prefix}:live`,
    frames: (key: string) => `${prefix}:frames:${key}`,
    alive: (key: string) => `${prefix}:alive:${key}`,
  };
}

/** Fan-out settings from the environment (`STRATUM_REDIS_URL`, `STRATUM_FANOUT_PREFIX`, `STRATUM_FANOUT_MAXLEN`); a flag may give the URL. */
export function fanoutFromEnv(env: NodeJS.ProcessEnv, redisUrl?: string): FanoutSettings | { error: string } {
  const url = redisUrl ?? env['STRATUM_REDIS_URL'];
  if (url === undefined || url === '') return { error: 'the engine and gateway roles need Redis: set STRATUM_REDIS_URL or --redis-url' };
  const maxLen = Number(env['STRATUM_FANOUT_MAXLEN'] ?? DEFAULT_FANOUT_MAXLEN);
  if (!Number.isInteger(maxLen) || maxLen < 16) return { error: `STRATUM_FANOUT_MAXLEN must be an integer ≥ 16 (got ${JSON.stringify(env['STRATUM_FANOUT_MAXLEN'])})` };
  return { redisUrl: url, prefix: env['STRATUM_FANOUT_PREFIX'] ?? DEFAULT_FANOUT_PREFIX, maxLen };
}

/** Redis could not be reached at start (one line for the operator). */
export class FanoutUnavailableError extends StratumError {}

/** Resolves once Redis answers a PING; throws FanoutUnavailableError after `timeoutMs`. */
export async function reachRedis(redis: Redis, url: string, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([redis.ping(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), timeoutMs)))]);
  } catch (error) {
    redis.disconnect();
    throw new FanoutUnavailableError(`cannot reach Redis at ${url} within ${timeoutMs / 1000} s (${(error as Error).message}); set STRATUM_REDIS_URL or --redis-url`);
  } finally {
    clearTimeout(timer);
  }
}

export function connectFanoutRedis(url: string): Redis {
  // maxRetriesPerRequest null: commands wait through a Redis restart instead of failing (frames are
  // bounded by MAXLEN on the server; a gateway that missed frames falls back to a snapshot).
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1_000), connectTimeout: 3_000 });
}

/** A gateway's request as it travels on `<p>:views` (validated: the stream is an input). */
const viewMessageSchema = z.object({ view: z.string().transform((s, ctx) => {
  try {
    return viewRequestSchema.parse(JSON.parse(s));
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a view request: ${(error as Error).message}` });
    return z.NEVER;
  }
}), snapshot: z.enum(['0', '1']).default('1') });

function fieldsOf(fields: readonly (string | Buffer)[]): Map<string, string | Buffer> {
  const out = new Map<string, string | Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) out.set(String(fields[i]), fields[i + 1]!);
  return out;
}

/**
 * The engine side: one relay subscriber per view some gateway asked for, in the engine's own
 * `StreamHub`, so a relayed view gets exactly the frames (numbers, bytes) the engine's viewers get;
 * each frame is XADDed to the view's stream. Also publishes the live clock, alerts and summary.
 */
export class FramePublisher {
  private readonly keys: ReturnType<typeof fanoutKeys>;
  private readonly relays = new Map<string, Subscriber>();
  private readonly reader: Redis;
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly aliveTimer: NodeJS.Timeout;
  /** Frames published (for /metrics and tests). */
  published = 0;

  private constructor(private readonly hub: StreamHub, private readonly redis: Redis, private readonly settings: FanoutSettings, lastViewId: string) {
    this.keys = fanoutKeys(settings.prefix);
    this.reader = redis.duplicate();
    this.loop = this.readViews(lastViewId);
    this.aliveTimer = setInterval(() => void this.dropUnwatched(), ALIVE_REFRESH_MS);
    this.aliveTimer.unref();
  }

  static async start(hub: StreamHub, settings: FanoutSettings, meta: { topologyEtag: string }): Promise<FramePublisher> {
    const redis = connectFanoutRedis(settings.redisUrl);
    await reachRedis(redis, settings.redisUrl);
    const keys = fanoutKeys(settings.prefix);
    await redis.hset(keys.meta, { epoch: hub.epoch, topologyEtag: meta.topologyEtag, layers: JSON.stringify(hub.names.layers), districts: JSON.stringify(hub.names.districts) });
    // Requests made before this engine started are answered too (a gateway that waits for its first snapshot).
    const since = String(Date.now() - 30_000);
    return new FramePublisher(hub, redis, settings, `${since}-0`);
  }

  publishLive(type: 'clock', value: ClockInfo): void;
  publishLive(type: 'alerts', value: readonly Alert[]): void;
  publishLive(type: 'summary', value: LiveSummary): void;
  publishLive(type: string, value: unknown): void {
    if (this.stopped) return;
    void this.redis.xadd(this.keys.live, 'MAXLEN', '~', 64, '*', 't', type, 'j', JSON.stringify(value)).catch(() => undefined);
  }

  private relayFor(request: z.infer<typeof viewRequestSchema>, snapshot: boolean): void {
    const key = viewKey(normaliseView(request));
    let relay = this.relays.get(key);
    if (relay === undefined) {
      const stream = this.keys.frames(key);
      const created: Subscriber = new Subscriber(`relay:${key}`, {
        // Never backed up: Redis takes every frame (ioredis queues while it reconnects; MAXLEN bounds the stream).
        backedUp: () => false,
        send: (bytes) => {
          const epoch = created.view?.epoch ?? '';
          this.published++;
          void this.redis.xadd(stream, 'MAXLEN', '~', this.settings.maxLen, '*', 'e', epoch, 'b', Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).catch(() => undefined);
        },
      });
      relay = created;
      this.relays.set(key, relay);
      this.hub.subscribe(relay, request);
      this.hub.prime(relay);
      return;
    }
    if (snapshot) {
      // A gateway joining the view needs the state: a snapshot at the current frame, into the stream.
      relay.lastSent = -1;
      this.hub.prime(relay);
    }
  }

  private async readViews(from: string): Promise<void> {
    await followStream(
      (last) => this.reader.xread('BLOCK', 1000, 'STREAMS', this.keys.views, last) as Promise<[string, [string, string[]][]][] | null>,
      from,
      () => this.stopped,
      (fields) => {
        const parsed = viewMessageSchema.safeParse(Object.fromEntries(fieldsOf(fields)));
        if (!parsed.success) return; // a malformed request changes nothing (the stream is shared)
        this.relayFor(parsed.data.view, parsed.data.snapshot === '1');
      },
    );
  }


  /** Views no gateway keeps alive any more stop being published (the hub drops them after its idle time). */
  private async dropUnwatched(): Promise<void> {
    for (const [key, relay] of this.relays) {
      const alive = await this.redis.exists(this.keys.alive(key)).catch(() => 1);
      if (alive === 0 && this.relays.get(key) === relay) {
        this.hub.unsubscribeSubscriber(relay);
        this.relays.delete(key);
      }
    }
  }

  get relayedViews(): number {
    return this.relays.size;
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.aliveTimer);
    for (const relay of this.relays.values()) this.hub.unsubscribeSubscriber(relay);
    this.relays.clear();
    this.reader.disconnect();
    await this.loop;
    await this.redis.quit().catch(() => undefined);
  }
}
