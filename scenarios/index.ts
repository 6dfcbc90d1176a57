/** Scenarios: the format, the library and (later) recording and replay. */
export { parseScenario, loadScenarioFile, submitScenario, scenarioSchema } from './format.ts';
export type { Scenario, ScenarioEvent } from './format.ts';
