import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_FIELD_SIGMA, parseNoise, parseSpoof, simulateField, ValidationError, type FieldRun } from '../../engine/index.ts';
import { UsageError } from './analysis-cli.ts';
import { TELEMETRY_TOPIC } from '../adapters/index.ts';
import { sendField, type FieldTarget } from '../adapters/index.ts';
import { gridFromFile } from './power-cli.ts';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function numberFlag(flag: string, test: (x: number) => boolean, what: string) {
  return (value: string): number => {
    const x = Number(value);
    if (value.trim() === '' || !test(x)) throw new InvalidArgumentError(`${flag} must be ${what} (got "${value}")`);
    return x;
  };
}

function parsed<T>(flag: string, parse: (text: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${flag}: ${(error as Error).message}`);
    }
  };
}

const ids = (value: string): string[] => value.split(',').map((s) => s.trim()).filter((s) => s !== '');

interface FieldFlags {
  case: string;
  seconds: number;
  rate: number;
  noise?: { flow: number; injection: number; angle: number };
  dropout: number;
  stuck?: string[];
  delay: number;
  spoof?: Map<string, number>;
  pmu?: string[];
  seed: number;
  out?: string;
  stream?: string;
  json?: boolean;
  sensors?: 'estimator' | 'scada';
  send?: string;
  token?: string;
  kafka?: string[];
  topic: string;
  pace: number;
}

/** The stdout summary of a field run (also the `--json` object). */
function summary(flags: FieldFlags, run: FieldRun): Record<string, unknown> {
  return {
    case: flags.case,
    seed: flags.seed,
    sensors: run.sensors.length,
    scans: run.scans,
    readings: run.readings.length,
    dropped: run.dropped,
    snapshot: run.snapshot.length,
    spoofedInSnapshot: run.spoofedInSnapshot,
    stuckInSnapshot: run.stuckInSnapshot,
  };
}

/** `stratum field`: the field simulator (telemetry from a case's true DC power flow, with faults and an attacker). */
export function registerTelemetryCommands(program: Command, io: Io): void {
  program
    .command('field')
    .description(
      'Field simulator: measurement streams from the true DC power flow of a grid (flow sensors on every branch, injection sensors on every bus, PMUs where asked) with noise per sensor type, dropouts, stuck sensors, delays and an attacker who spoofs readings; writes the estimator\'s measurement file (each sensor\'s latest arrived reading)',
    )
    .requiredOption('--case <file>', 'MATPOWER case (.m), pandapower network (.json from pandapower.to_json) or a city file with electrical power assets')
    .option('--seconds <n>', 'simulated seconds', numberFlag('--seconds', (x) => Number.isFinite(x) && x > 0, 'a positive number of seconds'), 60)
    .option('--rate <hz>', 'scans per second', numberFlag('--rate', (x) => Number.isFinite(x) && x > 0, 'a positive number of scans per second'), 1)
    .option('--noise <list>', 'sensor σ per type: flow=MW,injection=MW,angle=deg (defaults flow=2,injection=3,angle=0.05)', parsed('--noise', parseNoise))
    .option('--dropout <p>', 'probability that a reading is lost', numberFlag('--dropout', (x) => x >= 0 && x < 1, 'a probability in [0, 1)'), 0)
    .option('--stuck <ids>', 'comma-separated br-N / bus-N whose sensors repeat their first reading', ids)
    .option('--delay <s>', 'mean latency: each sensor gets a fixed delay drawn from [0, 2·s]', numberFlag('--delay', (x) => Number.isFinite(x) && x >= 0, 'a number of seconds ≥ 0'), 0)
    .option('--spoof <ids:offsetMw>', 'attacker: add offsetMw to every flow/injection reading of these targets, e.g. br-20,bus-45:80 (groups separated by ";")', parsed('--spoof', parseSpoof))
    .option('--pmu <ids>', 'comma-separated buses with an angle sensor (PMU)', ids)
    .option('--seed <s>', 'random seed', numberFlag('--seed', (x) => Number.isInteger(x) && x >= 0, 'a whole number ≥ 0'), 1)
    .option('--out <file>', 'write the measurement file (JSON array the `estimate` command reads)')
    .option('--stream <file>', 'write every delivered reading as NDJSON {t, arrivesAt, kind, target, value, sigma} in arrival order')
    .option('--json', 'print the summary as one JSON object')
    .option('--sensors <set>', 'estimator (flow, injection, PMU angle; default) or scada (|flow| per branch, load per bus, output per generator: the live twin\'s telemetry; the default with --send/--kafka)', (value: string) => {
      if (value !== 'estimator' && value !== 'scada') throw new InvalidArgumentError(`--sensors must be estimator or scada (got "${value}")`);
      return value;
    })
    .option('--send <url>', 'send the readings to a running server (POST /api/inject per reading, paced by --pace); needs --token')
    .option('--token <token>', 'bearer token with the inject right, for --send')
    .option('--kafka <brokers>', 'send the readings to Kafka (comma-separated host:port) on --topic', ids)
    .option('--topic <name>', 'Kafka telemetry topic for --kafka', TELEMETRY_TOPIC)
    .option('--pace <x>', 'wall seconds per simulated second when sending (0: as fast as possible)', numberFlag('--pace', (x) => Number.isFinite(x) && x >= 0, 'a number ≥ 0'), 1)
    .action(async (flags: FieldFlags) => {
      const live = flags.send !== undefined || flags.kafka !== undefined;
      if (flags.send !== undefined && flags.kafka !== undefined) throw new UsageError('--send and --kafka: choose one transport');
      if (flags.send !== undefined && (flags.token === undefined || flags.token === '')) throw new UsageError('--token: --send needs a bearer token with the inject right');
      if (flags.send !== undefined && !/^https?:\/\/[^\s]+$/.test(flags.send)) throw new UsageError(`--send must be an http(s) URL (got "${flags.send}")`);
      if (flags.kafka !== undefined && flags.kafka.length === 0) throw new UsageError('--kafka must list at least one host:port');
      if (live && flags.sensors === 'estimator') throw new UsageError('--sensors estimator: the live twin takes asset telemetry (scada); injections and angles are not asset readings');
      const net = gridFromFile(flags.case);
      let run: FieldRun;
      try {
        run = simulateField(net, {
          seconds: flags.seconds,
          rateHz: flags.rate,
          sigma: flags.noise ?? DEFAULT_FIELD_SIGMA,
          dropout: flags.dropout,
          stuck: flags.stuck ?? [],
          delayS: flags.delay,
          spoof: flags.spoof ?? new Map(),
          pmu: flags.pmu ?? [],
          seed: flags.seed,
          sensorSet: flags.sensors ?? (live ? 'scada' : 'estimator'),
        });
      } catch (error) {
        // Every option problem names its flag: report them as a usage error (exit 2), one line.
        if (error instanceof ValidationError) throw new UsageError(error.problems.map((p) => `${p.path}: ${p.reason}`).join('; '));
        throw error;
      }
      if (flags.out !== undefined) writeFileSync(flags.out, `${JSON.stringify(run.snapshot)}\n`);
      if (flags.stream !== undefined) {
        const lines = run.readings.map((r) => {
          const s = run.sensors[r.sensor]!;
          return JSON.stringify({ t: r.measuredAtS, arrivesAt: r.arrivesAtS, kind: s.kind, target: s.target, value: r.value, sigma: s.sigma });
        });
        writeFileSync(flags.stream, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
      }
      let s = summary(flags, run);
      if (live) {
        const target: FieldTarget = flags.send !== undefined ? { kind: 'http', url: flags.send, token: flags.token! } : { kind: 'kafka', brokers: flags.kafka!, topic: flags.topic };
        const report = await sendField(run, target, { pace: flags.pace });
        s = { ...s, transport: target.kind, ...report };
        if (flags.json !== true) io.out(`sent ${report.sent} readings over ${target.kind} in ${report.seconds.toFixed(1)} s${report.refused > 0 ? `; ${report.refused} refused (first: ${report.firstRefusal})` : ''}\n`);
        // Nothing accepted at all is a failure (a wrong token, a server that is not there): exit 1 after the summary.
        if (report.sent === 0 && run.readings.length > 0) {
          if (flags.json === true) io.out(`${JSON.stringify(s)}\n`);
          throw new RangeError(`no reading was accepted over ${target.kind}: ${report.firstRefusal ?? 'nothing sent'}`);
        }
      }
      if (flags.json === true) {
        io.out(`${JSON.stringify(s)}\n`);
        return;
      }
      io.out(`field simulator on ${net.name}: ${run.sensors.length} sensors, ${run.scans} scans, ${run.readings.length} readings delivered, ${run.dropped} dropped (seed ${flags.seed})\n`);
      io.out(`snapshot: ${run.snapshot.length} measurements${flags.out === undefined ? ' (not written: give --out)' : ` written to ${flags.out}`}; spoofed entries ${JSON.stringify(run.spoofedInSnapshot)}, stuck entries ${JSON.stringify(run.stuckInSnapshot)}\n`);
    });
}
