import { InvalidArgumentError, type Command } from 'commander';
import { estimateDcState, parseMeasurements, readJsonFile } from '../../engine/index.ts';
import { gridFromFile } from './power-cli.ts';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function probability(flag: string) {
  return (value: string): number => {
    const p = Number(value);
    if (!(p > 0 && p < 1)) throw new InvalidArgumentError(`${flag} must be a number strictly between 0 and 1 (got "${value}")`);
    return p;
  };
}

function positive(flag: string) {
  return (value: string): number => {
    const x = Number(value);
    if (!(Number.isFinite(x) && x > 0)) throw new InvalidArgumentError(`${flag} must be a positive number (got "${value}")`);
    return x;
  };
}

/** `stratum estimate`: DC weighted-least-squares state estimation with bad-data identification. */
export function registerEstimationCommands(program: Command, io: Io): void {
  program
    .command('estimate')
    .description(
      'DC weighted-least-squares state estimation: angles and flows from measurements (flow = MW at the from end of a branch, injection = net MW into the network at a bus, angle = PMU degrees), reference bus at 0; chi-square test, then removal of the largest normalised residual above the limit, one at a time; unobservable buses are reported, not fatal',
    )
    .requiredOption('--case <file>', 'MATPOWER case (.m), pandapower network (.json from pandapower.to_json) or a city file with electrical power assets')
    .requiredOption('--measurements <file>', 'JSON array of { kind: flow|injection|angle, target: br-N|bus-N, valueMw|valueDeg, sigmaMw|sigmaDeg }')
    .option('--confidence <p>', 'confidence of the chi-square test', probability('--confidence'), 0.99)
    .option('--residual-limit <x>', 'remove a measurement only while its normalised residual exceeds this', positive('--residual-limit'), 3)
    .option('--json', 'print one JSON object: initialJ, chi2Threshold, removed [{index, normalizedResidual}], finalJ, buses [{id, angleDeg, sigmaDeg}], branches [{id, pFromMw, sigmaMw}], unobservable, …')
    .action((opts: { case: string; measurements: string; confidence: number; residualLimit: number; json?: boolean }) => {
      const net = gridFromFile(opts.case);
      const measurements = parseMeasurements(readJsonFile(opts.measurements), net, opts.measurements);
      const started = performance.now();
      const result = estimateDcState(net, measurements, { confidence: opts.confidence, normalizedResidualLimit: opts.residualLimit });
      const seconds = (performance.now() - started) / 1000;
      if (opts.json === true) {
        io.out(`${JSON.stringify(result)}\n`);
        return;
      }
      io.out(`DC state estimate of ${net.name}: ${net.busIds.length} buses, ${measurements.length} measurements, ${seconds.toFixed(3)} s\n`);
      io.out(`J ${result.initialJ.toFixed(2)} against chi-square ${result.chi2Threshold.toFixed(2)} (${Math.round(opts.confidence * 100)} %, ${result.degreesOfFreedom} degrees of freedom)\n`);
      for (const r of result.removed) {
        const m = measurements[r.index]!;
        io.out(`  bad data removed: #${r.index} ${m.kind} ${m.target} (normalised residual ${r.normalizedResidual.toFixed(1)})\n`);
      }
      io.out(`final J ${result.finalJ.toFixed(2)} against ${result.finalChi2Threshold.toFixed(2)}: ${result.consistent ? 'consistent' : 'still inconsistent (no residual above the limit left to remove)'}\n`);
      io.out(`unobservable buses: ${result.unobservable.length === 0 ? 'none' : result.unobservable.join(', ')}\n`);
      if (result.critical.length > 0) io.out(`critical measurements (bad data there cannot be detected): ${result.critical.length}\n`);
    });
}
