import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { createBehaviours } from '../../actors/index.ts';
import { generateCity, parseCity, StratumError, ValidationError, CityIndex, loadCityFile, type CityModel, type GeneratedWater } from '../../engine/index.ts';
import {
  defaultRecordingsDir,
  expandScenario,
  Ledger,
  listLibrary,
  listRecordings,
  loadRecording,
  MAX_SPEED,
  MIN_SPEED,
  recordRun,
  ReplaySession,
  resolveScenario,
  scenarioJsonSchemaText,
  TrainingExercise,
  verifyLedgerFile,
  type CitySource,
  type Recording,
} from '../../scenarios/index.ts';
import { PgRecordings } from '../adapters/index.ts';
import { UsageError } from './analysis-cli.ts';
import { waterModelOption } from './water-cli.ts';

/** A broken ledger chain: exit 1 with the first broken entry. */
export class LedgerBrokenError extends StratumError {}

interface Io {
  out(s: string): void;
  err(s: string): void;
}

const behaviours = (i: CityIndex) => createBehaviours(i);

function number(flag: string, min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number in [${min}, ${max}] (got "${value}")`);
    return n;
  };
}

/**
 * Opens the recordings stored in PostgreSQL (schema `STRATUM_RECORDINGS_SCHEMA`, default `stratum`),
 * runs `work` and closes the connection. A store that cannot be reached is a CLI error naming it,
 * not a stack trace.
 */
async function withPgRecordings<T>(url: string | undefined, flag: string, work: (store: PgRecordings) => Promise<T>): Promise<T> {
  if (url === undefined || url === '') throw new UsageError(`${flag} needs a PostgreSQL url: --pg-url URL or STRATUM_PG_URL`);
  const schema = process.env['STRATUM_RECORDINGS_SCHEMA'] ?? 'stratum';
  let store: PgRecordings;
  try {
    store = await PgRecordings.open({ url, schema, readOnly: true });
  } catch (error) {
    throw new StratumError(`cannot open the recordings in PostgreSQL (${schema}.recordings): ${(error as Error).message}`, { cause: error });
  }
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Where `replay` and `train` read a recording: the folder (default) or PostgreSQL (`--pg`). */
interface RecordingPlace {
  dir?: string;
  pg?: boolean;
  pgUrl?: string;
}

/**
 * The recording `id` from the folder or, with `--pg` / `--pg-url`, from PostgreSQL — with its city
 * when the database holds one (a live recording: its city file may not exist on this machine).
 */
async function loadRecordingFrom(id: string, place: RecordingPlace): Promise<{ recording: Recording; city?: CityModel }> {
  const fromPg = place.pg === true || place.pgUrl !== undefined;
  if (!fromPg) return { recording: loadRecording(id, place.dir ?? defaultRecordingsDir()) };
  if (place.dir !== undefined) throw new UsageError('--dir and --pg are exclusive: the recording comes from the folder or from PostgreSQL');
  return withPgRecordings(place.pgUrl ?? process.env['STRATUM_PG_URL'], '--pg', (store) => store.loadExisting(id));
}

/** Default ledger file: `STRATUM_LEDGER_FILE`, else `<data dir>/ledger.ndjson` (`STRATUM_DATA_DIR`, default ./data: where `stratum start` keeps it). */
export function defaultLedgerFile(env: NodeJS.ProcessEnv = process.env): string {
  return env['STRATUM_LEDGER_FILE'] ?? join(env['STRATUM_DATA_DIR'] ?? 'data', 'ledger.ndjson');
}

/** `--city FILE`, else a generated city of `--assets` assets from `--city-seed` (scenario show, record run). */
function cityOptions(command: Command): Command {
  return command
    .option('--city <file>', 'city file (default: a generated city)')
    .option('--assets <n>', 'assets of the generated city', number('--assets', 100), 2000)
    .option('--city-seed <s>', 'seed of the generated city', number('--city-seed', 0), 1);
}

/**
 * Scenario, recording, replay, training and ledger commands for the `stratum` CLI:
 * `scenario list|show|schema`, `record list|run`, `replay RECORDING`, `train RECORDING`,
 * `ledger verify [FILE]`. Errors are thrown (ValidationError → exit 1 with file, path, reason).
 *
 * @example
 * registerScenarioCommands(program, io); // in gateways/cli/cli.ts main()
 */
export function registerScenarioCommands(program: Command, io: Io): void {
  const scenario = program.command('scenario').description('The scenario library and format');
  scenario
    .command('list')
    .description('List the library scenarios')
    .option('--json', 'one JSON document')
    .action((opts: { json?: boolean }) => {
      const entries = listLibrary();
      if (opts.json) io.out(`${JSON.stringify(entries)}\n`);
      else for (const e of entries) io.out(`${e.name.padEnd(22)} ${e.kind.padEnd(18)} ${e.description}\n`);
    });
  cityOptions(scenario
    .command('show')
    .description('Validate a scenario (library name or file) and print the inputs it expands to on a city')
    .argument('<scenario>', 'library name or file (YAML/JSON)'))
    .option('--seed <s>', 'run seed (hazard draws)', number('--seed', 0), 1)
    .option('--json', 'print every input as JSON')
    .action((name: string, opts: { city?: string; assets: number; citySeed: number; seed: number; json?: boolean }) => {
      const s = resolveScenario(name);
      const city = opts.city === undefined ? parseCity(generateCity({ assets: opts.assets, seed: opts.citySeed }), 'generated city') : loadCityFile(opts.city);
      const inputs = expandScenario(s, new CityIndex(city), opts.seed);
      if (opts.json) io.out(`${JSON.stringify({ name: s.name, title: s.title, inputs })}\n`);
      else {
        const byType = new Map<string, number>();
        for (const i of inputs) byType.set(i.command.type, (byType.get(i.command.type) ?? 0) + 1);
        io.out(`${s.name}: ${s.title}\n${s.description}\n${inputs.length} inputs (${[...byType].map(([k, v]) => `${v} ${k}`).join(', ')}) from ${s.events.length} events\n`);
      }
    });
  scenario
    .command('schema')
    .description('Print the JSON Schema of the scenario format')
    .action(() => io.out(scenarioJsonSchemaText()));

  const record = program.command('record').description('Incident recordings (journal + seed + city hash)');
  record
    .command('list')
    .description('List recordings')
    .option('--dir <dir>', 'recordings folder (default STRATUM_RECORDINGS or ./recordings)')
    .option('--pg [url]', 'list the recordings stored in PostgreSQL instead (default url: STRATUM_PG_URL)')
    .option('--json', 'one JSON document')
    .action(async (opts: { dir?: string; pg?: string | true; json?: boolean }) => {
      const metas = opts.pg === undefined ? listRecordings(opts.dir ?? defaultRecordingsDir()) : await withPgRecordings(opts.pg === true ? process.env['STRATUM_PG_URL'] : opts.pg, '--pg', (store) => store.list());
      if (opts.json) io.out(`${JSON.stringify(metas.map(({ feedAfter: _f, checkpoints: _c, ...m }) => m))}\n`);
      else if (metas.length === 0) io.out('no recordings\n');
      else for (const m of metas) io.out(`${m.id}  ${m.title}  ${m.inputs} inputs  ${(m.untilMs / 3_600_000).toFixed(1)} h  ${m.stateHash.slice(0, 12)}\n`);
    });
  cityOptions(record
    .command('run')
    .description('Run a scenario in batch mode and record it')
    .requiredOption('--scenario <name|file>', 'library name or scenario file'))
    .option('--seed <s>', 'run seed', number('--seed', 0), 1)
    .option('--until <seconds>', 'virtual seconds to run (default: the scenario\'s duration, else 24 h)', number('--until', 1))
    .option('--snapshot-every <seconds>', 'checkpoint interval', number('--snapshot-every', 1), 3600)
    .addOption(waterModelOption())
    .option('--dir <dir>', 'recordings folder')
    .option('--id <id>', 'recording id')
    .option('--json', 'print the recording meta as JSON')
    .action(async (opts: { scenario: string; city?: string; assets: number; citySeed: number; seed: number; until?: number; snapshotEvery: number; water: GeneratedWater; dir?: string; id?: string; json?: boolean }) => {
      const s = resolveScenario(opts.scenario);
      const city: CitySource = opts.city === undefined ? { generate: { assets: opts.assets, seed: opts.citySeed, water: opts.water } } : { file: opts.city };
      const rec = await recordRun({ city, seed: opts.seed, behaviours, scenario: s, untilSeconds: opts.until ?? (s.durationHours ?? 24) * 3600, snapshotEverySeconds: opts.snapshotEvery, ...(opts.dir === undefined ? {} : { dir: opts.dir }), ...(opts.id === undefined ? {} : { id: opts.id }) });
      if (opts.json) io.out(`${JSON.stringify({ ...rec.meta, feedAfter: undefined, dir: rec.dir })}\n`);
      else io.out(`recorded ${rec.meta.id} in ${rec.dir}: ${rec.meta.inputs} inputs, ${rec.meta.events} state changes\nstateHash ${rec.meta.stateHash}\n`);
    });

  program
    .command('replay')
    .description('Replay a recording and check that the state-change stream is identical (stateHash)')
    .argument('<recording>', 'recording id (under --dir, or in PostgreSQL with --pg) or folder')
    .option('--dir <dir>', 'recordings folder')
    .option('--pg', 'read the recording from PostgreSQL (url: --pg-url or STRATUM_PG_URL; schema STRATUM_RECORDINGS_SCHEMA)')
    .option('--pg-url <url>', 'PostgreSQL url for --pg (implies --pg)')
    .option('--speed <x>', `real-time playback at X virtual seconds per wall second (${MIN_SPEED}–${MAX_SPEED}); default: batch`, number('--speed', MIN_SPEED, MAX_SPEED))
    .option('--seek <seconds>', 'stop at this virtual time instead of the end', number('--seek', 0))
    .option('--driver <driver>', 'direct (batch) or nact (live actors)', 'direct')
    .option('--json', 'one JSON document')
    .action(async (id: string, opts: RecordingPlace & { speed?: number; seek?: number; driver: string; json?: boolean }) => {
      if (opts.driver !== 'direct' && opts.driver !== 'nact') throw new InvalidArgumentError(`--driver must be direct or nact (got "${opts.driver}")`);
      const { recording: rec, city } = await loadRecordingFrom(id, opts);
      const session = await ReplaySession.open(rec, behaviours, { driver: opts.driver, ...(city === undefined ? {} : { city }) });
      const started = performance.now();
      try {
        const untilMs = opts.seek === undefined ? rec.meta.untilMs : Math.min(rec.meta.untilMs, opts.seek * 1000);
        if (opts.speed !== undefined && untilMs === rec.meta.untilMs) {
          const ended = new Promise<void>((resolve) => session.onEnd(resolve));
          session.play(opts.speed);
          await ended;
        } else await session.runTo(untilMs);
        const engine = session.current;
        const stateHash = engine.stream.stateHash();
        const atEnd = untilMs === rec.meta.untilMs;
        const checkpoint = rec.meta.checkpoints.find((c) => c.ms === untilMs);
        const expected = atEnd ? rec.meta.stateHash : checkpoint?.stateHash ?? null;
        const result = { recording: rec.meta.id, untilMs, stateHash, expected, identical: expected === null ? null : stateHash === expected, events: engine.stream.count, summary: engine.summary(), wallSeconds: (performance.now() - started) / 1000 };
        if (opts.json) io.out(`${JSON.stringify(result)}\n`);
        else io.out(`replayed ${rec.meta.id} to ${untilMs / 1000} s: ${result.events} state changes\nstateHash ${stateHash}${expected === null ? ' (no checkpoint here)' : stateHash === expected ? ' (identical to the recording)' : ` DIFFERS from the recording's ${expected}`}\n`);
        if (expected !== null && stateHash !== expected) throw new StratumError(`replay of ${rec.meta.id} diverged from the recording`);
      } finally {
        await session.close();
      }
    });

  program
    .command('train')
    .description('Training exercise: replay a recording, hand over at a time, apply trainee actions, score against the recorded outcome')
    .argument('<recording>', 'recording id (under --dir, or in PostgreSQL with --pg) or folder')
    .requiredOption('--handover <seconds>', 'virtual time of the handover', number('--handover', 0))
    .option('--actions <file>', 'trainee actions: a scenario file of plain inputs, `at` in seconds of the recording')
    .option('--trainee <name>', 'trainee name', 'trainee')
    .option('--dir <dir>', 'recordings folder')
    .option('--pg', 'read the recording from PostgreSQL (url: --pg-url or STRATUM_PG_URL; schema STRATUM_RECORDINGS_SCHEMA)')
    .option('--pg-url <url>', 'PostgreSQL url for --pg (implies --pg)')
    .option('--json', 'one JSON document')
    .action(async (id: string, opts: RecordingPlace & { handover: number; actions?: string; trainee: string; json?: boolean }) => {
      const { recording: rec, city } = await loadRecordingFrom(id, opts);
      // open + run to the handover is TrainingExercise.start, with the database's city when there is one.
      const exercise = await TrainingExercise.open({ recording: rec, behaviours, handoverMs: opts.handover * 1000, ...(city === undefined ? {} : { city }) });
      await exercise.replay.runTo(opts.handover * 1000);
      if (opts.actions !== undefined) {
        const plan = expandScenario(resolveScenario(opts.actions), exercise.engine.index, exercise.engine.kernel.seed);
        const early = plan.find((a) => a.at * 1000 < opts.handover * 1000);
        if (early !== undefined) throw new ValidationError(opts.actions, [{ path: `$.events[${early.origin}].at`, reason: `before the handover (${opts.handover} s)` }]);
        for (const a of plan) {
          await exercise.runTo(Math.round(a.at * 1000) - 1);
          exercise.act(a.command, opts.trainee, Math.round(a.at * 1000));
        }
      }
      const report = await exercise.finish();
      if (opts.json) io.out(`${JSON.stringify(report)}\n`);
      else {
        io.out(`score ${report.score}/100 (50 = as recorded)\n`);
        io.out(`cost: recorded ${report.recorded.cost.total} ${report.recorded.cost.currency}, trainee ${report.trainee.cost.total}\n`);
        io.out(`people-hours without power/water/telecom: recorded ${Object.values(report.recorded.peopleHoursWithout).map(Math.round).join('/')}, trainee ${Object.values(report.trainee.peopleHoursWithout).map(Math.round).join('/')}\n`);
        io.out(`hospital-hours degraded: recorded ${report.recorded.hospitalHoursDegraded}, trainee ${report.trainee.hospitalHoursDegraded}\n`);
        io.out('decisions after the handover:\n');
        for (const d of [...report.timeline.recorded.map((x) => ({ ...x, side: 'recorded' })), ...report.timeline.trainee.map((x) => ({ ...x, side: 'trainee ' }))].sort((a, b) => a.timeMs - b.timeMs)) {
          io.out(`  ${(d.timeMs / 1000).toFixed(0).padStart(7)} s  ${d.side}  ${d.who}  ${d.command.type} ${d.command.target}\n`);
        }
      }
    });

  const ledger = program.command('ledger').description('The decision ledger');
  ledger
    .command('verify')
    .description('Check the hash chain; exit 1 naming the first broken entry')
    .argument('[file]', 'ledger file (default STRATUM_LEDGER_FILE or <STRATUM_DATA_DIR, default ./data>/ledger.ndjson)')
    .option('--json', 'one JSON document')
    .action((file: string | undefined, opts: { json?: boolean }) => {
      const path = file ?? defaultLedgerFile();
      let verdict;
      try {
        verdict = verifyLedgerFile(path);
      } catch (error) {
        throw new ValidationError(path, [{ path: '$', reason: `cannot read: ${(error as Error).message}` }]);
      }
      const { entries: _entries, ...summary } = verdict;
      if (opts.json) io.out(`${JSON.stringify({ file: path, ...summary })}\n`);
      else if (verdict.ok) io.out(`${path}: ok, ${verdict.count} entries, head ${verdict.head}\n`);
      if (!verdict.ok) throw new LedgerBrokenError(`${path}: chain broken at entry ${verdict.firstBroken} (line ${verdict.line}): ${verdict.reason}`);
    });

  ledger
    .command('repair')
    .description('Cut a torn final line (a crash in the middle of an append) off the ledger and note the repair in it; a chain broken anywhere else is refused')
    .argument('[file]', 'ledger file (default STRATUM_LEDGER_FILE or <STRATUM_DATA_DIR, default ./data>/ledger.ndjson)')
    .option('--json', 'one JSON document')
    .action((file: string | undefined, opts: { json?: boolean }) => {
      const path = file ?? defaultLedgerFile();
      if (!existsSync(path)) throw new ValidationError(path, [{ path: '$', reason: 'no such ledger file' }]);
      let ledgerFile: Ledger;
      try {
        ledgerFile = new Ledger(path, undefined, { repairTornTail: true });
      } catch (error) {
        throw new LedgerBrokenError(`${(error as Error).message} (not a torn final line: nothing was changed)`);
      }
      const repaired = ledgerFile.repaired;
      if (opts.json) io.out(`${JSON.stringify({ file: path, repaired: repaired ?? null, count: ledgerFile.entries.length, head: ledgerFile.head })}\n`);
      else if (repaired === undefined) io.out(`${path}: nothing to repair, ${ledgerFile.entries.length} entries, head ${ledgerFile.head}\n`);
      else io.out(`${path}: cut a torn final line (line ${repaired.line}, ${repaired.bytes} bytes) and noted the repair; ${ledgerFile.entries.length} entries, head ${ledgerFile.head}\n`);
    });
}
