import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { loadLibraryScenario, submitScenario } from '../../scenarios/index.ts';
import { engineFor, smallCity } from '../../test/fixtures.ts';
import type { Alert } from '../protocol.ts';
import { startServerWith } from '../server.ts';
import { attachTelemetryMonitor, telemetryMonitorFromEnv } from './telemetry-monitor.ts';

/** Fires the listener like RealtimeRunner.onAdvance does, driven by the test. */
function advances(): { onAdvance(l: (ms: number) => void): () => void; fire(ms: number): void } {
  const listeners = new Set<(ms: number) => void>();
  return { onAdvance: (l) => (listeners.add(l), () => listeners.delete(l)), fire: (ms) => listeners.forEach((l) => l(ms)) };
}

describe('telemetry monitor on a live engine', () => {
  it('reads telemetry inputs from the journal and raises an at-risk alert for a load ramping to its capacity, as an ordinary alert', async () => {
    const city = smallCity({
      assets: [
        { id: 'g', layer: 'power', kind: 'generator', capacity: 1000 },
        { id: 'f1', layer: 'power', baseLoad: 5, capacity: 12 },
      ],
      links: [{ from: 'g', to: 'f1' }],
    });
    const engine = await engineFor(city);
    const clock = advances();
    const raised: Alert[] = [];
    const attached = attachTelemetryMonitor(engine, clock, (alerts) => raised.push(...alerts), { expectedIntervalS: 60, horizonS: 3600 });
    // 6 → 11.5 over 4 h 35 min (1.2 per hour): the capacity of 12 is reached after about 5 h.
    for (let t = 0; t <= 4 * 3600 + 2100; t += 60) {
      engine.submit({ type: 'telemetry', target: 'f1', value: 6 + (1.2 * t) / 3600 }, { at: t });
      await engine.runUntil(t * 1000);
      clock.fire(t * 1000);
    }
    expect(attached.monitor.size).toBe(1);
    const atRisk = raised.filter((a) => a.detail?.includes('at risk'));
    expect(atRisk).toHaveLength(1);
    expect(atRisk[0]).toMatchObject({ id: 'f1', layer: 'power', status: 'ok', cause: 'telemetry', causedBy: 'telemetry-monitor' });
    expect(atRisk[0]!.time).toBeLessThan(4 * 3600 * 1000); // at least an hour before it happens
    attached.detach();
    await engine.stop();
  });

  it('catches the telemetry-spoofing library scenario: both frozen substations are flagged untrusted, nothing else, and the gate blocks on them', async () => {
    for (const seed of [3, 11]) {
      const city = parseCity(generateCity({ assets: 2000, seed }), 'generated');
      const engine = await engineFor(city);
      const clock = advances();
      const raised: Alert[] = [];
      const attached = attachTelemetryMonitor(engine, clock, (alerts) => raised.push(...alerts));
      const events = submitScenario(engine, loadLibraryScenario('telemetry-spoofing'));
      const spoofed = [...new Set(events.map((e) => (e.command as { target: string }).target))].sort();
      expect(spoofed).toHaveLength(2);
      for (let t = 0; t <= 1800; t += 10) {
        await engine.runUntil(t * 1000);
        clock.fire(t * 1000);
      }
      const untrusted = raised.filter((a) => a.detail?.includes('untrusted'));
      expect(untrusted.map((a) => a.id).sort()).toEqual(spoofed);
      for (const a of untrusted) expect(a.detail).toContain('stuck');
      // Flagged at the fifth frozen reading (840 s), not at the first.
      for (const a of untrusted) expect(a.time).toBeGreaterThanOrEqual(840_000);
      expect(attached.monitor.gate('shed', spoofed[0]!, 900)).toMatchObject({ verdict: 'BLOCK', outcome: 'refuse' });
      attached.detach();
      await engine.stop();
    }
  });

  it('is off unless STRATUM_TELEMETRY_MONITOR=1, and names a bad setting', async () => {
    const engine = await engineFor(smallCity({ assets: [{ id: 'a', layer: 'power', capacity: 1 }] }));
    const clock = advances();
    telemetryMonitorFromEnv({}, engine, clock, () => undefined);
    expect(() => telemetryMonitorFromEnv({ STRATUM_TELEMETRY_MONITOR: '1', STRATUM_TELEMETRY_HORIZON_S: 'soon' }, engine, clock, () => undefined)).toThrow(/STRATUM_TELEMETRY_HORIZON_S/);
    await engine.stop();
  });
});

describe('telemetry monitor in the served twin (STRATUM_TELEMETRY_MONITOR=1)', () => {
  it('a stuck feed posted over HTTP reaches Socket.io clients as an untrusted-telemetry alert', async () => {
    const city = parseCity(generateCity({ assets: 300, seed: 9 }), 'generated');
    const asset = city.assets.find((a) => a.layer === 'power' && a.kind !== 'generator' && Number.isFinite(a.capacity) && a.capacity > 1)!;
    const server = await startServerWith(
      { city, seed: 7, port: 0, quiet: true, adminToken: 'admin-token-telemetry-test-0123456789', speed: 50 },
      { env: { STRATUM_TELEMETRY_MONITOR: '1', STRATUM_TELEMETRY_INTERVAL_S: '1' }, rateLimitPerMinute: 1e6 },
    );
    const socket = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: server.adminToken } });
    try {
      const alert = new Promise<Alert>((resolve) => {
        socket.on('alerts', (alerts: Alert[]) => {
          const hit = alerts.find((a) => a.causedBy === 'telemetry-monitor');
          if (hit) resolve(hit);
        });
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${server.url}/api/inject`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'telemetry', target: asset.id, value: asset.capacity / 2 }),
        });
        expect(response.status).toBe(202);
      }
      const got = await Promise.race([alert, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no telemetry alert within 5 s')), 5000))]);
      expect(got).toMatchObject({ id: asset.id, cause: 'telemetry', causedBy: 'telemetry-monitor' });
      expect(got.detail).toMatch(/untrusted .*stuck/);
    } finally {
      socket.close();
      await server.close();
    }
  });
});
