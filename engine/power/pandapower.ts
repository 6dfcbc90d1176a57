/**
 * Reader of pandapower networks saved with `pandapower.to_json(net, file)`: JSON whose element tables
 * are pandas DataFrames in "split" orientation. The network is converted to the same `MatpowerCase`
 * the MATPOWER reader produces, in per unit on `net.sn_mva` exactly as pandapower's own `_pd2ppc`
 * does for the elements supported here (README "pandapower networks"); every element table that is
 * not supported and has a row in service is an error naming it — nothing is dropped silently.
 *
 * Ids: buses `bus-<index>` (pandapower's bus index), lines `line-<index>`, transformers
 * `trafo-<index>`, external grids `ext-<index>`, generators `gen-<index>`, static generators
 * `sgen-<index>`. Buses fused by closed bus-bus switches become one bus, named by the lowest index.
 */
import { z } from 'zod';
import { ValidationError, type Problem } from '../errors.ts';
import { dcPowerFlow } from './dcpf.ts';
import { networkFromCase } from './network.ts';
import { BusType, type MatpowerBranch, type MatpowerBus, type MatpowerCase, type MatpowerGen } from './matpower.ts';

const DEG = Math.PI / 180;

/** Element tables this reader converts (or reads for their effect on others: switch). */
const SUPPORTED = new Set(['bus', 'line', 'trafo', 'impedance', 'load', 'sgen', 'gen', 'ext_grid', 'shunt', 'switch']);
/** Tables that do not take part in a power flow: costs, measurements, controllers, groups, … */
const IGNORED = new Set(['poly_cost', 'pwl_cost', 'measurement', 'controller', 'group', 'trafo_characteristic_table', 'shunt_characteristic_table', 'bus_geodata', 'line_geodata']);

const missingOr = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is missing' : `must be ${what}`) });
const num = z.number(missingOr('a number')).finite('must be a finite number');
/** pandas writes NaN as null: null means "not given". */
const optionalNumber = z.number({ error: 'must be a number or null' }).finite('must be a finite number').nullable().optional();
const index = z.number().int('must be an integer bus index').min(0, 'must be ≥ 0');
const flag = z.boolean(missingOr('true or false'));
const positive = num.positive('must be > 0');

const busRow = z.object({ vn_kv: positive, in_service: flag, max_vm_pu: optionalNumber, min_vm_pu: optionalNumber, zone: z.unknown().optional() });
const lineRow = z.object({
  from_bus: index,
  to_bus: index,
  length_km: positive,
  r_ohm_per_km: num.min(0, 'must be ≥ 0'),
  x_ohm_per_km: num,
  c_nf_per_km: num,
  g_us_per_km: optionalNumber,
  max_i_ka: num.min(0, 'must be ≥ 0'),
  df: optionalNumber,
  parallel: num.int('must be an integer').min(1, 'must be ≥ 1'),
  in_service: flag,
});
const trafoRow = z.object({
  hv_bus: index,
  lv_bus: index,
  sn_mva: positive,
  vn_hv_kv: positive,
  vn_lv_kv: positive,
  vk_percent: num.refine((v) => v !== 0, 'must be non-zero'),
  vkr_percent: num.min(0, 'must be ≥ 0'),
  pfe_kw: num.min(0, 'must be ≥ 0'),
  i0_percent: num.min(0, 'must be ≥ 0'),
  shift_degree: optionalNumber,
  tap_side: z.enum(['hv', 'lv']).nullable().optional(),
  tap_neutral: optionalNumber,
  tap_pos: optionalNumber,
  tap_step_percent: optionalNumber,
  tap_step_degree: optionalNumber,
  tap_changer_type: z.union([z.enum(['Ratio', 'Symmetrical', 'Ideal', 'Tabular']), z.null()]).optional(),
  tap_dependency_table: z.boolean().nullable().optional(),
  // pandapower 2.x (before tap_changer_type): true = ideal phase shifter.
  tap_phase_shifter: z.boolean().nullable().optional(),
  tap2_pos: optionalNumber,
  tap2_changer_type: z.string().nullable().optional(),
  leakage_resistance_ratio_hv: optionalNumber,
  leakage_reactance_ratio_hv: optionalNumber,
  parallel: num.int('must be an integer').min(1, 'must be ≥ 1'),
  df: optionalNumber,
  in_service: flag,
});
const loadRow = z.object({
  bus: index,
  p_mw: num,
  q_mvar: num,
  scaling: optionalNumber,
  const_z_p_percent: optionalNumber,
  const_i_p_percent: optionalNumber,
  const_z_q_percent: optionalNumber,
  const_i_q_percent: optionalNumber,
  // pandapower 2.x names
  const_z_percent: optionalNumber,
  const_i_percent: optionalNumber,
  in_service: flag,
});
const sgenRow = z.object({ bus: index, p_mw: num, q_mvar: num, scaling: optionalNumber, in_service: flag });
const genRow = z.object({
  bus: index,
  p_mw: num,
  vm_pu: positive,
  scaling: optionalNumber,
  slack: z.boolean().nullable().optional(),
  max_p_mw: optionalNumber,
  min_p_mw: optionalNumber,
  in_service: flag,
});
const extGridRow = z.object({ bus: index, vm_pu: positive, va_degree: optionalNumber, in_service: flag });
const shuntRow = z.object({ bus: index, p_mw: num, q_mvar: num, vn_kv: optionalNumber, step: num.int('must be an integer'), step_dependency_table: z.boolean().nullable().optional(), in_service: flag });
const impedanceRow = z.object({
  from_bus: index,
  to_bus: index,
  rft_pu: num,
  xft_pu: num,
  rtf_pu: num,
  xtf_pu: num,
  gf_pu: optionalNumber,
  bf_pu: optionalNumber,
  gt_pu: optionalNumber,
  bt_pu: optionalNumber,
  sn_mva: positive,
  in_service: flag,
});
const switchRow = z.object({ bus: index, element: index, et: z.enum(['b', 'l', 't', 't3']), closed: flag, z_ohm: optionalNumber });

type Row<S extends z.ZodTypeAny> = z.infer<S> & { readonly index: number };

const dataFrameEnvelope = z.object({ _class: z.literal('DataFrame'), _object: z.string(), orient: z.literal('split').optional() }).passthrough();
const splitFrame = z.object({
  columns: z.array(z.string()),
  index: z.array(z.number().int()),
  data: z.array(z.array(z.unknown())),
});
const netEnvelope = z.object({
  _class: z.literal('pandapowerNet', { error: 'is not "pandapowerNet": not a pandapower network' }),
  _object: z.record(z.string(), z.unknown()),
});

/** True when a parsed JSON document is a pandapower network (`pp.to_json`), not a city file. */
export function isPandapowerDocument(document: unknown): boolean {
  return typeof document === 'object' && document !== null && (document as { _class?: unknown })._class === 'pandapowerNet';
}

interface Frame {
  readonly columns: readonly string[];
  readonly index: readonly number[];
  readonly data: readonly (readonly unknown[])[];
}

/**
 * Reads a pandapower network (the parsed JSON of `pp.to_json`) into a MATPOWER-style case.
 *
 * @param source names the file in error messages.
 * @throws ValidationError listing every problem with its place (`$.line[index 4].length_km: must be > 0`).
 * @example
 * const mpc = parsePandapower(JSON.parse(readFileSync('net.json', 'utf8')), 'net.json');
 * networkFromCase(mpc).branchIds; // ['line-0', …, 'trafo-0', …]
 */
export function parsePandapower(document: unknown, source: string): MatpowerCase {
  const problems: Problem[] = [];
  const fail = (): never => {
    throw new ValidationError(source, problems);
  };
  const envelope = netEnvelope.safeParse(document);
  if (!envelope.success) {
    for (const issue of envelope.error.issues) problems.push({ path: `$${issue.path.map((p) => `.${String(p)}`).join('')}`, reason: issue.message });
    return fail();
  }
  const net = envelope.data._object;

  // Each DataFrame, decoded from its split-orientation JSON string.
  const frames = new Map<string, Frame>();
  for (const [name, value] of Object.entries(net)) {
    if (typeof value !== 'object' || value === null || (value as { _class?: unknown })._class !== 'DataFrame') continue;
    const env = dataFrameEnvelope.safeParse(value);
    if (!env.success) {
      problems.push({ path: `$.${name}`, reason: `not a pandas DataFrame in "split" orientation: ${env.error.issues[0]!.message}` });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.data._object);
    } catch (error) {
      problems.push({ path: `$.${name}._object`, reason: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    const frame = splitFrame.safeParse(parsed);
    if (!frame.success) {
      problems.push({ path: `$.${name}._object`, reason: `not a DataFrame in "split" orientation (columns, index, data): ${frame.error.issues[0]!.message} at ${frame.error.issues[0]!.path.join('.')}` });
      continue;
    }
    if (frame.data.index.length !== frame.data.data.length) problems.push({ path: `$.${name}._object`, reason: `index has ${frame.data.index.length} entries but data ${frame.data.data.length} rows` });
    frames.set(name, frame.data);
  }
  if (problems.length > 0) fail();

  const scalar = (field: string, fallback?: number): number => {
    const value = net[field] ?? fallback;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      problems.push({ path: `$.${field}`, reason: `must be a positive number (got ${JSON.stringify(value)})` });
      return Number.NaN;
    }
    return value;
  };
  const snMva = scalar('sn_mva', 1);
  const fHz = scalar('f_hz', 50);

  // Refuse what is not modelled: any element table with a row in service (storage only when it injects).
  for (const [name, frame] of frames) {
    if (SUPPORTED.has(name) || IGNORED.has(name) || name.startsWith('res_') || frame.index.length === 0) continue;
    const inServiceColumn = frame.columns.indexOf('in_service');
    if (inServiceColumn < 0) continue;
    const active = frame.index.filter((_, r) => {
      const row = frame.data[r]!;
      if (row[inServiceColumn] !== true) return false;
      if (name === 'storage') {
        const p = row[frame.columns.indexOf('p_mw')];
        const q = row[frame.columns.indexOf('q_mvar')];
        return (typeof p === 'number' && p !== 0) || (typeof q === 'number' && q !== 0);
      }
      return true;
    });
    if (active.length > 0) {
      const what = name === 'storage' ? 'with p_mw or q_mvar ≠ 0 ' : '';
      problems.push({ path: `$.${name}`, reason: `${active.length} ${name} element(s) ${what}in service (index ${active.slice(0, 5).join(', ')}${active.length > 5 ? ', …' : ''}): "${name}" is not supported by this reader; remove them or set them out of service` });
    }
  }

  function rows<S extends z.ZodTypeAny>(name: string, schema: S): Array<Row<S>> {
    const frame = frames.get(name);
    if (frame === undefined) return [];
    const out: Array<Row<S>> = [];
    frame.data.forEach((values, r) => {
      const idx = frame.index[r]!;
      const record: Record<string, unknown> = {};
      frame.columns.forEach((c, j) => {
        record[c] = values[j];
      });
      const result = schema.safeParse(record);
      if (!result.success) {
        for (const issue of result.error.issues) problems.push({ path: `$.${name}[index ${idx}].${issue.path.join('.')}`, reason: issue.message });
        return;
      }
      out.push({ ...(result.data as object), index: idx } as Row<S>);
    });
    return out;
  }

  const buses = rows('bus', busRow);
  const lines = rows('line', lineRow);
  const trafos = rows('trafo', trafoRow);
  const impedances = rows('impedance', impedanceRow);
  const loads = rows('load', loadRow);
  const sgens = rows('sgen', sgenRow);
  const gens = rows('gen', genRow);
  const extGrids = rows('ext_grid', extGridRow);
  const shunts = rows('shunt', shuntRow);
  const switches = rows('switch', switchRow);
  if (!frames.has('bus') || buses.length === 0) problems.push({ path: '$.bus', reason: 'the network has no buses' });
  if (problems.length > 0) fail();

  const busByIndex = new Map(buses.map((b) => [b.index, b]));
  const needBus = (table: string, idx: number, field: string, bus: number): boolean => {
    if (busByIndex.has(bus)) return true;
    problems.push({ path: `$.${table}[index ${idx}].${field}`, reason: `bus ${bus} is not in the bus table` });
    return false;
  };

  // Closed bus-bus switches fuse buses (pandapower's _fuse_bus); the lowest index names the group.
  const parent = new Map(buses.map((b) => [b.index, b.index]));
  const root = (bus: number): number => {
    let r = bus;
    while (parent.get(r)! !== r) r = parent.get(r)!;
    parent.set(bus, r);
    return r;
  };
  const openLines = new Set<number>();
  const openTrafos = new Set<number>();
  for (const s of switches) {
    if (!needBus('switch', s.index, 'bus', s.bus)) continue;
    if (s.et === 'b') {
      if (!needBus('switch', s.index, 'element', s.element)) continue;
      if (!s.closed) continue;
      if (s.z_ohm !== null && s.z_ohm !== undefined && s.z_ohm !== 0) {
        problems.push({ path: `$.switch[index ${s.index}].z_ohm`, reason: `a closed bus-bus switch with an impedance (${s.z_ohm} Ω) is a branch in pandapower; not supported (set z_ohm to 0)` });
        continue;
      }
      const a = root(s.bus);
      const b = root(s.element);
      if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
    } else if (!s.closed) {
      if (s.et === 'l') openLines.add(s.element);
      else if (s.et === 't') openTrafos.add(s.element);
    }
  }
  if (problems.length > 0) fail();
  // A bus group is in service when one of its buses is (pandapower keeps fused buses' state together).
  const groupInService = new Map<number, boolean>();
  for (const b of buses) groupInService.set(root(b.index), (groupInService.get(root(b.index)) ?? false) || b.in_service);
  const busOn = (bus: number): boolean => groupInService.get(root(bus)) === true;
  const kvOf = (bus: number): number => busByIndex.get(root(bus))!.vn_kv;

  // Bus injections and shunts in MW / MVAr, per representative bus.
  const pd = new Map<number, number>();
  const qd = new Map<number, number>();
  const gs = new Map<number, number>();
  const bs = new Map<number, number>();
  const add = (map: Map<number, number>, bus: number, value: number): void => {
    map.set(root(bus), (map.get(root(bus)) ?? 0) + value);
  };
  for (const l of loads) {
    if (!needBus('load', l.index, 'bus', l.bus) || !l.in_service || !busOn(l.bus)) continue;
    const dependent = (['const_z_p_percent', 'const_i_p_percent', 'const_z_q_percent', 'const_i_q_percent', 'const_z_percent', 'const_i_percent'] as const).find((c) => (l[c] ?? 0) !== 0);
    if (dependent !== undefined) {
      problems.push({ path: `$.load[index ${l.index}].${dependent}`, reason: `voltage-dependent loads (constant impedance or current share ${l[dependent]} %) are not supported; only constant power` });
      continue;
    }
    const scaling = l.scaling ?? 1;
    add(pd, l.bus, l.p_mw * scaling);
    add(qd, l.bus, l.q_mvar * scaling);
  }
  for (const s of shunts) {
    if (!needBus('shunt', s.index, 'bus', s.bus) || !s.in_service || !busOn(s.bus)) continue;
    if (s.step_dependency_table === true) {
      problems.push({ path: `$.shunt[index ${s.index}].step_dependency_table`, reason: 'shunts with a step characteristic table are not supported' });
      continue;
    }
    // pandapower: consumption at the shunt's rated voltage, scaled to the bus's nominal voltage.
    const vRatio = (kvOf(s.bus) / (s.vn_kv ?? busByIndex.get(s.bus)!.vn_kv)) ** 2;
    add(gs, s.bus, s.p_mw * s.step * vRatio);
    add(bs, s.bus, -s.q_mvar * s.step * vRatio);
  }

  // Generators: external grids first (the reference's first generator takes the balance), then gens, then sgens.
  const type = new Map<number, number>();
  const vaOf = new Map<number, number>();
  const vmOf = new Map<number, number>();
  const genList: MatpowerGen[] = [];
  for (const e of extGrids) {
    if (!needBus('ext_grid', e.index, 'bus', e.bus)) continue;
    const on = e.in_service && busOn(e.bus);
    if (on) {
      type.set(root(e.bus), BusType.Reference);
      vaOf.set(root(e.bus), e.va_degree ?? 0);
      vmOf.set(root(e.bus), e.vm_pu);
    }
    genList.push({ id: `ext-${e.index}`, bus: root(e.bus), pgMw: 0, qgMvar: 0, vgPu: e.vm_pu, inService: on, pmaxMw: Number.POSITIVE_INFINITY, pminMw: Number.NEGATIVE_INFINITY, line: 0 });
  }
  for (const g of gens) {
    if (!needBus('gen', g.index, 'bus', g.bus)) continue;
    const on = g.in_service && busOn(g.bus);
    if (on) {
      if (g.slack === true) type.set(root(g.bus), BusType.Reference);
      else if (type.get(root(g.bus)) !== BusType.Reference) type.set(root(g.bus), BusType.PV);
      if (!vmOf.has(root(g.bus))) vmOf.set(root(g.bus), g.vm_pu);
    }
    const pg = g.p_mw * (g.scaling ?? 1);
    genList.push({ id: `gen-${g.index}`, bus: root(g.bus), pgMw: pg, qgMvar: 0, vgPu: g.vm_pu, inService: on, pmaxMw: g.max_p_mw ?? Number.POSITIVE_INFINITY, pminMw: g.min_p_mw ?? Number.NEGATIVE_INFINITY, line: 0 });
  }
  for (const s of sgens) {
    if (!needBus('sgen', s.index, 'bus', s.bus)) continue;
    const scaling = s.scaling ?? 1;
    // A static generator is a PQ injection: its bus keeps its type, so it holds no voltage.
    genList.push({ id: `sgen-${s.index}`, bus: root(s.bus), pgMw: s.p_mw * scaling, qgMvar: s.q_mvar * scaling, vgPu: 1, inService: s.in_service && busOn(s.bus), pmaxMw: Number.POSITIVE_INFINITY, pminMw: Number.NEGATIVE_INFINITY, line: 0 });
  }

  // Every generator at a voltage-controlled bus carries that bus's set point (the external grid's, else
  // the first gen's): the AC model reads Vg from each in-service generator at the bus, sgens included.
  for (let i = 0; i < genList.length; i++) {
    const setPoint = vmOf.get(genList[i]!.bus);
    if (setPoint !== undefined) genList[i] = { ...genList[i]!, vgPu: setPoint };
  }

  // Branches: lines, then transformers.
  const branches: MatpowerBranch[] = [];
  const branchEnds = (table: string, idx: number, fromField: string, from: number, toField: string, to: number): boolean => {
    const ok = needBus(table, idx, fromField, from) && needBus(table, idx, toField, to);
    if (ok && root(from) === root(to)) problems.push({ path: `$.${table}[index ${idx}]`, reason: `joins bus ${from} to bus ${to}, which are the same bus${from === to ? '' : ' (fused by closed bus-bus switches)'}` });
    return ok && root(from) !== root(to);
  };
  for (const l of lines) {
    if (!branchEnds('line', l.index, 'from_bus', l.from_bus, 'to_bus', l.to_bus)) continue;
    const kv = kvOf(l.from_bus);
    const zBase = (kv * kv) / snMva;
    const b = 2 * fHz * Math.PI * l.c_nf_per_km * 1e-9 * zBase * l.length_km * l.parallel;
    const g = (l.g_us_per_km ?? 0) * 1e-6 * zBase * l.length_km * l.parallel;
    const xPu = (l.x_ohm_per_km * l.length_km) / zBase / l.parallel;
    if (xPu === 0) problems.push({ path: `$.line[index ${l.index}].x_ohm_per_km`, reason: 'must be non-zero (the DC model divides by the reactance)' });
    // Thermal rating: max_i_ka × df × parallel at the from bus's nominal voltage, in MVA.
    const rate = l.max_i_ka * (l.df ?? 1) * l.parallel * Math.sqrt(3) * kv;
    branches.push({
      id: `line-${l.index}`,
      kind: 'line',
      from: root(l.from_bus),
      to: root(l.to_bus),
      rPu: (l.r_ohm_per_km * l.length_km) / zBase / l.parallel,
      xPu,
      bPu: b,
      ...(g !== 0 ? { gPu: g } : {}),
      rateAMva: rate,
      rateBMva: 0,
      rateCMva: 0,
      tap: 0,
      shiftDeg: 0,
      inService: l.in_service && !openLines.has(l.index) && busOn(l.from_bus) && busOn(l.to_bus),
      line: 0,
    });
  }
  for (const t of trafos) {
    if (!branchEnds('trafo', t.index, 'hv_bus', t.hv_bus, 'lv_bus', t.lv_bus)) continue;
    const at = `$.trafo[index ${t.index}]`;
    if (t.tap_dependency_table === true || t.tap_changer_type === 'Tabular') {
      problems.push({ path: `${at}.tap_dependency_table`, reason: 'tap-dependent impedance / tabular tap changers are not supported' });
      continue;
    }
    if (t.tap2_changer_type !== null && t.tap2_changer_type !== undefined && t.tap2_changer_type !== '' && (t.tap2_pos ?? null) !== null) {
      problems.push({ path: `${at}.tap2_changer_type`, reason: 'a second tap changer is not supported' });
      continue;
    }
    const converted = trafoBranch(t, kvOf(t.hv_bus), kvOf(t.lv_bus), snMva);
    if (typeof converted === 'string') {
      problems.push({ path: at, reason: converted });
      continue;
    }
    branches.push({
      id: `trafo-${t.index}`,
      kind: 'transformer',
      from: root(t.hv_bus),
      to: root(t.lv_bus),
      ...converted,
      rateAMva: t.sn_mva * (t.df ?? 1) * t.parallel,
      rateBMva: 0,
      rateCMva: 0,
      inService: t.in_service && !openTrafos.has(t.index) && busOn(t.hv_bus) && busOn(t.lv_bus),
      line: 0,
    });
  }
  for (const im of impedances) {
    if (!branchEnds('impedance', im.index, 'from_bus', im.from_bus, 'to_bus', im.to_bus)) continue;
    const at = `$.impedance[index ${im.index}]`;
    // Our branch is symmetric in its series impedance; pandapower's BR_R_ASYM / BR_X_ASYM are not modelled.
    if (im.rft_pu !== im.rtf_pu || im.xft_pu !== im.xtf_pu) {
      problems.push({ path: at, reason: `an asymmetric impedance (rft_pu ${im.rft_pu} ≠ rtf_pu ${im.rtf_pu} or xft_pu ${im.xft_pu} ≠ xtf_pu ${im.xtf_pu}) is not supported` });
      continue;
    }
    if (im.xft_pu === 0) {
      problems.push({ path: `${at}.xft_pu`, reason: 'must be non-zero (the DC model divides by the reactance)' });
      continue;
    }
    // Per unit on the element's sn_mva → on the network's (pandapower's _calc_impedance_parameters_from_dataframe).
    const toNet = snMva / im.sn_mva;
    const gf = 2 * (im.gf_pu ?? 0) / toNet;
    const bf = 2 * (im.bf_pu ?? 0) / toNet;
    const gt = 2 * (im.gt_pu ?? 0) / toNet;
    const bt = 2 * (im.bt_pu ?? 0) / toNet;
    branches.push({
      id: `impedance-${im.index}`,
      kind: 'line',
      from: root(im.from_bus),
      to: root(im.to_bus),
      rPu: im.rft_pu * toNet,
      xPu: im.xft_pu * toNet,
      bPu: bf,
      ...(gf !== 0 || gt !== gf || bt !== bf ? { gPu: gf, gAsymPu: gt - gf, bAsymPu: bt - bf } : {}),
      rateAMva: im.sn_mva,
      rateBMva: 0,
      rateCMva: 0,
      tap: 0,
      shiftDeg: 0,
      inService: im.in_service && busOn(im.from_bus) && busOn(im.to_bus),
      line: 0,
    });
  }
  if (problems.length > 0) fail();

  // One slack per connected part: our model has one reference per island (README).
  const islandParent = new Map<number, number>();
  const islandRoot = (bus: number): number => {
    let r = bus;
    while ((islandParent.get(r) ?? r) !== r) r = islandParent.get(r)!;
    return r;
  };
  for (const br of branches) {
    if (!br.inService) continue;
    const a = islandRoot(br.from);
    const b = islandRoot(br.to);
    if (a !== b) islandParent.set(Math.max(a, b), Math.min(a, b));
  }
  const slackGens = new Set(gens.filter((g) => g.slack === true).map((g) => `gen-${g.index}`));
  const slackOf = new Map<number, string>();
  for (const g of genList) {
    if (!g.inService || type.get(g.bus) !== BusType.Reference) continue;
    if (!g.id!.startsWith('ext-') && !slackGens.has(g.id!)) continue;
    const island = islandRoot(g.bus);
    const other = slackOf.get(island);
    if (other !== undefined) problems.push({ path: `$.${g.id!.startsWith('ext-') ? 'ext_grid' : 'gen'}[index ${g.id!.replace(/^\w+-/, '')}]`, reason: `a second slack (${g.id}) in the part of the grid where ${other} already is the slack; one reference per island is supported` });
    else slackOf.set(island, g.id!);
  }
  if (problems.length > 0) fail();

  const reps = buses.filter((b) => root(b.index) === b.index);
  const busList: MatpowerBus[] = reps.map((b) => ({
    number: b.index,
    type: busOn(b.index) ? (type.get(b.index) ?? BusType.PQ) : BusType.Isolated,
    pdMw: pd.get(b.index) ?? 0,
    qdMvar: qd.get(b.index) ?? 0,
    gsMw: gs.get(b.index) ?? 0,
    bsMvar: bs.get(b.index) ?? 0,
    area: 1,
    vmPu: vmOf.get(b.index) ?? 1,
    vaDeg: vaOf.get(b.index) ?? 0,
    baseKv: b.vn_kv,
    vmaxPu: b.max_vm_pu ?? Number.NaN,
    vminPu: b.min_vm_pu ?? Number.NaN,
    line: 0,
  }));
  const name = typeof net.name === 'string' && net.name !== '' ? net.name : source.replace(/^.*[\\/]/, '').replace(/\.json$/i, '');
  return withDcAngles({ name, baseMva: snMva, buses: busList, gens: genList, branches });
}

/**
 * A pandapower network carries no solved state, and a flat start across 150° transformer shifts is
 * far from the solution (Newton from there diverges on example_simple). pandapower itself starts its
 * AC power flow from a DC solution when angles are calculated; so the case's angles are the DC power
 * flow's (references keep the slack's va_degree), as a solved MATPOWER case carries its Va.
 */
function withDcAngles(mpc: MatpowerCase): MatpowerCase {
  const dc = dcPowerFlow(networkFromCase(mpc));
  return { ...mpc, buses: mpc.buses.map((b, i) => (dc.islands.islandOf[i]! >= 0 && dc.references[dc.islands.islandOf[i]!]! >= 0 ? { ...b, vaDeg: dc.angleRad[i]! / DEG } : b)) };
}

type TrafoRow = z.infer<typeof trafoRow>;

/**
 * A two-winding transformer as pandapower's `_calc_branch_values_from_trafo_df` with the default
 * "t" model: tap on the nominal voltages, short-circuit impedance on the low-voltage side, magnetising
 * admittance from pfe_kw and i0_percent, and the T converted to a π whose two shunts differ.
 * @returns the branch's electrical values, or a reason it cannot be converted.
 */
function trafoBranch(t: TrafoRow, hvBusKv: number, lvBusKv: number, snMva: number): Pick<MatpowerBranch, 'rPu' | 'xPu' | 'bPu' | 'gPu' | 'gAsymPu' | 'bAsymPu' | 'tap' | 'shiftDeg'> | string {
  let vnHv = t.vn_hv_kv;
  let vnLv = t.vn_lv_kv;
  let shift = t.shift_degree ?? 0;
  // pandapower 3 reads a 2.x file (no tap_changer_type column) as: tap_phase_shifter → ideal, else a
  // ratio tap changer where tap_step_percent and tap_pos are given.
  const legacy = t.tap_changer_type === undefined ? (t.tap_phase_shifter === true ? 'Ideal' : t.tap_step_percent !== null && t.tap_step_percent !== undefined ? 'Ratio' : null) : null;
  const type = t.tap_changer_type ?? legacy;
  if (type !== null && t.tap_pos !== null && t.tap_pos !== undefined) {
    const side = t.tap_side ?? null;
    if (side === null) return 'tap_side must be "hv" or "lv" when a tap changer is given';
    const diff = t.tap_pos - (t.tap_neutral ?? 0);
    const direction = side === 'hv' ? 1 : -1;
    const percent = t.tap_step_percent ?? 0;
    const degree = t.tap_step_degree ?? 0;
    if (type === 'Ideal') {
      if (percent !== 0 && degree !== 0) return 'both tap_step_degree and tap_step_percent set for an ideal phase shifter';
      shift += degree !== 0 ? direction * diff * degree : (direction * 2 * Math.asin((diff * percent) / 100 / 2)) / DEG;
    } else {
      // Ratio / Symmetrical: the tapped winding's voltage changes in magnitude and angle.
      const u1 = side === 'hv' ? vnHv : vnLv;
      const du = u1 * ((percent * diff) / 100);
      const modified = Math.hypot(u1 + du * Math.cos(degree * DEG), du * Math.sin(degree * DEG));
      shift += Math.atan((direction * du * Math.sin(degree * DEG)) / (u1 + du * Math.cos(degree * DEG))) / DEG;
      if (side === 'hv') vnHv = modified;
      else vnLv = modified;
    }
  }
  const ratio = vnHv / vnLv / (hvBusKv / lvBusKv);
  // Short-circuit impedance, in per unit of the network's base at the low-voltage bus.
  const tapLv = (vnLv / lvBusKv) ** 2 * snMva;
  const zSc = (t.vk_percent / 100 / t.sn_mva) * tapLv;
  const rSc = (t.vkr_percent / 100 / t.sn_mva) * tapLv;
  if (Math.abs(rSc) > Math.abs(zSc)) return `vkr_percent (${t.vkr_percent}) must not exceed |vk_percent| (${t.vk_percent})`;
  let r = rSc / t.parallel;
  let x = (Math.sign(zSc) * Math.sqrt(zSc * zSc - rSc * rSc)) / t.parallel;
  // Magnetising admittance (negative susceptance: inductive).
  const zBase = (lvBusKv * lvBusKv) / snMva;
  const pfeMw = t.pfe_kw * 1e-3;
  const ymMva = (t.i0_percent / 100) * t.sn_mva;
  const bMva = -Math.sqrt(Math.max(0, ymMva * ymMva - pfeMw * pfeMw));
  const scale = (zBase * t.parallel) / (t.vn_lv_kv * t.vn_lv_kv) / (vnLv / t.vn_lv_kv) ** 2;
  let g = pfeMw * scale;
  let b = bMva * scale;
  let gAsym = 0;
  let bAsym = 0;
  if (g !== 0 || b !== 0) {
    // T → π (pandapower's _wye_delta): the leakage impedance split between the windings.
    const rRatio = t.leakage_resistance_ratio_hv ?? 0.5;
    const xRatio = t.leakage_reactance_ratio_hv ?? 0.5;
    const za = { re: r * rRatio, im: x * xRatio };
    const zb = { re: r * (1 - rRatio), im: x * (1 - xRatio) };
    const zc = inv({ re: g, im: b });
    const sum = cadd(cadd(cmul(za, zb), cmul(za, zc)), cmul(zb, zc));
    const zab = cdiv(sum, zc);
    const yf = inv(cdiv(sum, zb));
    const yt = inv(cdiv(sum, za));
    r = zab.re;
    x = zab.im;
    g = yf.re * 2;
    b = yf.im * 2;
    gAsym = 2 * yt.re - g;
    bAsym = 2 * yt.im - b;
  }
  return { rPu: r, xPu: x, bPu: b, gPu: g, gAsymPu: gAsym, bAsymPu: bAsym, tap: ratio, shiftDeg: shift };
}

interface Complex {
  readonly re: number;
  readonly im: number;
}
const cadd = (a: Complex, b: Complex): Complex => ({ re: a.re + b.re, im: a.im + b.im });
const cmul = (a: Complex, b: Complex): Complex => ({ re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re });
const cdiv = (a: Complex, b: Complex): Complex => {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
};
const inv = (a: Complex): Complex => cdiv({ re: 1, im: 0 }, a);
