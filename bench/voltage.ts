import { readFileSync } from 'node:fs';
import { balanceLive, findIslands, networkFromCase, parseMatpower } from '../engine/index.ts';
import { solveLive, type VoltageJob } from '../gateways/automation/voltage-worker.ts';
import { sharedDataFile } from '../test/shared-data.ts';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 100) / 100;

/**
 * One run of the live voltage monitor's worker (`solveLive`: the live AC network from the DC live
 * state, Newton, the collapse check) on ACTIVSg2000, at the DC live state of the intact case (island
 * balancing as the live twin does it) with the largest load raised 0.2 % more each run: warm (from
 * the previous solution, as the monitor runs) and cold (from the case's voltages, its first run).
 * Medians; what the worker thread spends per power-layer change, off the event loop.
 */
export function measureVoltageMonitorRun(options: { quick: boolean; log: (line: string) => void }): Record<string, number> {
  const runs = options.quick ? 8 : 30;
  const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile('grids/case_ACTIVSg2000.m'), 'utf8'), 'case_ACTIVSg2000'));
  const islands = findIslands(net, net.branchInService);
  const demand = Float64Array.from(net.pdMw, (p, v) => p + net.gsMw[v]!);
  const dispatch = balanceLive(net, islands, net.genInService, demand, net.pgMw, net.pgMw.map(() => Number.POSITIVE_INFINITY));
  let biggest = 0;
  dispatch.loadMw.forEach((x, v) => (biggest = x > dispatch.loadMw[biggest]! ? v : biggest));
  const job = (i: number): VoltageJob => {
    const loadMw = Float64Array.from(dispatch.loadMw);
    loadMw[biggest]! *= 1 + 0.002 * i;
    return { branchOn: net.branchInService, genOn: net.genInService, loadMw, pgMw: dispatch.pgMw };
  };
  const measure = (warm: boolean): { ms: number; iterations: number } => {
    const last = {};
    const ms: number[] = [];
    const iterations: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const answer = solveLive(net, job(i), warm ? last : {});
      if (answer.collapse !== undefined) throw new Error(`voltage bench: ${answer.collapse.message}`);
      if (i >= 3) {
        ms.push(answer.seconds! * 1000);
        iterations.push(answer.iterations!);
      }
    }
    return { ms: median(ms), iterations: median(iterations) };
  };
  const warm = measure(true);
  const cold = measure(false);
  options.log(`  live voltage monitor run ${net.name}: ${round(warm.ms)} ms warm (${warm.iterations} iterations), ${round(cold.ms)} ms cold (${cold.iterations})`);
  return {
    voltageMonitorRunMsActivsg2000: round(warm.ms),
    voltageMonitorRunIterationsActivsg2000: warm.iterations,
    voltageMonitorColdRunMsActivsg2000: round(cold.ms),
  };
}
