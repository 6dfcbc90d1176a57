import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { GENERATED_WATER, HydraulicsInputError, epanetCityDocument, generateWaterNetwork, parseCity, parseInp, readJsonFile, readTextFile, runHydraulics, withEpanetNetwork, writeInp, type CityDocumentLike, type HydraulicsResult } from '../../engine/index.ts';
import { UsageError, type Io } from './analysis-cli.ts';

/** `A,B,C` → ids; empty entries are a flag error. */
function idList(flag: string) {
  return (value: string): string[] => {
    const ids = value.split(',').map((s) => s.trim());
    if (ids.some((s) => s === '')) throw new InvalidArgumentError(`${flag} must be comma-separated ids without empty entries (got "${value}")`);
    return ids;
  };
}

/** `0,3600,7200` → seconds. */
function secondsList(flag: string) {
  return (value: string): number[] =>
    value.split(',').map((s) => {
      const n = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be comma-separated whole seconds ≥ 0 (got "${value}")`);
      return n;
    });
}

/** One line per reported time: the lowest and highest junction pressure and every tank's level. */
function hydraulicsText(result: HydraulicsResult): string {
  const lines = [`${result.times.length} reported times; pressures and levels in m, flows in m³/s (file units: ${result.units.fileFlowUnits})`];
  for (const t of result.times) {
    const pressures = Object.entries(result.pressureM[String(t)] ?? {});
    let low: [string, number] = ['-', Number.NaN];
    let high: [string, number] = ['-', Number.NaN];
    for (const [id, p] of pressures) {
      if (!(p >= low[1])) low = [id, p];
      if (!(p <= high[1])) high = [id, p];
    }
    const tanks = Object.entries(result.tankLevelM[String(t)] ?? {}).map(([id, level]) => `${id} ${level.toFixed(2)}`);
    const clock = `${String(Math.floor(t / 3600)).padStart(3)}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}`;
    lines.push(`${clock}  pressure min ${low[1].toFixed(2)} (${low[0]}) max ${high[1].toFixed(2)} (${high[0]})${tanks.length > 0 ? `  tank levels ${tanks.join(', ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `--water epanet|connectivity` for commands that generate a city: EPANET hydraulics (the default)
 * or the connectivity rule for its water layer.
 */
export function waterModelOption(): Option {
  return new Option('--water <model>', 'water layer of a generated city: epanet (EPANET network: pressures, tanks, pumps) or connectivity').choices(GENERATED_WATER).default('epanet');
}

/**
 * Adds the water commands: `import epanet` (under the given `import` parent) and `hydraulics`.
 */
export function registerWaterCommands(program: Command, io: Io, importCommand: Command): void {
  importCommand
    .command('epanet')
    .description('Convert an EPANET .inp network into a city file (its water layer: junctions, reservoirs, tanks, pipes, pumps and valves as assets)')
    .requiredOption('--in <file>', 'EPANET input file (.inp)')
    .requiredOption('--out <file>', 'city file to write (JSON)')
    .action((opts: { in: string; out: string }) => {
      const document = epanetCityDocument(readTextFile(opts.in), opts.in);
      const city = parseCity(document, opts.in);
      writeFileSync(opts.out, `${JSON.stringify(document)}\n`);
      const count = (kind: string): number => city.assets.filter((a) => a.kind === kind).length;
      io.err(`wrote ${opts.out}: ${count('junction')} junctions, ${count('reservoir')} reservoirs, ${count('tank')} tanks, ${count('pipe')} pipes, ${count('pump')} pumps, ${count('valve')} valves\n`);
    });

  program
    .command('water-network')
    .description('Generate an EPANET network (.inp, SI units; same seed ⇒ same file), or with --city give a city file\'s water layer one (works → reservoirs, pumping stations → pumps with tanks, mains → demand junctions)')
    .option('--junctions <n>', 'a standalone network: number of demand junctions (≥ 4)', (value: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 4 || n > 1_000_000) throw new InvalidArgumentError(`--junctions must be a whole number from 4 to 1,000,000 (got "${value}")`);
      return n;
    })
    .option('--city <file>', 'a city file (JSON, e.g. from `stratum generate`) whose water layer gets the network; writes the city with epanet.inp')
    .option('--seed <s>', 'random seed', (value: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--seed must be a whole number ≥ 0 (got "${value}")`);
      return n;
    }, 1)
    .option('--out <file>', 'write here instead of stdout')
    .action((opts: { junctions?: number; city?: string; seed: number; out?: string }) => {
      if ((opts.junctions === undefined) === (opts.city === undefined)) throw new UsageError('water-network needs exactly one of --junctions N (a standalone network) or --city FILE (a city\'s water layer)');
      let text: string;
      let summary: string;
      if (opts.city !== undefined) {
        parseCity(readJsonFile(opts.city), opts.city);
        const document = withEpanetNetwork(readJsonFile(opts.city) as CityDocumentLike, opts.seed, opts.city);
        const city = parseCity(document, opts.city);
        text = JSON.stringify(document);
        summary = `${city.assets.filter((a) => a.layer === 'water').length} water assets on EPANET (epanet.inp)`;
      } else {
        const network = generateWaterNetwork({ junctions: opts.junctions!, seed: opts.seed });
        text = writeInp(network);
        summary = `${network.junctions.length} junctions, ${network.pipes.length} pipes, ${network.pumps.length} pumps, ${network.tanks.length} tanks, ${network.reservoirs.length} reservoirs`;
      }
      if (opts.out === undefined) io.out(text.endsWith('\n') ? text : `${text}\n`);
      else {
        writeFileSync(opts.out, text);
        io.err(`wrote ${opts.out}: ${summary}\n`);
      }
    });

  program
    .command('hydraulics')
    .description("Run an EPANET network's extended-period hydraulics (EPANET 2.3 via epanet-js); results in SI units")
    .requiredOption('--inp <file>', 'EPANET input file (.inp)')
    .option('--close <ids>', 'links (pipes, pumps, valves; .inp ids) held closed for the whole run: controls and rules on them are disabled', idList('--close'))
    .option('--at <seconds>', "report only these times (seconds; each a reporting time of the file's [TIMES])", secondsList('--at'))
    .option('--json', 'print {"units","times","pressureM","tankLevelM","flowM3s"}: values by time (s) then by .inp id; m, m, m³/s')
    .action(async (opts: { inp: string; close?: string[]; at?: number[]; json?: boolean }) => {
      const text = readTextFile(opts.inp);
      parseInp(text, opts.inp); // names file and line for a bad file before EPANET sees it
      let result: HydraulicsResult;
      try {
        result = await runHydraulics(text, opts.inp, { ...(opts.close === undefined ? {} : { closeLinks: opts.close }), ...(opts.at === undefined ? {} : { at: opts.at }) });
      } catch (error) {
        if (error instanceof HydraulicsInputError) {
          const problem = error.problems[0]!;
          throw new UsageError(`${problem.path}: ${problem.reason} (${opts.inp})`);
        }
        throw error;
      }
      io.out(opts.json === true ? `${JSON.stringify(result)}\n` : hydraulicsText(result));
    });
}
