import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { loadCityFile, parseCity } from '../model/validate.ts';
import { acPowerFlow } from './acpf.ts';
import { matpowerToCity } from './city.ts';
import { dcPowerFlow } from './dcpf.ts';
import { networkFromCase, networkFromCity, type GridNetwork } from './network.ts';
import { isPandapowerDocument, parsePandapower } from './pandapower.ts';

type Values = Record<string, number | null>;
interface AcReference {
  iterations: number;
  bus_vm_pu: Values;
  bus_va_degree: Values;
  line_p_from_mw: Values;
  line_q_from_mvar: Values;
  trafo_p_hv_mw: Values;
  trafo_q_hv_mvar: Values;
  impedance_p_from_mw: Values;
  impedance_q_from_mvar: Values;
}
interface NetworkReference {
  file: string;
  dc: { bus_va_degree: Values; line_p_from_mw: Values; trafo_p_hv_mw: Values; impedance_p_from_mw: Values };
  ac: AcReference;
  ac_open_lines_out: AcReference | null;
}
const reference = JSON.parse(readFileSync(new URL('./reference/pandapower-json-reference.json', import.meta.url), 'utf8')) as { networks: Record<string, NetworkReference> };
const documentOf = (name: string): unknown => JSON.parse(readFileSync(new URL(`./reference/${reference.networks[name]!.file}`, import.meta.url), 'utf8'));
const gridOf = (name: string): GridNetwork => networkFromCase(parsePandapower(documentOf(name), name));

/** pandapower's bus index → our bus (fused buses share their group's lowest index). */
function busLookup(name: string, net: GridNetwork): (index: string) => number {
  const doc = documentOf(name) as { _object: { switch: { _object: string } } };
  const sw = JSON.parse(doc._object.switch._object) as { columns: string[]; data: unknown[][] };
  const col = (c: string): number => sw.columns.indexOf(c);
  const parent = new Map<number, number>();
  const root = (b: number): number => (parent.has(b) && parent.get(b) !== b ? root(parent.get(b)!) : b);
  for (const row of sw.data) {
    if (row[col('et')] !== 'b' || row[col('closed')] !== true) continue;
    const a = root(row[col('bus')] as number);
    const b = root(row[col('element')] as number);
    if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
  }
  return (index) => net.busIndex.get(`bus-${root(Number(index))}`)!;
}

/** Largest |ours − theirs| over pandapower's elements (skipping NaN: buses pandapower left unsupplied). */
function largest(theirs: Values, ours: (index: string) => number): number {
  let worst = 0;
  for (const [index, value] of Object.entries(theirs)) if (value !== null) worst = Math.max(worst, Math.abs(ours(index) - value));
  return worst;
}

function acDifferences(name: string, net: GridNetwork, ref: AcReference): Record<string, number> {
  const r = acPowerFlow(net);
  const bus = busLookup(name, net);
  const branch = (prefix: string) => (index: string): number => net.branchIds.indexOf(`${prefix}-${index}`);
  return {
    vmPu: largest(ref.bus_vm_pu, (i) => r.vmPu[bus(i)]!),
    vaDeg: largest(ref.bus_va_degree, (i) => r.vaDeg[bus(i)]!),
    lineP: largest(ref.line_p_from_mw, (i) => r.pFromMw[branch('line')(i)]!),
    lineQ: largest(ref.line_q_from_mvar, (i) => r.qFromMvar[branch('line')(i)]!),
    trafoP: largest(ref.trafo_p_hv_mw, (i) => r.pFromMw[branch('trafo')(i)]!),
    trafoQ: largest(ref.trafo_q_hv_mvar, (i) => r.qFromMvar[branch('trafo')(i)]!),
    impedanceP: largest(ref.impedance_p_from_mw, (i) => r.pFromMw[branch('impedance')(i)]!),
    impedanceQ: largest(ref.impedance_q_from_mvar, (i) => r.qFromMvar[branch('impedance')(i)]!),
  };
}

/** A copy of a pandapower document with one DataFrame changed (rows as objects keyed by column). */
function edited(name: string, table: string, change: (frame: { columns: string[]; index: number[]; data: unknown[][] }) => void): unknown {
  const doc = structuredClone(documentOf(name)) as { _object: Record<string, { _object: string }> };
  const frame = JSON.parse(doc._object[table]!._object) as { columns: string[]; index: number[]; data: unknown[][] };
  change(frame);
  doc._object[table]!._object = JSON.stringify(frame);
  return doc;
}
const set = (frame: { columns: string[]; data: unknown[][] }, row: number, column: string, value: unknown): void => {
  frame.data[row]![frame.columns.indexOf(column)] = value;
};
const problemsOf = (document: unknown): Array<{ path: string; reason: string }> => {
  try {
    parsePandapower(document, 'net.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).problems];
  }
  throw new Error('parsePandapower accepted the document');
};

const names = Object.keys(reference.networks);

describe('pandapower JSON networks: DC power flow against pandapower rundcpp (reference/pandapower_json_reference.py)', () => {
  for (const name of names) {
    it(`${name}: every bus angle within 1e-6°, every line, transformer and impedance flow within 1e-6 MW`, () => {
      const net = gridOf(name);
      const r = dcPowerFlow(net);
      const ref = reference.networks[name]!.dc;
      const bus = busLookup(name, net);
      const branch = (prefix: string) => (index: string): number => r.flowMw[net.branchIds.indexOf(`${prefix}-${index}`)]!;
      expect(largest(ref.bus_va_degree, (i) => (r.angleRad[bus(i)]! * 180) / Math.PI)).toBeLessThanOrEqual(1e-6);
      expect(largest(ref.line_p_from_mw, branch('line'))).toBeLessThanOrEqual(1e-6);
      expect(largest(ref.trafo_p_hv_mw, branch('trafo'))).toBeLessThanOrEqual(1e-6);
      expect(largest(ref.impedance_p_from_mw, branch('impedance'))).toBeLessThanOrEqual(1e-6);
    });
  }
});

describe('pandapower JSON networks: AC power flow against pandapower runpp', () => {
  for (const name of names) {
    const ref = reference.networks[name]!;
    // A line with an open switch or a dead bus at one end: our model (the line out of service) is pandapower's with those lines out of service.
    const exact = ref.ac_open_lines_out ?? ref.ac;
    it(`${name}: Vm within 1e-6 pu, Va within 1e-6°, P and Q at the from (hv) end within 1e-6 MW / MVAr${ref.ac_open_lines_out === null ? '' : ' (lines open at one end out of service in both)'}`, () => {
      const d = acDifferences(name, gridOf(name), exact);
      for (const value of Object.values(d)) expect(value).toBeLessThanOrEqual(1e-6);
    });
  }

  it('where a line is open at one end, pandapower keeps it charged from its live end and we take it out of service: Vm differs by at most 1e-3 pu on the examples', () => {
    // example_simple: 1 open line switch; cigre_mv_pv_wind: 3; mv_oberrhein: 6 (20 kV cables); feature_mix: a line to a dead bus.
    const measured = Object.fromEntries(names.filter((n) => reference.networks[n]!.ac_open_lines_out !== null).map((n) => [n, acDifferences(n, gridOf(n), reference.networks[n]!.ac)]));
    expect(Object.keys(measured).sort()).toEqual(['cigre_mv_pv_wind', 'example_simple', 'feature_mix', 'mv_oberrhein']);
    for (const d of Object.values(measured)) {
      expect(d.vmPu).toBeLessThanOrEqual(1e-3);
      expect(d.vaDeg).toBeLessThanOrEqual(2e-2);
    }
    // The charging is real: the cables' reactive power makes a measurable difference on the MV grids.
    expect(measured['mv_oberrhein']!.vmPu).toBeGreaterThan(1e-4);
  });
});

describe('pandapower JSON networks: what the reader builds', () => {
  it('names elements by their pandapower index and fuses buses joined by closed bus-bus switches into the lowest index', () => {
    const net = gridOf('example_simple');
    // Buses 0–6; closed bus-bus switches join 1–2 and 3–4 (a busbar and its transformer node).
    expect(net.busIds).toEqual(['bus-0', 'bus-1', 'bus-3', 'bus-5', 'bus-6']);
    expect(net.branchIds).toEqual(['line-0', 'line-1', 'line-2', 'line-3', 'trafo-0']);
    expect(net.genIds).toEqual(['ext-0', 'gen-0', 'sgen-0']);
    // The line with an open switch is out of service; the others are in.
    expect(Array.from(net.branchInService)).toEqual([1, 1, 0, 1, 1]);
    // The external grid's bus is the reference, the generator's PV; the sgen's bus stays PQ.
    expect(net.busType[net.busIndex.get('bus-0')!]).toBe(3);
    expect(net.busType[net.busIndex.get('bus-5')!]).toBe(2);
    expect(net.busType[net.busIndex.get('bus-6')!]).toBe(1);
    // The transformer: 110/20 kV on 110/20 kV buses at tap 0 → ratio 1; its 150° shift kept.
    const t = net.branchIds.indexOf('trafo-0');
    expect(net.tap[t]).toBeCloseTo(1, 12);
    expect(net.shiftDeg[t]).toBe(150);
  });

  it('ratings: a line carries max_i_ka × df × parallel at its from bus voltage (MVA), a transformer sn_mva × df × parallel; voltage limits and per-unit base come along', () => {
    const net = gridOf('feature_mix');
    const rating = (id: string): number => net.rateAMw[net.branchIds.indexOf(id)]!;
    expect(rating('line-0')).toBeCloseTo(0.6 * 2 * Math.sqrt(3) * 110, 9);
    expect(rating('line-1')).toBeCloseTo(0.3 * Math.sqrt(3) * 21, 9);
    expect(rating('trafo-0')).toBe(40);
    expect(rating('trafo-1')).toBeCloseTo(25 * 0.9 * 2, 12);
    expect(net.baseMva).toBe(10);
    expect(net.vmaxPu[0]).toBe(1.1);
    expect(net.vminPu[0]).toBe(0.9);
    // The out-of-service bus is isolated; the line to it is out of service; its load is not counted.
    const dead = net.busIndex.get('bus-9')!;
    expect(net.busType[dead]).toBe(4);
    expect(net.pdMw[dead]).toBe(0);
    expect(net.branchInService[net.branchIds.indexOf('line-4')]).toBe(0);
  });

  it('a pandapower 2.x file (tap_phase_shifter instead of tap_changer_type) gives the same transformers', () => {
    const legacy = edited('feature_mix', 'trafo', (f) => {
      const type = f.columns.indexOf('tap_changer_type');
      f.columns[type] = 'tap_phase_shifter';
      for (const row of f.data) row[type] = row[type] === 'Ideal';
    });
    const now = gridOf('feature_mix');
    const before = networkFromCase(parsePandapower(legacy, 'legacy.json'));
    expect(Array.from(before.tap)).toEqual(Array.from(now.tap));
    expect(Array.from(before.shiftDeg)).toEqual(Array.from(now.shiftDeg));
    expect(Array.from(before.xPu)).toEqual(Array.from(now.xPu));
  });

  it('a city imported from a pandapower network validates and gives the same power flows', () => {
    const mpc = parsePandapower(documentOf('mv_oberrhein'), 'mv_oberrhein');
    const city = parseCity(matpowerToCity(mpc), 'mv_oberrhein.json');
    const direct = networkFromCase(mpc);
    const viaCity = networkFromCity({ name: city.name, grid: city.grid, assets: city.assets });
    expect(viaCity.branchIds).toEqual(direct.branchIds);
    expect(Array.from(dcPowerFlow(viaCity).flowMw)).toEqual(Array.from(dcPowerFlow(direct).flowMw));
    expect(Array.from(acPowerFlow(viaCity).vmPu)).toEqual(Array.from(acPowerFlow(direct).vmPu));
    const kinds = new Set(city.assets.map((a) => a.kind));
    expect(kinds).toEqual(new Set(['bus', 'line', 'transformer', 'generator']));
  });

  it('loadCityFile (every --city) reads a pandapower file as a city with its power assets', () => {
    const city = loadCityFile(new URL('./reference/pandapower/example_simple.json', import.meta.url).pathname);
    expect(city.assets.map((a) => a.id)).toEqual(['bus-0', 'bus-1', 'bus-3', 'bus-5', 'bus-6', 'line-0', 'line-1', 'line-2', 'line-3', 'trafo-0', 'ext-0', 'gen-0', 'sgen-0']);
    expect(city.assets.every((a) => a.layer === 'power')).toBe(true);
  });

  it('tells a pandapower document from a city document', () => {
    expect(isPandapowerDocument(documentOf('case9'))).toBe(true);
    expect(isPandapowerDocument({ name: 'city', version: 1, assets: [] })).toBe(false);
  });
});

describe('pandapower JSON networks: refused input names the table, the element and the field', () => {
  it('an unsupported element in service (trafo3w) is an error naming the table and its index', () => {
    const doc = edited('case9', 'trafo3w', (f) => {
      f.index.push(7);
      f.data.push(f.columns.map((c) => (c === 'in_service' ? true : c === 'hv_bus' ? 0 : c === 'mv_bus' ? 1 : c === 'lv_bus' ? 2 : null)));
    });
    const problems = problemsOf(doc);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('$.trafo3w');
    expect(problems[0]!.reason).toMatch(/1 trafo3w element\(s\) in service \(index 7\): "trafo3w" is not supported/);
  });

  it('the same element out of service is accepted, and storage is refused only when it injects', () => {
    const outOfService = edited('case9', 'ward', (f) => {
      f.index.push(0);
      f.data.push(f.columns.map((c) => (c === 'in_service' ? false : c === 'bus' ? 1 : 0)));
    });
    expect(() => parsePandapower(outOfService, 'net.json')).not.toThrow();
    const idle = edited('case9', 'storage', (f) => {
      f.index.push(3);
      f.data.push(f.columns.map((c) => (c === 'in_service' ? true : c === 'bus' ? 1 : 0)));
    });
    expect(() => parsePandapower(idle, 'net.json')).not.toThrow();
    const charging = edited('case9', 'storage', (f) => {
      f.index.push(3);
      f.data.push(f.columns.map((c) => (c === 'in_service' ? true : c === 'bus' ? 1 : c === 'p_mw' ? 5 : 0)));
    });
    expect(problemsOf(charging)[0]).toMatchObject({ path: '$.storage', reason: expect.stringMatching(/with p_mw or q_mvar ≠ 0 in service \(index 3\)/) });
  });

  it('a bad field names the table, the pandapower index and the column', () => {
    const doc = edited('case9', 'line', (f) => set(f, 2, 'length_km', -1));
    expect(problemsOf(doc)).toEqual([{ path: `$.line[index ${2}].length_km`, reason: 'must be > 0' }]);
    const missing = edited('case9', 'load', (f) => set(f, 0, 'p_mw', 'ten'));
    expect(problemsOf(missing)).toEqual([{ path: '$.load[index 0].p_mw', reason: 'must be a number' }]);
    const unknownBus = edited('case9', 'gen', (f) => set(f, 1, 'bus', 99));
    expect(problemsOf(unknownBus)).toEqual([{ path: '$.gen[index 1].bus', reason: 'bus 99 is not in the bus table' }]);
  });

  it('voltage-dependent loads, a second slack in one island and a closed switch with an impedance are refused', () => {
    expect(problemsOf(edited('case9', 'load', (f) => set(f, 1, 'const_z_p_percent', 30)))[0]).toMatchObject({ path: '$.load[index 1].const_z_p_percent' });
    const twoSlacks = edited('case9', 'gen', (f) => set(f, 0, 'slack', true));
    expect(problemsOf(twoSlacks)[0]!.reason).toMatch(/a second slack \(gen-0\) in the part of the grid where ext-0 already is the slack/);
    const impedanceSwitch = edited('example_simple', 'switch', (f) => {
      const row = f.data.findIndex((r) => r[f.columns.indexOf('et')] === 'b');
      set(f, row, 'z_ohm', 0.5);
    });
    expect(problemsOf(impedanceSwitch)[0]!.reason).toMatch(/closed bus-bus switch with an impedance/);
  });

  it('a document that is not a pandapower network is refused', () => {
    expect(problemsOf({ _class: 'DataFrame', _object: {} })[0]).toMatchObject({ path: '$._class' });
    expect(problemsOf({ _class: 'pandapowerNet', _object: { bus: { _class: 'DataFrame', _object: '{"columns": 3}' } } })[0]!.path).toBe('$.bus._object');
  });
});
