import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SingleBar, Presets } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  MODEL_RULES,
  StudyCity,
  collectFailures,
  createBehaviours,
  criticality,
  explainChain,
  runStudy,
  type Attack,
  type CascadeModel,
  type StudyOptions,
} from '../../actors/index.ts';
import { Engine, StratumError, loadCityFile } from '../../engine/index.ts';
import { resolveScenario, submitScenario } from '../../scenarios/index.ts';
import { studyReportHtml, type SweepRow } from './report.ts';
import { DC_OVERLOAD_HELP, parseTrigger, runDcOverloadCommand } from './power-cli.ts';

/** A command line that parses but cannot work (a missing companion flag, an unknown id): exit code 2. */
export class UsageError extends StratumError {}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** `highest-load | highest-degree | random | ids:X,Y`. */
export function parseAttack(value: string): Attack {
  if (value === 'highest-load' || value === 'highest-degree') return { kind: value };
  if (value === 'random') return { kind: 'random', count: 1 };
  if (value.startsWith('ids:') && value.length > 4) return { kind: 'ids', ids: value.slice(4).split(',').filter((s) => s !== '') };
  throw new InvalidArgumentError(`--attack must be highest-load, highest-degree, random or ids:X,Y (got "${value}")`);
}

/** `alpha=0:1:0.05` or `remove-fraction=0.1:0.9:0.1`. */
export function parseSweep(value: string): { parameter: 'alpha' | 'remove-fraction'; values: number[] } {
  const match = /^(alpha|remove-fraction)=(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`--sweep must look like alpha=0:1:0.05 or remove-fraction=0.1:0.9:0.1 (got "${value}")`);
  const [from, to, step] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (!(step > 0) || to < from) throw new InvalidArgumentError(`--sweep needs from ≤ to and a positive step (got "${value}")`);
  const values: number[] = [];
  for (let i = 0; from + i * step <= to + 1e-9 && i < 10_000; i++) values.push(Math.round((from + i * step) * 1e9) / 1e9);
  return { parameter: match[1] as 'alpha' | 'remove-fraction', values };
}

/** `--workers`: a thread count, or `kafka` for `stratum worker` processes. */
function workersFlag(value: string): number | 'kafka' {
  return value === 'kafka' ? 'kafka' : number('--workers', 1, 64)(value);
}

function number(flag: string, min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max} (got "${value}")`);
    return n;
  };
}

function progress(io: Io, label: string): { update: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} runs | {eta}s left`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  void io;
  return {
    update: (done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => started && bar.stop(),
  };
}

function formatEstimate(name: string, e: { mean: number; ci95: readonly [number, number] } | undefined): string {
  return e === undefined ? '' : `${name} ${e.mean.toFixed(4)} (95% bootstrap CI ${e.ci95[0].toFixed(4)} – ${e.ci95[1].toFixed(4)})\n`;
}

/** Adds the analyst's commands: cascade, criticality, explain. */
export function registerAnalysisCommands(program: Command, io: Io): void {
  program
    .command('cascade')
    .description('Monte Carlo cascade study on the engine (batch mode, the live twin\'s own actors)')
    .requiredOption('--city <file>', 'city file (JSON or GeoJSON; generic graphs welcome; a MATPOWER .m or pandapower .json for dc-overload)')
    .addOption(new Option('--model <model>', `motter-lai: ${MODEL_RULES['motter-lai']} | interdependent: ${MODEL_RULES.interdependent} | stochastic: ${MODEL_RULES.stochastic} | ${DC_OVERLOAD_HELP}`).choices(['motter-lai', 'interdependent', 'stochastic', 'dc-overload']).makeOptionMandatory())
    .option('--alpha <a>', 'Motter–Lai tolerance (capacity = (1 + alpha) × initial load)', number('--alpha', 0), 0.25)
    .option('--attack <attack>', 'motter-lai attack: highest-load | highest-degree | random | ids:X,Y', parseAttack)
    .option('--attack-layer <layer>', 'interdependent: the layer attacked')
    .option('--remove-fraction <f>', 'interdependent: share of the attacked layer removed (1 − p)', number('--remove-fraction', 0, 1))
    .option('--trigger <ids>', 'stochastic: ids:X,Y of the assets that fail first; dc-overload: ids:br-12,br-345 | random-pairs (N-2) | random-singles (N-1)', parseTrigger)
    .option('--rating-factor <k>', 'dc-overload: K in r = max(K × RATE_A, 1.1 × |f0|)', number('--rating-factor', 1e-9), 1)
    .option('--until <seconds>', 'simulated seconds per run (repairs happen within it under the stochastic model)', number('--until', 1), 86_400)
    .option('--runs <r>', 'number of runs', number('--runs', 1, 1_000_000), 1)
    .option('--seed <s>', 'random seed', number('--seed', 0), 1)
    .option('--workers <n|kafka>', 'worker threads for the runs, or kafka: `stratum worker` processes (results do not depend on it)', workersFlag, Math.min(4, availableParallelism()))
    .option('--brokers <list>', 'with --workers kafka: Kafka brokers host:port[,…] (default STRATUM_KAFKA_BROKERS)')
    .option('--study-topic <name>', 'with --workers kafka: topic of the study tasks, results on <topic>.results (default STRATUM_STUDY_TOPIC or stratum.studies)', (value: string) => {
      if (!/^[A-Za-z0-9._-]{1,240}$/.test(value)) throw new InvalidArgumentError(`--study-topic must be 1-240 letters, digits, . _ - (got "${value}")`);
      return value;
    })
    .option('--sweep <spec>', 'alpha=0:1:0.05 or remove-fraction=0.1:0.9:0.1: one row per value', parseSweep)
    .option('--json', 'print one JSON object on stdout')
    .option('--report <file>', 'write a self-contained HTML report with plots')
    .action(async (opts: { city: string; model: CascadeModel | 'dc-overload'; alpha: number; attack?: Attack; attackLayer?: string; removeFraction?: number; trigger?: ReturnType<typeof parseTrigger>; ratingFactor: number; until: number; runs: number; seed: number; workers: number | 'kafka'; brokers?: string; studyTopic?: string; sweep?: ReturnType<typeof parseSweep>; json?: boolean; report?: string }) => {
      if (opts.model === 'dc-overload') return runDcOverloadCommand(opts, io, UsageError);
      if (opts.trigger !== undefined && !Array.isArray(opts.trigger)) throw new UsageError(`--trigger ${opts.trigger} is for the dc-overload model; the stochastic model needs ids:X,Y`);
      const trigger = opts.trigger;
      const study = new StudyCity(loadCityFile(opts.city));
      const base: StudyOptions = {
        model: opts.model,
        runs: opts.runs,
        seed: opts.seed,
        alpha: opts.alpha,
        // Threads pay a start-up cost; below a few dozen runs one thread is faster.
        workers: opts.workers !== 'kafka' && opts.runs >= 40 ? opts.workers : 1,
        untilSeconds: opts.until,
        ...(opts.model === 'stochastic'
          ? { attack: { kind: 'ids', ids: trigger ?? [] } as Attack }
          : opts.attack === undefined ? {} : { attack: opts.attack }),
        ...(opts.attackLayer === undefined ? {} : { attackLayer: opts.attackLayer }),
        ...(opts.removeFraction === undefined ? {} : { removeFraction: opts.removeFraction }),
      };
      if (opts.model === 'stochastic' && (trigger ?? []).length === 0) throw new UsageError('the stochastic model needs --trigger ids:X,Y');
      if (opts.model === 'interdependent' && opts.removeFraction === undefined && opts.sweep?.parameter !== 'remove-fraction') {
        throw new UsageError('the interdependent model needs --remove-fraction F (or --sweep remove-fraction=…)');
      }
      if (opts.model === 'interdependent' && opts.attackLayer !== undefined) study.layerAssets(opts.attackLayer);
      if (opts.workers !== 'kafka' && (opts.brokers !== undefined || opts.studyTopic !== undefined)) {
        throw new UsageError(`${opts.brokers !== undefined ? '--brokers' : '--study-topic'} goes with --workers kafka`);
      }
      const runStudyOn = opts.workers === 'kafka'
        ? (await import('./worker-cli.ts')).kafkaStudyRunner(opts.city, opts, io)
        : (s: StudyCity, o: StudyOptions) => runStudy(s, o);
      const bar = progress(io, opts.model);
      try {
        const rows: SweepRow[] = [];
        if (opts.sweep !== undefined) {
          const total = opts.sweep.values.length * opts.runs;
          for (const [i, value] of opts.sweep.values.entries()) {
            const options = opts.sweep.parameter === 'alpha' ? { ...base, alpha: value } : { ...base, removeFraction: value };
            const result = await runStudyOn(study, { ...options, onRun: (done) => bar.update(i * opts.runs + done, total) });
            rows.push({ parameter: opts.sweep.parameter, value, result });
          }
        }
        const result = rows.length > 0 ? rows[rows.length - 1]!.result : await runStudyOn(study, { ...base, onRun: bar.update });
        bar.stop();
        const output = rows.length > 0
          ? { ...result, sweep: opts.sweep!.parameter, rows: rows.map((r) => ({ [r.parameter]: r.value, ...summaryOf(r.result) })) }
          : result;
        if (opts.report !== undefined) {
          writeFileSync(opts.report, studyReportHtml(`${opts.model} cascade study of ${opts.city}`, result, rows));
          io.err(`wrote ${opts.report}\n`);
        }
        if (opts.json) io.out(`${JSON.stringify(output)}\n`);
        else {
          io.out(`${opts.model} on ${opts.city}: ${result.runs} run(s), seed ${result.seed}\n`);
          for (const r of rows) {
            const byLayer = Object.entries(r.result.giantComponentByLayer ?? {});
            // On a multi-layer city the one-number G is the largest layer's share: give each layer's G instead.
            const text = byLayer.length > 1
              ? byLayer.map(([layer, e]) => `G ${layer} ${e.mean.toFixed(4)} [${e.ci95[0].toFixed(4)}–${e.ci95[1].toFixed(4)}]`).join(', ')
              : formatEstimate(metricNameOf(r.result), metricOf(r.result)).trim();
            io.out(`${r.parameter}=${r.value}: ${text}\n`);
          }
          // After a sweep the summary below is the last row's study: say so, or it reads as an overall figure.
          const last = rows[rows.length - 1];
          if (last !== undefined) io.out(`summary of the last sweep value (${last.parameter}=${last.value}):\n`);
          const indent = last === undefined ? '' : '  ';
          if (result.giantComponentByLayer !== undefined && Object.keys(result.giantComponentByLayer).length > 1) {
            io.out(`${indent}G per layer (the model ran on the layers with links: ${Object.keys(result.giantComponentByLayer).join(', ')}):\n`);
            for (const [layer, e] of Object.entries(result.giantComponentByLayer)) io.out(indent + formatEstimate(`  G ${layer}`, e));
          }
          for (const name of ['giantComponentFraction', 'mutualGiantComponentFraction', 'failedFraction'] as const) {
            const line = formatEstimate(name === 'giantComponentFraction' && result.giantComponentByLayer !== undefined && Object.keys(result.giantComponentByLayer).length > 1 ? 'giantComponentFraction (all layers\' links together)' : name, result[name]);
            if (line !== '') io.out(indent + line);
          }
          io.out(`fail most often: ${result.bottlenecks.failMostOften.slice(0, 5).map((b) => `${b.id} (${(b.share * 100).toFixed(0)}%)`).join(', ') || '—'}\n`);
          io.out(`cause most failures: ${result.bottlenecks.causeMostFailures.slice(0, 5).map((b) => `${b.id} (${b.caused})`).join(', ') || '—'}\n`);
        }
      } finally {
        bar.stop();
      }
    });

  program
    .command('criticality')
    .description('Rank assets by simulated impact (exact top list: assets are simulated until no impact bound can beat the last one kept), with betweenness and PageRank beside it')
    .requiredOption('--city <file>', 'city file')
    .option('--top <k>', 'how many assets to list', number('--top', 1, 100_000), 10)
    .option('--seed <s>', 'random seed', number('--seed', 0), 1)
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { city: string; top: number; seed: number; json?: boolean }) => {
      const study = new StudyCity(loadCityFile(opts.city));
      const bar = progress(io, 'criticality');
      const result = await criticality(study, { top: opts.top, seed: opts.seed, onRun: bar.update });
      bar.stop();
      if (opts.json) io.out(`${JSON.stringify({ top: opts.top, simulated: result.simulated, assets: result.rows })}\n`);
      else {
        io.out(`${'asset'.padEnd(24)} ${'layer'.padEnd(10)} ${'impact'.padStart(7)} ${'bound'.padStart(7)} ${'betweenness'.padStart(12)} ${'pagerank'.padStart(9)}\n`);
        for (const r of result.rows) io.out(`${r.id.padEnd(24)} ${r.layer.padEnd(10)} ${String(r.impact).padStart(7)} ${String(r.bound).padStart(7)} ${r.betweenness.toFixed(1).padStart(12)} ${r.pagerank.toFixed(5).padStart(9)}\n`);
        io.out(`simulated ${result.simulated} of ${result.assets} assets; every other asset's impact bound is below the last impact listed\n`);
      }
    });

  program
    .command('explain')
    .description('Run a scenario and print the causal chain from its trigger to an asset')
    .requiredOption('--city <file>', 'city file')
    .requiredOption('--scenario <name|file>', 'a library scenario by name (see `stratum scenario list`) or a scenario file (JSON or YAML)')
    .requiredOption('--asset <id>', 'the asset (or cohort) to explain')
    .option('--seed <s>', 'random seed', number('--seed', 0), 1)
    .option('--until <seconds>', 'simulated seconds to run', number('--until', 1), 86_400)
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { city: string; scenario: string; asset: string; seed: number; until: number; json?: boolean }) => {
      const city = loadCityFile(opts.city);
      const scenario = resolveScenario(opts.scenario);
      const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: opts.seed, driver: 'direct' });
      if (engine.index.indexOf(opts.asset) === undefined) throw new UsageError(`--asset: unknown asset or cohort "${opts.asset}"`);
      const failures = collectFailures(engine);
      submitScenario(engine, scenario);
      await engine.runUntil(Math.round(opts.until * 1000));
      const chain = explainChain(engine.index, failures, opts.asset);
      await engine.stop();
      if (opts.json) io.out(`${JSON.stringify({ asset: opts.asset, scenario: scenario.name, chain })}\n`);
      else if (chain.length === 0) io.out(`${opts.asset} did not fail or degrade in ${scenario.name} within ${opts.until} s\n`);
      else for (const hop of chain) io.out(`${hop.time.toFixed(0).padStart(8)} s  ${hop.id.padEnd(28)} ${hop.cause.padEnd(13)} via ${hop.via}\n`);
    });
}

function metricOf(result: { giantComponentFraction?: unknown; mutualGiantComponentFraction?: unknown; failedFraction: unknown }) {
  return (result.giantComponentFraction ?? result.mutualGiantComponentFraction ?? result.failedFraction) as { mean: number; ci95: readonly [number, number] };
}

function metricNameOf(result: { giantComponentFraction?: unknown; mutualGiantComponentFraction?: unknown }): string {
  if (result.giantComponentFraction !== undefined) return 'giantComponentFraction';
  return result.mutualGiantComponentFraction !== undefined ? 'mutualGiantComponentFraction' : 'failedFraction';
}

function summaryOf(result: { giantComponentFraction?: unknown; mutualGiantComponentFraction?: unknown; failedFraction: unknown; runs: number }): Record<string, unknown> {
  return {
    runs: result.runs,
    failedFraction: result.failedFraction,
    ...(result.giantComponentFraction === undefined ? {} : { giantComponentFraction: result.giantComponentFraction }),
    ...(result.mutualGiantComponentFraction === undefined ? {} : { mutualGiantComponentFraction: result.mutualGiantComponentFraction }),
  };
}
