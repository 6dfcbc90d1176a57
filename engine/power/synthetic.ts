/**
 * Seeded synthetic transmission grids of any size, as MATPOWER cases: buses on a jittered lattice
 * (10 km spacing), a spanning comb (rows joined along the first column) meshed by 35 % of the other
 * vertical lattice edges, reactance 0.001 pu/km on a
 * 100 MVA base (a 230 kV line's order of magnitude), loads of 5–40 MW, generators on ~8 % of the
 * buses dispatched to the load, and RATE_A sized by N-1 screening so the intact grid is N-1 secure
 * (every rating ≥ 1.05 × the largest flow the branch sees after any single branch or generator
 * outage, rounded up to 10 MW). Used by the bench (the 10,000-bus grid) and by generated cities.
 */
import { Rng } from '../rng.ts';
import { screenN1 } from './contingency.ts';
import type { MatpowerBranch, MatpowerBus, MatpowerCase, MatpowerGen } from './matpower.ts';
import { networkFromCase } from './network.ts';

export interface SyntheticGridOptions {
  readonly buses: number;
  readonly seed: number;
  /** Size RATE_A for N-1 security (default true); false leaves every rating 0 (unlimited). */
  readonly secureRatings?: boolean;
}

const KM_SPACING = 10;
const X_PU_PER_KM = 0.001;

/**
 * @example
 * const mpc = syntheticGrid({ buses: 10_000, seed: 1 });
 * writeFileSync('grid.m', toMatpowerText(mpc));
 */
export function syntheticGrid(options: SyntheticGridOptions): MatpowerCase {
  const n = options.buses;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`a synthetic grid needs at least 2 buses (got ${n})`);
  const rng = new Rng(options.seed);
  const side = Math.ceil(Math.sqrt(n));
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = ((i % side) + rng.range(-0.3, 0.3)) * KM_SPACING;
    y[i] = (Math.floor(i / side) + rng.range(-0.3, 0.3)) * KM_SPACING;
  }
  const edges: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const right = i % side < side - 1 && i + 1 < n ? i + 1 : -1;
    const down = i + side < n ? i + side : -1;
    // A spanning comb (every row a path, rows joined along column 0), meshed by random verticals.
    if (right >= 0) edges.push([i, right]);
    if (down >= 0 && (i % side === 0 || rng.next() < 0.35)) edges.push([i, down]);
  }
  const pd = Float64Array.from({ length: n }, () => Math.round(rng.range(5, 40) * 10) / 10);
  const genBuses = [...new Set(Array.from({ length: Math.max(1, Math.round(n * 0.08)) }, () => rng.int(n)))].sort((a, b) => a - b);
  const weights = genBuses.map(() => rng.range(0.5, 2));
  const totalLoad = pd.reduce((s, v) => s + v, 0);
  const totalWeight = weights.reduce((s, v) => s + v, 0);
  const pg = weights.map((w) => Math.round(((totalLoad * w) / totalWeight) * 100) / 100);
  const largest = genBuses[weights.indexOf(Math.max(...weights))]!;
  const isGen = new Set(genBuses);
  const buses: MatpowerBus[] = Array.from({ length: n }, (_, i) => ({
    number: i + 1,
    type: i === largest ? 3 : isGen.has(i) ? 2 : 1,
    pdMw: pd[i]!,
    qdMvar: Math.round(pd[i]! * 3) / 10,
    gsMw: 0,
    bsMvar: 0,
    area: 1 + Math.floor(y[i]! / (KM_SPACING * 10)),
    vmPu: 1,
    vaDeg: 0,
    baseKv: 230,
    vmaxPu: 1.1,
    vminPu: 0.9,
    line: 0,
  }));
  const gens: MatpowerGen[] = genBuses.map((bus, g) => ({ bus: bus + 1, pgMw: pg[g]!, qgMvar: 0, vgPu: 1, inService: true, pmaxMw: Math.ceil(pg[g]! * 1.3), pminMw: 0, line: 0 }));
  let branches: MatpowerBranch[] = edges.map(([a, b]) => {
    const km = Math.hypot(x[a]! - x[b]!, y[a]! - y[b]!);
    return { from: a + 1, to: b + 1, rPu: Math.round(km * X_PU_PER_KM * 1e6 * 0.1) / 1e6, xPu: Math.round(km * X_PU_PER_KM * 1e6) / 1e6, bPu: 0, rateAMva: 0, rateBMva: 0, rateCMva: 0, tap: 0, shiftDeg: 0, inService: true, line: 0 };
  });
  const mpc: MatpowerCase = { name: `synthetic-${n}-seed${options.seed}`, baseMva: 100, buses, gens, branches };
  if (options.secureRatings === false) return mpc;
  const screening = screenN1(networkFromCase(mpc), { keepFlows: true });
  const worst = Float64Array.from(screening.base.flowMw, Math.abs);
  for (const flows of screening.flows!) for (let k = 0; k < worst.length; k++) worst[k] = Math.max(worst[k]!, Math.abs(flows[k]!));
  branches = branches.map((b, k) => ({ ...b, rateAMva: Math.max(10, Math.ceil((worst[k]! * 1.05) / 10) * 10) }));
  return { ...mpc, branches };
}

/** A MATPOWER case as `.m` text (version 2 columns; what parseMatpower reads back identically). */
export function toMatpowerText(mpc: MatpowerCase): string {
  const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? 'Inf' : '-Inf');
  const lines = [`function mpc = ${mpc.name.replace(/\W/g, '_')}`, "mpc.version = '2';", `mpc.baseMVA = ${mpc.baseMva};`, '', '%\tbus_i\ttype\tPd\tQd\tGs\tBs\tarea\tVm\tVa\tbaseKV\tzone\tVmax\tVmin', 'mpc.bus = ['];
  for (const b of mpc.buses) lines.push(`\t${[b.number, b.type, b.pdMw, b.qdMvar, b.gsMw, b.bsMvar, b.area, b.vmPu, b.vaDeg, b.baseKv, 1, b.vmaxPu, b.vminPu].map(num).join('\t')};`);
  lines.push('];', '', '%\tbus\tPg\tQg\tQmax\tQmin\tVg\tmBase\tstatus\tPmax\tPmin', 'mpc.gen = [');
  for (const g of mpc.gens) lines.push(`\t${[g.bus, g.pgMw, g.qgMvar, 9999, -9999, g.vgPu, mpc.baseMva, g.inService ? 1 : 0, g.pmaxMw, g.pminMw].map(num).join('\t')};`);
  lines.push('];', '', '%\tfbus\ttbus\tr\tx\tb\trateA\trateB\trateC\tratio\tangle\tstatus\tangmin\tangmax', 'mpc.branch = [');
  for (const br of mpc.branches) lines.push(`\t${[br.from, br.to, br.rPu, br.xPu, br.bPu, br.rateAMva, br.rateBMva, br.rateCMva, br.tap, br.shiftDeg, br.inService ? 1 : 0, -360, 360].map(num).join('\t')};`);
  lines.push('];', '');
  return lines.join('\n');
}
