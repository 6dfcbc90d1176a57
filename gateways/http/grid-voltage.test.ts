import { readFileSync } from 'node:fs';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matpowerToCity, parseCity, parseMatpower, voltageServiceLevel } from '../../engine/index.ts';
import { uninterruptedHash } from '../../test/stratum-child.ts';
import { sharedDataFile } from '../../test/shared-data.ts';
import { VOLTAGE_SOURCE } from '../automation/index.ts';
import type { Alert, ErrorReply, GridReply } from '../protocol.ts';
import { startServerWith } from '../server.ts';

const mpc = parseMatpower(readFileSync(sharedDataFile('grids/case118.m'), 'utf8'), 'case118');
const city = parseCity(matpowerToCity(mpc), 'case118');
const PD21 = mpc.buses[20]!.pdMw;
const TOKENS = { viewer: 'voltage-viewer-token-0123456789', injector: 'voltage-injector-token-0123456789' };

/** A Socket.io client of `url` with `token`, connected. */
async function connected(url: string, token: string): Promise<ReturnType<typeof ioClient>> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { token } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** The first alert `pick` accepts that reaches `socket`. */
function alertOn(socket: ReturnType<typeof ioClient>, pick: (alert: Alert) => boolean): Promise<Alert> {
  return new Promise<Alert>((resolve) => {
    socket.on('alerts', (alerts: Alert[]) => {
      const hit = alerts.find(pick);
      if (hit) resolve(hit);
    });
  });
}

/** Polls `read` every 50 ms until it returns something, for at most 15 s. */
async function until<T>(read: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('timed out');
}

describe('the live voltage monitor in the served twin (STRATUM_VOLTAGE_MONITOR=1, case 118)', () => {
  let server: Awaited<ReturnType<typeof startServerWith>>;
  const get = async <T>(path: string): Promise<T> => (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json() as Promise<T>;
  const inject = (body: unknown, token = server.adminToken): Promise<Response> =>
    fetch(`${server.url}/api/inject`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    server = await startServerWith(
      { city, seed: 1, port: 0, speed: 1, quiet: true, adminToken: 'admin-voltage-test-0123456789', uiDir: false },
      { env: { STRATUM_VOLTAGE_MONITOR: '1', STRATUM_VOLTAGE_MIN_INTERVAL_MS: '100', STRATUM_TOKENS: `v:viewer:${TOKENS.viewer},i:injector:${TOKENS.injector}` } },
    );
  });
  afterAll(async () => server.close());

  it('shows every bus its AC voltage; a load raised over HTTP takes bus 21 below Vmin: an alert over Socket.io, the bus degraded, the input journalled; the journal replays to the same hash without the monitor', async () => {
    const intact = await until(async () => {
      const grid = await get<GridReply>('/api/grid');
      return grid.voltage !== undefined && grid.voltage.runs > 0 && grid.buses[0]!.vmPu !== undefined ? grid : undefined;
    });
    expect(intact.voltage!.converged).toBe(true);
    expect(intact.voltage!.violations).toEqual([]);
    // Generator buses hold their set points (bus 1: Vg 0.955 in case 118).
    expect(intact.buses[0]!.vmPu).toBeCloseTo(0.955, 6);
    expect(intact.buses.every((b) => b.violation === null)).toBe(true);

    const socket = await connected(server.url, server.adminToken);
    try {
      const alert = alertOn(socket, (a) => a.causedBy === 'voltage-monitor' && a.id === 'bus-21');
      expect((await inject({ type: 'telemetry', target: 'bus-21', value: PD21 + 50 })).status).toBe(202);
      const grid = await until(async () => {
        const g = await get<GridReply>('/api/grid');
        return g.voltage!.violations.some((v) => v.bus === 'bus-21') ? g : undefined;
      });
      const bus = grid.buses.find((b) => b.id === 'bus-21')!;
      expect(bus.violation).toBe('under');
      expect(bus.vmPu).toBeLessThan(0.94);
      expect(grid.voltage!.violations.find((v) => v.bus === 'bus-21')).toEqual({ bus: 'bus-21', vmPu: bus.vmPu, kind: 'under', limitPu: 0.94 });
      expect((await alert).detail).toMatch(/^undervoltage: bus-21 at 0\.\d{4} pu, below its Vmin 0\.94 pu/);
      const asset = await until(async () => {
        const a = await get<{ status: string; level: number; details: Record<string, unknown> }>('/api/assets/bus-21');
        return a.status === 'degraded' ? a : undefined;
      });
      expect(asset.level).toBe(Math.round(voltageServiceLevel(bus.vmPu!, 0.94, 1.06) * 1e6) / 1e6);
      expect(server.engine.journal.entries.some((e) => e.source === VOLTAGE_SOURCE && e.command.type === 'voltage' && e.command.target === 'bus-21')).toBe(true);
    } finally {
      socket.close();
    }

    // Paused and settled, the journal (telemetry and the monitor's inputs) fed to a fresh engine without a monitor.
    expect((await fetch(`${server.url}/api/clock`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'pause' }) })).status).toBeLessThan(300);
    await server.runner.whenSettled();
    expect(await uninterruptedHash(city, 1, [...server.engine.journal.entries], server.engine.now)).toBe(server.engine.stream.stateHash());
  });

  it('reads a load the grid cannot carry as a voltage collapse: GET /api/grid names the mismatch and marks every bus of the island, an alert says so', async () => {
    const clock = (action: string): Promise<Response> =>
      fetch(`${server.url}/api/clock`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ action }) });
    expect((await clock('resume')).status).toBeLessThan(300);
    const socket = await connected(server.url, server.adminToken);
    try {
      const alert = alertOn(socket, (a) => a.causedBy === 'voltage-monitor' && a.detail?.startsWith('voltage collapse') === true);
      expect((await inject({ type: 'telemetry', target: 'bus-21', value: PD21 + 1500 })).status).toBe(202);
      const grid = await until(async () => {
        const g = await get<GridReply>('/api/grid');
        return g.voltage!.converged === false ? g : undefined;
      });
      expect(grid.voltage!.collapse!.message).toMatch(/did not converge|singular/);
      expect(grid.voltage!.collapse!.buses).toBe(118);
      expect(grid.buses.every((b) => b.violation === 'collapse')).toBe(true);
      expect((await alert).detail).toMatch(/^voltage collapse: the AC power flow did not converge \(largest mismatch .* pu at bus-\d+\); the 118 buses of its island are marked collapsed \(service 0\)$/);
      const asset = await until(async () => {
        const a = await get<{ status: string }>('/api/assets/bus-21');
        return a.status === 'failed' ? a : undefined;
      });
      expect(asset.status).toBe('failed');
    } finally {
      socket.close();
      await clock('pause');
    }
  });

  it('takes a voltage input by hand from the inject right only, for a bus, with vmPu finite in 0..2', async () => {
    expect((await inject({ type: 'voltage', target: 'bus-5', vmPu: 0.97 }, TOKENS.viewer)).status).toBe(403);
    const branch = await inject({ type: 'voltage', target: 'br-1', vmPu: 0.9 }, TOKENS.injector);
    expect(branch.status).toBe(400);
    expect(((await branch.json()) as { message: string }).message).toMatch(/"br-1" is not a bus with electrical fields/);
    expect((await inject({ type: 'voltage', target: 'bus-999', vmPu: 0.9 }, TOKENS.injector)).status).toBe(404);
    expect((await inject({ type: 'voltage', target: 'layer:power', vmPu: 0.9 }, TOKENS.injector)).status).toBe(404);
    const range = await inject({ type: 'voltage', target: 'bus-5', vmPu: 3 }, TOKENS.injector);
    expect(range.status).toBe(400);
    expect(JSON.stringify(await range.json())).toMatch(/vmPu/);
    const journal = server.engine.journal.length;
    expect((await inject({ type: 'voltage', target: 'bus-5', vmPu: 0.97 }, TOKENS.injector)).status).toBe(202);
    expect(server.engine.journal.entries.slice(journal).map((e) => e.command)).toContainEqual({ type: 'voltage', target: 'bus-5', vmPu: 0.97 });
    // The same checks through Socket.io.
    const [viewer, injector] = [await connected(server.url, TOKENS.viewer), await connected(server.url, TOKENS.injector)];
    try {
      expect(((await viewer.emitWithAck('command', { type: 'voltage', target: 'bus-5', vmPu: 0.97 })) as ErrorReply).code).toBe('forbidden');
      const bad = (await injector.emitWithAck('command', { type: 'voltage', target: 'bus-5', vmPu: Number.MAX_VALUE })) as ErrorReply;
      expect(bad.code).toBe('invalid');
      expect(bad.message).toContain('vmPu');
      expect(((await injector.emitWithAck('command', { type: 'voltage', target: 'gen-1', vmPu: 1 })) as ErrorReply).code).toBe('invalid');
      expect(((await injector.emitWithAck('command', { type: 'voltage', target: 'bus-5', vmPu: 1 })) as { ok: boolean }).ok).toBe(true);
    } finally {
      viewer.close();
      injector.close();
    }
  });
});
