import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { createBehaviours } from '../actors/index.ts';
import { DEFAULT_FIELD_SIGMA, Engine, estimateDcState, matpowerToCity, networkFromCase, networkFromCity, parseCity, parseMatpower, parseMeasurements, simulateField, type FieldRun } from '../engine/index.ts';
import { admitBatch } from '../gateways/door/index.ts';
import { attachLiveEstimator } from '../gateways/automation/index.ts';
import { runStreamingBench } from './streaming.ts';
import { sharedDataFile } from '../test/shared-data.ts';

/**
 * `npm run bench -- --only estimation`: DC WLS state estimation with bad-data identification on
 * ACTIVSg2000 (the committed seeded measurement set: ~1.8 measurements per state, three gross
 * errors) — ours against the independent scipy.sparse implementation of the same procedure
 * (engine/power/reference/estimation_reference.py --time), median of several rounds each, after one
 * untimed round of ours. Then the live twin's estimator (gateways/automation/live-estimator.ts) on the same grid
 * as a city: `estimationReadingsPerSec` — field scans (scada sensors: every branch, bus and
 * generator) go through the door's batch step into a direct-driver engine, and the estimator's work
 * per scan (taking the readings from the journal, one run with the model and factor kept — inline,
 * the same `EstimationCompute` the server runs in its worker thread —, the estimates back through
 * the door) is timed: readings per second of that work; and
 * `estimationInjectToDeltaP99Ms` — the streaming bench's inject → first delta measurement
 * (bench/streaming.ts, its own code) on a server with STRATUM_ESTIMATION=1 while a scan a second
 * arrives, after three primed runs (the first builds the model: a start-up cost, reported apart);
 * beside it the same with the estimator off and the same telemetry (`estimationOff…`). Only on a quiet machine (1-minute load average < 3); otherwise reported as not measured.
 */
export async function runEstimationBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const rounds = options.quick ? 2 : 5;
  const name = 'case_ACTIVSg2000';
  const caseFile = sharedDataFile(`grids/${name}.m`);
  const measurementsFile = fileURLToPath(new URL(`../engine/power/reference/estimation/${name}-measurements.json`, import.meta.url));
  const net = networkFromCase(parseMatpower(readFileSync(caseFile, 'utf8'), name));
  const measurements = parseMeasurements(JSON.parse(readFileSync(measurementsFile, 'utf8')), net, measurementsFile);
  let result = estimateDcState(net, measurements);
  const seconds: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    result = estimateDcState(net, measurements);
    seconds.push((performance.now() - started) / 1000);
  }
  const ours = median(seconds);
  options.log(`  ${name}: ${net.busIds.length} buses, ${measurements.length} measurements, ${result.removed.length} removed`);
  const figures: Record<string, number | string> = {
    estimationBuses: net.busIds.length,
    estimationMeasurements: measurements.length,
    estimationRemoved: result.removed.length,
    estimationSeconds: round3(ours),
    estimationRoundsSeconds: seconds.map(round3).join(' '),
  };
  const load = loadavg()[0]!;
  if (load >= 3) {
    figures['estimationReadingsPerSec'] = `not measured: load average ${load.toFixed(1)} ≥ 3`;
    figures['estimationInjectToDeltaP99Ms'] = `not measured: load average ${load.toFixed(1)} ≥ 3`;
  } else Object.assign(figures, await liveEstimationFigures(readFileSync(caseFile, 'utf8'), name, options));
  const script = fileURLToPath(new URL('../engine/power/reference/estimation_reference.py', import.meta.url));
  const peerSeconds: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const peer = spawnSync('python3', [script, '--time', name, measurementsFile, fileURLToPath(new URL('.', `file://${caseFile}`))], { encoding: 'utf8', timeout: 600_000 });
    if (peer.status !== 0) {
      figures['estimationSpeedupVsScipy'] = 'skipped';
      figures['scipyPeerSkipped'] = /No module named/.test(peer.stderr) ? 'numpy/scipy/pypower not installed (pip install pandapower)' : `peer failed: ${peer.stderr.split('\n').slice(-3).join(' ')}`;
      return figures;
    }
    const out = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { seconds: number; removed: number };
    if (out.removed !== result.removed.length) figures['scipyPeerDisagrees'] = `removed ${out.removed} vs ours ${result.removed.length}`;
    peerSeconds.push(out.seconds);
  }
  figures['scipyEstimationSeconds'] = round3(median(peerSeconds));
  figures['scipyRoundsSeconds'] = peerSeconds.map(round3).join(' ');
  figures['estimationSpeedupVsScipy'] = round2(median(peerSeconds) / ours);
  return figures;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** One scan's readings of a field run as telemetry commands. */
function scanCommands(run: FieldRun, scan: number, rateHz: number): Array<{ type: 'telemetry'; target: string; value: number }> {
  return run.readings.filter((r) => Math.round(r.measuredAtS * rateHz) === scan).map((r) => ({ type: 'telemetry' as const, target: run.sensors[r.sensor]!.target, value: r.value }));
}

/** The live estimator's figures on a case as a city (see runEstimationBench). */
export async function liveEstimationFigures(text: string, name: string, options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const city = parseCity(matpowerToCity(parseMatpower(text, name)), name);
  const net = networkFromCity(city);
  const scans = options.quick ? 4 : 12;
  const run = simulateField(net, { seconds: scans, rateHz: 1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map([['br-20', 80]]), pmu: [], seed: 3, sensorSet: 'scada' });

  // Readings per second of the estimator's work, scan after scan (the first run builds the model: timed apart).
  const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
  let seq = 0;
  const door = { submitBatch: (commands: Parameters<typeof admitBatch>[2], o: { source: string; sourceSeqs: readonly number[] }) => admitBatch(engine, undefined, commands, o) };
  // Inline: the estimator's work timed directly on this thread (the server runs the same compute in its worker).
  const estimator = attachLiveEstimator(engine, door, undefined, () => undefined, { compute: 'inline' })!;
  let firstMs = 0;
  let steadyMs = 0;
  let steadyReadings = 0;
  for (let scan = 0; scan <= scans; scan++) {
    const commands = scanCommands(run, scan, 1);
    engine.submitBatch(commands, { source: 'field', sourceSeqs: commands.map(() => ++seq) });
    await engine.runUntil(engine.now + 1000);
    const started = performance.now();
    estimator.tick();
    const ms = performance.now() - started;
    if (scan === 0) firstMs = ms;
    else {
      steadyMs += ms;
      steadyReadings += commands.length;
    }
  }
  const summary = estimator.summary();
  await engine.stop();
  options.log(`  live: ${summary.sensors} sensors, ${summary.runs} runs, ${summary.factorisations} factorisations; first run ${firstMs.toFixed(0)} ms (builds the model), then ${(steadyMs / scans).toFixed(1)} ms a scan`);

  // Inject → first delta with the estimator running, and the same telemetry without it (side by side).
  const streamingWith = async (estimator: boolean): Promise<Record<string, number | string>> =>
    runStreamingBench({
      assets: 0,
      viewers: options.quick ? 10 : 50,
      quick: options.quick,
      city,
      env: estimator ? { STRATUM_ESTIMATION: '1' } : {},
      background: async (server) => {
        let scan = 0;
        let fed = 0;
        const feed = (): void => {
          const commands = scanCommands(run, scan++ % (scans + 1), 1);
          server.control.submitBatch(commands, { source: 'field-bench', sourceSeqs: commands.map(() => ++fed) });
        };
        // Primed: the first run builds the model and removes the spoofed reading (a start-up cost,
        // estimationFirstRunMs); the injections are measured on the running estimator after it.
        const runs = async (): Promise<number> => ((await (await fetch(`${server.url}/api/estimation`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as { runs?: number }).runs ?? 0;
        for (let i = 0; i < 3; i++) {
          const before = estimator ? await runs() : 0;
          feed();
          if (estimator) for (let wait = 0; wait < 600 && (await runs()) === before; wait++) await new Promise((r) => setTimeout(r, 50));
          else await new Promise((r) => setTimeout(r, 1000));
        }
        const timer = setInterval(feed, 1000);
        return async () => clearInterval(timer);
      },
    });
  const withEstimator = await streamingWith(true);
  const without = await streamingWith(false);
  return {
    estimationLiveSensors: summary.sensors,
    estimationFirstRunMs: Math.round(firstMs),
    estimationRunMs: round3(steadyMs / scans),
    estimationReadingsPerSec: Math.round(steadyReadings / (steadyMs / 1000)),
    estimationInjectToDeltaP50Ms: withEstimator['injectToDeltaP50Ms'] ?? 'n/a',
    estimationInjectToDeltaP99Ms: withEstimator['injectToDeltaP99Ms'] ?? 'n/a',
    estimationInjectToDeltaViewers: withEstimator['streamingViewers'] ?? 'n/a',
    estimationInjectToDeltaSlowestMs: withEstimator['injectToDeltaSlowestInjectionsMs'] ?? 'n/a',
    estimationOffInjectToDeltaP50Ms: without['injectToDeltaP50Ms'] ?? 'n/a',
    estimationOffInjectToDeltaP99Ms: without['injectToDeltaP99Ms'] ?? 'n/a',
    estimationOffInjectToDeltaSlowestMs: without['injectToDeltaSlowestInjectionsMs'] ?? 'n/a',
  };
}
