import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, Status, matpowerToCity, parseCity, parseMatpower, voltageServiceLevel, type CityModel, type JournalEntry } from '../../engine/index.ts';
import { uninterruptedHash } from '../../test/stratum-child.ts';
import { sharedDataFile } from '../../test/shared-data.ts';
import { admitBatch } from '../door/index.ts';
import type { Alert } from '../protocol.ts';
import { VOLTAGE_SOURCE, VoltageMonitor, voltageMonitorFromEnv } from './voltage-monitor.ts';

const mpc118 = parseMatpower(readFileSync(sharedDataFile('grids/case118.m'), 'utf8'), 'case118');
/** Case 118 with one cohort relying on bus 21 (Pd 14 MW; 50 MW more there brings it to ~0.90 pu, below its Vmin 0.94). */
const city118 = (): CityModel => {
  const doc = matpowerToCity(mpc118) as unknown as Record<string, unknown>;
  doc['cohorts'] = [{ id: 'co-21', district: 'area-1', population: 20_000, elderlyShare: 0.2, mobilityLimitedShare: 0.05, riskAversion: 0.5, compliance: 0.7, reliesOn: ['bus-21'] }];
  return parseCity(doc, 'case118');
};
const PD21 = mpc118.buses[20]!.pdMw;

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** A live engine (direct driver), the monitor over it (no debounce), and the door's batch step as its way in. */
async function twin(city: CityModel) {
  const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
  const alerts: Alert[] = [];
  const door = { submitBatch: (commands: Parameters<typeof admitBatch>[2], options: { source: string; sourceSeqs: readonly number[] }) => admitBatch(engine, undefined, commands, options) };
  const monitor = VoltageMonitor.attach(engine, door, (a) => alerts.push(...a), { debounceMs: 0, minIntervalMs: 0 })!;
  stop = async () => {
    monitor.stop();
    await engine.stop();
  };
  return { engine, monitor, alerts };
}

/** Runs the engine a virtual second on, then the monitor on the state reached (twice: a change during a run gets its own). */
async function settle(engine: Engine, monitor: VoltageMonitor): Promise<void> {
  await engine.runUntil(engine.now + 1000);
  await monitor.runNow();
  await engine.runUntil(engine.now + 1000);
  await monitor.runNow();
}

const voltageEntries = (engine: Engine): JournalEntry[] => engine.journal.entries.filter((e) => e.source === VOLTAGE_SOURCE);


describe('the live voltage monitor', () => {
  it('finds the intact case inside its limits and sends nothing; more load at bus 21 takes it below Vmin: an alert, a journalled voltage input, the bus and its cohort degraded; back to Pd: back within limits', async () => {
    const { engine, monitor, alerts } = await twin(city118());
    await settle(engine, monitor);
    let summary = monitor.summary();
    expect(summary.converged).toBe(true);
    expect(summary.runs).toBeGreaterThanOrEqual(1);
    expect(summary.violations).toEqual([]);
    expect(voltageEntries(engine)).toEqual([]);
    const bus21 = engine.index.indexOf('bus-21')!;
    const cohort = engine.index.indexOf('co-21')!;
    expect(engine.kernel.statusOf(bus21)).toBe(Status.Ok);

    engine.submit({ type: 'telemetry', target: 'bus-21', value: PD21 + 50 }, { source: 'field' });
    await settle(engine, monitor);
    summary = monitor.summary();
    const violation = summary.violations.find((v) => v.bus === 'bus-21')!;
    expect(violation.kind).toBe('under');
    expect(violation.limitPu).toBe(0.94);
    expect(violation.vmPu).toBeGreaterThan(0.85);
    expect(violation.vmPu).toBeLessThan(0.94);
    const sent = voltageEntries(engine).filter((e) => e.command.target === 'bus-21');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.command).toEqual({ type: 'voltage', target: 'bus-21', vmPu: violation.vmPu });
    const alert = alerts.find((a) => a.id === 'bus-21')!;
    expect(alert.causedBy).toBe('voltage-monitor');
    expect(alert.status).toBe('degraded');
    expect(alert.detail).toMatch(/^undervoltage: bus-21 at 0\.\d{4} pu, below its Vmin 0\.94 pu \(service \d+ %\)$/);
    // The rule: the bus's level, and so what its cohort is served.
    const level = Math.round(voltageServiceLevel(violation.vmPu, 0.94, 1.06) * 1e6) / 1e6;
    expect(level).toBeGreaterThan(0);
    expect(level).toBeLessThan(1);
    expect(engine.kernel.statusOf(bus21)).toBe(Status.Degraded);
    expect(engine.kernel.view(bus21).level).toBe(level);
    expect(engine.describe(cohort)['served']).toEqual([level]);
    expect(engine.describe(bus21)).toMatchObject({ vmPu: violation.vmPu, voltageService: voltageServiceLevel(violation.vmPu, 0.94, 1.06) });
    // GET /api/grid's view of it.
    expect(monitor.busVoltage(engine.index.city.assets.findIndex((a) => a.id === 'bus-21'))).toBeDefined();

    // Nothing changed since: no new input (only changes are sent).
    const before = voltageEntries(engine).length;
    await settle(engine, monitor);
    expect(voltageEntries(engine)).toHaveLength(before);

    engine.submit({ type: 'telemetry', target: 'bus-21', value: PD21 }, { source: 'field' });
    await settle(engine, monitor);
    // Its neighbours sagged too (bus 20 and 22): every one of them is back.
    expect(monitor.summary().violations).toEqual([]);
    const last = voltageEntries(engine).filter((e) => e.command.target === 'bus-21').at(-1)!;
    expect((last.command as { vmPu: number }).vmPu).toBeGreaterThanOrEqual(0.94);
    expect(alerts.find((a) => a.id === 'bus-21' && a.detail!.startsWith('voltage back'))!.detail).toMatch(/^voltage back within limits: bus-21 at 0\.9\d+ pu \(0\.94–1\.06 pu\)$/);
    expect(engine.kernel.statusOf(bus21)).toBe(Status.Ok);
    expect(engine.describe(cohort)['served']).toEqual([1]);

    // The journal replayed on a fresh engine without the monitor gives the same state stream.
    expect(await uninterruptedHash(city118(), 3, engine.journal.entries, engine.now)).toBe(engine.stream.stateHash());
  });

  it('reads a run that does not converge as a voltage collapse: an alert naming the mismatch, every bus of the island marked and sent 0 pu (no service)', async () => {
    const { engine, monitor, alerts } = await twin(city118());
    await settle(engine, monitor);
    engine.submit({ type: 'telemetry', target: 'bus-21', value: PD21 + COLLAPSE_EXTRA_MW }, { source: 'field' });
    await settle(engine, monitor);
    const summary = monitor.summary();
    expect(summary.converged).toBe(false);
    expect(summary.collapses).toBeGreaterThanOrEqual(1);
    expect(summary.collapse!.message).toMatch(/did not converge|singular/);
    expect(summary.collapse!.buses).toBe(118);
    expect(summary.violations).toHaveLength(118);
    expect(summary.violations.every((v) => v.kind === 'collapse' && v.vmPu === 0)).toBe(true);
    const collapse = alerts.filter((a) => a.detail?.startsWith('voltage collapse'));
    expect(collapse).toHaveLength(1);
    expect(collapse[0]!.detail).toMatch(/largest mismatch \d\.\d{3}e[+-]\d+ pu at bus-\d+\); the 118 buses of its island are marked collapsed \(service 0\)/);
    const sent = voltageEntries(engine);
    expect(sent).toHaveLength(118);
    expect(sent.every((e) => (e.command as { vmPu: number }).vmPu === 0)).toBe(true);
    expect(engine.kernel.statusOf(engine.index.indexOf('bus-21')!)).toBe(Status.Failed);
    expect(engine.describe(engine.index.indexOf('co-21')!)['served']).toEqual([0]);
  });

  it('hears a voltage sent by hand from the journal: it holds until the next run after a change of the grid, which sends the computed voltage back', async () => {
    const { engine, monitor, alerts } = await twin(city118());
    await settle(engine, monitor);
    engine.submit({ type: 'voltage', target: 'bus-50', vmPu: 0.9 }, { source: 'trainer' });
    await settle(engine, monitor);
    const bus50 = engine.index.indexOf('bus-50')!;
    // The bus's status changed, the DC state did not: no run, the hand value holds.
    expect(engine.kernel.statusOf(bus50)).toBe(Status.Degraded);
    expect(voltageEntries(engine)).toEqual([]);
    engine.submit({ type: 'telemetry', target: 'bus-21', value: PD21 + 1 }, { source: 'field' });
    await settle(engine, monitor);
    const back = voltageEntries(engine).filter((e) => e.command.target === 'bus-50');
    expect(back).toHaveLength(1);
    expect((back[0]!.command as { vmPu: number }).vmPu).toBeGreaterThanOrEqual(0.94);
    expect(engine.kernel.statusOf(bus50)).toBe(Status.Ok);
    expect(alerts.some((a) => a.id === 'bus-50' && a.detail!.startsWith('voltage back within limits'))).toBe(true);
  });

  it('is off unless STRATUM_VOLTAGE_MONITOR=1 and refuses malformed settings naming the variable', async () => {
    const engine = await Engine.create({ city: city118(), behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
    stop = () => engine.stop();
    const door = { submitBatch: () => ({ accepted: 0, duplicates: 0 }) };
    expect(voltageMonitorFromEnv({}, engine, door, () => undefined)).toBeNull();
    expect(voltageMonitorFromEnv({ STRATUM_VOLTAGE_MONITOR: '0' }, engine, door, () => undefined)).toBeNull();
    expect(() => voltageMonitorFromEnv({ STRATUM_VOLTAGE_MONITOR: 'yes' }, engine, door, () => undefined)).toThrow(/STRATUM_VOLTAGE_MONITOR must be 1 \(on\) or 0 \(off\) \(got "yes"\)/);
    expect(() => voltageMonitorFromEnv({ STRATUM_VOLTAGE_MONITOR: '1', STRATUM_VOLTAGE_MIN_INTERVAL_MS: '-5' }, engine, door, () => undefined)).toThrow(/STRATUM_VOLTAGE_MIN_INTERVAL_MS/);
    const on = voltageMonitorFromEnv({ STRATUM_VOLTAGE_MONITOR: '1' }, engine, door, () => undefined);
    expect(on).toBeInstanceOf(VoltageMonitor);
    on!.stop();
  });
});

const COLLAPSE_EXTRA_MW = 1500;
