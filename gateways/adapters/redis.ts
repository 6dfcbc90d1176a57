import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import type { ActorView, CachePort } from '../../engine/index.ts';

/**
 * Latest state of every actor in one Redis hash (`<prefix>:latest`, field = actor id, value =
 * `[status, level, load, stress]` as JSON, which round-trips doubles exactly), so a new gateway
 * process serves snapshots without asking the engine.
 *
 * Commands fail fast while Redis is down (no offline queue, one retry): the write-behind
 * `CacheSink` holds the latest values and writes them when Redis is back; ioredis reconnects on its own.
 */
export interface RedisCacheOptions {
  readonly url: string;
  /** Key prefix (default `stratum`). */
  readonly prefix?: string;
  readonly connectTimeoutMs?: number;
}

export function connectRedis(url: string, connectTimeoutMs = 3_000): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
  // Connection errors surface through the commands that fail; an unhandled 'error' event would crash.
  redis.on('error', () => {});
  return redis;
}

/**
 * @example
 * const cache = await RedisCache.open({ url: process.env.STRATUM_REDIS_URL! });
 * await cache.putLatest([['pw-tx-0', view]]);
 * const all = await cache.snapshot(); // Map id → view, for a process that just started
 */
export class RedisCache implements CachePort {
  private readonly key: string;

  private constructor(readonly redis: Redis, prefix: string) {
    this.key = `${prefix}:latest`;
  }

  static async open(options: RedisCacheOptions): Promise<RedisCache> {
    const redis = connectRedis(options.url, options.connectTimeoutMs);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`cache: cannot connect to Redis at ${options.url}: ${(error as Error).message}`, { cause: error });
    }
    return new RedisCache(redis, options.prefix ?? 'stratum');
  }

  async putLatest(entries: ReadonlyArray<readonly [string, ActorView]>): Promise<void> {
    for (let i = 0; i < entries.length; i += 10_000) {
      const args: string[] = [];
      for (const [id, v] of entries.slice(i, i + 10_000)) args.push(id, `[${v.status},${v.level},${v.load},${v.stress}]`);
      if (args.length > 0) await this.redis.hset(this.key, ...args);
    }
  }

  async getLatest(ids: readonly string[]): Promise<Array<ActorView | undefined>> {
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(this.key, ...ids);
    return values.map((v) => (v === null ? undefined : decodeView(v)));
  }

  /** Every actor's latest view. */
  async snapshot(): Promise<Map<string, ActorView>> {
    const all = await this.redis.hgetall(this.key);
    return new Map(Object.entries(all).map(([id, v]) => [id, decodeView(v)]));
  }

  /** Removes every cached view (a new run). */
  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

function decodeView(text: string): ActorView {
  const [status, level, load, stress] = JSON.parse(text) as [number, number, number, number];
  return { status: status as ActorView['status'], level, load, stress };
}

/**
 * Lets several gateway processes serve one engine's viewers: an emit or room broadcast on one
 * Socket.io server reaches the clients of every server sharing the Redis stream.
 * Returns the Redis connection the adapter reads with (close it after the Socket.io server).
 *
 * @example
 * const redis = await attachRedisStreamsAdapter(io, process.env.STRATUM_REDIS_URL!);
 */
export async function attachRedisStreamsAdapter(io: Server, url: string, options: { streamName?: string } = {}): Promise<Redis> {
  // The adapter blocks on XREAD: it needs its own connection with an offline queue.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1_000) });
  redis.on('error', () => {});
  await redis.connect();
  io.adapter(createAdapter(redis, { streamName: options.streamName ?? 'stratum:socket.io' }) as never);
  return redis;
}
