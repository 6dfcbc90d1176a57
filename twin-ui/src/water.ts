/**
 * The water network as the twin UI shows it (cities whose water layer runs on EPANET): the last
 * snapshot from `GET /api/water`, held in a small vanilla store of its own (the panel polls it, the
 * scene's pressure colours read it in `useFrame`), and the pressure colour scale with its legend.
 */
import { createStore } from 'zustand/vanilla';

export interface WaterNow {
  readonly hydraulic: boolean;
  readonly solvedAtMs?: number;
  readonly minPressureM?: number;
  readonly requiredPressureM?: number;
  readonly junctions?: { readonly ids: readonly string[]; readonly pressureM: readonly number[] };
  readonly tanks?: readonly { tank: string; asset: string | null; levelM: number; minLevelM: number; maxLevelM: number; hoursToEmpty: number | null }[];
  readonly pumps?: readonly { id: string; running: boolean; flowM3s: number }[];
}

export interface WaterView {
  /** Null until the first answer (or when the source on screen is a session: live only). */
  readonly now: WaterNow | null;
  /** Junctions drawn in pressure colours over the scene. */
  readonly pressureColours: boolean;
  /** Bumped with every new answer (the scene redraws its colours when it moves). */
  readonly version: number;
}

export const waterView = createStore<WaterView>(() => ({ now: null, pressureColours: true, version: 0 }));

/** Colour stops of the pressure scale, metres of water → colour (legend and scene). */
export const PRESSURE_STOPS: readonly { m: number; css: string }[] = [
  { m: 0, css: '#b2182b' },
  { m: 10, css: '#ef8a62' },
  { m: 20, css: '#fddb6d' },
  { m: 40, css: '#7fc97f' },
  { m: 60, css: '#1a9850' },
  { m: 80, css: '#4575b4' },
];

function rgb(css: string): [number, number, number] {
  const n = Number.parseInt(css.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}
const STOP_RGB = PRESSURE_STOPS.map((s) => rgb(s.css));

/** Writes the colour of a pressure (m) at `out[at..at+2]`: linear between stops, clamped at the ends. */
export function pressureColour(pressureM: number, out: Float32Array | number[], at: number): void {
  const stops = PRESSURE_STOPS;
  let k = 0;
  while (k < stops.length - 1 && pressureM > stops[k + 1]!.m) k++;
  const lo = stops[k]!;
  const hi = stops[Math.min(k + 1, stops.length - 1)]!;
  const t = hi.m === lo.m ? 0 : Math.min(1, Math.max(0, (pressureM - lo.m) / (hi.m - lo.m)));
  const a = STOP_RGB[k]!;
  const b = STOP_RGB[Math.min(k + 1, stops.length - 1)]!;
  for (let c = 0; c < 3; c++) out[at + c] = a[c]! + (b[c]! - a[c]!) * t;
}

/** CSS linear-gradient of the scale from 0 to 80 m (the legend bar). */
export function pressureGradient(): string {
  const top = PRESSURE_STOPS[PRESSURE_STOPS.length - 1]!.m;
  return `linear-gradient(to right, ${PRESSURE_STOPS.map((s) => `${s.css} ${(s.m / top) * 100}%`).join(', ')})`;
}
