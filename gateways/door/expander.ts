import type { CityModel } from '../../engine/index.ts';
import type { ExpandedEvent, Scenario } from '../../scenarios/index.ts';
import { WorkerJobs } from './worker-jobs.ts';

/**
 * Expands scenarios in a worker thread, so an admitted scenario never blocks the event loop (a
 * storm over a 100,000-asset city takes seconds to expand). The worker starts on the first use,
 * keeps its own index of the city, and takes one scenario at a time in order of arrival.
 *
 * @example
 * const expander = new ScenarioExpander(city, seed);
 * const events = await expander.expand(scenario);
 * await expander.close();
 */
export class ScenarioExpander {
  private readonly jobs: WorkerJobs<{ scenario: Scenario }, ExpandedEvent[]>;

  constructor(city: CityModel, seed: number) {
    this.jobs = new WorkerJobs(new URL('./expansion-worker.mjs', import.meta.url), { city, seed }, 'scenario expansion');
  }

  expand(scenario: Scenario): Promise<ExpandedEvent[]> {
    return this.jobs.run({ scenario });
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
