/**
 * Synthetic EPANET networks for generated cities and benchmarks, deterministic from a seed: a town's
 * distribution grid on rolling terrain, a ring of trunk mains round it with cross mains through the
 * middle, treatment works (reservoirs: the clear well) lifting water in through high-lift pumps,
 * elevated tanks floating on the system, and junction demands following residential or commercial
 * daily patterns. The sizing rules (below) keep pressures in a utility's usual 20–70 m band over a
 * day; the test checks that EPANET finds it so.
 */
import { Rng } from '../rng.ts';

export interface WaterNetworkOptions {
  /** Number of demand junctions (the grid); at least 4. */
  readonly junctions: number;
  readonly seed: number;
  /** Metres between neighbouring junctions (a block). */
  readonly spacingM?: number;
  /** Offset of the grid's corner in the city frame (metres). */
  readonly originM?: { readonly x: number; readonly y: number };
}

export interface GeneratedWaterNetwork {
  readonly title: string;
  readonly junctions: { id: string; x: number; y: number; elevationM: number; demandM3s: number; pattern: string }[];
  readonly reservoirs: { id: string; x: number; y: number; headM: number }[];
  readonly tanks: { id: string; x: number; y: number; elevationM: number; initLevelM: number; minLevelM: number; maxLevelM: number; diameterM: number }[];
  readonly pipes: { id: string; from: string; to: string; lengthM: number; diameterM: number; roughness: number; kind: 'trunk-main' | 'cross-main' | 'distribution' | 'riser' }[];
  readonly pumps: { id: string; from: string; to: string; curve: string }[];
  readonly curves: { id: string; flowM3s: number; headM: number }[];
  readonly patterns: { id: string; multipliers: number[] }[];
  /** EPANET simple controls, as `[CONTROLS]` lines. */
  readonly controls: string[];
  readonly durationS: number;
}

/** Hourly demand multipliers (mean 1): a residential day with morning and evening peaks, a commercial working day. */
export const RESIDENTIAL = [0.5, 0.45, 0.4, 0.4, 0.45, 0.6, 0.95, 1.45, 1.55, 1.3, 1.1, 1.05, 1.05, 1.0, 0.95, 0.95, 1.05, 1.25, 1.5, 1.55, 1.35, 1.1, 0.8, 0.6];
export const COMMERCIAL = [0.3, 0.3, 0.3, 0.3, 0.3, 0.4, 0.7, 1.2, 1.6, 1.7, 1.7, 1.6, 1.5, 1.6, 1.7, 1.7, 1.6, 1.3, 0.9, 0.6, 0.5, 0.4, 0.35, 0.3];

export function normalised(values: readonly number[]): number[] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.map((v) => Math.round((v / mean) * 1e4) / 1e4);
}

/** Storage in tanks as a share of a day's demand (AWWA practice: a quarter to a third). */
const STORAGE_SHARE_OF_DAILY_DEMAND = 0.25;
/** Tank bottom above the highest ground (sets the pressure at the highest junction). */
const TANK_BOTTOM_ABOVE_HIGHEST_GROUND_M = 32;
const TANK_DEPTH_M = 8;

/**
 * Generates a network (same options ⇒ identical network).
 * @example
 * const inp = writeInp(generateWaterNetwork({ junctions: 3000, seed: 7 }));
 */
export function generateWaterNetwork(options: WaterNetworkOptions): GeneratedWaterNetwork {
  const n = Math.max(4, Math.floor(options.junctions));
  const rng = new Rng(options.seed ^ 0x5a7e2);
  const spacing = options.spacingM ?? 120;
  const ox = options.originM?.x ?? 0;
  const oy = options.originM?.y ?? 0;
  const cols = Math.ceil(Math.sqrt(n));
  const fullRows = Math.floor(n / cols);
  const rows = Math.ceil(n / cols);
  const width = (cols - 1) * spacing;
  const height = (rows - 1) * spacing;

  // Rolling terrain: two long waves and a little noise, 29–61 m above datum.
  const phase = [rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)];
  const ground = (x: number, y: number): number =>
    45 + 10 * Math.sin((2 * Math.PI * (x - ox)) / Math.max(width * 1.3, 1) + phase[0]!) + 6 * Math.cos((2 * Math.PI * (y - oy)) / Math.max(height * 1.7, 1) + phase[1]!);

  const junctions: GeneratedWaterNetwork['junctions'] = [];
  const idAt = (r: number, c: number): string => `J${r * cols + c}`;
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols);
    const c = k % cols;
    const x = ox + c * spacing + rng.range(-0.2, 0.2) * spacing;
    const y = oy + r * spacing + rng.range(-0.2, 0.2) * spacing;
    const commercial = rng.chance(0.25);
    junctions.push({
      id: idAt(r, c),
      x: round(x, 2),
      y: round(y, 2),
      elevationM: round(ground(x, y) + rng.range(-1, 1), 2),
      // 0.15–0.35 L/s average per junction (a block of 30–70 households); commercial blocks a little more.
      demandM3s: round(rng.range(0.15, 0.35) * (commercial ? 1.3 : 1) * 1e-3, 7),
      pattern: commercial ? 'COM' : 'RES',
    });
  }
  const at = (r: number, c: number): (typeof junctions)[number] | undefined => (r * cols + c < n && c < cols ? junctions[r * cols + c] : undefined);

  const pipes: GeneratedWaterNetwork['pipes'] = [];
  const lastFull = Math.max(0, fullRows - 1);
  const midRow = Math.floor(lastFull / 2);
  const midCol = Math.floor((cols - 1) / 2);
  const pipe = (a: (typeof junctions)[number], b: (typeof junctions)[number], kind: GeneratedWaterNetwork['pipes'][number]['kind']): void => {
    const diameter = kind === 'trunk-main' ? 0.5 : kind === 'cross-main' ? 0.35 : rng.chance(0.3) ? 0.2 : 0.15;
    pipes.push({ id: `P${pipes.length}`, from: a.id, to: b.id, lengthM: round(Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)), 2), diameterM: diameter, roughness: kind === 'distribution' ? 130 : 120, kind });
  };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const here = at(r, c);
      if (here === undefined) continue;
      const right = at(r, c + 1);
      const onRingRow = r === 0 || r === lastFull;
      const onRingCol = c === 0 || c === cols - 1;
      if (right !== undefined) pipe(here, right, onRingRow && r <= lastFull ? 'trunk-main' : r === midRow ? 'cross-main' : 'distribution');
      const below = at(r + 1, c);
      if (below === undefined) continue;
      // Vertical pipes: always on the ring, the cross main, and into a partial last row; else 70 % (loops, not a full grid).
      const ringEdge = onRingCol && r + 1 <= lastFull;
      if (ringEdge) pipe(here, below, 'trunk-main');
      else if (c === midCol && r + 1 <= lastFull) pipe(here, below, 'cross-main');
      else if (r + 1 > lastFull || c % 4 === 0 || rng.chance(0.7)) pipe(here, below, 'distribution');
    }
  }

  // Demand and storage.
  const averageDemand = junctions.reduce((s, j) => s + j.demandM3s, 0);
  const highest = junctions.reduce((m, j) => Math.max(m, j.elevationM), Number.NEGATIVE_INFINITY);
  const lowest = junctions.reduce((m, j) => Math.min(m, j.elevationM), Number.POSITIVE_INFINITY);
  const tankBottom = round(highest + TANK_BOTTOM_ABOVE_HIGHEST_GROUND_M, 2);

  // Elevated tanks spread over the town, each on a short riser from a grid junction.
  const nTanks = Math.max(1, Math.round(n / 750));
  const storage = (STORAGE_SHARE_OF_DAILY_DEMAND * averageDemand * 86_400) / nTanks;
  const tankDiameter = round(Math.sqrt((4 * storage) / (Math.PI * TANK_DEPTH_M)), 2);
  const tanks: GeneratedWaterNetwork['tanks'] = [];
  for (let i = 0; i < nTanks; i++) {
    const angle = (2 * Math.PI * (i + 0.5)) / nTanks;
    const r = Math.min(lastFull, Math.max(0, Math.round(midRow + Math.sin(angle) * fullRows * 0.3)));
    const c = Math.min(cols - 1, Math.max(0, Math.round(midCol + Math.cos(angle) * cols * 0.3)));
    const base = at(r, c)!;
    const tank = { id: `T${i}`, x: round(base.x + spacing * 0.3, 2), y: round(base.y + spacing * 0.3, 2), elevationM: tankBottom, initLevelM: 5, minLevelM: 0.5, maxLevelM: TANK_DEPTH_M, diameterM: tankDiameter };
    tanks.push(tank);
    pipes.push({ id: `TR${i}`, from: base.id, to: tank.id, lengthM: round(spacing * 0.45, 2), diameterM: 0.4, roughness: 120, kind: 'riser' });
  }

  // Treatment works on the ring: a clear well (reservoir) and a high-lift pump into the trunk main.
  const nPlants = Math.max(1, Math.round(n / 1500));
  const ring: (typeof junctions)[number][] = [];
  for (let c = 0; c < cols; c++) ring.push(at(0, c)!);
  for (let r = 1; r <= lastFull; r++) ring.push(at(r, cols - 1)!);
  for (let c = cols - 2; c >= 0 && lastFull > 0; c--) ring.push(at(lastFull, c)!);
  for (let r = lastFull - 1; r > 0; r--) ring.push(at(r, 0)!);
  const reservoirs: GeneratedWaterNetwork['reservoirs'] = [];
  const pumps: GeneratedWaterNetwork['pumps'] = [];
  const curves: GeneratedWaterNetwork['curves'] = [];
  const controls: string[] = [];
  const peakDemand = averageDemand * Math.max(...normalised(RESIDENTIAL), ...normalised(COMMERCIAL));
  for (let i = 0; i < nPlants; i++) {
    const onRing = ring[Math.floor((i * ring.length) / nPlants)]!;
    const head = round(lowest - 5, 2);
    const reservoir = { id: `R${i}`, x: round(onRing.x - spacing, 2), y: round(onRing.y - spacing, 2), headM: head };
    reservoirs.push(reservoir);
    // Design point: its share of the peak day plus a tenth, against the tanks' top water level and 12 m of friction.
    const designFlow = round((peakDemand * 1.1) / nPlants, 5);
    const designHead = round(tankBottom + TANK_DEPTH_M + 12 - head, 2);
    curves.push({ id: `C${i}`, flowM3s: designFlow, headM: designHead });
    pumps.push({ id: `PU${i}`, from: reservoir.id, to: onRing.id, curve: `C${i}` });
    // Level control on the tank nearest in the list: stop when it is nearly full, start when it is low.
    const tank = tanks[i % nTanks]!;
    controls.push(`LINK PU${i} CLOSED IF NODE ${tank.id} ABOVE ${TANK_DEPTH_M - 0.5}`, `LINK PU${i} OPEN IF NODE ${tank.id} BELOW 3`);
  }

  return {
    title: `Stratum generated water network: ${n} junctions, seed ${options.seed}`,
    junctions,
    reservoirs,
    tanks,
    pipes,
    pumps,
    curves,
    patterns: [
      { id: 'RES', multipliers: normalised(RESIDENTIAL) },
      { id: 'COM', multipliers: normalised(COMMERCIAL) },
    ],
    controls,
    durationS: 24 * 3600,
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function clock(seconds: number): string {
  return `${Math.floor(seconds / 3600)}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}`;
}

/** Writes a generated network as an EPANET 2.2 `.inp` (SI: LPS, metres, millimetres; Hazen–Williams). */
export function writeInp(network: GeneratedWaterNetwork): string {
  const out: string[] = ['[TITLE]', network.title, '', '[JUNCTIONS]', ';ID Elev Demand Pattern'];
  for (const j of network.junctions) out.push(`${j.id} ${j.elevationM} ${round(j.demandM3s * 1000, 4)} ${j.pattern}`);
  out.push('', '[RESERVOIRS]', ';ID Head');
  for (const r of network.reservoirs) out.push(`${r.id} ${r.headM}`);
  out.push('', '[TANKS]', ';ID Elevation InitLevel MinLevel MaxLevel Diameter MinVol');
  for (const t of network.tanks) out.push(`${t.id} ${t.elevationM} ${t.initLevelM} ${t.minLevelM} ${t.maxLevelM} ${t.diameterM} 0`);
  out.push('', '[PIPES]', ';ID Node1 Node2 Length Diameter Roughness MinorLoss Status');
  for (const p of network.pipes) out.push(`${p.id} ${p.from} ${p.to} ${p.lengthM} ${round(p.diameterM * 1000, 1)} ${p.roughness} 0 Open ;${p.kind}`);
  out.push('', '[PUMPS]', ';ID Node1 Node2 Parameters');
  for (const p of network.pumps) out.push(`${p.id} ${p.from} ${p.to} HEAD ${p.curve}`);
  out.push('', '[CURVES]', ';ID Flow Head');
  for (const c of network.curves) out.push(`${c.id} ${round(c.flowM3s * 1000, 3)} ${c.headM}`);
  out.push('', '[PATTERNS]');
  for (const p of network.patterns) {
    for (let k = 0; k < p.multipliers.length; k += 6) out.push(`${p.id} ${p.multipliers.slice(k, k + 6).join(' ')}`);
  }
  out.push('', '[CONTROLS]', ...network.controls);
  out.push(
    '', '[TIMES]', `Duration ${clock(network.durationS)}`, 'Hydraulic Timestep 1:00', 'Pattern Timestep 1:00', 'Report Timestep 1:00', 'Report Start 0:00',
    '', '[OPTIONS]', 'Units LPS', 'Headloss H-W', 'Trials 100', 'Accuracy 0.001',
    '', '[COORDINATES]',
  );
  for (const node of [...network.junctions, ...network.reservoirs, ...network.tanks]) out.push(`${node.id} ${node.x} ${node.y}`);
  out.push('', '[END]', '');
  return out.join('\n');
}
