import type { Electrical } from '../power/network.ts';
import type { Geography } from './geography.ts';

/**
 * The city model: what a city file contains once validated and defaulted. Everything here is plain
 * data; the graph index (../city-index.ts) turns it into numeric arrays for the simulation.
 */

/** Layers with built-in meaning. Any other string is a generic layer (analysts' test graphs). */
export const KNOWN_LAYERS = ['power', 'water', 'telecom', 'transport', 'emergency', 'social'] as const;
export type KnownLayer = (typeof KNOWN_LAYERS)[number];

export interface Position {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export interface Asset {
  readonly id: string;
  /** e.g. `substation`, `pump`, `tower`, `hospital`; `node` for generic graphs. */
  readonly kind: string;
  readonly layer: string;
  /** Metres in a local frame; absent when the file gave none (the UI lays such graphs out itself). */
  readonly position: Position | null;
  readonly district: string;
  /** Load above which the asset trips. Infinity when the file gives neither capacity nor baseLoad. */
  readonly capacity: number;
  readonly baseLoad: number;
  /** A source of its layer (generator, treatment works, core router): flow starts here. */
  readonly source: boolean;
  /** Simulated seconds to repair physical damage. */
  readonly repairSeconds: number;
  /** Kind-specific fields, kept as given. */
  readonly props: Readonly<Record<string, unknown>>;
  /** Electrical parameters of a power bus, branch or generator (engine/power; README "City model"). */
  readonly electrical?: Electrical;
}

/** Undirected physical connectivity inside one layer (a line, a main, a fibre, a road). */
export interface Link {
  readonly from: string;
  readonly to: string;
  readonly kind: string;
}

/** Directed functional dependency: `to` needs `from`. */
export interface Dependency {
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  /** 1 = hard (the dependent fails with its provider); below 1 the dependent degrades by this share. */
  readonly strength: number;
  /** Chance that a provider's failure reaches the dependent over this edge (one chance per failure). */
  readonly probability: number;
  /** Simulated seconds before the dependent notices a change of its provider. */
  readonly latencySeconds: number;
}

export interface Cohort {
  readonly id: string;
  readonly district: string;
  readonly population: number;
  readonly elderlyShare: number;
  readonly mobilityLimitedShare: number;
  /** 0 = ignores risk, 1 = leaves at the first sign of trouble. */
  readonly riskAversion: number;
  /** Share that follows official orders (shelter, evacuate, save water). */
  readonly compliance: number;
  /** Assets this cohort relies on (its feeder, its water main, its tower, its hospital). */
  readonly reliesOn: readonly string[];
  readonly position: Position | null;
}

export interface CityModel {
  readonly name: string;
  readonly assets: readonly Asset[];
  readonly links: readonly Link[];
  readonly dependencies: readonly Dependency[];
  readonly cohorts: readonly Cohort[];
  /** The electrical network's per-unit base, present when assets carry electrical fields. */
  readonly grid?: { readonly baseMva: number };
  /** The real place (OpenStreetMap imports): footprints, streets, district outlines; absent for synthetic cities. */
  readonly geography?: Geography;
  /**
   * The water layer's EPANET network (`.inp` text; its ids are the water assets' `props.epanetId`):
   * the live twin solves it hydraulically, with these settings (defaults in actors/water-solver.ts).
   */
  readonly epanet?: {
    readonly inp: string;
    readonly hydraulicStepSeconds?: number;
    readonly tankAlertHorizonSeconds?: number;
    readonly minSolveIntervalSeconds?: number;
    readonly minPressureM?: number;
    readonly requiredPressureM?: number;
    readonly pressureExponent?: number;
  };
}
