import type { CityModel, Engine, InputCommand } from '../../engine/index.ts';
import type { CostModel, WhatIfResult } from '../../scenarios/index.ts';
import { WorkerJobs } from './worker-jobs.ts';

/**
 * Runs what-ifs in a worker thread (whatif-worker.ts): building the two engine copies, re-feeding
 * the live journal and running the horizon all happen off the event loop. The loop only takes the
 * journal's read plan (the durable file's name and a copy of the in-memory tail) and posts it.
 *
 * @example
 * const runner = new WhatIfRunner(city, engine.kernel.seed, engine.cityHash);
 * const result = await runner.run(engine, { type: 'isolate', target: 'pw-tx-0' }, 3600);
 */
export class WhatIfRunner {
  private readonly jobs: WorkerJobs<{ plan: ReturnType<Engine['journal']['readPlan']>; untilSeq: number; atMs: number; command: InputCommand; horizonSeconds: number }, WhatIfResult>;

  constructor(city: CityModel, seed: number, cityHash: string, costModel?: CostModel) {
    this.jobs = new WorkerJobs(new URL('./whatif-worker.mjs', import.meta.url), { city, seed, cityHash, ...(costModel === undefined ? {} : { costModel }) }, 'what-if');
  }

  /** The what-if of `command` on the live engine's journal as it stands, from its settled time. */
  run(engine: Engine, command: InputCommand, horizonSeconds: number): Promise<WhatIfResult> {
    const atMs = Math.max(0, engine.kernel.settledUntil);
    return this.jobs.run({ plan: engine.journal.readPlan(), untilSeq: engine.journal.length, atMs, command, horizonSeconds });
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
