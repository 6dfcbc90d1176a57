/**
 * The electrical power layer of a generated city (`generateCity({ grid: 'electrical' })`, the
 * default of `stratum generate`): the transmission and distribution substations become buses, the
 * generators sit on their first transmission substation's bus, and every line between two
 * substations becomes a branch asset (`pw-ln-N`) between them, so the live twin's DC flow, timed
 * trips and N-1 apply (README "DC flow in the live twin"). Feeders stay distribution assets without
 * electrical fields: a distribution bus's Pd is the base load of the feeders it feeds, and in the
 * live twin what their demand does beyond it (cohorts' heat demand, sheds, trips) lands there too.
 *
 * Parameters (100 MVA base): transmission buses 230 kV, distribution buses 115 kV; transmission
 * lines x = 0.001 pu/km (a 230 kV overhead line's order); substation ties 230/115 kV transformers,
 * x = 0.08 pu (a 150 MVA unit at 12 %) plus the 115 kV line behind them at 0.004 pu/km. Generation
 * is dispatched to the total load in proportion to each generator's size, with Pmax = Pg + L/(G−1)
 * so the others can always take up the largest unit. Ratings: RATE_A = the largest flow each branch
 * sees in the intact grid or after any single branch or generator outage (LODF screening) × 1.05,
 * rounded up to 10 MW — the intact city is N-1 secure by construction (tested) up to
 * MAX_SCREENED_BRANCHES branches; larger grids get 2 × the intact flow (the screening would take minutes).
 */
import { screenN1 } from '../power/contingency.ts';
import { dcPowerFlow } from '../power/dcpf.ts';
import { networkFromCity } from '../power/network.ts';
import type { CityDocument } from './generate.ts';

const TRANSMISSION_KV = 230;
const DISTRIBUTION_KV = 115;
const LINE_X_PU_PER_KM = 0.001;
const SUBTRANSMISSION_X_PU_PER_KM = 0.004;
const TRANSFORMER_X_PU = 0.08;
const RATING_MARGIN = 1.05;
/** Above this many branches (cities beyond ~400,000 assets) ratings are 2 × the intact flow, unscreened. */
export const MAX_SCREENED_BRANCHES = 20_000;

type GridAsset = CityDocument['assets'][number];
type GridDocument = Pick<CityDocument, 'assets' | 'links' | 'grid'>;

/** Branches the electrical layer will add for these links (so the generator can leave room for them). */
export function substationLinkCount(links: ReadonlyArray<{ from: string; to: string }>, substations: ReadonlySet<string>): number {
  let n = 0;
  for (const l of links) if (substations.has(l.from) && substations.has(l.to)) n++;
  return n;
}

/**
 * Turns the generated power layer electrical, in place: adds one branch asset per substation-to-
 * substation link (replacing the link by two terminal links) and the electrical fields. Returns the
 * number of branches added.
 */
export function electrifyPowerLayer(doc: GridDocument, parts: { gens: readonly GridAsset[]; txs: readonly GridAsset[]; dxs: readonly GridAsset[]; feeders: readonly GridAsset[] }): number {
  const tx = new Set(parts.txs.map((a) => a.id));
  const dx = new Set(parts.dxs.map((a) => a.id));
  const byId = new Map(doc.assets.map((a) => [a.id, a]));
  const bus = (a: GridAsset, kv: number): void => {
    a.electrical = { kind: 'bus', busType: 1, pdMw: 0, qdMvar: 0, gsMw: 0, bsMvar: 0, vaDeg: 0, vmPu: 1, baseKv: kv };
  };
  parts.txs.forEach((a) => bus(a, TRANSMISSION_KV));
  parts.dxs.forEach((a) => bus(a, DISTRIBUTION_KV));

  const links: GridDocument['links'] = [];
  const branches: GridAsset[] = [];
  for (const l of doc.links) {
    const isLine = tx.has(l.from) && tx.has(l.to);
    const isTie = (tx.has(l.from) && dx.has(l.to)) || (dx.has(l.from) && tx.has(l.to));
    if (!isLine && !isTie) {
      links.push(l);
      continue;
    }
    const a = byId.get(l.from)!;
    const b = byId.get(l.to)!;
    const km = Math.hypot(a.position.x - b.position.x, a.position.y - b.position.y) / 1000;
    const id = `pw-ln-${branches.length}`;
    const xPu = isLine ? Math.max(1e-4, km * LINE_X_PU_PER_KM) : TRANSFORMER_X_PU + km * SUBTRANSMISSION_X_PU_PER_KM;
    const x = Math.round((a.position.x + b.position.x) * 5) / 10;
    const y = Math.round((a.position.y + b.position.y) * 5) / 10;
    branches.push({
      id,
      layer: 'power',
      kind: isLine ? 'transmission-line' : 'transformer',
      position: { x, y, z: 0 },
      district: a.district,
      capacity: 0,
      baseLoad: 0,
      electrical: { kind: 'branch', from: l.from, to: l.to, rPu: Math.round(xPu * 1e5) / 1e6, xPu: Math.round(xPu * 1e6) / 1e6, bPu: 0, rateAMva: 0, rateBMva: 0, rateCMva: 0, tap: isLine ? 0 : 1, shiftDeg: 0, inService: true },
    });
    links.push({ from: l.from, to: id, kind: 'terminal' }, { from: id, to: l.to, kind: 'terminal' });
  }
  doc.links = links;

  // Generation dispatched to the feeders' total load in proportion to each generator's size.
  const totalLoad = parts.feeders.reduce((s, f) => s + f.baseLoad, 0);
  const totalSize = parts.gens.reduce((s, g) => s + g.baseLoad, 0);
  const reserve = totalLoad / Math.max(1, parts.gens.length - 1);
  parts.gens.forEach((g, i) => {
    const pg = Math.round(((totalLoad * g.baseLoad) / totalSize) * 1000) / 1000;
    const pmax = Math.ceil(pg + reserve);
    g.electrical = { kind: 'generator', bus: parts.txs[i % parts.txs.length]!.id, pgMw: pg, qgMvar: 0, pmaxMw: pmax, pminMw: 0, inService: true };
    // The asset's own load is its output in the live twin: its capacity is its Pmax.
    g.baseLoad = pg;
    g.capacity = pmax;
  });
  // The reference bus: the bus of the largest generator.
  const largest = parts.gens.reduce((best, g) => (g.baseLoad > best.baseLoad ? g : best));
  const refBus = byId.get((largest.electrical as { bus: string }).bus)!;
  (refBus.electrical as { busType: number }).busType = 3;
  // Pd of a distribution bus: the base loads of the feeders it feeds (each feeder hangs off one
  // substation by its feeder line). The live solver adds what the feeders' demand does beyond it.
  for (const l of links) {
    if (l.kind !== 'feeder-line' || !dx.has(l.from)) continue;
    (byId.get(l.from)!.electrical as { pdMw: number }).pdMw += byId.get(l.to)!.baseLoad;
  }
  for (const d of parts.dxs) {
    const e = d.electrical as { pdMw: number };
    e.pdMw = Math.round(e.pdMw * 1000) / 1000;
    // A bus's own load in the live twin is its Pd: its capacity (the substation's) keeps the
    // generator's 50 % margin over it, so an intact city starts within limits.
    d.baseLoad = e.pdMw;
    d.capacity = Math.round(e.pdMw * 1.5 * 1000) / 1000;
  }
  for (const t of parts.txs) t.baseLoad = 0;

  doc.assets.push(...branches);
  doc.grid = { baseMva: 100 };
  const net = networkFromCity({ name: 'generated', grid: doc.grid, assets: doc.assets });
  // The worst flow of each branch over the intact grid and every single outage (without keeping
  // every outage's flows: a 100,000-asset city has ~4,800 branches). Beyond MAX_SCREENED_BRANCHES
  // the screening would take minutes, so ratings are twice the intact flow instead (not N-1 proven).
  let worst: Float64Array;
  if (branches.length <= MAX_SCREENED_BRANCHES) {
    worst = new Float64Array(branches.length);
    const track = (flows: Float64Array): void => {
      for (let k = 0; k < worst.length; k++) worst[k] = Math.max(worst[k]!, Math.abs(flows[k]!));
    };
    track(screenN1(net, { onFlows: track }).base.flowMw);
  } else worst = Float64Array.from(dcPowerFlow(net).flowMw, (f) => 2 * Math.abs(f));
  branches.forEach((b, k) => {
    const rating = Math.max(10, Math.ceil((worst[k]! * RATING_MARGIN) / 10) * 10);
    (b.electrical as { rateAMva: number }).rateAMva = rating;
    b.capacity = rating;
  });
  return branches.length;
}
