import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedDataFile } from '../../test/shared-data.ts';
import { ValidationError } from '../errors.ts';
import { estimateDcState } from '../power/estimation.ts';
import { parseMatpower } from '../power/matpower.ts';
import { networkFromCase } from '../power/network.ts';
import { DEFAULT_FIELD_SIGMA, parseNoise, parseSpoof, simulateField, type FieldOptions } from './field.ts';

const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile('grids/case118.m'), 'utf8'), 'case118'));
const options = (over: Partial<FieldOptions> = {}): FieldOptions => ({
  seconds: 30,
  rateHz: 1,
  sigma: DEFAULT_FIELD_SIGMA,
  dropout: 0.05,
  stuck: [],
  delayS: 0.5,
  spoof: new Map(),
  pmu: [],
  seed: 1,
  ...over,
});

describe('field simulator on case118', () => {
  it('the estimator on the snapshot removes exactly the spoofed readings (noise, dropouts and delays present), for several seeds', () => {
    const spoof = parseSpoof('br-20,bus-45:80;br-120:-70');
    for (const seed of [1, 2, 3]) {
      const run = simulateField(net, options({ spoof, seed }));
      expect(run.spoofedInSnapshot).toHaveLength(3);
      const result = estimateDcState(net, run.snapshot);
      expect(result.removed.map((r) => r.index).sort((a, b) => a - b)).toEqual(run.spoofedInSnapshot);
      expect(result.consistent).toBe(true);
      // And without the attacker the same field passes the chi-square test untouched.
      const clean = estimateDcState(net, simulateField(net, options({ seed })).snapshot);
      expect(clean.removed).toEqual([]);
    }
  });

  it('noise has the sensor type\'s σ, readings are the DC power flow\'s truth, and a seed reproduces the run', () => {
    const run = simulateField(net, options({ dropout: 0, delayS: 0, seconds: 10 }));
    const z = run.readings.map((r) => (r.value - r.truth) / run.sensors[r.sensor]!.sigma);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
    expect(z.length).toBe(run.sensors.length * 11);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    // The truth is a power flow: injections balance, so the sum of injection truths is 0 every scan.
    const injections = run.readings.filter((r) => run.sensors[r.sensor]!.kind === 'injection' && r.measuredAtS === 5);
    expect(Math.abs(injections.reduce((s, r) => s + r.truth, 0))).toBeLessThan(1e-6);
    expect(simulateField(net, options({ seconds: 10 }))).toEqual(simulateField(net, options({ seconds: 10 })));
  });

  it('dropouts lose about p of the readings; delays keep late readings out of the snapshot; stuck sensors repeat one value', () => {
    const run = simulateField(net, options({ dropout: 0.2, delayS: 3, stuck: ['br-7'], pmu: ['bus-10'] }));
    const total = run.scans * run.sensors.length;
    expect(run.dropped / total).toBeGreaterThan(0.17);
    expect(run.dropped / total).toBeLessThan(0.23);
    for (const r of run.readings) expect(r.arrivesAtS - r.measuredAtS).toBe(run.sensors[r.sensor]!.latencyS);
    const snapshotAges = run.snapshotSensors.map((s) => 30 - Math.max(...run.readings.filter((r) => r.sensor === s && r.arrivesAtS <= 30).map((r) => r.measuredAtS)));
    expect(Math.max(...snapshotAges)).toBeGreaterThan(2);
    const stuck = run.sensors.findIndex((s) => s.target === 'br-7');
    expect(new Set(run.readings.filter((r) => r.sensor === stuck).map((r) => r.value)).size).toBe(1);
    expect(run.stuckInSnapshot).toHaveLength(1);
    expect(run.snapshot.some((m) => m.kind === 'angle' && m.target === 'bus-10')).toBe(true);
  });

  it('bad options name the flag and the reason', () => {
    try {
      simulateField(net, options({ stuck: ['br-9999'], spoof: new Map([['bus-nope', 5]]), pmu: ['br-1'], dropout: 1 }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const text = (error as Error).message;
      expect(text).toContain('--stuck: no branch or bus "br-9999"');
      expect(text).toContain('--spoof: no branch or bus "bus-nope"');
      expect(text).toContain('--pmu: no bus "br-1"');
      expect(text).toContain('--dropout');
    }
    expect(() => parseSpoof('br-1')).toThrow(/ids:offsetMw/);
    expect(() => parseNoise('flow=-1')).toThrow(/flow=-1/);
    expect(parseNoise('injection=4')).toEqual({ ...DEFAULT_FIELD_SIGMA, injection: 4 });
  });

  it('the scada sensor set reads assets: |flow| per branch, load where the case has load, output of dispatched generators; all ≥ 0, generation matching the load', () => {
    const run = simulateField(net, options({ sensorSet: 'scada', dropout: 0, delayS: 0, seconds: 2, spoof: new Map([['br-20', 60]]) }));
    const kinds = new Map<string, number>();
    for (const s of run.sensors) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
    expect(kinds.get('flow')).toBe(186);
    expect(kinds.get('load')).toBe(net.pdMw.filter((pd) => pd > 0).length);
    expect(kinds.get('generation')).toBe(net.pgMw.filter((pg, g) => pg > 0 && net.genInService[g]).length);
    expect(kinds.has('injection')).toBe(false);
    expect(run.readings.every((r) => r.value >= 0)).toBe(true);
    expect(run.snapshot).toEqual([]); // no estimator measurements: the live twin takes these as telemetry
    const first = run.readings.filter((r) => r.measuredAtS === 0);
    const sum = (kind: string): number => first.filter((r) => run.sensors[r.sensor]!.kind === kind).reduce((t, r) => t + r.truth, 0);
    const negativeLoad = net.pdMw.reduce((t, pd) => t + Math.min(0, pd), 0);
    expect(Math.abs(sum('generation') - sum('load') - negativeLoad - net.gsMw.reduce((t, g) => t + g, 0))).toBeLessThan(1e-6 * sum('load') + 1e-6);
    const spoofed = first.find((r) => run.sensors[r.sensor]!.target === 'br-20')!;
    expect(spoofed.value - Math.max(0, spoofed.truth)).toBeGreaterThan(50);
  });
});
