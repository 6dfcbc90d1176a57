/**
 * EPANET's units and their SI factors. An `.inp` file's `[OPTIONS] Units` (flow units) decides the
 * whole system: the five US flow units mean feet, inches (pipe diameters) and psi; the five SI flow
 * units mean metres, millimetres and metres of head. Everything leaving this folder is SI: metres,
 * m³/s, seconds.
 */

export const FLOW_UNITS = ['CFS', 'GPM', 'MGD', 'IMGD', 'AFD', 'LPS', 'LPM', 'MLD', 'CMH', 'CMD'] as const;
export type FlowUnits = (typeof FLOW_UNITS)[number];

/** m³/s per one flow unit (US gallon 3.785411784 L, imperial gallon 4.54609 L, acre-foot 1233.48184 m³). */
export const M3S_PER_FLOW_UNIT: Readonly<Record<FlowUnits, number>> = {
  CFS: 0.028316846592,
  GPM: 3.785411784e-3 / 60,
  MGD: 3785.411784 / 86_400,
  IMGD: 4546.09 / 86_400,
  AFD: 1233.48183754752 / 86_400,
  LPS: 1e-3,
  LPM: 1e-3 / 60,
  MLD: 1000 / 86_400,
  CMH: 1 / 3600,
  CMD: 1 / 86_400,
};

export const METRES_PER_FOOT = 0.3048;
export const METRES_PER_INCH = 0.0254;
/**
 * Metres of water per psi as EPANET itself converts (its PSIperFT constant is 0.4333 psi per foot of
 * water), so that psi read from the toolkit turn back into exactly the head difference it solved.
 */
export const METRES_PER_PSI = METRES_PER_FOOT / 0.4333;

export function isUsUnits(units: FlowUnits): boolean {
  return units === 'CFS' || units === 'GPM' || units === 'MGD' || units === 'IMGD' || units === 'AFD';
}

/** Factors from the file's units to SI, by quantity. */
export interface UnitFactors {
  readonly flow: FlowUnits;
  /** elevations, heads, levels, lengths, tank diameters → m */
  readonly length: number;
  /** pipe and valve diameters → m */
  readonly diameter: number;
  /** demands and flows → m³/s */
  readonly flowM3s: number;
  /** pressures (psi or m) → m */
  readonly pressure: number;
  /** pump power (hp or kW) → kW */
  readonly powerKw: number;
}

export function unitFactors(units: FlowUnits): UnitFactors {
  const us = isUsUnits(units);
  return {
    flow: units,
    length: us ? METRES_PER_FOOT : 1,
    diameter: us ? METRES_PER_INCH : 1e-3,
    flowM3s: M3S_PER_FLOW_UNIT[units],
    pressure: us ? METRES_PER_PSI : 1,
    powerKw: us ? 0.745699872 : 1,
  };
}
