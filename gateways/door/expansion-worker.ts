import { parentPort, workerData } from 'node:worker_threads';
import { CityIndex, type CityModel } from '../../engine/index.ts';
import { expandScenario, type Scenario } from '../../scenarios/index.ts';
import { replyOf } from './worker-jobs.ts';

/**
 * The scenario-expansion worker (started by `ScenarioExpander`): holds its own index of the live
 * city and expands scenarios off the server's event loop. The expansion is a pure function of the
 * scenario, the city and the seed, so the events are the ones the server would compute itself.
 */
const { city, seed } = workerData as { city: CityModel; seed: number };
const index = new CityIndex(city);
parentPort!.on('message', (message: { id: number; scenario: Scenario }) => {
  let outcome: { result: ReturnType<typeof expandScenario> } | { error: unknown };
  try {
    outcome = { result: expandScenario(message.scenario, index, seed) };
  } catch (error) {
    // A bad scenario (ValidationError) keeps its source and problems, so the reply names the field.
    outcome = { error };
  }
  parentPort!.postMessage(replyOf(message.id, outcome));
});
parentPort!.postMessage({ ready: true });
