import { describe, expect, it } from 'vitest';
import { inputCommandSchema } from '../commands.ts';
import { CityIndex } from '../city-index.ts';
import { UnknownTargetError, ValidationError } from '../errors.ts';
import { parseCity } from '../model/validate.ts';
import { parseMatpower } from './matpower.ts';
import { matpowerToCity } from './city.ts';
import { DEFAULT_VMAX_PU, DEFAULT_VMIN_PU, OVERVOLTAGE_CEILING, UNDERVOLTAGE_FLOOR, voltageLimits, voltageOutside, voltageServiceLevel, voltageTarget } from './voltage.ts';

describe('the voltage service rule', () => {
  it('serves fully inside [Vmin, Vmax], limits included', () => {
    for (const vm of [0.94, 0.95, 1, 1.06]) expect(voltageServiceLevel(vm, 0.94, 1.06)).toBe(1);
    expect(voltageOutside(0.94, 0.94, 1.06)).toBe(false);
    expect(voltageOutside(1.06, 0.94, 1.06)).toBe(false);
  });

  it('falls linearly below Vmin to 0 at the undervoltage floor, and stays 0 below it', () => {
    const floor = UNDERVOLTAGE_FLOOR * 0.94;
    expect(voltageServiceLevel((0.94 + floor) / 2, 0.94, 1.06)).toBeCloseTo(0.5, 12);
    expect(voltageServiceLevel(0.9, 0.94, 1.06)).toBeCloseTo((0.9 - floor) / (0.94 - floor), 12);
    expect(voltageServiceLevel(floor, 0.94, 1.06)).toBe(0);
    expect(voltageServiceLevel(0.5, 0.94, 1.06)).toBe(0);
    expect(voltageOutside(0.9399, 0.94, 1.06)).toBe(true);
  });

  it('falls linearly above Vmax to 0 at the overvoltage ceiling', () => {
    const ceiling = OVERVOLTAGE_CEILING * 1.06;
    expect(voltageServiceLevel((1.06 + ceiling) / 2, 0.94, 1.06)).toBeCloseTo(0.5, 12);
    expect(voltageServiceLevel(ceiling + 0.01, 0.94, 1.06)).toBe(0);
    expect(voltageOutside(1.07, 0.94, 1.06)).toBe(true);
  });

  it('reads 0 pu as a collapse (no service), and a missing limit as no bound on its side', () => {
    expect(voltageServiceLevel(0, 0.94, 1.06)).toBe(0);
    expect(voltageServiceLevel(0, Number.NaN, Number.NaN)).toBe(0);
    expect(voltageOutside(0, Number.NaN, Number.NaN)).toBe(true);
    expect(voltageServiceLevel(0.5, Number.NaN, 1.06)).toBe(1);
    expect(voltageServiceLevel(1.5, 0.94, Number.NaN)).toBe(1);
  });
});

describe('the voltage input', () => {
  it('parses a bus and a finite vmPu in [0, 2]; refuses anything else naming the field', () => {
    expect(inputCommandSchema.parse({ type: 'voltage', target: 'bus-1', vmPu: 0.93 })).toEqual({ type: 'voltage', target: 'bus-1', vmPu: 0.93 });
    expect(inputCommandSchema.safeParse({ type: 'voltage', target: 'bus-1', vmPu: 0 }).success).toBe(true);
    for (const vmPu of [-0.1, 2.01, Number.NaN, Number.POSITIVE_INFINITY, '0.9', null]) {
      const r = inputCommandSchema.safeParse({ type: 'voltage', target: 'bus-1', vmPu });
      expect(r.success, String(vmPu)).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['vmPu']);
    }
    expect(inputCommandSchema.safeParse({ type: 'voltage', target: '', vmPu: 1 }).success).toBe(false);
    expect(inputCommandSchema.safeParse({ type: 'voltage', target: 'bus-1', vmPu: 1, extra: 1 }).success).toBe(false);
    expect(inputCommandSchema.safeParse({ type: 'voltage', target: 'bus-1' }).success).toBe(false);
  });

  it('targets exactly one bus with electrical fields: an unknown id, a selector, a branch or a generator are refused', () => {
    const text = `function mpc = t
mpc.baseMVA = 100;
mpc.bus = [1 3 0 0 0 0 1 1 0 135 1 1.06 0.94; 2 1 50 10 0 0 1 1 0 135 1 1.06 0.94];
mpc.gen = [1 50 0 100 -100 1 100 1 200 0];
mpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360];
`;
    const mpc = parseMatpower(text, 't.m');
    const index = new CityIndex(parseCity(matpowerToCity(mpc), 't'));
    expect(voltageTarget(index, 'bus-2')).toBe(index.indexOf('bus-2'));
    expect(() => voltageTarget(index, 'bus-9')).toThrow(UnknownTargetError);
    expect(() => voltageTarget(index, '*')).toThrow(UnknownTargetError);
    expect(() => voltageTarget(index, 'layer:power')).toThrow(UnknownTargetError);
    expect(() => voltageTarget(index, 'br-1')).toThrow(ValidationError);
    expect(() => voltageTarget(index, 'gen-1')).toThrow(/"gen-1" is not a bus with electrical fields/);
  });
});

describe('the limits a bus is held to', () => {
  it('are its own where the city gives them, else 0.9–1.1 pu (a generated grid carries none)', () => {
    expect(voltageLimits(0.94, 1.06)).toEqual({ vminPu: 0.94, vmaxPu: 1.06 });
    expect(voltageLimits(undefined, undefined)).toEqual({ vminPu: DEFAULT_VMIN_PU, vmaxPu: DEFAULT_VMAX_PU });
    expect(voltageLimits(0, 1.05)).toEqual({ vminPu: 0.9, vmaxPu: 1.05 });
    expect(voltageLimits(Number.NaN, Number.NaN)).toEqual({ vminPu: 0.9, vmaxPu: 1.1 });
  });
});
