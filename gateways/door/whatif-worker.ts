import { parentPort, workerData } from 'node:worker_threads';
import { createBehaviours } from '../../actors/index.ts';
import { CityIndex, planEntries, type CityModel, type InputCommand, type JournalReadPlan } from '../../engine/index.ts';
import { whatIf, type CostModel } from '../../scenarios/index.ts';
import { replyOf } from './worker-jobs.ts';

/**
 * The what-if worker (started by `WhatIfRunner`): holds its own index of the live city and runs
 * what-ifs off the server's event loop — the two engine copies, the re-feed of the live journal
 * (read from the durable file by the plan, then the in-memory tail sent with the job) and the run
 * over the horizon. A what-if is a pure function of the city, the seed, the journal and the
 * command, so the result is the one the server would compute itself (tested).
 */
const { city, seed, cityHash, costModel } = workerData as { city: CityModel; seed: number; cityHash: string; costModel?: CostModel };
const index = new CityIndex(city);
interface Job {
  readonly id: number;
  readonly plan: JournalReadPlan;
  readonly untilSeq: number;
  readonly atMs: number;
  readonly command: InputCommand;
  readonly horizonSeconds: number;
}
parentPort!.on('message', (job: Job) => {
  whatIf({ city, index, cityHash, seed, behaviours: (i) => createBehaviours(i), journal: planEntries(job.plan), untilSeq: job.untilSeq, atMs: job.atMs, command: job.command, horizonSeconds: job.horizonSeconds, ...(costModel === undefined ? {} : { costModel }), sliceMs: Number.MAX_SAFE_INTEGER }).then(
    (result) => parentPort!.postMessage(replyOf(job.id, { result })),
    (error: unknown) => parentPort!.postMessage(replyOf(job.id, { error })),
  );
});
parentPort!.postMessage({ ready: true });
