import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { GridNetwork } from '../../engine/index.ts';
import type { WorkerReply } from '../door/index.ts';
import { ESTIMATION_WORKER_NICE, EstimationCompute, outcomeBuffers, type EstimationJob, type EstimationOutcome } from './estimation-compute.ts';

/**
 * The live estimator's worker thread (started by `attachLiveEstimator` in worker mode): holds the
 * grid's network and one `EstimationCompute`, so the prepared model and its factor stay here between
 * runs, and the server's event loop only builds the measurement values and applies the outcome.
 * Jobs come one at a time; the outcome's typed arrays are transferred back, not copied.
 */
// The estimate is background work beside the event loop: on Linux, where each thread has its own
// nice value, this thread runs at nice 10, so on a busy machine the server's event loop (and anything
// else interactive) gets the CPU first and a run just takes longer. Elsewhere: the default priority.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), ESTIMATION_WORKER_NICE);
} catch {
  // No /proc/thread-self (not Linux) or not permitted: the worker keeps the process's priority.
}
const { net } = workerData as { net: GridNetwork };
const compute = new EstimationCompute(net);
parentPort!.on('message', (job: EstimationJob & { id: number }) => {
  let reply: WorkerReply<EstimationOutcome>;
  try {
    reply = { id: job.id, result: compute.run(job) };
  } catch (error) {
    reply = { id: job.id, error: (error as Error).message };
  }
  parentPort!.postMessage(reply, 'result' in reply ? outcomeBuffers(reply.result) : []);
});
parentPort!.postMessage({ ready: true });
