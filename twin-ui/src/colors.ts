/**
 * Colours for status and stress. Status decides the hue of anything not working; working assets
 * follow a stress heat map (cool teal → amber → hot orange) so overload shows before it trips.
 * Picked for contrast on the dark background and to stay distinguishable with red–green deficiency
 * (failed is red *and* brightest; isolated is blue-grey, faulted magenta).
 */
import { Status } from './model.ts';

export type Rgb = readonly [number, number, number];

export const STATUS_COLOURS: Readonly<Record<number, Rgb>> = {
  [Status.Ok]: [0.16, 0.74, 0.62],
  [Status.Degraded]: [1.0, 0.72, 0.1],
  [Status.Failed]: [1.0, 0.16, 0.16],
  [Status.Isolated]: [0.45, 0.55, 0.75],
  [Status.Faulted]: [0.95, 0.25, 0.95],
  [Status.Sheltering]: [0.62, 0.45, 1.0],
};

export const STATUS_CSS: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(STATUS_COLOURS).map(([k, [r, g, b]]) => [k, `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ${Math.round(b * 255)})`]),
);

const HEAT: readonly Rgb[] = [
  [0.16, 0.74, 0.62],
  [0.55, 0.82, 0.35],
  [1.0, 0.8, 0.2],
  [1.0, 0.5, 0.1],
];

/** Writes the colour of one actor into `out[o..o+3]`. `dim` (crisis mode) greys out healthy actors. */
export function actorColour(status: number, stress: number, heatmap: boolean, dim: boolean, out: Float32Array, o: number): void {
  if (status === Status.Ok) {
    if (dim && stress < 0.85) {
      out[o] = 0.13;
      out[o + 1] = 0.16;
      out[o + 2] = 0.2;
      return;
    }
    if (heatmap) {
      // Squared: most of the range stays cool so only real overload (≳70%) turns warm, and warm
      // never reads as the amber of "degraded".
      const c = Math.min(1, Math.max(0, stress));
      const t = c * c * (HEAT.length - 1);
      const i = Math.min(HEAT.length - 2, Math.floor(t));
      const f = t - i;
      const a = HEAT[i]!;
      const b = HEAT[i + 1]!;
      out[o] = a[0] + (b[0] - a[0]) * f;
      out[o + 1] = a[1] + (b[1] - a[1]) * f;
      out[o + 2] = a[2] + (b[2] - a[2]) * f;
      return;
    }
  }
  const c = STATUS_COLOURS[status] ?? STATUS_COLOURS[Status.Faulted]!;
  out[o] = c[0];
  out[o + 1] = c[1];
  out[o + 2] = c[2];
}

/** Distinct line colours per layer (links); unknown layers cycle through the rest. */
const LAYER_PALETTE: Readonly<Record<string, Rgb>> = {
  power: [0.98, 0.85, 0.3],
  water: [0.3, 0.65, 1.0],
  telecom: [0.75, 0.5, 1.0],
  transport: [0.6, 0.6, 0.6],
  emergency: [1.0, 0.45, 0.55],
  social: [0.45, 0.9, 0.6],
};
const EXTRA: readonly Rgb[] = [
  [0.9, 0.6, 0.3],
  [0.4, 0.85, 0.85],
  [0.85, 0.85, 0.45],
];

export function layerColour(layer: string, index: number): Rgb {
  return LAYER_PALETTE[layer] ?? EXTRA[index % EXTRA.length]!;
}

export function rgbCss([r, g, b]: Rgb): string {
  return `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ${Math.round(b * 255)})`;
}
