import { parentPort, workerData } from 'node:worker_threads';
import { DcSolver, screenN1, type GridNetwork } from '../../engine/index.ts';
import type { ContingencyRow } from '../protocol.ts';

/**
 * The live N-1 worker (started by `GridWatch`): screens every single branch and generator outage
 * of the grid as it stands, off the server's event loop (a 2,400-bus grid takes seconds). It holds
 * the network (structure, reactances) and one `DcSolver` (its symbolic analysis reused); each job
 * brings the live state: in-service branches and generators, served loads, outputs, ratings.
 */
export interface N1Job {
  readonly id: number;
  readonly branchOn: Uint8Array;
  readonly genOn: Uint8Array;
  readonly loadMw: Float64Array;
  readonly pgMw: Float64Array;
  /** 0: unlimited. */
  readonly rateAMw: Float64Array;
}

export interface N1Answer {
  readonly id: number;
  readonly rows?: ContingencyRow[];
  readonly seconds?: number;
  readonly error?: string;
}

/** Screens one live state; rows worst first (outages that overload something first, by loading). */
export function screenLive(net: GridNetwork, solver: DcSolver, job: Omit<N1Job, 'id'>): ContingencyRow[] {
  const live: GridNetwork = { ...net, pdMw: job.loadMw, gsMw: new Float64Array(net.busIds.length), pgMw: job.pgMw, branchInService: job.branchOn, genInService: job.genOn, rateAMw: job.rateAMw };
  const rows: ContingencyRow[] = screenN1(live, { solver }).contingencies.map((c) => ({
    outage: c.outage,
    kind: c.kind,
    maxLoadingPct: c.maxLoading * 100,
    lostLoadMw: c.lostLoadMw,
    overloads: c.overloads.map((o) => ({ id: o.id, loadingPct: o.loading * 100, flowMw: o.flowMw, ratingMw: o.ratingMw })),
  }));
  rows.sort((a, b) => Number(b.overloads.length > 0) - Number(a.overloads.length > 0) || b.maxLoadingPct - a.maxLoadingPct || (a.outage < b.outage ? -1 : 1));
  return rows;
}

if (parentPort !== null && (workerData as { n1?: boolean } | null)?.n1 === true) {
  const net = (workerData as { net: GridNetwork }).net;
  const solver = new DcSolver(net);
  parentPort.on('message', (job: N1Job) => {
    const started = performance.now();
    let answer: N1Answer;
    try {
      answer = { id: job.id, rows: screenLive(net, solver, job), seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      answer = { id: job.id, error: (error as Error).message };
    }
    parentPort!.postMessage(answer);
  });
  parentPort.postMessage({ ready: true });
}
