import os from 'node:os';
import { Command, Option } from 'commander';
import { runPropagationBench } from './propagation.ts';

/**
 * `npm run bench [-- --json] [-- --only GROUP] [-- --quick]`: every figure of the issues' targets,
 * measured side by side in one run. Human-readable lines go to stderr; with --json the last line of
 * stdout is one JSON object with every figure.
 */
type Group = 'propagation' | 'physics' | 'streaming' | 'infra' | 'ui' | 'grid' | 'estimation' | 'telemetry' | 'water' | 'places' | 'history' | 'reliability' | 'fanout' | 'reads';
const GROUPS: readonly Group[] = ['propagation', 'physics', 'streaming', 'infra', 'ui', 'grid', 'estimation', 'telemetry', 'water', 'places', 'history', 'reliability', 'fanout', 'reads'];

const program = new Command()
  .name('bench')
  .option('--json', 'print one JSON object as the last line of stdout')
  .addOption(new Option('--only <group>', 'run one group').choices(GROUPS))
  .option('--quick', 'smaller sizes (a smoke run, not the recorded figures)')
  .parse(process.argv);
const opts = program.opts<{ json?: boolean; only?: Group; quick?: boolean }>();
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const figures: Record<string, number | string> = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
};

const groups: Record<Group, () => Promise<Record<string, number | string>>> = {
  propagation: () =>
    runPropagationBench({ assets: opts.quick ? 20_000 : 100_000, spawnAssets: opts.quick ? 100_000 : 1_000_000, log }),
  physics: async () => optional('./physics.ts', 'runPhysicsBench', { quick: opts.quick ?? false, log }),
  streaming: async () => optional('./streaming.ts', 'runStreamingBench', { assets: opts.quick ? 10_000 : 100_000, viewers: opts.quick ? 50 : 500, quick: opts.quick ?? false }),
  infra: async () => optional('./infra.ts', 'runInfraBench', { quick: opts.quick ?? false, log }),
  ui: async () => optional('../twin-ui/bench/ui-bench.ts', 'runUiBench', { assets: opts.quick ? 10_000 : 100_000 }),
  grid: async () => optional('./grid.ts', 'runGridBench', { quick: opts.quick ?? false, log }),
  water: async () => optional('./water.ts', 'runWaterBench', { quick: opts.quick ?? false, log }),
  fanout: async () => optional('./fanout.ts', 'runFanoutBench', { quick: opts.quick ?? false, log }),
  reads: async () => optional('./reads.ts', 'runReadsBench', { quick: opts.quick ?? false, log }),
  estimation: async () => optional('./estimation.ts', 'runEstimationBench', { quick: opts.quick ?? false, log }),
  // Issue 12: the door figures (bench/reliability-door.ts), then the journal and recovery figures (bench/reliability-durable.ts).
  reliability: async () => ({
    ...(await optional('./reliability-door.ts', 'runDoorReliabilityBench', { quick: opts.quick ?? false, log })),
    ...(await optional('./reliability-durable.ts', 'runDurableBench', { quick: opts.quick ?? false, log })),
  }),
  places: async () => optional('./places.ts', 'runPlacesBench', { quick: opts.quick ?? false, log }),
  history: async () => optional('./history.ts', 'runHistoryBench', { quick: opts.quick ?? false, log }),
  telemetry: async () => optional('./telemetry.ts', 'runTelemetryBench', { quick: opts.quick ?? false, log }),
};

/** Runs a group that lives in another module; a group that is missing or cannot run is reported as skipped. */
async function optional(path: string, name: string, args: unknown): Promise<Record<string, number | string>> {
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    return { skipped: `cannot load ${path}: ${(error as Error).message.split('\n')[0]}` };
  }
  const fn = module[name] as ((a: unknown) => Promise<Record<string, number | string>>) | undefined;
  if (typeof fn !== 'function') return { skipped: `${path} has no ${name}` };
  return fn(args);
}

for (const group of opts.only === undefined ? GROUPS : [opts.only]) {
  log(`== ${group}`);
  const started = performance.now();
  try {
    const result = await groups[group]();
    for (const [key, value] of Object.entries(result)) {
      const name = key === 'skipped' ? `${group}Skipped` : key;
      figures[name] = value;
      log(`  ${name.padEnd(36)} ${typeof value === 'number' ? value.toLocaleString('en-GB') : value}`);
    }
  } catch (error) {
    figures[`${group}Error`] = (error as Error).message;
    log(`  ${group} failed: ${(error as Error).stack ?? String(error)}`);
  }
  log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (opts.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
