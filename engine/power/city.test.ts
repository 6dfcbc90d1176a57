import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ValidationError } from '../errors.ts';
import { loadCityFile, parseCity } from '../model/validate.ts';
import { matpowerToCity } from './city.ts';
import { dcPowerFlow } from './dcpf.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase, networkFromCity } from './network.ts';
import { sharedDataFile } from '../../test/shared-data.ts';

describe('MATPOWER case as a city model', () => {
  it('case300: ids bus-<BUS_I>, br-<row>, gen-<row>; the city (through JSON) gives the same network and flows as the case', () => {
    const path = sharedDataFile('grids/case300.m');
    const mpc = parseMatpower(readFileSync(path, 'utf8'), 'case300');
    const city = parseCity(JSON.parse(JSON.stringify(matpowerToCity(mpc))), 'case300.json');
    expect(city.assets.length).toBe(300 + 411 + 69);
    // Row 1 of mpc.branch: 37 → 9001 with TAP 1.0082 (a transformer); row 2: 9001 → 9005, a line.
    expect(city.assets.find((a) => a.id === 'br-1')).toMatchObject({ kind: 'transformer', layer: 'power', electrical: { kind: 'branch', from: 'bus-37', to: 'bus-9001', tap: 1.0082, rateCMva: 75 } });
    expect(city.assets.find((a) => a.id === 'br-2')).toMatchObject({ kind: 'line', electrical: { from: 'bus-9001', to: 'bus-9005' } });
    expect(city.assets.find((a) => a.id === 'gen-1')).toMatchObject({ kind: 'generator', source: true, electrical: { kind: 'generator', bus: 'bus-8' } });
    expect(city.grid).toEqual({ baseMva: 100 });
    const fromCity = dcPowerFlow(networkFromCity(city));
    const fromCase = dcPowerFlow(networkFromCase(mpc));
    expect(Array.from(fromCity.flowMw)).toEqual(Array.from(fromCase.flowMw));
    // Every command that takes --city takes the .m itself.
    expect(loadCityFile(path).assets.length).toBe(city.assets.length);
  });

  it('validates electrical fields with JSON paths: kinds, ranges, and references to buses', () => {
    const doc = {
      assets: [
        { id: 'b1', layer: 'power', electrical: { kind: 'bus', busType: 3 } },
        { id: 'b2', layer: 'power', electrical: { kind: 'bus', busType: 7 } },
        { id: 'l1', layer: 'power', electrical: { kind: 'branch', from: 'b1', to: 'nowhere', xPu: 0 } },
        { id: 'g1', layer: 'power', electrical: { kind: 'generator', bus: 'l1', pgMw: 10 } },
        { id: 'x', layer: 'power', electrical: { kind: 'switch' } },
      ],
      grid: { baseMva: -1 },
    };
    let error: ValidationError | undefined;
    try {
      parseCity(doc, 'bad.json');
    } catch (e) {
      error = e as ValidationError;
    }
    const paths = error!.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['$.assets[1].electrical.busType', '$.assets[2].electrical.xPu', '$.assets[4].electrical.kind', '$.grid.baseMva']));
    const fixed = { ...doc, assets: doc.assets.slice(0, 4).map((a, i) => (i === 1 ? { id: 'b2', layer: 'power', electrical: { kind: 'bus', busType: 1 } } : i === 2 ? { ...a, electrical: { ...a.electrical, xPu: 0.1 } } : a)), grid: { baseMva: 100 } };
    try {
      parseCity(fixed, 'bad.json');
    } catch (e) {
      error = e as ValidationError;
    }
    expect(error!.problems.map((p) => `${p.path}: ${p.reason}`)).toEqual([
      '$.assets[2].electrical.to: "nowhere" is not an asset with electrical.kind "bus"',
      '$.assets[3].electrical.bus: "l1" is not an asset with electrical.kind "bus"',
    ]);
  });

  it('fills defaults for optional electrical fields', () => {
    const city = parseCity({ assets: [{ id: 'b1', layer: 'power', electrical: { kind: 'bus', busType: 1 } }, { id: 'b2', layer: 'power', electrical: { kind: 'bus', busType: 3 } }, { id: 'l', layer: 'power', electrical: { kind: 'branch', from: 'b1', to: 'b2', xPu: 0.2 } }] }, 'x');
    expect(city.assets[2]!.electrical).toEqual({ kind: 'branch', from: 'b1', to: 'b2', rPu: 0, xPu: 0.2, bPu: 0, rateAMva: 0, rateBMva: 0, rateCMva: 0, tap: 0, shiftDeg: 0, inService: true });
    expect(city.assets[0]!.electrical).toMatchObject({ pdMw: 0, gsMw: 0, vaDeg: 0, vmPu: 1 });
  });
});
