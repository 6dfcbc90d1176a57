import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { createBehaviours } from '../../actors/index.ts';
import { generateCity, parseCity, Rng, type CityIndex } from '../../engine/index.ts';
import { loadRecording, ReplaySession } from '../../scenarios/index.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const TOKENS = { injector: 'injector-token-c', operator: 'operator-token-c', admin: 'admin-token-conc' };
const city = parseCity(generateCity({ assets: 600, seed: 8 }), 'generated');
const ASSETS = city.assets.map((a) => a.id);

describe('determinism under concurrency through the live doors (HTTP and Socket.io)', () => {
  let server: ServerInternals;
  let dir: string;
  const sockets: ClientSocket<ServerToClientEvents, ClientToServerEvents>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-doors-'));
    server = await startServerWith(
      { city, seed: 8, port: 0, quiet: true, speed: 120, adminToken: TOKENS.admin },
      {
        eventsPerSecond: 100_000,
        rateLimitPerMinute: 100_000,
        env: { STRATUM_TOKENS: `ivy:injector:${TOKENS.injector},oscar:operator:${TOKENS.operator}`, STRATUM_RECORDINGS: dir, STRATUM_DATA_DIR: join(dir, 'data') },
      },
    );
    for (const token of [TOKENS.injector, TOKENS.operator]) {
      const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token } });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    }
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.close();
  });

  const post = (path: string, token: string, body: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('bursts of simultaneous inputs from several doors, recorded after each burst, replay to the identical hash every time (seeded)', async () => {
    const rng = new Rng(1204);
    for (let round = 0; round < 6; round++) {
      const sends: Promise<unknown>[] = [];
      // Two telemetry readings for one asset at the same moment: the probe of the issue.
      const hot = ASSETS[Math.floor(rng.next() * ASSETS.length)]!;
      sends.push(post('/api/inject', TOKENS.injector, { type: 'telemetry', target: hot, value: 10 }));
      sends.push(post('/api/inject', TOKENS.injector, { type: 'telemetry', target: hot, value: 20 }));
      for (let i = 0; i < 40; i++) {
        const target = ASSETS[Math.floor(rng.next() * ASSETS.length)]!;
        const door = Math.floor(rng.next() * 4);
        const value = Math.round(rng.next() * 900) / 10;
        if (door === 0) sends.push(post('/api/inject', TOKENS.injector, { type: 'telemetry', target, value }));
        else if (door === 1) sends.push(sockets[0]!.emitWithAck('command', { type: 'telemetry', target, value }));
        else if (door === 2) sends.push(sockets[0]!.emitWithAck('command', { type: 'fail', target, severity: 1 }));
        else sends.push(post(`/api/assets/${encodeURIComponent(target)}/shed`, TOKENS.operator, { share: 0.3 }));
        // Sub-millisecond spacing: most sends go out in the same turn, some one turn later.
        if (rng.next() < 0.3) await new Promise((r) => setImmediate(r));
      }
      await Promise.allSettled(sends);
      // Let the clock run on a little so some inputs take effect before the recording is cut.
      await new Promise((r) => setTimeout(r, 20 + Math.floor(rng.next() * 40)));
      const saved = await post('/api/recordings', TOKENS.admin, { title: `burst ${round}` });
      expect(saved.status).toBe(201);
      const { id } = (await saved.json()) as { id: string };
      const replay = await ReplaySession.open(loadRecording(id, dir), (i: CityIndex) => createBehaviours(i), { city });
      const result = await replay.runToEnd();
      await replay.close();
      expect(result.identical, `round ${round} (${id})`).toBe(true);
    }
  });
});
