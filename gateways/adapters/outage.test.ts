import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity } from '../../engine/index.ts';
import { attachRedisStreamsAdapter, RedisCache } from './redis.ts';
import { CacheSink, EngineTap } from './sinks.ts';
import { redisServerInstalled, requireUrl, serviceFromEnv, startPrivateService, waitFor } from './testing.ts';

const redis = serviceFromEnv('redis');
// The outage test stops a Redis of its own, which needs the server binary here.
const ownRedis = redisServerInstalled() || process.env['STRATUM_REQUIRE_SERVICES'] === '1';

describe.skipIf(redis.skip)(`Redis outage and fan-out (${redis.reason})`, () => {
  it.skipIf(!ownRedis)('keeps the engine running through a Redis outage, reports it, bounds the buffer and catches up', async () => {
    // A Redis of its own: stopping the shared one would fail other test files running meanwhile.
    const own = await startPrivateService('redis');
    try {
      const city = parseCity(generateCity({ assets: 200, seed: 3 }), 'generated');
      const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
      const cache = await RedisCache.open({ url: own.url, prefix: `outage:${randomUUID()}` });
      const sink = new CacheSink(cache, 'redis', engine.index.ids.length, { minBackoffMs: 50, maxBackoffMs: 200 });
      const tap = new EngineTap(engine, undefined, sink);
      try {
        await engine.runUntil(1_000);
        expect(await sink.drain(5_000)).toBe(true);
        own.stop();
        try {
          const target = engine.index.ids[0]!;
          for (let i = 1; i <= 20; i++) {
            engine.submit({ type: 'telemetry', target, value: i }, { source: 'test', sourceSeq: i });
            await engine.runUntil(1_000 + i * 1_000);
          }
          await waitFor('the cache to be reported down', () => !sink.health().up, 10_000);
          const down = sink.health();
          expect(down.pending).toBeGreaterThan(0);
          expect(down.pending).toBeLessThanOrEqual(down.bound);
          expect(down.lastError).toBeDefined();
          expect(engine.now).toBeGreaterThanOrEqual(21_000);
        } finally {
          own.start();
        }
        await waitFor('the cache to catch up', () => sink.health().up && sink.health().pending === 0, 20_000);
        const id = engine.index.ids[0]!;
        expect(await cache.getLatest([id])).toEqual([engine.kernel.view(0)]);
      } finally {
        tap.close();
        await sink.close();
        await cache.close();
        await engine.stop();
      }
    } finally {
      own.remove();
    }
  }, 60_000);

  it('lets two Socket.io servers sharing Redis serve one engine’s viewers (emit on one reaches a client of the other)', async () => {
    const stream = `test:${randomUUID()}`;
    const servers = await Promise.all([0, 1].map(async () => {
      const http = createServer();
      const io = new Server(http);
      const conn = await attachRedisStreamsAdapter(io, requireUrl(redis), { streamName: stream });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      return { http, io, conn, port: (http.address() as AddressInfo).port };
    }));
    const client = connect(`http://127.0.0.1:${servers[1]!.port}`, { transports: ['websocket'] });
    try {
      await new Promise<void>((r) => client.once('connect', () => r()));
      const got: unknown[] = [];
      client.on('frame', (v: unknown) => void got.push(v));
      // The adapter reads the stream from where it started; give the client's server a moment to be reading.
      await waitFor('a frame relayed through Redis', async () => {
        servers[0]!.io.emit('frame', { from: 'server-0' });
        await new Promise((r) => setTimeout(r, 100));
        return got.length > 0;
      }, 10_000, 0);
      expect(got[0]).toEqual({ from: 'server-0' });
    } finally {
      client.close();
      for (const s of servers) {
        s.io.close();
        s.conn.disconnect();
      }
    }
  }, 30_000);
});
