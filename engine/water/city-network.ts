/**
 * An EPANET network for a city's existing water layer (a generated city's, or any city file with
 * positions): its treatment works, pumping stations and mains become reservoirs, pumps and demand
 * junctions with the same ids, its water links become pipes, and each pumping station gets an
 * elevated tank on its discharge side. The result is the city document with `epanet.inp` and the
 * EPANET props on the water assets, so the live twin solves that water layer hydraulically.
 *
 * Rules (documented in the README, "Water: EPANET hydraulics"):
 * - ground elevation: rolling terrain from the seed, 30–60 m;
 * - `treatment-plant` / `reservoir` → reservoir, head = ground + 25 m (the works' delivery head);
 * - `pumping-station` → pump (same id) from a suction junction `<id>~in` to a discharge junction
 *   `<id>~out`; links of kind `trunk-main` attach on the suction side (the transmission ring), all
 *   other links on the discharge side (the station's district); a tank `<id>~tank` (bottom 30 m above
 *   the highest ground it serves, 6 m deep, a quarter of a day's demand of its district) floats on
 *   the discharge side on a riser `<id>~riser`; pump designed for the district's peak + 20 % against
 *   the tank top + 8 m;
 * - every other water asset → junction with demand `baseLoad × 1 L/s` on a residential (4 in 5) or
 *   commercial daily pattern;
 * - pipes: `trunk-main` 1,000 mm, `main` 200 mm, others 150 mm, Hazen–Williams C 120/130;
 * - a pumping station with no `power` provider gets one: the nearest substation or electrical bus by
 *   position, else the nearest power asset (`kind: 'power'`, hard).
 */
import { ValidationError, type Problem } from '../errors.ts';
import { Rng } from '../rng.ts';
import { COMMERCIAL, RESIDENTIAL, normalised, round, writeInp, type GeneratedWaterNetwork } from './generate-network.ts';

interface DocAsset {
  id: string;
  layer: string;
  kind?: string;
  position?: { x: number; y: number; z?: number } | [number, number] | [number, number, number];
  baseLoad?: number;
  props?: Record<string, unknown>;
}
interface DocLink {
  from: string;
  to: string;
  kind?: string;
}
interface DocDependency {
  from: string;
  to: string;
  kind?: string;
  strength?: number;
  probability?: number;
  latency?: number;
}
export interface CityDocumentLike {
  name?: string;
  assets: DocAsset[];
  links?: DocLink[];
  dependencies?: DocDependency[];
  epanet?: { inp: string; minSolveIntervalSeconds?: number };
}

const TANK_DEPTH_M = 6;
/** Above this many junctions a generated network asks the live solver to coalesce changes over LARGE_NETWORK_SOLVE_INTERVAL_S. */
export const LARGE_NETWORK_JUNCTIONS = 5000;
export const LARGE_NETWORK_SOLVE_INTERVAL_S = 60;
/** Head of the works' delivery grade above the highest pumping station's ground (its suction head before the feeder's loss). */
const SUCTION_HEAD_M = 15;
/** Head a station's feeder main may lose at the station's design flow. */
const FEEDER_HEADLOSS_M = 8;
/** Pipe sizes a utility stocks (m). */
const STOCK_DIAMETERS_M = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0, 1.2, 1.5];

/** The smallest stock pipe losing at most FEEDER_HEADLOSS_M over `lengthM` at `flowM3s` (Hazen–Williams, C 120). */
function feederDiameter(flowM3s: number, lengthM: number): number {
  // h = 10.67 L Q^1.852 / (C^1.852 D^4.87), solved for D.
  const needed = ((10.67 * lengthM * flowM3s ** 1.852) / (120 ** 1.852 * FEEDER_HEADLOSS_M)) ** (1 / 4.87);
  return STOCK_DIAMETERS_M.find((d) => d >= needed) ?? STOCK_DIAMETERS_M[STOCK_DIAMETERS_M.length - 1]!;
}

function xy(asset: DocAsset): { x: number; y: number } | null {
  const p = asset.position;
  if (p === undefined) return null;
  return Array.isArray(p) ? { x: p[0], y: p[1] } : { x: p.x, y: p.y };
}

/**
 * The document with an EPANET network for its water layer (see the rules above). Same document and
 * seed ⇒ same network.
 * @throws ValidationError when the water layer has no asset, a water asset has no position, or no
 *   treatment works or reservoir feeds it.
 * @example
 * const city = parseCity(withEpanetNetwork(generateCity({ assets: 5000, seed: 1 }), 1), 'city');
 */
export function withEpanetNetwork<D extends CityDocumentLike>(document: D, seed: number, source = 'city'): D & { epanet: { inp: string } } {
  const problems: Problem[] = [];
  const water = document.assets.map((a, i) => ({ a, i })).filter(({ a }) => a.layer === 'water');
  if (water.length === 0) problems.push({ path: '$.assets', reason: 'the city has no water assets' });
  for (const { a, i } of water) if (xy(a) === null) problems.push({ path: `$.assets[${i}].position`, reason: `water asset "${a.id}" needs a position for its elevation and pipe lengths` });
  if (!water.some(({ a }) => a.kind === 'treatment-plant' || a.kind === 'reservoir')) problems.push({ path: '$.assets', reason: 'no treatment-plant or reservoir feeds the water layer' });
  if (problems.length > 0) throw new ValidationError(source, problems);

  const rng = new Rng(seed ^ 0x3e7a11);
  // Loops, not Math.min(...array): a million-asset city has 160,000 water assets (too many arguments).
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const { a } of water) {
    const p = xy(a)!;
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  const phase = [rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)];
  const ground = (p: { x: number; y: number }): number =>
    round(45 + 10 * Math.sin((2 * Math.PI * (p.x - minX)) / Math.max(1, (maxX - minX) * 1.3) + phase[0]!) + 5 * Math.cos((2 * Math.PI * (p.y - minY)) / Math.max(1, (maxY - minY) * 1.7) + phase[1]!), 2);

  const kindOf = (a: DocAsset): 'reservoir' | 'pump' | 'junction' =>
    a.kind === 'treatment-plant' || a.kind === 'reservoir' ? 'reservoir' : a.kind === 'pumping-station' ? 'pump' : 'junction';
  const byId = new Map(water.map(({ a }) => [a.id, a]));
  const network: GeneratedWaterNetwork = {
    title: `Water network of ${document.name ?? source} (Stratum rules, seed ${seed})`,
    junctions: [],
    reservoirs: [],
    tanks: [],
    pipes: [],
    pumps: [],
    curves: [],
    patterns: [
      { id: 'RES', multipliers: normalised(RESIDENTIAL) },
      { id: 'COM', multipliers: normalised(COMMERCIAL) },
    ],
    controls: [],
    durationS: 24 * 3600,
  };
  const props = new Map<string, Record<string, unknown>>();
  // Every works delivers at one hydraulic grade: works joined by the ring at different heads would
  // pour water from one clear well into another. The grade is SUCTION_HEAD_M above the highest
  // pumping station, so no station's suction falls below atmospheric pressure; every district tank
  // sits above that grade (below), so each station's pump always lifts.
  let supplyHead = Number.NEGATIVE_INFINITY;
  for (const { a } of water) if (kindOf(a) === 'pump') supplyHead = Math.max(supplyHead, ground(xy(a)!) + SUCTION_HEAD_M);
  if (!Number.isFinite(supplyHead)) for (const { a } of water) if (kindOf(a) === 'reservoir') supplyHead = Math.max(supplyHead, ground(xy(a)!) + SUCTION_HEAD_M);
  supplyHead = round(supplyHead, 2);
  for (const { a } of water) {
    const p = xy(a)!;
    const elevation = ground(p);
    const kind = kindOf(a);
    if (kind === 'reservoir') {
      network.reservoirs.push({ id: a.id, x: p.x, y: p.y, headM: supplyHead });
      props.set(a.id, { epanetId: a.id, epanetType: 'reservoir', headM: supplyHead });
    } else if (kind === 'pump') {
      network.junctions.push({ id: `${a.id}~in`, x: p.x - 5, y: p.y, elevationM: elevation, demandM3s: 0, pattern: 'RES' });
      network.junctions.push({ id: `${a.id}~out`, x: p.x + 5, y: p.y, elevationM: elevation, demandM3s: 0, pattern: 'RES' });
      network.pumps.push({ id: a.id, from: `${a.id}~in`, to: `${a.id}~out`, curve: `${a.id}~curve` });
      props.set(a.id, { epanetId: a.id, epanetType: 'pump', fromNode: `${a.id}~in`, toNode: `${a.id}~out`, headCurve: `${a.id}~curve` });
    } else {
      const demand = round(Math.max(0, a.baseLoad ?? 0.5) * 1e-3, 7);
      const pattern = rng.chance(0.2) ? 'COM' : 'RES';
      network.junctions.push({ id: a.id, x: p.x, y: p.y, elevationM: elevation, demandM3s: demand, pattern });
      props.set(a.id, { epanetId: a.id, epanetType: 'junction', elevationM: elevation, baseDemandM3s: demand, demands: [{ m3s: demand, pattern }] });
    }
  }

  // Pipes from the water layer's links; stations take trunk mains on the suction side.
  const district = new Map<string, string[]>();
  const endOf = (id: string, linkKind: string, other: string): string => {
    const a = byId.get(id)!;
    if (kindOf(a) !== 'pump') return id;
    if (linkKind === 'trunk-main') return `${id}~in`;
    const list = district.get(id) ?? [];
    list.push(other);
    district.set(id, list);
    return `${id}~out`;
  };
  (document.links ?? []).forEach((l) => {
    const from = byId.get(l.from);
    const to = byId.get(l.to);
    if (from === undefined || to === undefined) return;
    const kind = l.kind ?? 'main';
    const a = endOf(l.from, kind, l.to);
    const b = endOf(l.to, kind, l.from);
    const pa = xy(from)!;
    const pb = xy(to)!;
    network.pipes.push({
      id: `${l.from}~${l.to}`,
      from: a,
      to: b,
      lengthM: round(Math.max(10, Math.hypot(pa.x - pb.x, pa.y - pb.y)), 2),
      diameterM: kind === 'trunk-main' ? 1 : kind === 'main' ? 0.2 : 0.15,
      roughness: kind === 'trunk-main' ? 120 : 130,
      kind: kind === 'trunk-main' ? 'trunk-main' : 'distribution',
    });
  });

  // Each station: a feeder main from the nearest works, a tank on its discharge side and a pump sized for its district.
  const peak = Math.max(...normalised(RESIDENTIAL), ...normalised(COMMERCIAL));
  const works = water.filter(({ a }) => kindOf(a) === 'reservoir').map(({ a }) => ({ id: a.id, ...xy(a)! }));
  for (const { a } of water) {
    if (kindOf(a) !== 'pump') continue;
    const p = xy(a)!;
    const served = (district.get(a.id) ?? []).map((id) => byId.get(id)!).filter((m) => kindOf(m) === 'junction');
    const demand = served.reduce((sum, m) => sum + Math.max(0, m.baseLoad ?? 0.5) * 1e-3, 0);
    let highest = ground(p);
    for (const m of served) highest = Math.max(highest, ground(xy(m)!));
    const bottom = round(Math.max(highest + 30, supplyHead + 5), 2);
    const diameter = round(Math.max(4, Math.sqrt((4 * 0.25 * Math.max(demand, 1e-4) * 86_400) / (Math.PI * TANK_DEPTH_M))), 2);
    const designFlow = Math.max(demand * peak * 1.2, 1e-3);
    // The ring alone cannot carry a large city's water (the generated ring zigzags through every
    // station); a feeder main from the nearest works, sized by Hazen–Williams to lose at most
    // FEEDER_HEADLOSS_M at the design flow, brings each station its district's water.
    let nearest = works[0]!;
    let best = Number.POSITIVE_INFINITY;
    for (const w of works) {
      const d = Math.hypot(w.x - p.x, w.y - p.y);
      if (d < best) {
        best = d;
        nearest = w;
      }
    }
    const feederLength = round(Math.max(10, best), 2);
    network.pipes.push({ id: `${a.id}~feed`, from: nearest.id, to: `${a.id}~in`, lengthM: feederLength, diameterM: feederDiameter(designFlow, feederLength), roughness: 120, kind: 'trunk-main' });
    network.tanks.push({ id: `${a.id}~tank`, x: p.x + 20, y: p.y + 20, elevationM: bottom, initLevelM: 4, minLevelM: 0.5, maxLevelM: TANK_DEPTH_M, diameterM: diameter });
    network.pipes.push({ id: `${a.id}~riser`, from: `${a.id}~out`, to: `${a.id}~tank`, lengthM: 30, diameterM: 0.3, roughness: 120, kind: 'riser' });
    network.curves.push({ id: `${a.id}~curve`, flowM3s: round(designFlow, 6), headM: round(Math.max(10, bottom + TANK_DEPTH_M + 8 - (supplyHead - FEEDER_HEADLOSS_M)), 2) });
    network.controls.push(`LINK ${a.id} CLOSED IF NODE ${a.id}~tank ABOVE ${TANK_DEPTH_M - 0.5}`, `LINK ${a.id} OPEN IF NODE ${a.id}~tank BELOW 2`);
  }

  // A station without a power provider depends on the nearest power asset.
  const dependencies = [...(document.dependencies ?? [])];
  // A pump is fed from a substation or an electrical bus when the city has any (a MATPOWER case's
  // buses, a generated or imported grid's substations); else from the nearest power asset at all.
  const placed = document.assets.filter((a) => a.layer === 'power' && xy(a) !== null);
  const feeding = placed.filter((a) => /substation|^bus$/.test(a.kind ?? ''));
  const power = feeding.length > 0 ? feeding : placed;
  const layerOf = new Map(document.assets.map((a) => [a.id, a.layer]));
  const powered = new Set(dependencies.filter((d) => layerOf.get(d.from) === 'power').map((d) => d.to));
  for (const { a } of water) {
    if (kindOf(a) !== 'pump' || power.length === 0) continue;
    if (powered.has(a.id)) continue;
    const p = xy(a)!;
    let nearest = power[0]!;
    let best = Number.POSITIVE_INFINITY;
    for (const candidate of power) {
      const q = xy(candidate)!;
      const d = Math.hypot(q.x - p.x, q.y - p.y);
      if (d < best) {
        best = d;
        nearest = candidate;
      }
    }
    dependencies.push({ from: nearest.id, to: a.id, kind: 'power', strength: 1, probability: 1, latency: 0 });
  }

  const assets = document.assets.map((a) => (props.has(a.id) ? { ...a, props: { ...(a.props ?? {}), ...props.get(a.id) } } : a));
  // A large network's snapshot takes a tenth of a second or more: a burst of changes is solved together (README).
  const interval = network.junctions.length > LARGE_NETWORK_JUNCTIONS ? { minSolveIntervalSeconds: LARGE_NETWORK_SOLVE_INTERVAL_S } : {};
  return { ...document, assets, dependencies, epanet: { ...interval, ...(document.epanet ?? {}), inp: writeInp(network) } };
}
