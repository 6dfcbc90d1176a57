import { parentPort, workerData } from 'node:worker_threads';
import { AcPowerFlowError, acPowerFlow, findIslands, type GridNetwork } from '../../engine/index.ts';
import { replyOf } from '../door/index.ts';

/**
 * The live voltage monitor's worker (started by `VoltageMonitor`): the AC power flow of the grid as
 * the live DC state has it, off the server's event loop (~20 ms on a 2,000-bus grid). It holds the
 * network (structure, impedances, the case's loads and set points) and the last converged voltages,
 * from which the next run starts (a warm start: fewer iterations, and a heavily loaded grid is
 * approached from its last solution rather than from the case's).
 */
export interface VoltageJob {
  readonly branchOn: Uint8Array;
  readonly genOn: Uint8Array;
  /** Load served per bus (MW), as the live DC state has it (the case's Pd + Gs at the start). */
  readonly loadMw: Float64Array;
  /** Output per generator (MW), as dispatched. */
  readonly pgMw: Float64Array;
}

export interface VoltageAnswer {
  /** Per bus: |V| (pu) and angle (degrees); 0 on dead buses (islands without a generator). */
  readonly vmPu?: Float64Array;
  readonly vaDeg?: Float64Array;
  /** Newton did not converge (or its Jacobian was singular): the reason with the largest mismatch. */
  readonly collapse?: { readonly message: string; readonly maxMismatchPu: number; readonly bus: string | null; readonly buses: Int32Array };
  readonly iterations: number;
  readonly seconds: number;
}

/** Newton iterations the monitor allows (MATPOWER's default is 10; a warm start rarely needs 4). */
export const MONITOR_MAX_ITERATIONS = 20;

/**
 * The AC network of a live state: branches and generators in service as the DC state has them, the
 * served P of each bus split between constant-power load and shunt conductance in the case's
 * proportions (Pd : Gs), Q scaled with P (Qd × P/Pd; the case's Qd where Pd is 0), generators at
 * their dispatched outputs and the case's voltage set points; starting voltages `start` (else the case's).
 */
export function liveAcNetwork(net: GridNetwork, job: VoltageJob, start?: { vmPu: Float64Array; vaDeg: Float64Array }): GridNetwork {
  const n = net.busIds.length;
  const pd = new Float64Array(n);
  const qd = new Float64Array(n);
  const gs = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const pd0 = net.pdMw[v]!;
    const gs0 = net.gsMw[v]!;
    const base = pd0 + gs0;
    const served = job.loadMw[v]!;
    if (base > 0) {
      pd[v] = (served * pd0) / base;
      gs[v] = (gs0 * served) / base;
    } else {
      pd[v] = served;
      gs[v] = gs0;
    }
    qd[v] = pd0 !== 0 ? (net.qdMvar[v]! * pd[v]!) / pd0 : net.qdMvar[v]!;
  }
  const vmPu = Float64Array.from(net.vmPu);
  const vaDeg = Float64Array.from(net.vaDeg);
  if (start !== undefined) {
    for (let v = 0; v < n; v++) {
      if (start.vmPu[v]! > 0) {
        vmPu[v] = start.vmPu[v]!;
        vaDeg[v] = start.vaDeg[v]!;
      }
    }
  }
  return { ...net, pdMw: pd, qdMvar: qd, gsMw: gs, pgMw: job.pgMw, branchInService: job.branchOn, genInService: job.genOn, vmPu, vaDeg };
}

/** One run on a live state; `last` is the worker's warm start, updated when the run converges. */
export function solveLive(net: GridNetwork, job: VoltageJob, last: { start?: { vmPu: Float64Array; vaDeg: Float64Array } }): VoltageAnswer {
  const started = performance.now();
  const ac = liveAcNetwork(net, job, last.start);
  try {
    let result;
    try {
      result = acPowerFlow(ac, { maxIterations: MONITOR_MAX_ITERATIONS });
    } catch (error) {
      // A warm start that fails gets one try from the case's voltages before it counts as a collapse.
      if (!(error instanceof AcPowerFlowError) || last.start === undefined) throw error;
      result = acPowerFlow(liveAcNetwork(net, job), { maxIterations: MONITOR_MAX_ITERATIONS });
    }
    last.start = { vmPu: result.vmPu, vaDeg: result.vaDeg };
    return { vmPu: result.vmPu, vaDeg: result.vaDeg, iterations: result.iterations, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    if (!(error instanceof AcPowerFlowError)) throw error;
    // The island of the bus with the largest mismatch collapsed (every energised bus when none is named).
    const islands = findIslands(ac, job.branchOn);
    const bus = error.busId === null ? -1 : (ac.busIndex.get(error.busId) ?? -1);
    const island = bus >= 0 ? islands.islandOf[bus]! : -1;
    const hasGen = new Uint8Array(islands.count);
    ac.genBus.forEach((v, g) => {
      const i = islands.islandOf[v]!;
      if (job.genOn[g] !== 0 && i >= 0) hasGen[i] = 1;
    });
    const buses: number[] = [];
    for (let v = 0; v < ac.busIds.length; v++) {
      const i = islands.islandOf[v]!;
      if (i >= 0 && hasGen[i] === 1 && (island < 0 || i === island)) buses.push(v);
    }
    // The next run starts from the case again: the failed iterate is no start.
    delete last.start;
    return {
      collapse: { message: error.message, maxMismatchPu: error.maxMismatchPu, bus: error.busId, buses: Int32Array.from(buses) },
      iterations: error.iterations,
      seconds: (performance.now() - started) / 1000,
    };
  }
}

if (parentPort !== null && (workerData as { voltage?: boolean } | null)?.voltage === true) {
  const net = (workerData as { net: GridNetwork }).net;
  const last: { start?: { vmPu: Float64Array; vaDeg: Float64Array } } = {};
  // A WorkerJobs worker (gateways/door/worker-jobs.ts): jobs with their id, replies by replyOf.
  parentPort.on('message', (job: VoltageJob & { id: number }) => {
    let outcome: { result: VoltageAnswer } | { error: unknown };
    try {
      outcome = { result: solveLive(net, job, last) };
    } catch (error) {
      outcome = { error };
    }
    parentPort!.postMessage(replyOf(job.id, outcome));
  });
  parentPort.postMessage({ ready: true });
}
