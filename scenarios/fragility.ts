/**
 * Fragility curves: probability that an asset reaches a damage state given a hazard intensity,
 * as lognormal CDFs P(D ≥ ds | I) = Φ(ln(I / θ) / β) with median θ and dispersion β per asset kind.
 * Parameters and their sources are tabled in scenarios/CONTEXT.md. Two damage states are drawn:
 * "extensive" (the curve itself → severity 0.6, the asset is degraded) and "complete" (median
 * θ × COMPLETE_FACTOR, same β → severity 1, the asset fails).
 */

export type HazardKind = 'flood' | 'wind' | 'shaking' | 'heat';

export interface Curve {
  /** Median intensity of the extensive damage state (m, m/s, g or °C). */
  readonly median: number;
  /** Lognormal dispersion (standard deviation of ln I). */
  readonly beta: number;
}

/** Unit of each hazard's intensity measure. */
export const INTENSITY_UNITS: Readonly<Record<HazardKind, string>> = {
  flood: 'water depth above ground, m',
  wind: '3-s gust wind speed at 10 m, m/s',
  shaking: 'peak ground acceleration, g',
  heat: 'air temperature, °C',
};

/** Median of "complete" relative to "extensive" damage (HAZUS ratios are 1.5–2.5; we take 1.6). */
export const COMPLETE_FACTOR = 1.6;
export const EXTENSIVE_SEVERITY = 0.6;
export const COMPLETE_SEVERITY = 1;

/**
 * Default curves per hazard and asset kind. A kind missing for a hazard is not vulnerable to it.
 * Sources: see CONTEXT.md (HAZUS-MH Flood, Hurricane and Earthquake technical manuals; Panteli et
 * al. 2017 for transmission towers and lines in wind; transformer thermal limits for heat).
 */
export const DEFAULT_FRAGILITY: Readonly<Record<HazardKind, Readonly<Record<string, Curve>>>> = {
  flood: {
    'generator': { median: 1.5, beta: 0.4 },
    'transmission-substation': { median: 1.5, beta: 0.4 },
    'distribution-substation': { median: 1.0, beta: 0.4 },
    'feeder': { median: 1.2, beta: 0.5 },
    'treatment-plant': { median: 1.8, beta: 0.4 },
    'pumping-station': { median: 1.2, beta: 0.45 },
    'main': { median: 3.0, beta: 0.6 },
    // EPANET elements (imported .inp networks) as their generated counterparts: pipe as main, pump as pumping station.
    'pipe': { median: 3.0, beta: 0.6 },
    'pump': { median: 1.2, beta: 0.45 },
    'core-router': { median: 1.0, beta: 0.4 },
    'aggregation-switch': { median: 1.0, beta: 0.4 },
    'scada-centre': { median: 1.0, beta: 0.4 },
    'data-centre': { median: 1.0, beta: 0.4 },
    'tower': { median: 2.0, beta: 0.5 },
    'hospital': { median: 1.5, beta: 0.45 },
    'fire-station': { median: 1.2, beta: 0.45 },
    'road': { median: 0.6, beta: 0.5 },
  },
  wind: {
    'transmission-substation': { median: 62, beta: 0.2 },
    'distribution-substation': { median: 58, beta: 0.2 },
    'feeder': { median: 42, beta: 0.25 },
    'generator': { median: 70, beta: 0.2 },
    'tower': { median: 48, beta: 0.25 },
    'aggregation-switch': { median: 65, beta: 0.25 },
    'pumping-station': { median: 65, beta: 0.25 },
    'pump': { median: 65, beta: 0.25 },
    'road': { median: 55, beta: 0.3 },
    'hospital': { median: 75, beta: 0.25 },
    'fire-station': { median: 70, beta: 0.25 },
  },
  shaking: {
    'generator': { median: 0.48, beta: 0.45 },
    'transmission-substation': { median: 0.2, beta: 0.45 },
    'distribution-substation': { median: 0.35, beta: 0.45 },
    'feeder': { median: 0.75, beta: 0.5 },
    'treatment-plant': { median: 0.48, beta: 0.5 },
    'pumping-station': { median: 0.5, beta: 0.6 },
    'main': { median: 0.6, beta: 0.6 },
    'pipe': { median: 0.6, beta: 0.6 },
    'pump': { median: 0.5, beta: 0.6 },
    'core-router': { median: 0.58, beta: 0.65 },
    'aggregation-switch': { median: 0.58, beta: 0.65 },
    'scada-centre': { median: 0.58, beta: 0.65 },
    'data-centre': { median: 0.58, beta: 0.65 },
    'tower': { median: 0.7, beta: 0.6 },
    'hospital': { median: 0.6, beta: 0.6 },
    'fire-station': { median: 0.6, beta: 0.6 },
    'road': { median: 1.0, beta: 0.7 },
  },
  heat: {
    'feeder': { median: 45, beta: 0.05 },
    'distribution-substation': { median: 46, beta: 0.05 },
    'transmission-substation': { median: 48, beta: 0.05 },
    'core-router': { median: 47, beta: 0.05 },
    'data-centre': { median: 47, beta: 0.05 },
  },
};

/**
 * Standard normal CDF via the complementary error function (W. J. Cody's rational
 * approximation as in Numerical Recipes `erfc`, |ε| < 1.2e-7), monotone in x.
 */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** P(damage ≥ state | intensity) for a lognormal curve; 0 for intensity ≤ 0. */
export function lognormalCdf(intensity: number, curve: Curve): number {
  if (!(intensity > 0)) return 0;
  return normalCdf(Math.log(intensity / curve.median) / curve.beta);
}

export interface DamageDraw {
  /** 0 = none, else the severity of the damage input (EXTENSIVE_SEVERITY or COMPLETE_SEVERITY). */
  readonly severity: number;
  readonly pExtensive: number;
  readonly pComplete: number;
}

/**
 * Draws a damage state from one uniform number `u` ∈ [0, 1): complete when u < P(complete),
 * extensive when u < P(extensive), none otherwise. Using one draw per asset keeps the states
 * nested (more intensity never means less damage for the same draw).
 */
export function drawDamage(intensity: number, curve: Curve, u: number): DamageDraw {
  const pExtensive = lognormalCdf(intensity, curve);
  const pComplete = lognormalCdf(intensity, { median: curve.median * COMPLETE_FACTOR, beta: curve.beta });
  const severity = u < pComplete ? COMPLETE_SEVERITY : u < pExtensive ? EXTENSIVE_SEVERITY : 0;
  return { severity, pExtensive, pComplete };
}

/** The curve for an asset kind, with per-scenario overrides; undefined when not vulnerable. */
export function curveFor(hazard: HazardKind, kind: string, overrides?: Readonly<Record<string, Curve>>): Curve | undefined {
  return overrides?.[kind] ?? DEFAULT_FRAGILITY[hazard][kind];
}
