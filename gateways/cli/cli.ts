import { writeFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, StratumError, ValidationError, generateCity, loadCityFile, parseCity, type CityModel, type DriverName, type GeneratedWater } from '../../engine/index.ts';
import { DEFAULT_COST_MODEL, loadCostModelFile, OutcomeMeter, resolveScenario, submitScenario, type CostModel } from '../../scenarios/index.ts';
import { UsageError, registerAnalysisCommands } from './analysis-cli.ts';
import type { FanoutSettings } from '../stream/index.ts';
import { newTokenLine, TOKEN_NAME, TokenConfigError } from '../door/index.ts';
import { ROLES, type Role } from '../protocol.ts';
import { BUNDLED_PLACE, registerPlacesCommands } from './places-cli.ts';
import { registerScenarioCommands } from './replay-cli.ts';
import { registerWaterCommands, waterModelOption } from './water-cli.ts';
import { registerHistoryCommands } from './history-cli.ts';
import { registerWorkerCommands } from './worker-cli.ts';
import { registerPowerCommands } from './power-cli.ts';
import { registerPandapowerCommands } from './pandapower-cli.ts';
import { registerEstimationCommands } from './estimation-cli.ts';
import { registerTelemetryCommands } from './telemetry-cli.ts';

/** Parses a non-negative integer flag with a message that names the flag. */
function integer(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number ≥ ${min} (got "${value}")`);
    return n;
  };
}

/** A TCP port 0..65535 (0: any free port), whole digits only ("8080x" and "-1" are refused). */
export function parsePort(name: string, value: string): number {
  const n = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(n >= 0 && n <= 65_535)) throw new InvalidArgumentError(`${name} must be a port number from 0 to 65535 (got "${value}")`);
  return n;
}

/**
 * What `stratum start` prints once listening: where, a link that signs in (the UI reads `#token=`
 * and removes it from the address bar), and the token for the API.
 */
export function startBanner(o: { assets: number; url: string; token: string; ui: boolean }): string {
  const open = o.ui ? `open the twin: ${o.url}/#token=${encodeURIComponent(o.token)}\n` : '';
  return `Stratum Twin serving ${o.assets} assets at ${o.url}\n${open}admin token: ${o.token}\n`;
}

/** Levels of the HTTP logger (pino): request logs appear at `info`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function positive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number (got "${value}")`);
    return n;
  };
}

/** `HOST` from the environment: unset or empty keeps a laptop's `npm start` on loopback. */
function listenHost(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return '127.0.0.1';
  if (/\s/.test(value.trim())) throw new UsageError(`HOST must be one interface address or name (got "${value}")`);
  return value.trim();
}

/** `stratum start --role`: one process, or the engine and gateway halves of a fan-out deployment. */
export const START_ROLES = ['all', 'engine', 'gateway'] as const;
export type StartRole = (typeof START_ROLES)[number];

function startRoleFromEnv(value: string | undefined): StartRole {
  if (value === undefined || value === '') return 'all';
  if (!(START_ROLES as readonly string[]).includes(value)) throw new UsageError(`STRATUM_ROLE must be one of ${START_ROLES.join(', ')} (got "${value}")`);
  return value as StartRole;
}

function engineUrlFrom(value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError('--role gateway needs the engine\'s URL: --engine-url URL or STRATUM_ENGINE_URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--engine-url must be an http(s) URL (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--engine-url must be an http(s) URL (got "${value}")`);
  return value;
}

/** `start --role gateway`: viewers and HTTP in front of an engine process, until SIGINT/SIGTERM. */
async function runGateway(o: { engineUrl: string; fanout: FanoutSettings; port: number; host: string; ui: boolean; logLevel?: string }, io: { err: (s: string) => void }): Promise<void> {
  const { startGateway } = await import('../gateway-server.ts');
  const gateway = await startGateway({ engineUrl: o.engineUrl, fanout: o.fanout, port: o.port, host: o.host, ...(o.ui ? {} : { uiDir: false as const }), ...(o.logLevel === undefined ? {} : { logLevel: o.logLevel }) });
  io.err(`Stratum Twin gateway at ${gateway.url}: viewers from Redis ${o.fanout.redisUrl} ("${o.fanout.prefix}"), HTTP and inputs to the engine at ${o.engineUrl}\n`);
  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      void gateway.close().then(resolve);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    process.on('SIGHUP', () => {
      try {
        const r = gateway.reloadTokens();
        io.err(`tokens reloaded: ${r.total} in force; ${r.disconnected} connection(s) closed\n`);
      } catch (error) {
        io.err(`stratum: tokens not reloaded, the previous ones stay in force: ${(error as Error).message}\n`);
      }
    });
  });
}

/** Loads a city file, or generates one when `generate` is set. */
export function cityFrom(options: { city?: string; assets?: number; seed: number; water?: GeneratedWater }): CityModel {
  if (options.city !== undefined) return loadCityFile(options.city);
  return parseCity(generateCity({ assets: options.assets ?? 5000, seed: options.seed, water: options.water ?? 'epanet', grid: 'electrical' }), 'generated city');
}

/** `--cost-model FILE`, else `STRATUM_COST_MODEL`, else the documented defaults. */
function costModelFrom(file: string | undefined): CostModel {
  const path = file ?? process.env['STRATUM_COST_MODEL'];
  return path === undefined || path === '' ? DEFAULT_COST_MODEL : loadCostModelFile(path);
}

const COST_MODEL_HELP = 'JSON cost model over the defaults (currency, assetPerHour, defaultAssetPerHour, personPerHour); default STRATUM_COST_MODEL';

/** The whole CLI. Returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void } = defaultIo): Promise<number> {
  const program = new Command()
    .name('stratum')
    .description('Stratum Twin: a real-time digital twin of city infrastructure on an actor engine')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('generate')
    .description('Generate a synthetic city (same seed ⇒ identical file)')
    .requiredOption('--assets <n>', 'number of assets (100 to 1,000,000+)', integer('--assets', 100))
    .option('--seed <s>', 'random seed', integer('--seed'), 1)
    .option('--out <file>', 'write the city here instead of stdout')
    .addOption(waterModelOption())
    .addOption(new Option('--grid <model>', 'power layer: electrical (buses, branch assets, dispatch, N-1-secure ratings: DC flow in the live twin) or connectivity (a graph only)').choices(['electrical', 'connectivity']).default('electrical'))
    .action((opts: { assets: number; seed: number; out?: string; water: GeneratedWater; grid: 'electrical' | 'connectivity' }) => {
      const doc = generateCity({ assets: opts.assets, seed: opts.seed, water: opts.water, grid: opts.grid });
      const text = JSON.stringify(doc);
      if (opts.out === undefined) io.out(`${text}\n`);
      else {
        writeFileSync(opts.out, text);
        io.err(`wrote ${opts.out}: ${doc.assets.length} assets, ${doc.links.length} links, ${doc.dependencies.length} dependencies, ${doc.cohorts.length} cohorts\n`);
      }
    });

  program
    .command('validate')
    .description('Validate a city file and print its size; exit 1 with every problem if it is invalid')
    .requiredOption('--city <file>', 'city file (JSON or GeoJSON)')
    .action((opts: { city: string }) => {
      const city = loadCityFile(opts.city);
      io.out(`${JSON.stringify({ valid: true, assets: city.assets.length, links: city.links.length, dependencies: city.dependencies.length, cohorts: city.cohorts.length })}\n`);
    });

  program
    .command('simulate')
    .description('Run a city (and a scenario) in batch mode on the virtual clock and summarise the run')
    .option('--city <file>', 'city file; without it a city is generated (see --assets)')
    .option('--assets <n>', 'size of the generated city when no --city is given', integer('--assets', 100), 5000)
    .option('--scenario <name|file>', 'a library scenario by name (see `stratum scenario list`) or a scenario file (JSON or YAML)')
    .option('--seed <s>', 'random seed', integer('--seed'), 1)
    .option('--until <seconds>', 'simulated seconds to run', positive('--until'), 86_400)
    .addOption(waterModelOption())
    .addOption(new Option('--driver <name>', 'nact (the live actors) or direct (batch transitions)').choices(['nact', 'direct']).default('nact'))
    .option('--journal <file>', 'append the input journal to this file (for replay)')
    .option('--cost-model <file>', COST_MODEL_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { city?: string; assets: number; scenario?: string; seed: number; until: number; water: GeneratedWater; driver: DriverName; journal?: string; costModel?: string; json?: boolean }) => {
      const city = cityFrom(opts);
      const model = costModelFrom(opts.costModel);
      const scenario = opts.scenario === undefined ? undefined : resolveScenario(opts.scenario);
      const engine = await Engine.create({
        city,
        behaviours: (index) => createBehaviours(index),
        seed: opts.seed,
        driver: opts.driver,
        ...(opts.journal === undefined ? {} : { journalFile: opts.journal }),
      });
      try {
        const meter = OutcomeMeter.attach(engine, model);
        if (scenario !== undefined) submitScenario(engine, scenario);
        const started = performance.now();
        await engine.runUntil(Math.round(opts.until * 1000));
        const outcome = meter.outcome();
        const summary = {
          ...engine.summary(),
          scenario: scenario?.name ?? null,
          peopleHoursWithout: outcome.peopleHoursWithout,
          hospitalHoursDegraded: outcome.hospitalHoursDegraded,
          economicCost: outcome.cost,
          wallSeconds: (performance.now() - started) / 1000,
        };
        if (opts.json) io.out(`${JSON.stringify(summary)}\n`);
        else {
          io.out(`simulated ${summary.simulatedSeconds} s of ${city.name} (${city.assets.length} assets) with the ${summary.driver} driver in ${summary.wallSeconds.toFixed(2)} s\n`);
          io.out(`events ${summary.events}, failed ${summary.failed}, degraded ${summary.degraded}, inputs ${summary.inputs}\n`);
          io.out(`people-hours without power ${Math.round(outcome.peopleHoursWithout.power)}, water ${Math.round(outcome.peopleHoursWithout.water)}, telecom ${Math.round(outcome.peopleHoursWithout.telecom)}; hospital-hours degraded ${outcome.hospitalHoursDegraded.toFixed(1)}; cost ${Math.round(outcome.cost.total).toLocaleString('en-GB')} ${outcome.cost.currency}\n`);
          io.out(`stateHash ${summary.stateHash}\n`);
        }
      } finally {
        await engine.stop();
      }
    });

  program
    .command('start')
    .description('Serve the live twin: engine in real time, HTTP API, Socket.io/ws streaming and the 3D UI')
    .option('--city <file>', 'city file or OpenStreetMap extract; default: the bundled centre of Helsinki (OSM, synthesised networks)')
    .option('--assets <n>', 'serve a generated city of this size instead of the bundled place', integer('--assets', 100))
    .option('--seed <s>', 'random seed', integer('--seed'), 1)
    .option('--port <port>', 'HTTP port, 0 for any free one (default: PORT or 8080)', (v: string) => parsePort('--port', v))
    .option('--host <host>', 'interface to listen on (default: HOST or 127.0.0.1; the container image sets HOST=0.0.0.0)')
    .option('--speed <x>', 'virtual seconds per wall second', positive('--speed'), 1)
    .addOption(waterModelOption())
    .option('--cost-model <file>', COST_MODEL_HELP)
    .option('--no-ui', 'serve the API and streams only (no UI build, nothing at /)')
    .option('--data-dir <dir>', 'durable journal, ledger and checkpoint (default STRATUM_DATA_DIR or ./data)')
    .addOption(new Option('--log-level <level>', 'HTTP log level; request logs appear at info (default: STRATUM_LOG_LEVEL or warn)').choices(LOG_LEVELS))
    .addOption(new Option('--role <role>', 'all: one process (default); engine: the simulation and the door, publishing frames on Redis; gateway: viewers and HTTP, no engine (default: STRATUM_ROLE or all)').choices(START_ROLES))
    .option('--engine-url <url>', 'role gateway: the engine process\'s HTTP URL (default: STRATUM_ENGINE_URL)')
    .option('--redis-url <url>', 'roles engine and gateway: the Redis that carries frames (default: STRATUM_REDIS_URL)')
    .action(async (opts: { city?: string; assets?: number; seed: number; port?: number; host?: string; speed: number; water: GeneratedWater; costModel?: string; ui: boolean; logLevel?: string; dataDir?: string; role?: StartRole; engineUrl?: string; redisUrl?: string }) => {
      let port = opts.port;
      if (port === undefined) {
        try {
          port = parsePort('PORT', process.env['PORT'] ?? '8080');
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      }
      const logLevel = opts.logLevel ?? process.env['STRATUM_LOG_LEVEL'];
      if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
        throw new UsageError(`STRATUM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
      }
      const role = opts.role ?? startRoleFromEnv(process.env['STRATUM_ROLE']);
      // Flags of the other half are refused rather than ignored (a gateway has no city; an engine forwards nowhere).
      const engineOnly = ([['--city', opts.city], ['--assets', opts.assets], ['--data-dir', opts.dataDir], ['--cost-model', opts.costModel]] as const).find(([, v]) => v !== undefined);
      if (role === 'gateway' && engineOnly !== undefined) throw new UsageError(`${engineOnly[0]} belongs to the engine (role all or engine), not to --role gateway`);
      if (role !== 'gateway' && opts.engineUrl !== undefined) throw new UsageError(`--engine-url belongs to --role gateway (this is role ${role})`);
      if (role === 'all' && opts.redisUrl !== undefined) throw new UsageError('--redis-url belongs to --role engine or gateway (role all needs no Redis; the Redis adapter uses STRATUM_REDIS_URL with STRATUM_ADAPTERS=1)');
      const fanout = role === 'all' ? undefined : (await import('../stream/index.ts')).fanoutFromEnv(process.env, opts.redisUrl);
      if (fanout !== undefined && 'error' in fanout) throw new UsageError(fanout.error);
      if (role === 'gateway') {
        await runGateway({ engineUrl: engineUrlFrom(opts.engineUrl ?? process.env['STRATUM_ENGINE_URL']), fanout: fanout!, port, host: opts.host ?? listenHost(process.env['HOST']), ui: opts.ui, ...(logLevel === undefined ? {} : { logLevel }) }, io);
        return;
      }
      const city = opts.city === undefined && opts.assets === undefined ? loadCityFile(BUNDLED_PLACE) : cityFrom(opts);
      const costModel = costModelFrom(opts.costModel);
      const host = opts.host ?? listenHost(process.env['HOST']);
      const { startServer } = await import('../server.ts');
      if (opts.ui) {
        try {
          // The UI is built on first start (and whenever its sources changed) so `npm start` serves it.
          const { ensureUiBuilt } = await import('../../twin-ui/build-ui.ts');
          if (await ensureUiBuilt()) io.err('built the 3D twin UI (twin-ui/dist)\n');
        } catch (error) {
          io.err(`stratum: the UI could not be built, serving the API only: ${(error as Error).message}\n`);
        }
      }
      const server = await startServer({
        city,
        seed: opts.seed,
        port,
        host,
        speed: opts.speed,
        costModel,
        ...(logLevel === undefined ? {} : { logLevel }),
        dataDir: opts.dataDir ?? process.env['STRATUM_DATA_DIR'] ?? 'data',
        ...(fanout === undefined ? {} : { fanout }),
        ...(opts.ui ? {} : { uiDir: false as const }),
        ...(process.env['STRATUM_ADMIN_TOKEN'] === undefined ? {} : { adminToken: process.env['STRATUM_ADMIN_TOKEN'] }),
      });
      // A token given to the process (STRATUM_ADMIN_TOKEN) is never printed: whoever gave it has it,
      // and logs are read by more people. Only a generated one is shown, once, so it can be used.
      const given = process.env['STRATUM_ADMIN_TOKEN'] !== undefined;
      if (fanout !== undefined) io.err(`role engine: publishing frames on Redis ${fanout.redisUrl} under "${fanout.prefix}" for gateways\n`);
      io.err(`Stratum Twin serving ${city.assets.length} assets at ${server.url}\n${given ? 'admin token: the one given in STRATUM_ADMIN_TOKEN (not printed)' : `admin token: ${server.adminToken}`}\n`);
      io.err(startBanner({ assets: city.assets.length, url: server.url, token: server.adminToken, ui: opts.ui }));
      await new Promise<void>((resolve) => {
        const shutdown = (): void => {
          void server.close().then(resolve);
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
        // Token rotation without a restart: edit STRATUM_TOKENS_FILE, then `kill -HUP <pid>`.
        process.on('SIGHUP', () => {
          try {
            const r = server.reloadTokens();
            io.err(`tokens reloaded: ${r.total} in force; added [${r.added.join(', ')}], removed [${r.removed.join(', ')}], role changed [${r.changed.join(', ')}]; ${r.disconnected} connection(s) closed\n`);
          } catch (error) {
            io.err(`stratum: tokens not reloaded, the previous ones stay in force: ${(error as Error).message}\n`);
          }
        });
      });
    });

  program
    .command('token')
    .description('Make a new random token and print the STRATUM_TOKENS_FILE line that grants it by its SHA-256 hash (the file then holds no usable secret)')
    .requiredOption('--name <name>', 'who holds the token (letters, digits, _ . @ -)', (value: string) => {
      if (!TOKEN_NAME.test(value)) throw new InvalidArgumentError(`--name must be letters, digits, _ . @ - (got "${value}")`);
      return value;
    })
    .addOption(new Option('--role <role>', 'the role it grants').choices(ROLES).makeOptionMandatory())
    .option('--json', 'print {"name","role","token","line"}')
    .action((opts: { name: string; role: Role; json?: boolean }) => {
      const { token, line } = newTokenLine(opts.name, opts.role);
      if (opts.json === true) io.out(`${JSON.stringify({ name: opts.name, role: opts.role, token, line })}\n`);
      else io.out(`token (give it to ${opts.name}; it is not stored anywhere): ${token}\nline for STRATUM_TOKENS_FILE:\n${line}\n`);
    });

  registerAnalysisCommands(program, io);
  registerScenarioCommands(program, io);
  // One `import` parent; each format adds its subcommand (matpower, epanet, osm).
  const importCommand = program.command('import').description('Convert another format (MATPOWER, pandapower, EPANET, OpenStreetMap) into a city file');
  registerPowerCommands(program, io);
  registerPandapowerCommands(program, io);
  registerEstimationCommands(program, io);
  registerTelemetryCommands(program, io);
  registerWaterCommands(program, io, importCommand);
  registerHistoryCommands(program, io);
  registerWorkerCommands(program, io);
  registerPlacesCommands(program, io);

  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: { err: (s: string) => void }): number {
  if (error instanceof CommanderError) {
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  }
  if (error instanceof UsageError) {
    io.err(`stratum: ${error.message}\n(run with --help for usage)\n`);
    return 2;
  }
  if (error instanceof ValidationError || error instanceof StratumError || error instanceof RangeError || error instanceof TokenConfigError) {
    io.err(`stratum: ${error.message}\n`);
    return 1;
  }
  io.err(`stratum: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}

const defaultIo = {
  out: (s: string): void => void process.stdout.write(s),
  err: (s: string): void => void process.stderr.write(s),
};
