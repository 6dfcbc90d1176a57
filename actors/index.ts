/**
 * Behaviours: one module per actor role. Pure transitions driven by the engine.
 */
export { createBehaviours } from './behaviours.ts';
export { AssetBehaviour, load as assetLoad, operable as assetOperable, serviceLevel, telemetrySetsLoad } from './asset.ts';
export type { AssetState } from './asset.ts';
export { CohortBehaviour, cohortLackByLayer, POWER_MW_PER_PERSON } from './cohort.ts';
export type { CohortState } from './cohort.ts';
export { LayerSolverBehaviour, layerGraph, solveConnectivity } from './layer-solver.ts';
export type { LayerGraph, SolverState } from './layer-solver.ts';
export { LIVE_OPTIONS } from './options.ts';
export type { BehaviourOptions, LoadModel } from './options.ts';
export { StudyCity, runStudy, summariseStudy, runOnce, criticality, explainChain, collectFailures, modelOptions, MODEL_RULES } from './studies.ts';
export { estimate, type Estimate } from './intervals.ts';
export { ImpactBounds } from './impact-bounds.ts';
export type { Attack, CascadeModel, StudyOptions, StudyResult, SingleRun, RunOutcome, CriticalityRow, CriticalityResult, ExplainHop } from './studies.ts';
export { runDcOverloadStudy, drawTrigger, DC_OVERLOAD_RULES } from './dc-overload-study.ts';
export type { DcTrigger, DcOverloadRun, DcOverloadStudyResult } from './dc-overload-study.ts';
export { WaterSolverBehaviour, DEFAULT_WATER_SOLVER, waterSolverOptions } from './water-solver.ts';
export type { WaterSolverOptions, WaterSolverState, TankForecast } from './water-solver.ts';
export { dcLayerFor } from './dc-flow.ts';
export type { DcLayer, DcLiveState } from './dc-flow.ts';
export { tripDelayTable, tripDelayMs, TRIP_TIME_CONSTANTS, MIN_TRIP_DELAY_MS } from './trip-delay.ts';
