/** How the behaviours model load. Chosen per run: the live twin and each cascade model pick one. */
export type LoadModel =
  /** A tripped asset hands its load to its link neighbours (local load sharing). The live default. */
  | 'local'
  /** Loads are shortest-path betweenness computed by the layer flow solver (Motter–Lai 2002). */
  | 'flow'
  /** Loads never move; only demand and telemetry change them. */
  | 'none'
  /** Power branches carry their DC flow (MW) as load and their dc-overload rating as capacity (actors/dc-flow.ts). */
  | 'dc';

export interface BehaviourOptions {
  readonly loadModel: LoadModel;
  /** Motter–Lai tolerance: capacity = (1 + alpha) × initial flow load. Used when loadModel is 'flow'. */
  readonly alpha: number;
  /** Simulated seconds after which a tripped asset recloses if its load allows; null = stays out until restored. */
  readonly tripResetSeconds: number | null;
  /** Whether damaged assets repair themselves after their repair time (false: only crews or operators repair). */
  readonly selfRepair: boolean;
  /**
   * Spread of repair times: each repair takes the asset's repair time × a lognormal factor with
   * median 1 and this σ (0: exactly the repair time). Restoration times of real outages scatter
   * roughly lognormally; the live twin keeps them fixed so an operator's timeline is predictable.
   */
  readonly repairSpread: number;
  /** Simulated seconds between cohort stress updates while something is wrong. */
  readonly cohortTickSeconds: number;
  /** Connectivity rule: in layers with links, an asset works only while connected (to a source, or the main component). */
  readonly connectivity: boolean;
  /** Dependency rule: providers' service reaches their dependents. */
  readonly dependencies: boolean;
  /** K of the dc-overload ratings r = max(K × RATE_A, 1.1 × |f0|), when loadModel is 'dc' (default 1). */
  readonly ratingFactor?: number;
}

export const LIVE_OPTIONS: BehaviourOptions = {
  loadModel: 'local',
  alpha: 0.25,
  tripResetSeconds: 900,
  selfRepair: true,
  repairSpread: 0,
  cohortTickSeconds: 900,
  connectivity: true,
  dependencies: true,
};
