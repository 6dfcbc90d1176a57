import { readFileSync } from 'node:fs';
import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { epanetCityDocument, parseCity, type CityModel } from '../../engine/index.ts';
import { engineFor } from '../../test/fixtures.ts';
import type { Alert } from '../protocol.ts';
import { startServerWith } from '../server.ts';
import { attachTankAlerts, tankHorizonSeconds } from './water-alerts.ts';

const NET1 = 'engine/water/networks/Net1.inp';

/** Net1 (its pump fed by one power plant) as a city. */
function net1City(): CityModel {
  const document = epanetCityDocument(readFileSync(NET1, 'utf8'), NET1);
  return parseCity({ ...document, assets: [...document.assets, { id: 'plant', layer: 'power', kind: 'generator' }], dependencies: [{ from: 'plant', to: 'pump:9', kind: 'power' }] }, NET1);
}

function advances(): { onAdvance(l: (ms: number) => void): () => void; fire(ms: number): void } {
  const listeners = new Set<(ms: number) => void>();
  return { onAdvance: (l) => (listeners.add(l), () => listeners.delete(l)), fire: (ms) => listeners.forEach((l) => l(ms)) };
}

describe('tank at-risk alerts', () => {
  it('alerts once when a tank is forecast to run dry within the horizon, not while it fills, and not when the horizon is shorter than the time left', async () => {
    for (const horizonS of [6 * 3600, 1800]) {
      const engine = await engineFor(net1City());
      const clock = advances();
      const raised: Alert[] = [];
      const off = attachTankAlerts(engine, clock, (alerts) => raised.push(...alerts), horizonS);
      for (let t = 0; t <= 3 * 3600; t += 900) {
        if (t === 3600) engine.submit({ type: 'fail', target: 'plant' }, { at: 3600 });
        await engine.runUntil(t * 1000 + 1000);
        clock.fire(t * 1000 + 1000);
        if (t < 3600) expect(raised).toHaveLength(0); // the pump runs: the tank fills
      }
      if (horizonS === 1800) expect(raised).toHaveLength(0); // more than half an hour left (Net1's tank lasts hours)
      else {
        expect(raised).toHaveLength(1);
        expect(raised[0]).toMatchObject({ id: '2', layer: 'water', cause: 'hydraulics', causedBy: 'water-solver' });
        expect(raised[0]!.secondsLeft).toBeGreaterThan(3600);
        expect(raised[0]!.secondsLeft).toBeLessThan(horizonS);
        expect(raised[0]!.detail).toMatch(/^tank 2 at risk: forecast to run dry in \d+\.\d h/);
      }
      off();
      await engine.stop();
    }
  });

  it('reads STRATUM_TANK_HORIZON_MIN (minutes) over the city setting, and names a bad value', async () => {
    const engine = await engineFor(net1City());
    expect(tankHorizonSeconds({}, engine)).toBe(6 * 3600);
    expect(tankHorizonSeconds({ STRATUM_TANK_HORIZON_MIN: '90' }, engine)).toBe(5400);
    expect(() => tankHorizonSeconds({ STRATUM_TANK_HORIZON_MIN: 'soon' }, engine)).toThrow(/STRATUM_TANK_HORIZON_MIN must be a positive number of minutes \(got "soon"\)/);
    await engine.stop();
  });

  it('in the served twin: a pump losing its power reaches Socket.io clients as a tank at-risk alert with the time left', async () => {
    const server = await startServerWith(
      { city: net1City(), seed: 7, port: 0, quiet: true, adminToken: 'admin-token-water-alerts-test-0123456', speed: 900 },
      { env: { STRATUM_TANK_HORIZON_MIN: '480' }, rateLimitPerMinute: 1e6 },
    );
    const socket = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: server.adminToken } });
    try {
      const alert = new Promise<Alert>((resolve) => {
        socket.on('alerts', (alerts: Alert[]) => {
          const hit = alerts.find((a) => a.causedBy === 'water-solver');
          if (hit) resolve(hit);
        });
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const response = await fetch(`${server.url}/api/inject`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'fail', target: 'plant' }),
      });
      expect(response.status).toBe(202);
      const got = await Promise.race([alert, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no tank alert within 10 s')), 10_000))]);
      expect(got).toMatchObject({ id: '2', layer: 'water', cause: 'hydraulics', causedBy: 'water-solver' });
      expect(got.secondsLeft).toBeGreaterThan(0);
      expect(got.secondsLeft).toBeLessThanOrEqual(480 * 60);
      expect(got.detail).toContain('forecast to run dry in');
    } finally {
      socket.close();
      await server.close();
    }
  });
});
