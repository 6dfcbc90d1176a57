import { parentPort, workerData } from 'node:worker_threads';
import type { CityModel } from '../engine/index.ts';
import { StudyCity, runOnce, type StudyOptions } from './studies.ts';

/**
 * A Monte Carlo worker: runs the given run numbers of a study on its own copy of the city and
 * posts each run's outcome back. Run seeds depend only on the run number, so splitting runs over
 * workers changes nothing in the results.
 */
interface Job {
  readonly city: CityModel;
  readonly options: Omit<StudyOptions, 'onRun'>;
  readonly seeds: ReadonlyArray<{ run: number; seed: number }>;
}

const job = workerData as Job;
const study = new StudyCity(job.city);
for (const { run, seed } of job.seeds) {
  const result = await runOnce(study, job.options, seed);
  parentPort!.postMessage({ run, outcome: result.outcome, everFailed: result.everFailed, caused: result.caused }, [result.everFailed.buffer as ArrayBuffer, result.caused.buffer as ArrayBuffer]);
}
