/**
 * Timed overload trips of the live twin's branches (README "DC flow in the live twin"). A branch
 * whose flow stays above its rating trips after an inverse-time delay — the thermal overload
 * characteristic of IEC 60255-149 without pre-load:
 *
 *     t = τ · ln(M² / (M² − 1)),   M = |flow| / rating > 1,   t ≥ 1 s
 *
 * (M 1.1 → 1.75 τ, 1.2 → 1.19 τ, 1.5 → 0.59 τ, 2 → 0.29 τ, 3 → 0.12 τ), with the thermal time
 * constant τ by kind and voltage level below. The delay counts from the moment the overload began,
 * at the loading of the moment (a rise brings the trip forward, a fall puts it back); a flow back
 * within its rating cancels the pending trip. Batch studies (load model `dc`) trip at once.
 *
 * τ are typical figures, not one utility's settings: overhead conductors heat up in 5–15 minutes
 * (larger conductors at higher voltage more slowly), oil-filled transformers in tens of minutes.
 */
import type { CityIndex } from '../engine/index.ts';

/** Thermal time constant τ (seconds) by kind and voltage level: the table the README and `--help` show. */
export const TRIP_TIME_CONSTANTS: ReadonlyArray<{ readonly kind: 'line' | 'transformer'; readonly belowKv: number; readonly tauSeconds: number; readonly label: string }> = [
  { kind: 'line', belowKv: 100, tauSeconds: 300, label: 'line below 100 kV' },
  { kind: 'line', belowKv: 300, tauSeconds: 600, label: 'line 100–299 kV' },
  { kind: 'line', belowKv: Number.POSITIVE_INFINITY, tauSeconds: 900, label: 'line 300 kV and above' },
  { kind: 'transformer', belowKv: 300, tauSeconds: 1200, label: 'transformer below 300 kV' },
  { kind: 'transformer', belowKv: Number.POSITIVE_INFINITY, tauSeconds: 1800, label: 'transformer 300 kV and above' },
];

/** No overload trips faster than this (protection and breaker operating time). */
export const MIN_TRIP_DELAY_MS = 1000;

export function timeConstantSeconds(kind: 'line' | 'transformer', kv: number): number {
  for (const row of TRIP_TIME_CONSTANTS) if (row.kind === kind && kv < row.belowKv) return row.tauSeconds;
  return TRIP_TIME_CONSTANTS[TRIP_TIME_CONSTANTS.length - 1]!.tauSeconds;
}

/** Delay (ms) before a branch with time constant τ (s) loaded to M (> 1) trips. */
export function tripDelayMs(tauSeconds: number, loading: number): number {
  if (!(loading > 1)) return Number.POSITIVE_INFINITY;
  const m2 = loading * loading;
  return Math.max(MIN_TRIP_DELAY_MS, Math.ceil(tauSeconds * 1000 * Math.log(m2 / (m2 - 1))));
}

/** `--help` and README text of the table. */
export function tripDelayTable(): string {
  const rows = TRIP_TIME_CONSTANTS.map((r) => `  ${r.label.padEnd(30)} τ = ${r.tauSeconds / 60} min`);
  return ['Live overload trips: t = τ·ln(M²/(M²−1)), M = |flow|/rating, at least 1 s; cancelled when the flow falls back within its rating.', ...rows].join('\n');
}

interface GridMembership {
  /** Per actor: τ in seconds of an electrical branch (0: not a branch). */
  readonly tauSeconds: Float64Array;
  /** Per actor: 1 for an asset of a layer whose members carry electrical buses (its demand feeds the DC flow). */
  readonly electricalLayer: Uint8Array;
  /** Per actor: 1 for an asset with electrical fields (bus, branch or generator). */
  readonly electrical: Uint8Array;
}

const memberships = new WeakMap<CityIndex, GridMembership>();

/** Which assets take part in a layer's DC flow, and each branch's τ (a cache of derived data, per city index). */
export function gridMembership(index: CityIndex): GridMembership {
  let m = memberships.get(index);
  if (m !== undefined) return m;
  const assets = index.city.assets;
  const tauSeconds = new Float64Array(index.assetCount);
  const electricalLayer = new Uint8Array(index.assetCount);
  const electrical = new Uint8Array(index.assetCount);
  const busKv = new Map<string, number>();
  const layersWithBuses = new Set<string>();
  for (const a of assets) {
    if (a.electrical?.kind === 'bus') {
      busKv.set(a.id, a.electrical.baseKv);
      layersWithBuses.add(a.layer);
    }
  }
  assets.forEach((a, i) => {
    if (layersWithBuses.has(a.layer)) electricalLayer[i] = 1;
    const e = a.electrical;
    if (e === undefined) return;
    electrical[i] = 1;
    if (e.kind !== 'branch') return;
    const kv = Math.max(busKv.get(e.from) ?? 0, busKv.get(e.to) ?? 0);
    const kind = e.tap !== 0 || e.shiftDeg !== 0 || a.kind === 'transformer' ? 'transformer' : 'line';
    tauSeconds[i] = timeConstantSeconds(kind, kv);
  });
  m = { tauSeconds, electricalLayer, electrical };
  memberships.set(index, m);
  return m;
}

/**
 * Demand (MW) an asset of an electrical layer starts with in the live twin: a bus its Pd + Gs, a
 * generator its scheduled Pg (0 out of service), any other asset its base load.
 */
export function initialDemandMw(index: CityIndex, actor: number): number {
  const e = index.city.assets[actor]!.electrical;
  if (e?.kind === 'bus') return e.pdMw + e.gsMw;
  if (e?.kind === 'generator') return e.inService ? e.pgMw : 0;
  if (e?.kind === 'branch') return 0;
  return index.baseLoad[actor]!;
}
