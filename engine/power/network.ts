/**
 * The electrical network as numeric arrays: buses, branches and generators by dense index, with the
 * ids the city model uses (`bus-<BUS_I>`, `br-<row>`, `gen-<row>`). Built from a parsed MATPOWER
 * case or from a city whose power assets carry electrical fields; both give the same network.
 */
import { ValidationError, type Problem } from '../errors.ts';
import { BusType, type MatpowerBranch, type MatpowerCase } from './matpower.ts';

export interface GridNetwork {
  readonly name: string;
  readonly baseMva: number;
  // Buses
  readonly busIds: readonly string[];
  /** MATPOWER bus type (1 PQ, 2 PV, 3 reference, 4 isolated). */
  readonly busType: Uint8Array;
  readonly pdMw: Float64Array;
  /** Shunt conductance as MW of load at 1 pu. */
  readonly gsMw: Float64Array;
  /** The case's voltage angle: a reference bus keeps it, as in MATPOWER. */
  readonly vaDeg: Float64Array;
  readonly baseKv: Float64Array;
  // What the AC power flow needs besides (acpf.ts); the DC model ignores these.
  readonly qdMvar: Float64Array;
  /** Shunt susceptance as MVAr injected at 1 pu. */
  readonly bsMvar: Float64Array;
  /** The case's voltage magnitude (the starting point of Newton's method at PQ buses). */
  readonly vmPu: Float64Array;
  /** Voltage limits (pu); NaN when the source gives none (a city without them). */
  readonly vmaxPu: Float64Array;
  readonly vminPu: Float64Array;
  // Branches
  readonly branchIds: readonly string[];
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly xPu: Float64Array;
  readonly rPu: Float64Array;
  /** Total line charging susceptance (pu), half at each end. */
  readonly bPu: Float64Array;
  /** Effective turns ratio (MATPOWER's TAP, with 0 meaning 1). */
  readonly tap: Float64Array;
  readonly shiftDeg: Float64Array;
  /** pandapower's branch shunt conductance and T-model transformer asymmetry (MatpowerBranch.gPu …); AC only, absent: all 0. */
  readonly gPu?: Float64Array;
  readonly gAsymPu?: Float64Array;
  readonly bAsymPu?: Float64Array;
  /** RATE_A in MW (MVA taken as MW in the DC model); 0 = unlimited. */
  readonly rateAMw: Float64Array;
  readonly branchInService: Uint8Array;
  // Generators
  readonly genIds: readonly string[];
  readonly genBus: Int32Array;
  readonly pgMw: Float64Array;
  readonly qgMvar: Float64Array;
  /** Voltage set point (pu) a generator holds at its bus (PV and reference buses). */
  readonly vgPu: Float64Array;
  readonly genInService: Uint8Array;
  /** Bus id → bus index. */
  readonly busIndex: ReadonlyMap<string, number>;
}

/** The city-model id of a MATPOWER bus, branch row and gen row (rows are 1-based, in file order). */
export const busId = (number: number): string => `bus-${number}`;
export const branchId = (row: number): string => `br-${row}`;
export const genId = (row: number): string => `gen-${row}`;

/** The optional AC branch shunt arrays, present only when some branch has one (MATPOWER cases have none). */
function branchShunts(branches: ReadonlyArray<Pick<MatpowerBranch, 'gPu' | 'gAsymPu' | 'bAsymPu'>>): Pick<GridNetwork, 'gPu' | 'gAsymPu' | 'bAsymPu'> {
  if (!branches.some((b) => (b.gPu ?? 0) !== 0 || (b.gAsymPu ?? 0) !== 0 || (b.bAsymPu ?? 0) !== 0)) return {};
  return {
    gPu: Float64Array.from(branches, (b) => b.gPu ?? 0),
    gAsymPu: Float64Array.from(branches, (b) => b.gAsymPu ?? 0),
    bAsymPu: Float64Array.from(branches, (b) => b.bAsymPu ?? 0),
  };
}

/** Builds the numeric network of a parsed MATPOWER case. */
export function networkFromCase(mpc: MatpowerCase): GridNetwork {
  const busIds = mpc.buses.map((b) => busId(b.number));
  const busIndex = new Map(busIds.map((id, i) => [id, i]));
  const index = (number: number): number => busIndex.get(busId(number))!;
  return {
    name: mpc.name,
    baseMva: mpc.baseMva,
    busIds,
    busType: Uint8Array.from(mpc.buses, (b) => b.type),
    pdMw: Float64Array.from(mpc.buses, (b) => b.pdMw),
    gsMw: Float64Array.from(mpc.buses, (b) => b.gsMw),
    vaDeg: Float64Array.from(mpc.buses, (b) => b.vaDeg),
    baseKv: Float64Array.from(mpc.buses, (b) => b.baseKv),
    qdMvar: Float64Array.from(mpc.buses, (b) => b.qdMvar),
    bsMvar: Float64Array.from(mpc.buses, (b) => b.bsMvar),
    vmPu: Float64Array.from(mpc.buses, (b) => b.vmPu),
    vmaxPu: Float64Array.from(mpc.buses, (b) => b.vmaxPu),
    vminPu: Float64Array.from(mpc.buses, (b) => b.vminPu),
    branchIds: mpc.branches.map((b, r) => b.id ?? branchId(r + 1)),
    from: Int32Array.from(mpc.branches, (b) => index(b.from)),
    to: Int32Array.from(mpc.branches, (b) => index(b.to)),
    xPu: Float64Array.from(mpc.branches, (b) => b.xPu),
    rPu: Float64Array.from(mpc.branches, (b) => b.rPu),
    bPu: Float64Array.from(mpc.branches, (b) => b.bPu),
    tap: Float64Array.from(mpc.branches, (b) => (b.tap === 0 ? 1 : b.tap)),
    shiftDeg: Float64Array.from(mpc.branches, (b) => b.shiftDeg),
    ...branchShunts(mpc.branches),
    rateAMw: Float64Array.from(mpc.branches, (b) => b.rateAMva),
    branchInService: Uint8Array.from(mpc.branches, (b) => (b.inService ? 1 : 0)),
    genIds: mpc.gens.map((g, r) => g.id ?? genId(r + 1)),
    genBus: Int32Array.from(mpc.gens, (g) => index(g.bus)),
    pgMw: Float64Array.from(mpc.gens, (g) => g.pgMw),
    qgMvar: Float64Array.from(mpc.gens, (g) => g.qgMvar),
    vgPu: Float64Array.from(mpc.gens, (g) => g.vgPu),
    genInService: Uint8Array.from(mpc.gens, (g) => (g.inService ? 1 : 0)),
    busIndex,
  };
}

/** Electrical fields of a power asset in the city model (`asset.electrical`). */
export type Electrical =
  | {
      readonly kind: 'bus';
      readonly busType: 1 | 2 | 3 | 4;
      readonly pdMw: number;
      readonly qdMvar: number;
      readonly gsMw: number;
      readonly bsMvar: number;
      readonly vaDeg: number;
      readonly vmPu: number;
      readonly baseKv: number;
      /** Voltage limits (pu), for the AC power flow's violations; absent: not checked. */
      readonly vmaxPu?: number | undefined;
      readonly vminPu?: number | undefined;
    }
  // A branch carries MATPOWER's branch fields, its ends named by bus id instead of number.
  | (Omit<MatpowerBranch, 'from' | 'to' | 'line' | 'id' | 'kind'> & { readonly kind: 'branch'; readonly from: string; readonly to: string })
  | {
      readonly kind: 'generator';
      readonly bus: string;
      readonly pgMw: number;
      readonly qgMvar: number;
      /** Voltage set point (pu) for the AC power flow; absent: the bus's vmPu. */
      readonly vgPu?: number | undefined;
      /** null: no limit. */
      readonly pmaxMw: number | null;
      readonly pminMw: number | null;
      readonly inService: boolean;
    };

/** What networkFromAssets needs of a city: its name, base MVA and its assets' electrical fields. */
export interface ElectricalCity {
  readonly name: string;
  readonly grid?: { readonly baseMva: number } | undefined;
  readonly assets: ReadonlyArray<{ readonly id: string; readonly electrical?: Electrical | undefined }>;
}

/** Builds the numeric network from a city's electrical assets (buses, branches, generators in asset order). */
export function networkFromCity(city: ElectricalCity): GridNetwork {
  const buses: Array<{ id: string; e: Extract<Electrical, { kind: 'bus' }> }> = [];
  const branches: Array<{ id: string; e: Extract<Electrical, { kind: 'branch' }> }> = [];
  const gens: Array<{ id: string; e: Extract<Electrical, { kind: 'generator' }> }> = [];
  for (const a of city.assets) {
    const e = a.electrical;
    if (e === undefined) continue;
    if (e.kind === 'bus') buses.push({ id: a.id, e });
    else if (e.kind === 'branch') branches.push({ id: a.id, e });
    else gens.push({ id: a.id, e });
  }
  if (buses.length === 0) throw new ValidationError(city.name, [{ path: '$.assets', reason: 'the city has no electrical buses (power assets with electrical.kind "bus"); import a MATPOWER case with `stratum import matpower`' }]);
  const busIndex = new Map(buses.map((b, i) => [b.id, i]));
  const problems = checkElectricalReferences(city.assets, new Set(busIndex.keys()));
  if (problems.length > 0) throw new ValidationError(city.name, problems);
  return {
    name: city.name,
    baseMva: city.grid?.baseMva ?? 100,
    busIds: buses.map((b) => b.id),
    busType: Uint8Array.from(buses, (b) => b.e.busType),
    pdMw: Float64Array.from(buses, (b) => b.e.pdMw),
    gsMw: Float64Array.from(buses, (b) => b.e.gsMw),
    vaDeg: Float64Array.from(buses, (b) => b.e.vaDeg),
    baseKv: Float64Array.from(buses, (b) => b.e.baseKv),
    qdMvar: Float64Array.from(buses, (b) => b.e.qdMvar),
    bsMvar: Float64Array.from(buses, (b) => b.e.bsMvar),
    vmPu: Float64Array.from(buses, (b) => b.e.vmPu),
    vmaxPu: Float64Array.from(buses, (b) => b.e.vmaxPu ?? Number.NaN),
    vminPu: Float64Array.from(buses, (b) => b.e.vminPu ?? Number.NaN),
    branchIds: branches.map((b) => b.id),
    from: Int32Array.from(branches, (b) => busIndex.get(b.e.from)!),
    to: Int32Array.from(branches, (b) => busIndex.get(b.e.to)!),
    xPu: Float64Array.from(branches, (b) => b.e.xPu),
    rPu: Float64Array.from(branches, (b) => b.e.rPu),
    bPu: Float64Array.from(branches, (b) => b.e.bPu),
    tap: Float64Array.from(branches, (b) => (b.e.tap === 0 ? 1 : b.e.tap)),
    shiftDeg: Float64Array.from(branches, (b) => b.e.shiftDeg),
    ...branchShunts(branches.map((b) => b.e)),
    rateAMw: Float64Array.from(branches, (b) => b.e.rateAMva),
    branchInService: Uint8Array.from(branches, (b) => (b.e.inService ? 1 : 0)),
    genIds: gens.map((g) => g.id),
    genBus: Int32Array.from(gens, (g) => busIndex.get(g.e.bus)!),
    pgMw: Float64Array.from(gens, (g) => g.e.pgMw),
    qgMvar: Float64Array.from(gens, (g) => g.e.qgMvar),
    vgPu: Float64Array.from(gens, (g) => g.e.vgPu ?? buses[busIndex.get(g.e.bus)!]!.e.vmPu),
    genInService: Uint8Array.from(gens, (g) => (g.e.inService ? 1 : 0)),
    busIndex,
  };
}

/**
 * Reference checks of electrical fields: a branch joins two distinct buses, a generator sits on a
 * bus. Paths are JSON paths into the city document.
 */
export function checkElectricalReferences(assets: ReadonlyArray<{ readonly id: string; readonly electrical?: Electrical | undefined }>, busIds?: ReadonlySet<string>): Problem[] {
  const buses = busIds ?? new Set(assets.filter((a) => a.electrical?.kind === 'bus').map((a) => a.id));
  const problems: Problem[] = [];
  assets.forEach((a, i) => {
    const e = a.electrical;
    if (e === undefined) return;
    const need = (ref: string, field: string): void => {
      if (!buses.has(ref)) problems.push({ path: `$.assets[${i}].electrical.${field}`, reason: `"${ref}" is not an asset with electrical.kind "bus"` });
    };
    if (e.kind === 'branch') {
      need(e.from, 'from');
      need(e.to, 'to');
      if (e.from === e.to) problems.push({ path: `$.assets[${i}].electrical`, reason: `branch joins bus "${e.from}" to itself` });
    } else if (e.kind === 'generator') need(e.bus, 'bus');
  });
  return problems;
}

/** True for bus types that take part in the network (all but MATPOWER's isolated type 4). */
export function busActive(net: GridNetwork, bus: number): boolean {
  return net.busType[bus] !== BusType.Isolated;
}
