import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCity, ManualWallClock, parseCity, TelemetryMonitor, type CityModel } from '../../engine/index.ts';
import { ActionGuard, Ledger, verifyLedgerFile } from '../../scenarios/index.ts';
import { autoShed } from './auto-shed.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const ADMIN = 'admin-token-auto-shed-test-0123456789';

function feeders(city: CityModel, n: number): Array<{ id: string; capacity: number }> {
  return city.assets
    .filter((a) => a.layer === 'power' && a.kind === 'distribution-substation' && Number.isFinite(a.capacity) && a.capacity > 1)
    .slice(0, n)
    .map((a) => ({ id: a.id, capacity: a.capacity }));
}

async function post(server: ServerInternals, target: string, value: number): Promise<void> {
  const response = await fetch(`${server.url}/api/inject`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'telemetry', target, value }),
  });
  expect(response.status).toBe(202);
}

/** Advances the live run's wall clock in 50 ms steps (1 virtual s each at speed 20) until `test` holds, at most 100 steps. */
const until = async (wall: ManualWallClock, server: ServerInternals, test: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 100 && !test(); i++) await wall.advance(50, () => server.runner.whenSettled());
  if (!test()) throw new Error(`timed out waiting for ${what}`);
};

describe('automatic load shedding behind the trust gate (STRATUM_AUTO_SHED=1)', () => {
  it('a trusted overload sheds through the door; an overload arriving as a jump is held for an operator; both decisions are in the ledger', async () => {
    const city = parseCity(generateCity({ assets: 600, seed: 5 }), 'generated');
    const [steady, jumpy] = feeders(city, 2);
    const ledgerFile = join(mkdtempSync(join(tmpdir(), 'stratum-autoshed-')), 'ledger.ndjson');
    // The live run's wall clock moves only when the test says (readings 1.2 virtual s apart, however busy the machine).
    const wall = new ManualWallClock();
    const server = await startServerWith(
      { city, seed: 7, port: 0, quiet: true, adminToken: ADMIN, speed: 20 },
      { env: { STRATUM_TELEMETRY_MONITOR: '1', STRATUM_AUTO_SHED: '1', STRATUM_TELEMETRY_INTERVAL_S: '5', STRATUM_LEDGER_FILE: ledgerFile }, rateLimitPerMinute: 1e6, runnerClock: wall },
    );
    try {
      // steady: a smooth climb from 76 % to exactly 100 % of capacity (steps of 1 %, well inside the
      // jump limit of 2 %·6·√2; at the rating, not above it, so the twin does not trip it first).
      // jumpy: noisy at 50 %, then one reading at 100 % (a jump).
      for (let i = 0; i <= 24; i++) {
        await post(server, steady!.id, i === 24 ? steady!.capacity : steady!.capacity * (0.76 + 0.01 * i));
        await post(server, jumpy!.id, jumpy!.capacity * (0.5 + (i % 2 === 0 ? 0.004 : -0.004)));
        await wall.advance(60, () => server.runner.whenSettled());
      }
      // The jump lands at the rating, not above it: above it the twin trips the asset and hands its
      // load to its neighbours, which (in the redundant generated grid) overloads the steady one first.
      await post(server, jumpy!.id, jumpy!.capacity);
      await until(wall, server, () => verifyLedgerFile(ledgerFile).entries.filter((e) => e.kind === 'gate').length >= 2, 'two gate decisions');
      const gates = verifyLedgerFile(ledgerFile).entries.filter((e) => e.kind === 'gate').map((e) => e.payload as { target: string; verdict: string; outcome: string });
      expect(gates).toEqual(expect.arrayContaining([
        expect.objectContaining({ target: steady!.id, verdict: 'PASS', outcome: 'act' }),
        expect.objectContaining({ target: jumpy!.id, verdict: 'HOLD', outcome: 'ask-operator' }),
      ]));
      const shed = server.engine.journal.entries.filter((e) => e.command.type === 'shed');
      expect(shed.map((e) => e.command.target)).toEqual([steady!.id]);
      const pending = (await (await fetch(`${server.url}/api/actions/guarded`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { pending: Array<{ command: { type: string; target: string }; requestedBy: string; reason: string }> };
      expect(pending.pending).toHaveLength(1);
      expect(pending.pending[0]).toMatchObject({ command: { type: 'shed', target: jumpy!.id, share: 0.2 }, requestedBy: 'trust-gate' });
      expect(pending.pending[0]!.reason).toMatch(/jump/);
      expect(verifyLedgerFile(ledgerFile).ok).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('BLOCK refuses: nothing is shed or queued, the decision is ledgered and an alert names the reasons', async () => {
    const city = parseCity(generateCity({ assets: 300, seed: 9 }), 'generated');
    const server = await startServerWith({ city, seed: 7, port: 0, quiet: true, adminToken: ADMIN }, { paused: true });
    try {
      const [asset] = feeders(city, 1);
      const monitor = new TelemetryMonitor({ expectedIntervalS: 1, ratingOf: () => asset!.capacity });
      for (let t = 0; t < 5; t++) monitor.observe(asset!.id, t, asset!.capacity * 1.2); // stuck above the rating
      const ledger = new Ledger();
      const guard = new ActionGuard(ledger);
      const refused: string[] = [];
      const handler = autoShed({ control: server.control, guard, ledger, refused: (_a, _t, detail) => void refused.push(detail) });
      const alerts = monitor.assess(5);
      const decisions = handler(alerts, monitor, 5);
      expect(decisions).toMatchObject([{ action: 'shed', target: asset!.id, verdict: 'BLOCK', outcome: 'refuse' }]);
      expect(refused[0]).toMatch(new RegExp(`automatic shed of ${asset!.id} refused: .*stuck`));
      expect(guard.pendingList()).toEqual([]);
      expect(server.engine.journal.entries.filter((e) => e.command.type === 'shed')).toEqual([]);
      expect(ledger.entries.map((e) => e.kind)).toEqual(['gate']);
    } finally {
      await server.close();
    }
  });
});
