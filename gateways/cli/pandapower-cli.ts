import type { Command } from 'commander';
import { matpowerToCity, parsePandapower, readJsonFile } from '../../engine/index.ts';
import { writePowerCity } from './power-cli.ts';

/**
 * `stratum import pandapower --in net.json --out city.json`: a pandapower network saved with
 * `pandapower.to_json` as a city model (engine/power/pandapower.ts; README "pandapower networks").
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Adds `import pandapower` under the `import` parent (created when no one has yet). */
export function registerPandapowerCommands(program: Command, io: Io): void {
  const parent = program.commands.find((c) => c.name() === 'import') ?? program.command('import').description('Convert a network file to a city model');
  parent
    .command('pandapower')
    .description(
      'Convert a pandapower network (JSON from pandapower.to_json) to a city model: buses bus-<index>, lines line-<index>, transformers trafo-<index>, impedances impedance-<index>, ext-<index> / gen-<index> / sgen-<index> generators, in per unit as pandapower computes them; unsupported elements in service (trafo3w, ward, dcline, …) are an error',
    )
    .requiredOption('--in <file>', 'pandapower network (.json written by pandapower.to_json)')
    .option('--out <file>', 'write the city here instead of stdout')
    .action((opts: { in: string; out?: string }) => writePowerCity(matpowerToCity(parsePandapower(readJsonFile(opts.in), opts.in)), opts.out, io));
}
