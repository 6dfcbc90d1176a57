/**
 * The electrical network's numeric core: MATPOWER reader, network arrays, sparse Cholesky, DC power
 * flow per island, the dc-overload cascade rules and N-1 screening with LODF. Pure numerics: no
 * actors, no I/O beyond parsing text given to it.
 */
export { parseMatpower, BusType } from './matpower.ts';
export type { MatpowerCase, MatpowerBus, MatpowerBranch, MatpowerGen } from './matpower.ts';
export { parsePandapower, isPandapowerDocument } from './pandapower.ts';
export { networkFromCase, networkFromCity, checkElectricalReferences, busId, branchId, genId, busActive } from './network.ts';
export type { GridNetwork, Electrical, ElectricalCity } from './network.ts';
export { SparseLdlt, SingularMatrixError } from './sparse.ts';
export type { SmallPivots } from './sparse.ts';
export { DcSolver, dcPowerFlow, findIslands, chooseReferences, branchSusceptancePu, busInjectionsMw } from './dcpf.ts';
export type { Islands, DcPowerFlowResult, GridState } from './dcpf.ts';
export { DcOverloadGrid, balanceIslands, TRIP_TOLERANCE } from './cascade.ts';
export type { DcCascadeOutcome } from './cascade.ts';
export { matpowerToCity, branchKind } from './city.ts';
export type { PowerCityDocument } from './city.ts';
export { electricalSchema, gridSchema } from './schema.ts';
export { estimateDcState, prepareDcEstimation, measurementValues, parseMeasurements, measurementSchema, measurementsSchema, MAX_MEASUREMENTS } from './estimation.ts';
export type { Measurement, EstimationOptions, EstimationResult, RemovedMeasurement, DcEstimationModel, IslandEstimate } from './estimation.ts';
export { screenN1, redispatchAfterGeneratorOutage } from './contingency.ts';
export type { ContingencyResult, Overload, ScreeningResult } from './contingency.ts';
export { syntheticGrid, toMatpowerText } from './synthetic.ts';
export type { SyntheticGridOptions } from './synthetic.ts';
export { balanceLive } from './live-balance.ts';
export type { LiveDispatch } from './live-balance.ts';
export { acPowerFlow, AcPowerFlowError } from './acpf.ts';
export type { AcPowerFlowOptions, AcPowerFlowResult } from './acpf.ts';
export { SparseLu } from './sparse-lu.ts';
export { voltageServiceLevel, voltageOutside, voltageTarget, voltageLimits, busVoltageLimits, UNDERVOLTAGE_FLOOR, OVERVOLTAGE_CEILING, DEFAULT_VMIN_PU, DEFAULT_VMAX_PU } from './voltage.ts';
