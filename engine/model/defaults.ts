/**
 * Defaults by asset kind. A city file may leave out everything but `id` and `layer`; these fill in
 * the rest. They are documented in the README's "City model" section; keep the two in step.
 */

/** Kinds that feed their layer unless the file says `source: false`. */
export const SOURCE_KINDS: ReadonlySet<string> = new Set([
  'generator',
  'power-plant',
  'treatment-plant',
  'reservoir',
  'core-router',
  'data-centre',
]);

/** Simulated seconds to repair physical damage, by kind. */
const REPAIR_SECONDS: Readonly<Record<string, number>> = {
  generator: 12 * 3600,
  'power-plant': 12 * 3600,
  'transmission-substation': 8 * 3600,
  'distribution-substation': 4 * 3600,
  substation: 4 * 3600,
  feeder: 2 * 3600,
  line: 2 * 3600,
  'treatment-plant': 12 * 3600,
  'pumping-station': 6 * 3600,
  pump: 6 * 3600,
  main: 8 * 3600,
  'core-router': 6 * 3600,
  'aggregation-switch': 3 * 3600,
  tower: 3 * 3600,
  'data-centre': 8 * 3600,
  'scada-centre': 6 * 3600,
  hospital: 24 * 3600,
  'fire-station': 12 * 3600,
  road: 6 * 3600,
  junction: 6 * 3600,
};

export const DEFAULT_REPAIR_SECONDS = 4 * 3600;
export const DEFAULT_KIND = 'node';
export const DEFAULT_DISTRICT = 'default';
/** Headroom over base load when only baseLoad is given: capacity = baseLoad × (1 + this). */
export const DEFAULT_CAPACITY_MARGIN = 0.5;

export function repairSecondsFor(kind: string): number {
  return REPAIR_SECONDS[kind] ?? DEFAULT_REPAIR_SECONDS;
}

export function defaultCapacity(baseLoad: number): number {
  return baseLoad > 0 ? baseLoad * (1 + DEFAULT_CAPACITY_MARGIN) : Number.POSITIVE_INFINITY;
}
