/** Scenarios: the format, hazard models and fragility, the library, recording and replay, training, economics, the decision ledger. */
export { parseScenario, parseScenarioText, loadScenarioFile, scenarioSchema, scenarioEventSchema, selectorSchema } from './format.ts';
export type { Scenario, ScenarioEventSpec, Selector, Target } from './format.ts';
export { expandScenario, submitScenario, campbellPga, rankineWind, insidePolygon } from './expand.ts';
export type { ExpandedEvent } from './expand.ts';
export { DEFAULT_FRAGILITY, INTENSITY_UNITS, COMPLETE_FACTOR, lognormalCdf, normalCdf, drawDamage, curveFor } from './fragility.ts';
export type { Curve, HazardKind, DamageDraw } from './fragility.ts';
export { LIBRARY_DIR, listLibrary, loadLibraryScenario, resolveScenario } from './library.ts';
export type { LibraryEntry } from './library.ts';
export { scenarioJsonSchema, scenarioJsonSchemaText, SCHEMA_FILE } from './schema.ts';
