import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DC_OVERLOAD_RULES, runDcOverloadStudy, tripDelayTable, type DcOverloadStudyResult, type DcTrigger } from '../../actors/index.ts';
import {
  acPowerFlow,
  dcPowerFlow,
  loadCityFile,
  matpowerToCity,
  networkFromCase,
  networkFromCity,
  parseMatpower,
  readTextFile,
  screenN1,
  type GridNetwork,
  type PowerCityDocument,
} from '../../engine/index.ts';
import { powerStudyReportHtml } from './power-report.ts';

/**
 * The grid engineer's commands: `import matpower`, `powerflow`, `contingency`, and the
 * dc-overload model of `cascade` (called from analysis-cli.ts).
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A grid from a MATPOWER `.m` file or from a city file whose power assets carry electrical fields. */
export function gridFromFile(path: string): GridNetwork {
  if (path.endsWith('.m')) return networkFromCase(parseMatpower(readTextFile(path), path));
  return networkFromCity(loadCityFile(path));
}

const round = (x: number, digits = 6): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** `stratum import matpower --in case.m --out city.json` under an `import` parent command. */
export function registerMatpowerImport(parent: Command, io: Io): void {
  parent
    .command('matpower')
    .description('Convert a MATPOWER case (.m) to a city model: buses bus-<BUS_I>, branches br-<row>, generators gen-<row>, with their electrical fields')
    .requiredOption('--in <file>', 'MATPOWER case file (.m)')
    .option('--out <file>', 'write the city here instead of stdout')
    .action((opts: { in: string; out?: string }) => writePowerCity(matpowerToCity(parseMatpower(readTextFile(opts.in), opts.in)), opts.out, io));
}

/** Writes an imported power city to `out` (with a one-line summary on stderr), or to stdout. */
export function writePowerCity(doc: PowerCityDocument, out: string | undefined, io: Io): void {
  const text = JSON.stringify(doc);
  if (out === undefined) io.out(`${text}\n`);
  else {
    writeFileSync(out, text);
    const count = (kind: string): number => doc.assets.filter((a) => a.electrical.kind === kind).length;
    io.err(`wrote ${out}: ${count('bus')} buses, ${count('branch')} branches, ${count('generator')} generators (${doc.assets.length} assets, ${doc.links.length} links)\n`);
  }
}

/** `ids:br-12,br-345 | random-pairs | random-singles` (dc-overload) — ids alone for the other models. */
export function parseTrigger(value: string): string[] | 'random-pairs' | 'random-singles' {
  if (value === 'random-pairs' || value === 'random-singles') return value;
  if (value.startsWith('ids:') && value.length > 4) return value.slice(4).split(',').filter((s) => s !== '');
  throw new InvalidArgumentError(`--trigger must be ids:X,Y, random-pairs or random-singles (got "${value}")`);
}

export const DC_OVERLOAD_HELP = `dc-overload: ${DC_OVERLOAD_RULES}`;

/** The dc-overload model of `stratum cascade`. */
export function runDcOverloadCommand(
  opts: { city: string; trigger?: string[] | 'random-pairs' | 'random-singles'; ratingFactor: number; runs: number; seed: number; json?: boolean; report?: string },
  io: Io,
  UsageErrorClass: new (message: string) => Error,
): void {
  if (opts.trigger === undefined) throw new UsageErrorClass('the dc-overload model needs --trigger ids:br-1,br-2 | random-pairs | random-singles');
  const trigger: DcTrigger = Array.isArray(opts.trigger) ? { kind: 'ids', ids: opts.trigger } : { kind: opts.trigger };
  const net = gridFromFile(opts.city);
  let result: DcOverloadStudyResult;
  try {
    result = runDcOverloadStudy(net, { trigger, runs: opts.runs, seed: opts.seed, ratingFactor: opts.ratingFactor });
  } catch (error) {
    if (error instanceof RangeError && /unknown branch|already out of service/.test(error.message)) throw new UsageErrorClass(`--trigger: ${error.message}`);
    throw error;
  }
  if (opts.report !== undefined) {
    writeFileSync(opts.report, powerStudyReportHtml(`dc-overload cascade study of ${opts.city}`, result));
    io.err(`wrote ${opts.report}\n`);
  }
  if (opts.json) {
    io.out(`${JSON.stringify(result)}\n`);
    return;
  }
  const e = (name: string, x: { mean: number; ci95: readonly [number, number] }, digits: number): string =>
    `${name} ${x.mean.toFixed(digits)} (95% CI ${x.ci95[0].toFixed(digits)} – ${x.ci95[1].toFixed(digits)})\n`;
  io.out(`dc-overload on ${opts.city} (${net.busIds.length} buses, ${net.branchIds.length} branches): ${result.runs} run(s), trigger ${result.parameters.trigger}, K = ${opts.ratingFactor}, seed ${result.seed}\n`);
  io.out(e('dependentOutages', result.dependentOutages, 3));
  io.out(e('loadShedMw', result.loadShedMw, 3));
  io.out(e('loadShedFraction', result.loadShedFraction, 5));
  io.out(`anyDependentOutageFraction ${result.anyDependentOutageFraction.toFixed(4)}\n`);
  io.out(`trip most often: ${result.tripMostOften.slice(0, 5).map((b) => `${b.id} (${(b.share * 100).toFixed(0)}%)`).join(', ') || '—'}\n`);
}

type PowerflowModel = 'dc' | 'ac';

function parseModel(value: string): PowerflowModel {
  if (value === 'dc' || value === 'ac') return value;
  throw new InvalidArgumentError(`--model must be dc or ac (got "${value}")`);
}

/**
 * `powerflow --model ac`: the AC power flow's voltages and flows. A branch's loading is the larger
 * apparent power of its two ends over RATE_A (MVA, reported as ratingMw like the DC output); a bus
 * violates its limits when |V| is outside [Vmin, Vmax] (cities without limits are not checked).
 */
function printAcPowerFlow(net: GridNetwork, opts: { json?: boolean; top: number }, io: Io): void {
  const r = acPowerFlow(net);
  const branches = net.branchIds.map((id, k) => {
    const rating = net.rateAMw[k]! > 0 ? net.rateAMw[k]! : null;
    const apparent = Math.max(Math.hypot(r.pFromMw[k]!, r.qFromMvar[k]!), Math.hypot(r.pToMw[k]!, r.qToMvar[k]!));
    return {
      id,
      from: net.busIds[net.from[k]!]!,
      to: net.busIds[net.to[k]!]!,
      pFromMw: r.pFromMw[k]!,
      qFromMvar: r.qFromMvar[k]!,
      pToMw: r.pToMw[k]!,
      qToMvar: r.qToMvar[k]!,
      ratingMw: rating,
      loading: rating === null ? null : apparent / rating,
      inService: net.branchInService[k] !== 0,
    };
  });
  const voltageViolations: Array<{ id: string; vmPu: number; vminPu: number; vmaxPu: number; kind: 'under' | 'over' }> = [];
  net.busIds.forEach((id, v) => {
    const vm = r.vmPu[v]!;
    const energised = r.islands.islandOf[v]! >= 0 && r.references[r.islands.islandOf[v]!]! >= 0;
    const [lo, hi] = [net.vminPu[v]!, net.vmaxPu[v]!];
    if (!energised) return;
    if (vm < lo) voltageViolations.push({ id, vmPu: vm, vminPu: lo, vmaxPu: hi, kind: 'under' });
    else if (vm > hi) voltageViolations.push({ id, vmPu: vm, vminPu: lo, vmaxPu: hi, kind: 'over' });
  });
  if (opts.json) {
    io.out(
      `${JSON.stringify({
        model: 'ac',
        case: net.name,
        baseMva: net.baseMva,
        iterations: r.iterations,
        converged: r.converged,
        maxMismatchPu: r.maxMismatchPu,
        buses: net.busIds.map((id, v) => ({ id, vmPu: r.vmPu[v]!, angleDeg: r.vaDeg[v]! })),
        branches,
        generators: net.genIds.map((id, g) => ({ id, bus: net.busIds[net.genBus[g]!]!, pgMw: r.pgMw[g]!, inService: net.genInService[g] !== 0 })),
        voltageViolations,
        totalLoadMw: r.totalLoadMw,
        totalGenerationMw: r.totalGenerationMw,
        lossesMw: r.lossesMw,
        shuntMw: r.shuntMw,
        unservedLoadMw: r.unservedLoadMw,
      })}\n`,
    );
    return;
  }
  io.out(`AC power flow of ${net.name}: ${net.busIds.length} buses, ${net.branchIds.length} branches, ${net.genIds.length} generators, ${r.islands.count} island(s); converged in ${r.iterations} Newton iteration(s), largest mismatch ${r.maxMismatchPu.toExponential(2)} pu\n`);
  io.out(`load ${round(r.totalLoadMw, 3)} MW, generation ${round(r.totalGenerationMw, 3)} MW, losses ${round(r.lossesMw, 3)} MW${r.shuntMw !== 0 ? `, shunts ${round(r.shuntMw, 3)} MW` : ''}${r.unservedLoadMw > 0 ? `, unserved (islands without generation) ${round(r.unservedLoadMw, 3)} MW` : ''}\n`);
  io.out(`${voltageViolations.length} bus(es) outside [Vmin, Vmax]${voltageViolations.length > 0 ? ', worst first:' : ''}\n`);
  const excess = (x: (typeof voltageViolations)[number]): number => (x.kind === 'under' ? x.vminPu - x.vmPu : x.vmPu - x.vmaxPu);
  for (const x of [...voltageViolations].sort((a, b) => excess(b) - excess(a)).slice(0, opts.top)) io.out(`  ${x.id.padEnd(10)} ${x.vmPu.toFixed(4)} pu (${x.kind} [${x.vminPu}, ${x.vmaxPu}])\n`);
  const rated = branches.filter((b) => b.loading !== null).sort((a, b) => b.loading! - a.loading!);
  if (rated.length === 0) io.out('no branch has a rating (RATE_A = 0 everywhere)\n');
  else {
    io.out(`${rated.filter((b) => b.loading! > 1).length} of ${rated.length} rated branches over RATE_A (apparent power); most loaded:\n`);
    for (const b of rated.slice(0, opts.top)) io.out(`  ${b.id.padEnd(10)} ${b.from.padEnd(10)} → ${b.to.padEnd(10)} ${b.pFromMw.toFixed(2).padStart(10)} MW ${b.qFromMvar.toFixed(2).padStart(9)} MVAr  ${(b.loading! * 100).toFixed(1).padStart(6)} % of ${b.ratingMw} MVA\n`);
  }
}

/** Adds `import matpower` (creating the `import` parent when no one has yet), `powerflow` and `contingency`. */
export function registerPowerCommands(program: Command, io: Io): void {
  const parent = program.commands.find((c) => c.name() === 'import') ?? program.command('import').description('Convert a network file to a city model');
  registerMatpowerImport(parent, io);
  // The live twin's timed overload trips (actors/trip-delay.ts), where operators and analysts look.
  program.commands.find((c) => c.name() === 'start')?.addHelpText('after', `\nElectrical power layers (MATPOWER cases, generated cities) run DC flow live.\n${tripDelayTable()}\n`);
  program.commands.find((c) => c.name() === 'cascade')?.addHelpText('after', `\nThe live twin trips overloaded branches after a delay (below); --model dc-overload, a batch study, trips them at once.\n${tripDelayTable()}\n`);

  program
    .command('powerflow')
    .description(
      "Power flow of a grid. --model dc (default): exactly MATPOWER's rundcpf: B with tap ratio and phase shift, bus shunt conductance as load, in-service generators at Pg, each island's reference bus (type 3, else the bus with the largest generation) taking the mismatch. --model ac: MATPOWER's runpf with its defaults: Newton–Raphson on the full AC model (r, x, line charging, taps, phase shifts, bus shunts, Qd), PV buses at Vg, tolerance 1e-8 pu, at most 10 iterations, generator Q limits not enforced; buses outside [Vmin, Vmax] listed",
    )
    .requiredOption('--case <file>', 'MATPOWER case (.m), pandapower network (.json from pandapower.to_json) or a city file with electrical power assets')
    .option('--model <model>', 'dc (DC power flow, rundcpf) or ac (AC power flow, Newton–Raphson, runpf)', parseModel, 'dc' as PowerflowModel)
    .option(
      '--json',
      'print one JSON object. dc: model, buses [{id, angleDeg}], branches [{id, from, to, pFromMw, ratingMw, loading}], generators, islands, totalLoadMw, totalGenerationMw. ac: model, iterations, converged, buses [{id, vmPu, angleDeg}], branches [{id, from, to, pFromMw, qFromMvar, pToMw, qToMvar, ratingMw, loading}], voltageViolations, totalLoadMw, totalGenerationMw, lossesMw',
    )
    .option('--top <k>', 'text output: how many most loaded branches (and, ac, voltage violations) to list', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--top must be a whole number ≥ 0 (got "${v}")`);
      return n;
    }, 10)
    .action((opts: { case: string; model: PowerflowModel; json?: boolean; top: number }) => {
      const net = gridFromFile(opts.case);
      if (opts.model === 'ac') return printAcPowerFlow(net, opts, io);
      const r = dcPowerFlow(net);
      const branches = net.branchIds.map((id, k) => {
        const rating = net.rateAMw[k]! > 0 ? net.rateAMw[k]! : null;
        return { id, from: net.busIds[net.from[k]!]!, to: net.busIds[net.to[k]!]!, pFromMw: r.flowMw[k]!, ratingMw: rating, loading: rating === null ? null : Math.abs(r.flowMw[k]!) / rating, inService: net.branchInService[k] !== 0 };
      });
      if (opts.json) {
        io.out(
          `${JSON.stringify({
            model: 'dc',
            case: net.name,
            baseMva: net.baseMva,
            buses: net.busIds.map((id, v) => ({ id, angleDeg: (r.angleRad[v]! * 180) / Math.PI })),
            branches,
            generators: net.genIds.map((id, g) => ({ id, bus: net.busIds[net.genBus[g]!]!, pgMw: r.pgMw[g]!, inService: net.genInService[g] !== 0 })),
            islands: Array.from(r.references, (ref, i) => ({ referenceBus: ref < 0 ? null : net.busIds[ref]!, buses: r.islands.islandOf.filter((x) => x === i).length, energised: ref >= 0 })),
            totalLoadMw: r.totalLoadMw,
            totalGenerationMw: r.totalGenerationMw,
            unservedLoadMw: r.unservedLoadMw,
          })}\n`,
        );
        return;
      }
      io.out(`DC power flow of ${net.name}: ${net.busIds.length} buses, ${net.branchIds.length} branches, ${net.genIds.length} generators, ${r.islands.count} island(s)\n`);
      io.out(`load ${round(r.totalLoadMw, 3)} MW, generation ${round(r.totalGenerationMw, 3)} MW${r.unservedLoadMw > 0 ? `, unserved (islands without generation) ${round(r.unservedLoadMw, 3)} MW` : ''}\n`);
      const rated = branches.filter((b) => b.loading !== null).sort((a, b) => b.loading! - a.loading!);
      if (rated.length === 0) io.out('no branch has a rating (RATE_A = 0 everywhere)\n');
      else {
        io.out(`${rated.filter((b) => b.loading! > 1).length} of ${rated.length} rated branches over RATE_A; most loaded:\n`);
        for (const b of rated.slice(0, opts.top)) io.out(`  ${b.id.padEnd(10)} ${b.from.padEnd(10)} → ${b.to.padEnd(10)} ${b.pFromMw.toFixed(2).padStart(10)} MW  ${(b.loading! * 100).toFixed(1).padStart(6)} % of ${b.ratingMw} MW\n`);
      }
    });

  program
    .command('contingency')
    .description('N-1 screening on the DC model: every single branch and generator outage, post-contingency flows by LODF/PTDF (bridges and lost islands handled exactly), branches over RATE_A; worst first')
    .requiredOption('--case <file>', 'MATPOWER case (.m), pandapower network (.json from pandapower.to_json) or a city file with electrical power assets')
    .option('--json', 'print one JSON object: screened, baseOverloads, contingencies [{outage, kind, resolved, lostLoadMw, maxLoading, newOverloads, overloads [{id, flowMw, ratingMw, loading}]}] (only those with overloads or lost load), worst first')
    .option('--all', 'list every contingency, also those without overloads')
    .action((opts: { case: string; json?: boolean; all?: boolean }) => {
      const net = gridFromFile(opts.case);
      const started = performance.now();
      const s = screenN1(net);
      const seconds = (performance.now() - started) / 1000;
      const rows = s.contingencies
        .filter((c) => opts.all === true || c.overloads.length > 0 || c.lostLoadMw > 0)
        .sort((a, b) => b.maxLoading - a.maxLoading || b.lostLoadMw - a.lostLoadMw);
      const branches = s.contingencies.filter((c) => c.kind === 'branch').length;
      if (opts.json) {
        io.out(`${JSON.stringify({ model: 'dc', method: 'lodf', case: net.name, rating: 'RATE_A', screened: { branches, generators: s.contingencies.length - branches }, seconds, baseOverloads: s.baseOverloads, contingencies: rows })}\n`);
        return;
      }
      io.out(`N-1 screening of ${net.name}: ${branches} branch and ${s.contingencies.length - branches} generator outages in ${seconds.toFixed(3)} s\n`);
      io.out(`intact grid: ${s.baseOverloads.length} branch(es) over RATE_A\n`);
      io.out(`${rows.filter((c) => c.overloads.length > 0).length} outage(s) leave a branch over its rating (${rows.filter((c) => c.newOverloads > 0).length} overload one that was within it), ${rows.filter((c) => c.lostLoadMw > 0).length} lose load; worst first:\n`);
      for (const c of rows.slice(0, 20)) {
        const worst = c.overloads[0];
        io.out(`  ${c.outage.padEnd(10)} max ${(c.maxLoading * 100).toFixed(1).padStart(6)} %${worst === undefined ? '' : ` on ${worst.id} (${worst.flowMw.toFixed(1)} MW of ${worst.ratingMw})`}, ${c.overloads.length} overload(s) (${c.newOverloads} new)${c.lostLoadMw > 0 ? `, ${round(c.lostLoadMw, 3)} MW lost` : ''}\n`);
      }
    });
}
