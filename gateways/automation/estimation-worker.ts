import { parentPort, workerData } from 'node:worker_threads';
import type { GridNetwork } from '../../engine/index.ts';
import type { WorkerReply } from '../door/index.ts';
import { EstimationCompute, outcomeBuffers, type EstimationJob, type EstimationOutcome } from './estimation-compute.ts';

/**
 * The live estimator's worker thread (started by `attachLiveEstimator` in worker mode): holds the
 * grid's network and one `EstimationCompute`, so the prepared model and its factor stay here between
 * runs, and the server's event loop only builds the measurement values and applies the outcome.
 * Jobs come one at a time; the outcome's typed arrays are transferred back, not copied.
 */
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
