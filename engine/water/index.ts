/**
 * The water layer's hydraulics: EPANET `.inp` reading, the city model's water layer, EPANET runs
 * (epanet-js) in SI units, and generated EPANET networks.
 */
export { parseInp, VALVE_TYPES } from './inp.ts';
export type { InpNetwork, InpNode, InpLink, NodeType as WaterNodeType, LinkType as WaterLinkType, ValveType, Demand } from './inp.ts';
export { epanetCityDocument, waterCityDocument, linkAssetId, WATER_REPAIR_SECONDS } from './city.ts';
export type { WaterCityDocument } from './city.ts';
export { runHydraulics, reportTimes, openProject, holdClosed, epanetWorkspace, loadedEpanetWorkspace, HydraulicsInputError } from './hydraulics.ts';
export type { HydraulicsOptions, HydraulicsResult, Series, ReportClock } from './hydraulics.ts';
export { FLOW_UNITS, M3S_PER_FLOW_UNIT, METRES_PER_PSI, unitFactors, isUsUnits } from './units.ts';
export type { FlowUnits, UnitFactors } from './units.ts';
export { generateWaterNetwork, writeInp } from './generate-network.ts';
export type { GeneratedWaterNetwork, WaterNetworkOptions } from './generate-network.ts';
export { LiveWaterModel, DEFAULT_PDA } from './live.ts';
export type { PressureDrivenDemand, SnapshotResult } from './live.ts';
export { withEpanetNetwork } from './city-network.ts';
export type { CityDocumentLike } from './city-network.ts';
