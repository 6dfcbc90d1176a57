import { Rng } from '../rng.ts';
import { withEpanetNetwork } from '../water/city-network.ts';
import type { Electrical } from '../power/network.ts';
import { electrifyPowerLayer, substationLinkCount } from './generate-grid.ts';

/** The city document form (what a city file holds): the generator's output and the importer's input. */
export interface CityDocument {
  name: string;
  version: 1;
  assets: Array<{
    id: string;
    layer: string;
    kind: string;
    position: { x: number; y: number; z: number };
    district: string;
    capacity: number;
    baseLoad: number;
    source?: boolean;
    /** EPANET fields of a water asset (`water: 'epanet'`). */
    props?: Record<string, unknown>;
    electrical?: Electrical;
  }>;
  links: Array<{ from: string; to: string; kind: string }>;
  dependencies: Array<{ from: string; to: string; kind: string; strength: number; probability: number; latency: number }>;
  cohorts: Array<{
    id: string;
    district: string;
    population: number;
    elderlyShare: number;
    mobilityLimitedShare: number;
    riskAversion: number;
    compliance: number;
    reliesOn: string[];
    position: { x: number; y: number; z: number };
  }>;
  /** The water layer's EPANET network (`water: 'epanet'`). */
  epanet?: { inp: string; minSolveIntervalSeconds?: number };
  /** Present when the power layer is electrical (`grid: 'electrical'`). */
  grid?: { baseMva: number };
}

/**
 * How a generated city's water layer is solved in the live twin: `epanet` gives it an EPANET network
 * (`withEpanetNetwork`: elevations, daily demand patterns, pumps with district tanks, works feeding a
 * ring of trunk mains), `connectivity` keeps the graph rule (service = connected to a works).
 */
export type GeneratedWater = 'epanet' | 'connectivity';
export const GENERATED_WATER: readonly GeneratedWater[] = ['epanet', 'connectivity'];

export interface GenerateOptions {
  /** Total number of assets (cohorts come on top, two per district). At least 100. */
  readonly assets: number;
  readonly seed: number;
  readonly name?: string;
  /**
   * The water model (see GeneratedWater). The CLI's generated cities (`generate`, `simulate`, `start`,
   * `record run`) default to `epanet`; this function defaults to `connectivity`, the model every
   * generated-city test and bench figure written before EPANET was measured on.
   */
  readonly water?: GeneratedWater;
  /**
   * `electrical`: substations are buses, the lines between them branch assets, generators carry
   * their dispatch, ratings N-1 secure (generate-grid.ts; the default of `stratum generate`).
   * `connectivity` (default here): the power layer is a graph only, as before.
   */
  readonly grid?: 'electrical' | 'connectivity';
}

/** Metres between neighbouring road nodes; sets the city's scale. */
const BLOCK_METRES = 120;
/** Assets per district on average. */
const ASSETS_PER_DISTRICT = 400;

/**
 * Chance that losing the grid takes an asset down (its dependency's probability): the share of
 * outages its standby power does not ride through. Assumed figures, documented in engine/CONTEXT.md:
 * water works keep on-site generation (fails to start or runs dry 1 time in 4), about half of the
 * pumping stations have standby sets or portable connections, most towers have only batteries.
 */
export const POWER_BACKUP_FAILS = { treatmentPlant: 0.25, pumpingStation: 0.6, tower: 0.8 } as const;

/** Layer shares of the asset count. */
const SHARES = { power: 0.3, water: 0.16, telecom: 0.16, emergency: 0.015 } as const;

type Asset = CityDocument['assets'][number];

/**
 * Generates a synthetic city with the structure of a real one, from a seed alone (same seed, same
 * file). Power: generators → transmission substations (meshed) → distribution substations →
 * feeders (radial with ties). Water: treatment plants → pumping stations (ring) → mains; pumps need
 * power. Telecom: core routers → aggregation switches → towers (battery backup as dependency
 * latency); SCADA centres need telecom and power, and power and water equipment needs SCADA.
 * Transport: a road grid. Emergency: hospitals and fire stations need power, water, telecom and road
 * access. Each district has two cohorts relying on their local feeder, main, tower and hospital.
 *
 * Runs in linear time: children are placed around their parent instead of searching for the
 * nearest one, so a million assets take seconds.
 */
export function generateCity(options: GenerateOptions): CityDocument {
  const total = Math.floor(options.assets);
  if (!Number.isFinite(total) || total < 100) throw new RangeError(`--assets must be at least 100 (got ${options.assets})`);
  const rng = new Rng(options.seed);
  const side = Math.sqrt(total) * BLOCK_METRES * 0.75;
  const districtsPerSide = Math.max(1, Math.round(Math.sqrt(total / ASSETS_PER_DISTRICT)));
  const districtName = (x: number, y: number): string => {
    const dx = Math.min(districtsPerSide - 1, Math.max(0, Math.floor((x / side) * districtsPerSide)));
    const dy = Math.min(districtsPerSide - 1, Math.max(0, Math.floor((y / side) * districtsPerSide)));
    return `d${dy * districtsPerSide + dx}`;
  };
  const clamp = (v: number): number => Math.min(side, Math.max(0, v));
  const round = (v: number): number => Math.round(v * 10) / 10;

  const doc: CityDocument = { name: options.name ?? `synthetic-${total}-${options.seed}`, version: 1, assets: [], links: [], dependencies: [], cohorts: [] };
  const add = (id: string, layer: string, kind: string, x: number, y: number, baseLoad: number, margin: number, source = false): Asset => {
    const cx = clamp(x);
    const cy = clamp(y);
    const asset: Asset = {
      id,
      layer,
      kind,
      position: { x: round(cx), y: round(cy), z: 0 },
      district: districtName(cx, cy),
      capacity: round(baseLoad * (1 + margin) * 1000) / 1000,
      baseLoad: round(baseLoad * 1000) / 1000,
    };
    if (source) asset.source = true;
    doc.assets.push(asset);
    return asset;
  };
  const linked = new Set<string>();
  const link = (a: Asset, b: Asset, kind: string): void => {
    // Small cities reuse parents (i mod n), which may pick the same pair twice: keep one link.
    const key = a.id < b.id ? `${a.id} ${b.id}` : `${b.id} ${a.id}`;
    if (a === b || linked.has(key)) return;
    linked.add(key);
    doc.links.push({ from: a.id, to: b.id, kind });
  };
  const depend = (provider: Asset, dependent: Asset, kind: string, strength: number, latency: number, probability = 1): void => {
    doc.dependencies.push({ from: provider.id, to: dependent.id, kind, strength, probability, latency });
  };
  const near = (parent: Asset, spread: number): [number, number] => [parent.position.x + rng.normal() * spread, parent.position.y + rng.normal() * spread];
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)]!;
  const count = (share: number, min: number): number => Math.max(min, Math.round(total * share));

  // --- Transport: a road grid (no sources: a road works while in the giant component). ---
  const nPower = count(SHARES.power, 8);
  const nWater = count(SHARES.water, 6);
  const nTelecom = count(SHARES.telecom, 6);
  const nEmergency = count(SHARES.emergency, 2);
  const nRoad = Math.max(4, total - nPower - nWater - nTelecom - nEmergency);
  const roadCols = Math.max(2, Math.round(Math.sqrt(nRoad)));
  const roads: Asset[] = [];
  const roadStep = side / roadCols;
  for (let i = 0; i < nRoad; i++) {
    const col = i % roadCols;
    const row = Math.floor(i / roadCols);
    roads.push(add(`rd-${i}`, 'transport', 'road', (col + 0.5) * roadStep, (row + 0.5) * roadStep, 0, 0));
    if (col > 0) link(roads[i - 1]!, roads[i]!, 'road');
    if (row > 0) link(roads[i - roadCols]!, roads[i]!, 'road');
  }
  const roadNear = (x: number, y: number): Asset => {
    const col = Math.min(roadCols - 1, Math.max(0, Math.floor(x / roadStep)));
    const rows = Math.ceil(nRoad / roadCols);
    const row = Math.min(rows - 1, Math.max(0, Math.floor(y / roadStep)));
    return roads[Math.min(nRoad - 1, row * roadCols + col)]!;
  };

  // --- Power: generation → transmission → distribution → feeders. ---
  // Several generators and treatment plants: no single source carries the city (N-1 at the source).
  const nGen = Math.max(3, Math.round(nPower / 800));
  const nTx = Math.max(2, Math.round(nPower / 120));
  const nDx = Math.max(2, Math.round(nPower / 14));
  const electrical = options.grid === 'electrical';
  // The electrical layer adds a branch asset per line between substations; feeders make room for them.
  let nFeed = Math.max(2, nPower - nGen - nTx - nDx);
  const txs: Asset[] = [];
  for (let i = 0; i < nTx; i++) txs.push(add(`pw-tx-${i}`, 'power', 'transmission-substation', rng.range(0, side), rng.range(0, side), rng.range(150, 300), 0.6));
  // Mesh: each transmission substation links to its two nearest (brute force; there are few).
  for (let i = 0; i < nTx; i++) {
    const a = txs[i]!;
    // The two nearest later substations (strict '<' keeps the lowest index on ties).
    let first = -1;
    let second = -1;
    let d1 = Infinity;
    let d2 = Infinity;
    for (let j = i + 1; j < nTx; j++) {
      const b = txs[j]!;
      const d = (a.position.x - b.position.x) ** 2 + (a.position.y - b.position.y) ** 2;
      if (d < d1) {
        second = first;
        d2 = d1;
        first = j;
        d1 = d;
      } else if (d < d2) {
        second = j;
        d2 = d;
      }
    }
    if (first >= 0) link(a, txs[first]!, 'transmission-line');
    if (second >= 0) link(a, txs[second]!, 'transmission-line');
  }
  // A ring around the city through every transmission substation (in order of angle about the
  // centre): the mesh is then 2-connected, so no single substation or line splits the grid.
  const byAngle = txs.map((t, i) => ({ i, angle: Math.atan2(t.position.y - side / 2, t.position.x - side / 2) })).sort((p, q) => p.angle - q.angle || p.i - q.i);
  for (let k = 0; k < nTx; k++) link(txs[byAngle[k]!.i]!, txs[byAngle[(k + 1) % nTx]!.i]!, 'transmission-line');
  /** A second, different transmission substation for asset number i whose first is `first`. */
  const otherTx = (first: number, i: number): number => (first + 1 + ((i * 7 + 3) % (nTx - 1))) % nTx;
  const gens: Asset[] = [];
  for (let i = 0; i < nGen; i++) {
    const g = add(`pw-gen-${i}`, 'power', 'generator', rng.range(0, side), rng.range(0, side), rng.range(400, 900), 0.3, true);
    gens.push(g);
    link(g, txs[i % nTx]!, 'transmission-line');
    link(g, txs[otherTx(i % nTx, i)]!, 'transmission-line');
  }
  const dxs: Asset[] = [];
  for (let i = 0; i < nDx; i++) {
    const parent = txs[i % nTx]!;
    const [x, y] = near(parent, side / Math.sqrt(nTx) / 2);
    const d = add(`pw-dx-${i}`, 'power', 'distribution-substation', x, y, rng.range(15, 35), 0.5);
    dxs.push(d);
    link(parent, d, 'subtransmission-line');
    // Dual supply: every distribution substation hangs off two transmission substations (N-1).
    link(txs[otherTx(i % nTx, i)]!, d, 'subtransmission-line');
  }
  if (electrical) {
    const substations = new Set([...txs, ...dxs].map((a) => a.id));
    nFeed = Math.max(2, nFeed - substationLinkCount(doc.links, substations));
  }
  const feeders: Asset[] = [];
  for (let i = 0; i < nFeed; i++) {
    const parent = dxs[i % nDx]!;
    const [x, y] = near(parent, side / Math.sqrt(nDx) / 2);
    const f = add(`pw-fd-${i}`, 'power', 'feeder', x, y, rng.range(1.5, 5), 0.4);
    feeders.push(f);
    link(parent, f, 'feeder-line');
    // A tie to a feeder of the neighbouring distribution substation: losing a substation leaves its
    // feeders served through the ties (ties are modelled closed: connectivity, not switching).
    if (i > 0) link(feeders[i >= nDx ? i - nDx + 1 : i - 1]!, f, 'tie-switch');
  }

  // --- Telecom: core → aggregation → towers; SCADA centres. ---
  const nCore = Math.max(2, Math.round(nTelecom / 1500));
  const nScada = Math.max(1, Math.round(nTelecom / 1000));
  const nAgg = Math.max(2, Math.round(nTelecom / 40));
  const nTower = Math.max(2, nTelecom - nCore - nScada - nAgg);
  const cores: Asset[] = [];
  for (let i = 0; i < nCore; i++) {
    const c = add(`tc-core-${i}`, 'telecom', 'core-router', rng.range(0, side), rng.range(0, side), 40, 1, true);
    if (i > 0) link(cores[i - 1]!, c, 'fibre');
    cores.push(c);
    depend(pick(txs), c, 'power', 0.5, 0);
  }
  if (nCore > 2) link(cores[nCore - 1]!, cores[0]!, 'fibre');
  const aggs: Asset[] = [];
  for (let i = 0; i < nAgg; i++) {
    const parent = cores[i % nCore]!;
    const [x, y] = near(parent, side / 3);
    const a = add(`tc-agg-${i}`, 'telecom', 'aggregation-switch', x, y, 5, 1);
    aggs.push(a);
    link(parent, a, 'fibre');
    link(cores[(i + 1) % nCore]!, a, 'fibre');
  }
  const towers: Asset[] = [];
  for (let i = 0; i < nTower; i++) {
    const parent = aggs[i % nAgg]!;
    const [x, y] = near(parent, side / Math.sqrt(nAgg) / 2);
    const t = add(`tc-tw-${i}`, 'telecom', 'tower', x, y, 0.5, 1);
    towers.push(t);
    link(parent, t, 'backhaul');
    // Towers run on batteries for four hours before a power loss reaches them; some have a
    // generator or get a portable one in time.
    depend(feeders[i % nFeed]!, t, 'power', 1, 4 * 3600, POWER_BACKUP_FAILS.tower);
  }
  const scadas: Asset[] = [];
  for (let i = 0; i < nScada; i++) {
    const s = add(`tc-scada-${i}`, 'telecom', 'scada-centre', rng.range(0, side), rng.range(0, side), 2, 1);
    scadas.push(s);
    link(aggs[i % nAgg]!, s, 'fibre');
    link(aggs[(i + 3) % nAgg]!, s, 'fibre');
    depend(txs[i % nTx]!, s, 'power', 0.5, 0);
  }
  // Power and water control depends on SCADA over telecom (partial: manual operation remains).
  txs.forEach((t, i) => depend(scadas[i % nScada]!, t, 'scada', 0.3, 30, 0.8));
  dxs.forEach((d, i) => {
    if (i % 4 === 0) depend(scadas[i % nScada]!, d, 'scada', 0.3, 30, 0.8);
  });

  // --- Water: treatment → pumping (ring) → mains. Pumps need power. ---
  const nPlant = Math.max(2, Math.round(nWater / 600));
  const nPump = Math.max(2, Math.round(nWater / 18));
  const nMain = Math.max(2, nWater - nPlant - nPump);
  const plants: Asset[] = [];
  for (let i = 0; i < nPlant; i++) {
    const p = add(`wt-tp-${i}`, 'water', 'treatment-plant', rng.range(0, side), rng.range(0, side), 100, 0.4, true);
    plants.push(p);
    // On-site standby generation: a grid loss takes the works down only when it fails to start or
    // runs out (POWER_BACKUP_FAILS.treatmentPlant).
    depend(txs[(i + Math.floor(nTx / 2)) % nTx]!, p, 'power', 1, 0, POWER_BACKUP_FAILS.treatmentPlant); // a different substation per works
    depend(scadas[i % nScada]!, p, 'scada', 0.3, 30, 0.8);
  }
  const pumps: Asset[] = [];
  for (let i = 0; i < nPump; i++) {
    const parent = plants[i % nPlant]!;
    const [x, y] = near(parent, side / 3);
    const p = add(`wt-ps-${i}`, 'water', 'pumping-station', x, y, rng.range(3, 8), 0.5);
    pumps.push(p);
    if (i < nPlant) link(parent, p, 'trunk-main');
    if (i > 0) link(pumps[i - 1]!, p, 'trunk-main');
    depend(dxs[i % nDx]!, p, 'power', 1, 0, POWER_BACKUP_FAILS.pumpingStation);
  }
  if (nPump > 2) link(pumps[nPump - 1]!, pumps[0]!, 'trunk-main');
  const mains: Asset[] = [];
  for (let i = 0; i < nMain; i++) {
    const parent = pumps[i % nPump]!;
    const [x, y] = near(parent, side / Math.sqrt(nPump) / 2);
    const m = add(`wt-mn-${i}`, 'water', 'main', x, y, rng.range(0.2, 1), 0.6);
    mains.push(m);
    link(parent, m, 'main');
    if (i >= nPump && rng.chance(0.2)) link(mains[i - nPump]!, m, 'main');
  }

  // --- Emergency: hospitals and fire stations. ---
  const nHospital = Math.max(1, Math.round(nEmergency / 3));
  const hospitals: Asset[] = [];
  for (let i = 0; i < nEmergency; i++) {
    const isHospital = i < nHospital;
    const e = add(`em-${isHospital ? 'hosp' : 'fire'}-${i}`, 'emergency', isHospital ? 'hospital' : 'fire-station', rng.range(0, side), rng.range(0, side), isHospital ? 2 : 0.3, 1);
    if (isHospital) hospitals.push(e);
    // Hospitals have backup generators: losing the grid degrades them rather than closing them.
    depend(pick(feeders), e, 'power', isHospital ? 0.6 : 1, 0);
    depend(pick(mains), e, 'water', 0.5, 1800);
    depend(pick(towers), e, 'telecom', 0.4, 0);
    depend(roadNear(e.position.x, e.position.y), e, 'road-access', 0.7, 0);
  }
  // Signalised junctions need power (partial: the junction still works, slower).
  roads.forEach((r, i) => {
    if (i % 7 === 0) depend(feeders[i % nFeed]!, r, 'signals', 0.2, 0);
  });

  // --- Cohorts: two per district, relying on their local assets. ---
  const byDistrict = new Map<string, { feeders: Asset[]; mains: Asset[]; towers: Asset[] }>();
  const bucket = (a: Asset): { feeders: Asset[]; mains: Asset[]; towers: Asset[] } => {
    let b = byDistrict.get(a.district);
    if (b === undefined) {
      b = { feeders: [], mains: [], towers: [] };
      byDistrict.set(a.district, b);
    }
    return b;
  };
  feeders.forEach((f) => bucket(f).feeders.push(f));
  mains.forEach((m) => bucket(m).mains.push(m));
  towers.forEach((t) => bucket(t).towers.push(t));
  for (let d = 0; d < districtsPerSide * districtsPerSide; d++) {
    const district = `d${d}`;
    const local = byDistrict.get(district) ?? { feeders: [], mains: [], towers: [] };
    const cx = ((d % districtsPerSide) + 0.5) * (side / districtsPerSide);
    const cy = (Math.floor(d / districtsPerSide) + 0.5) * (side / districtsPerSide);
    const hospital = hospitals.reduce((best, h) => ((h.position.x - cx) ** 2 + (h.position.y - cy) ** 2 < (best.position.x - cx) ** 2 + (best.position.y - cy) ** 2 ? h : best));
    for (let k = 0; k < 2; k++) {
      const relies = [
        local.feeders.length > 0 ? pick(local.feeders) : pick(feeders),
        local.mains.length > 0 ? pick(local.mains) : pick(mains),
        local.towers.length > 0 ? pick(local.towers) : pick(towers),
        hospital,
      ];
      const elderly = k === 0 ? rng.range(0.08, 0.18) : rng.range(0.25, 0.45);
      doc.cohorts.push({
        id: `co-${district}-${k === 0 ? 'general' : 'senior'}`,
        district,
        population: Math.round(rng.range(1500, 6000) * (k === 0 ? 1 : 0.4)),
        elderlyShare: round(elderly * 1000) / 1000,
        mobilityLimitedShare: round(rng.range(0.02, 0.12) * 1000) / 1000,
        riskAversion: round(rng.range(0.3, 0.8) * 1000) / 1000,
        compliance: round(rng.range(0.5, 0.9) * 1000) / 1000,
        reliesOn: [...new Set(relies.map((a) => a.id))],
        position: { x: round(cx), y: round(cy), z: 0 },
      });
    }
  }
  if (electrical) electrifyPowerLayer(doc, { gens, txs, dxs, feeders });
  return options.water === 'epanet' ? withEpanetNetwork(doc, options.seed, doc.name) : doc;
}
