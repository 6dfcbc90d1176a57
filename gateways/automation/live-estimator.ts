import {
  networkFromCity,
  dcPowerFlow,
  Status,
  trustScore,
  type Engine,
  type GridNetwork,
  type InputCommand,
  type IslandEstimate,
  type Measurement,
  type TrustScore,
} from '../../engine/index.ts';
import { telemetrySetsLoad } from '../../actors/index.ts';
import { WorkerJobs, type Control } from '../door/index.ts';
import { EstimationCompute, jobBuffers, SPEC_FLOW, SPEC_INJECTION, type EstimationJob, type EstimationOutcome } from './estimation-compute.ts';
import { monitorAlert } from './telemetry-monitor.ts';
import type { Alert, EstimationEvent } from '../protocol.ts';

/**
 * σ of each sensor type, MW (documented in the README, "State estimation in the live twin"): a
 * branch flow transducer, a bus load meter, a generator output meter. The field simulator draws its
 * noise with the same figures (flow 2, injection 3 in engine/telemetry/field.ts).
 */
export const LIVE_SENSOR_SIGMA_MW = { flow: 2, load: 3, generation: 3 } as const;
/** σ of a zero-injection bus's virtual measurement (a bus with no load, shunt or generator injects nothing: known, not measured). */
export const ZERO_INJECTION_SIGMA_MW = 0.01;
/** Source of the estimates in the journal (the estimator skips its own entries). */
export const ESTIMATE_SOURCE = 'estimate';

export type SensorType = keyof typeof LIVE_SENSOR_SIGMA_MW;

export interface LiveEstimatorSettings {
  /** Virtual seconds between runs while readings arrive (default 10). */
  readonly everyS?: number;
  /** A run starts as soon as this many readings arrived since the last one (default: the number of sensors, one scan's worth). */
  readonly burst?: number;
  /** σ per sensor type, MW (default LIVE_SENSOR_SIGMA_MW). */
  readonly sigmaMw?: { readonly flow: number; readonly load: number; readonly generation: number };
  /** |r_N| above which bad data is removed (default 3), and below which an excluded sensor agrees again. */
  readonly normalizedResidualLimit?: number;
  /** Runs in a row an excluded sensor must agree with the estimate to be used again (default 3). */
  readonly agreeRuns?: number;
  /** A healthy sensor's reading interval, seconds (trust freshness and completeness; default 60). */
  readonly expectedIntervalS?: number;
  /**
   * An estimate goes to the twin only when the asset's value there differs from it by more than this
   * many of the estimate's σ (default 1; 0: every change). A SCADA-like deadband: the twin's value
   * stays within the estimate's uncertainty, and a run does not resubmit thousands of values that
   * moved by noise alone (one big instant on the event loop).
   */
  readonly deadbandSigma?: number;
  /**
   * Where a run's computation happens: `worker` (default; a worker thread keeps the prepared model
   * and its factor, the event loop only builds the values and applies the outcome) or `inline` (on
   * the caller's thread, synchronously inside `tick`: tests, the bench's readings/s figure).
   */
  readonly compute?: 'worker' | 'inline';
  /** Hears a run that failed in the worker (the next run starts afresh); default: ignored. */
  readonly onError?: (error: Error) => void;
}

/** One island of the last run (`GET /api/estimation`). */
export interface IslandSummary {
  readonly reference: string;
  readonly buses: number;
  readonly measurements: number;
  readonly j: number;
  readonly chi2Threshold: number | null;
  readonly degreesOfFreedom: number;
  readonly consistent: boolean;
  /** Measurements this run removed as bad data (sensor, |r_N|). */
  readonly removed: ReadonlyArray<{ readonly sensor: string; readonly normalizedResidual: number }>;
  readonly unobservable: readonly string[];
}

export interface EstimationSummary {
  readonly enabled: true;
  readonly runs: number;
  /** Virtual time of the last run, ms (null: none yet). */
  readonly lastRunMs: number | null;
  readonly readings: number;
  readonly sensors: number;
  readonly measurements: number;
  readonly factorisations: number;
  readonly islands: readonly IslandSummary[];
  /** Sensors left out as bad data until they agree again. */
  readonly excluded: ReadonlyArray<{ readonly sensor: string; readonly sinceMs: number; readonly normalizedResidual: number; readonly agreeingRuns: number }>;
}

/** What the twin shows for one measured asset: the estimate, its σ, the raw reading and the trust. */
export interface AssetEstimate {
  readonly asset: string;
  readonly sensor: SensorType;
  /** Estimated MW (branch: |flow| at the from end; bus: load) and its σ; null where unobservable or not estimated. */
  readonly valueMw: number | null;
  readonly sigmaMw: number | null;
  readonly readingMw: number | null;
  readonly readingAtMs: number | null;
  readonly normalizedResidual: number | null;
  readonly excluded: boolean;
  readonly trust: TrustScore;
  readonly estimatedAtMs: number | null;
}

export interface LiveEstimator {
  /**
   * Takes the telemetry journalled and due by `virtualMs` (default: the engine's clock) and starts a
   * run when due and none is running (inline: the run is done when this returns).
   */
  tick(virtualMs?: number): void;
  /** Runs now on the readings taken so far, after the run in progress (tests, the bench). */
  runNow(virtualMs?: number): Promise<EstimationSummary>;
  /** Resolves when no run is in progress (a worker run has been applied). */
  settled(): Promise<void>;
  summary(): EstimationSummary;
  /** undefined: the asset carries no sensor the estimator reads. */
  assetEstimate(assetId: string, nowMs?: number): AssetEstimate | undefined;
  /** The estimator's judgement of an asset's reading, for the telemetry monitor's trust (undefined: not judged). */
  residualOf(assetId: string): { readonly normalizedResidual: number | null; readonly removed: boolean } | undefined;
  /** Hears every run (the server pushes the `estimation` event); returns the unsubscribe. */
  onRun(listener: (summary: EstimationSummary) => void): () => void;
  detach(): void;
}

/** A sensor: one asset the estimator reads (its telemetry), and where it sits in the network. */
interface Sensor {
  readonly asset: string;
  readonly actor: number;
  readonly type: SensorType;
  /** Branch index (flow), bus index (load) or generator index (generation). */
  readonly at: number;
  /** A telemetry input sets the asset's load (false: a live grid's branch, whose load is the DC flow of the injections; its estimate is shown, not sent). */
  readonly setsLoad: boolean;
  value: number;
  atMs: number;
  firstAtMs: number;
  has: boolean;
  readonly recent: number[];
  readonly times: number[];
}

/** A measurement of the live model: the estimator's row and the sensors it is made of (its value is taken per run). */
interface Row {
  readonly key: string;
  /** Kind, target and σ (the value is the one of the run that built the row; each run has its own values). */
  readonly measurement: Measurement;
  /** Sensors whose readings make the measurement (empty: a virtual zero injection); a bus's load sensor first. */
  readonly sensors: readonly number[];
  /** Branch index (flow) or bus index (injection). */
  readonly at: number;
  /** An injection's load is read (else known to be 0). */
  readonly loadRead: boolean;
}

/** The measurement set on one live topology, kept while the topology and the set of sensors that have read stay the same. */
interface Structure {
  readonly topology: string;
  readonly read: number;
  readonly version: number;
  readonly rows: Row[];
  readonly live: GridNetwork;
  /** Row by key (built on first use: the summary's excluded sensors). */
  rowByKey?: Map<string, Row>;
}

/** A run between its start (values taken) and its outcome. */
interface PendingRun {
  readonly nowMs: number;
  readonly structure: Structure;
  /** The values sent (flows signed as guessed), and each injection's generation read (for the load shown). */
  readonly values: Float64Array;
  readonly generationMw: Float64Array;
  readonly job: EstimationJob;
}

interface Exclusion {
  readonly sinceMs: number;
  readonly normalizedResidual: number;
  agreeing: number;
}

const RECENT = 8;
const operable = (status: number): boolean => status === Status.Ok || status === Status.Degraded;

/**
 * The state estimator in the live twin (a gateway-side service over the engine's journal, like the
 * telemetry monitor). Telemetry on a power asset with electrical fields is a reading of its sensor:
 * a branch (`br-N`) reads |P| at its from end, a bus (`bus-N`) its load, a generator (`gen-N`) its
 * output, each with its type's σ. Every `everyS` virtual seconds while readings arrive, and as soon
 * as `burst` readings arrived (a reading waits at most `everyS` for its run), the readings become DC WLS measurements on the live topology (branches
 * and buses whose asset is ok or degraded): a flow per read branch, its sign from the last estimate
 * (the case's DC power flow before any); an injection Σ generation − load − shunt per bus whose load
 * and every generator are read; a virtual zero injection per bus with no load, shunt or generator.
 * The estimate runs with a chi-square test per island (`estimateDcState` with `perIsland`), keeping
 * the model — and its factor — while the sensors, the topology and the exclusions stay the same.
 *
 * What it gives the twin: each read branch's estimated |flow| and each read bus's estimated load
 * (generation read − shunt − estimated injection) go through the door as telemetry from source
 * `estimate` (journalled: a replay feeds the same values at the same points without running the
 * estimator), so the assets' loads are the estimates; `GET /api/estimation` and the asset's details
 * give σ, the residual and the trust. Bad data (a measurement the run removed) is an alert naming
 * the sensor and |r_N| and is left out of later runs until it agrees with the estimate without it
 * (|z − ẑ| / √(σ² + σ_ẑ²) ≤ the limit) `agreeRuns` runs in a row.
 *
 * Returns undefined when the city has no electrical power assets.
 */
export function attachLiveEstimator(
  engine: Engine,
  control: Pick<Control, 'submitBatch'>,
  advances: { onAdvance(listener: (virtualMs: number) => void): () => void } | undefined,
  raise: (alerts: Alert[]) => void,
  settings: LiveEstimatorSettings = {},
): LiveEstimator | undefined {
  const index = engine.index;
  const electrical = index.city.assets.filter((a) => a.electrical !== undefined);
  if (electrical.length === 0) return undefined;
  const net = networkFromCity({ name: index.city.name, grid: index.city.grid, assets: electrical });
  const everyMs = (settings.everyS ?? 10) * 1000;
  const sigma = settings.sigmaMw ?? LIVE_SENSOR_SIGMA_MW;
  const limit = settings.normalizedResidualLimit ?? 3;
  const agreeRuns = settings.agreeRuns ?? 3;
  const intervalS = settings.expectedIntervalS ?? 60;
  const deadband = settings.deadbandSigma ?? 1;
  const mode = settings.compute ?? 'worker';
  if (!(Number.isFinite(deadband) && deadband >= 0)) throw new RangeError(`live estimator: deadbandSigma must be a number ≥ 0 (got ${deadband})`);
  for (const [name, x] of Object.entries({ everyS: everyMs / 1000, 'sigmaMw.flow': sigma.flow, 'sigmaMw.load': sigma.load, 'sigmaMw.generation': sigma.generation, normalizedResidualLimit: limit, agreeRuns, expectedIntervalS: intervalS })) {
    if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`live estimator: ${name} must be a positive number (got ${x})`);
  }

  const sensors: Sensor[] = [];
  const sensorOfAsset = new Map<string, number>();
  const add = (asset: string, type: SensorType, at: number): void => {
    const actor = index.indexOf(asset);
    if (actor === undefined || actor >= index.assetCount) return;
    sensorOfAsset.set(asset, sensors.length);
    sensors.push({ asset, actor, type, at, setsLoad: telemetrySetsLoad(index, actor), value: 0, atMs: 0, firstAtMs: 0, has: false, recent: [], times: [] });
  };
  net.branchIds.forEach((id, k) => add(id, 'flow', k));
  net.busIds.forEach((id, v) => add(id, 'load', v));
  net.genIds.forEach((id, g) => add(id, 'generation', g));
  const branchSensor = Int32Array.from(net.branchIds, (id) => sensorOfAsset.get(id) ?? -1);
  const busSensor = Int32Array.from(net.busIds, (id) => sensorOfAsset.get(id) ?? -1);
  const genSensor = Int32Array.from(net.genIds, (id) => sensorOfAsset.get(id) ?? -1);
  const gensAt: number[][] = net.busIds.map(() => []);
  net.genBus.forEach((v, g) => gensAt[v]!.push(g));
  // One scan's worth (the sensors of in-service assets that read): a run on a partial first scan has
  // less redundancy and smears bad data onto its neighbours.
  const reading = (s: Sensor): boolean =>
    s.type === 'flow' ? net.branchInService[s.at] !== 0 && net.busType[net.from[s.at]!] !== 4 && net.busType[net.to[s.at]!] !== 4
    : s.type === 'load' ? net.busType[s.at] !== 4 && net.pdMw[s.at]! > 0
    : net.genInService[s.at] !== 0 && net.busType[net.genBus[s.at]!] !== 4 && net.pgMw[s.at]! > 0;
  const burst = settings.burst ?? Math.max(1, sensors.filter(reading).length);
  if (!(Number.isInteger(burst) && burst > 0)) throw new RangeError(`live estimator: burst must be a positive integer (got ${burst})`);

  // The direction of each branch's flow: from the last estimate; before any, the case's DC power flow
  // with the generation scaled to the load (the DC model has no losses for the slack to take).
  const sign = new Float64Array(net.branchIds.length).fill(1);
  try {
    const load = net.pdMw.reduce((sum, x) => sum + x, 0);
    const generation = net.pgMw.reduce((sum, x, g) => sum + (net.genInService[g] ? x : 0), 0);
    const pf = dcPowerFlow(net, undefined, generation > 0 ? { pgMw: net.pgMw.map((pg) => (pg * load) / generation) } : {});
    pf.flowMw.forEach((f, k) => (sign[k] = f < 0 ? -1 : 1));
  } catch {
    // A case without a solvable power flow: flows are taken as read (from → to) until the first estimate.
  }

  let cursor = 0;
  let pendingReadings = 0;
  /** Virtual time of the first reading taken since the last run: a reading waits at most `everyS` for its run. */
  let pendingSinceMs = 0;
  let lastRunMs: number | null = null;
  let runs = 0;
  let readingsTaken = 0;
  /** Sensors that have read at least once (never decreases: with the topology, it fixes the measurement set). */
  let sensorsRead = 0;
  let future: Array<{ time: number; seq: number; sensor: number; value: number }> = [];
  let structure: Structure | undefined;
  /** The model version the compute side holds (undefined: send the spec with the next job). */
  let computeHolds: number | undefined;
  let factorisations = 0;
  let lastOutcome: EstimationOutcome | undefined;
  let lastStructure: Structure | undefined;
  let islandSummaries: IslandSummary[] = [];
  const exclusions = new Map<string, Exclusion>();
  const listeners = new Set<(summary: EstimationSummary) => void>();
  // Per sensor, in typed arrays (no objects per run): the estimate shown, its σ and the virtual time
  // of its run (NaN: none yet); its measurement's |r_N| in the last run (NaN: null) and whether the
  // last run judged it at all.
  const shownMw = new Float64Array(sensors.length).fill(Number.NaN);
  const shownSigmaMw = new Float64Array(sensors.length).fill(Number.NaN);
  const shownAtMs = new Float64Array(sensors.length).fill(Number.NaN);
  const residualOfSensor = new Float64Array(sensors.length).fill(Number.NaN);
  const judged = new Uint8Array(sensors.length);
  const nullable = (x: number): number | null => (Number.isNaN(x) ? null : x);
  let estimateSeq = engine.journal.lastSourceSeq(ESTIMATE_SOURCE) ?? 0;

  const observe = (s: number, value: number, atMs: number): void => {
    const sensor = sensors[s]!;
    if (!sensor.has) {
      sensor.firstAtMs = atMs;
      sensorsRead++;
    }
    sensor.value = value;
    sensor.atMs = atMs;
    sensor.has = true;
    sensor.recent.push(value);
    if (sensor.recent.length > RECENT) sensor.recent.shift();
    sensor.times.push(atMs);
    const since = atMs - 10 * intervalS * 1000;
    while (sensor.times.length > 0 && sensor.times[0]! < since) sensor.times.shift();
    if (pendingReadings === 0) pendingSinceMs = atMs;
    pendingReadings++;
    readingsTaken++;
  };

  const take = (nowMs: number): void => {
    const entries = engine.journal.since(cursor);
    cursor = engine.journal.length;
    for (const { command, time, seq, source } of entries) {
      if (command.type !== 'telemetry' || source === ESTIMATE_SOURCE) continue;
      const s = sensorOfAsset.get(command.target);
      if (s !== undefined) future.push({ time, seq, sensor: s, value: command.value });
    }
    if (future.length === 0) return;
    const due = future.filter((p) => p.time <= nowMs).sort((a, b) => a.time - b.time || a.seq - b.seq);
    if (due.length === 0) return;
    future = future.filter((p) => p.time > nowMs);
    for (const p of due) observe(p.sensor, p.value, p.time);
  };

  /** The live topology (assets ok or degraded) as the network's in-service arrays, and a short key of it. */
  const liveTopology = (): { busType: Uint8Array; branchOn: Uint8Array; genOn: Uint8Array; topology: string } => {
    const busType = Uint8Array.from(net.busType);
    for (let v = 0; v < net.busIds.length; v++) if (busSensor[v]! >= 0 && !operable(engine.kernel.statusOf(sensors[busSensor[v]!]!.actor))) busType[v] = 4;
    const branchOn = Uint8Array.from(net.branchInService);
    for (let k = 0; k < branchOn.length; k++) {
      if (branchSensor[k]! >= 0 && !operable(engine.kernel.statusOf(sensors[branchSensor[k]!]!.actor))) branchOn[k] = 0;
      if (busType[net.from[k]!] === 4 || busType[net.to[k]!] === 4) branchOn[k] = 0;
    }
    const genOn = Uint8Array.from(net.genInService);
    for (let g = 0; g < genOn.length; g++) if (genSensor[g]! >= 0 && !operable(engine.kernel.statusOf(sensors[genSensor[g]!]!.actor))) genOn[g] = 0;
    // Generators in service change an injection's σ (its weight): part of what the model is kept for.
    const topology = `${Buffer.from(branchOn).toString('base64')}|${Buffer.from(busType).toString('base64')}|${Buffer.from(genOn).toString('base64')}`;
    return { busType, branchOn, genOn, topology };
  };

  /** The measurement set of the live topology and the sensors that have read: a flow per read branch, an injection per bus whose readings make one, a zero injection per bus with nothing on it. */
  // Rows are made once per branch or bus and kept (an injection's while its sensors stay the same):
  // a rebuilt structure (a topology change) then allocates no rows, and two structures with the same
  // rows hold the same objects.
  const flowRows: Array<Row | undefined> = [];
  const busRows: Array<Row | undefined> = [];
  const sameSensors = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const buildRows = (busType: Uint8Array, branchOn: Uint8Array, genOn: Uint8Array): Row[] => {
    const rows: Row[] = [];
    for (let k = 0; k < branchOn.length; k++) {
      const s = branchSensor[k]!;
      if (!branchOn[k] || s < 0 || !sensors[s]!.has) continue;
      // The value is set per run (valuesOf), as for every row.
      rows.push((flowRows[k] ??= { key: `flow:${net.branchIds[k]}`, measurement: { kind: 'flow', target: net.branchIds[k]!, valueMw: 0, sigmaMw: sigma.flow }, sensors: [s], at: k, loadRead: false }));
    }
    for (let v = 0; v < net.busIds.length; v++) {
      if (busType[v] === 4) continue;
      const gens = gensAt[v]!.filter((g) => genOn[g]);
      if (gens.length === 0 && net.pdMw[v] === 0 && net.gsMw[v] === 0) {
        const zero = busRows[v]?.sensors.length === 0 ? busRows[v]! : { key: `zero:${net.busIds[v]}`, measurement: { kind: 'injection' as const, target: net.busIds[v]!, valueMw: 0, sigmaMw: ZERO_INJECTION_SIGMA_MW }, sensors: [], at: v, loadRead: false };
        rows.push((busRows[v] = zero));
        continue;
      }
      // A bus without load in the case has no load meter: its load is known to be 0. A bus with a
      // negative case load (embedded generation) cannot report it as telemetry (loads are ≥ 0): unmeasured.
      const s = busSensor[v]!;
      const loadRead = s >= 0 && sensors[s]!.has;
      if (!loadRead && (net.pdMw[v] !== 0 || gens.length === 0)) continue;
      if (gens.some((g) => genSensor[g]! < 0 || !sensors[genSensor[g]!]!.has)) continue;
      // The load sensor first (it names the measurement), then the generators; -1 never: an unread load is not a sensor here.
      const read = loadRead ? [s, ...gens.map((g) => genSensor[g]!)] : gens.map((g) => genSensor[g]!);
      const kept = busRows[v];
      const row: Row = kept !== undefined && kept.sensors.length > 0 && kept.loadRead === loadRead && sameSensors(kept.sensors, read)
        ? kept
        : { key: `injection:${net.busIds[v]}`, measurement: { kind: 'injection', target: net.busIds[v]!, valueMw: 0, sigmaMw: Math.sqrt((loadRead ? sigma.load ** 2 : 0) + gens.length * sigma.generation ** 2) }, sensors: read, at: v, loadRead };
      rows.push((busRows[v] = row));
    }
    return rows;
  };

  /** The structure of this run: the last one while the topology and the sensors read are the same (no strings per row), else rebuilt, with a new version only when its measurements differ. */
  const structureNow = (): Structure => {
    const { busType, branchOn, genOn, topology } = liveTopology();
    if (structure !== undefined && structure.topology === topology && structure.read === sensorsRead) return structure;
    const rows = buildRows(busType, branchOn, genOn);
    const live: GridNetwork = { ...net, busType, branchInService: branchOn, genInService: genOn };
    // The same model while the topology and the rows (the same objects, in order) are the same.
    const same = structure !== undefined && structure.topology === topology && structure.rows.length === rows.length && rows.every((r, i) => r === structure!.rows[i]);
    const version = structure === undefined ? 1 : same ? structure.version : structure.version + 1;
    structure = { topology, read: sensorsRead, version, rows, live };
    return structure;
  };

  /** Each measurement's value from the readings held now (a flow signed by the direction believed), and each injection's generation read. */
  const valuesOf = (rows: readonly Row[]): { values: Float64Array; generationMw: Float64Array } => {
    const values = new Float64Array(rows.length);
    const generationMw = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row.measurement.kind === 'flow') values[i] = sign[row.at]! * sensors[row.sensors[0]!]!.value;
      else if (row.sensors.length > 0) {
        let generation = 0;
        for (let j = row.loadRead ? 1 : 0; j < row.sensors.length; j++) generation += sensors[row.sensors[j]!]!.value;
        generationMw[i] = generation;
        values[i] = generation - (row.loadRead ? sensors[row.sensors[0]!]!.value : 0) - net.gsMw[row.at]!;
      }
    }
    return { values, generationMw };
  };

  const sensorNames = (row: Row): string => (row.sensors.length === 0 ? `${row.key} (virtual)` : row.sensors.map((s) => sensors[s]!.asset).join(' + '));

  /** A run's start on the event loop: the readings held now become the job's values (readings taken later wait for the next run). */
  const prepare = (nowMs: number): PendingRun => {
    const current = structureNow();
    const { rows, live } = current;
    const { values, generationMw } = valuesOf(rows);
    const excluded: number[] = [];
    for (let i = 0; i < rows.length; i++) if (exclusions.has(rows[i]!.key)) excluded.push(i);
    pendingReadings = 0;
    const job: EstimationJob = {
      model: current.version,
      // Copies: the job's arrays are transferred to the worker (the main side keeps its own).
      values: values.slice(),
      excluded: Int32Array.from(excluded),
      normalizedResidualLimit: limit,
      flowSigmaMw: sigma.flow,
      ...(computeHolds === current.version
        ? {}
        : {
            spec: {
              version: current.version,
              busType: live.busType.slice(),
              branchInService: live.branchInService.slice(),
              genInService: live.genInService.slice(),
              kinds: Uint8Array.from(rows, (r) => (r.measurement.kind === 'flow' ? SPEC_FLOW : SPEC_INJECTION)),
              targets: Int32Array.from(rows, (r) => r.at),
              sigmaMw: Float64Array.from(rows, (r) => (r.measurement as { sigmaMw: number }).sigmaMw),
            },
          }),
    };
    computeHolds = current.version;
    return { nowMs, structure: current, values, generationMw, job };
  };

  /** A run's outcome applied on the event loop: signs, exclusions, bad-data alerts, island summaries, the estimates shown and submitted. */
  const apply = (pending: PendingRun, outcome: EstimationOutcome): EstimationSummary => {
    const { nowMs, structure: { rows, live }, values, generationMw } = pending;
    runs++;
    lastRunMs = nowMs;
    factorisations += outcome.factorisations;
    lastOutcome = outcome;
    lastStructure = pending.structure;
    // The flows whose sign the compute corrected.
    for (let i = 0; i < rows.length; i++) if (outcome.values[i] !== values[i] && rows[i]!.measurement.kind === 'flow') sign[rows[i]!.at] = Math.sign(outcome.values[i]!);
    const alerts: Alert[] = [];
    const alertOn = (asset: string, detail: string): void => {
      const alert = monitorAlert(engine, asset, nowMs / 1000, detail, 'state-estimator');
      if (alert !== undefined) alerts.push(alert);
    };

    // Excluded sensors: do they agree with the estimate made without them?
    rows.forEach((row, i) => {
      const exclusion = exclusions.get(row.key);
      const estimate = outcome.estimatedMw[i]!;
      if (exclusion === undefined || Number.isNaN(estimate)) return;
      const agrees = Math.abs(outcome.values[i]! - estimate) / Math.sqrt((row.measurement as { sigmaMw: number }).sigmaMw ** 2 + outcome.estimatedSigmaMw[i]! ** 2) <= limit;
      exclusion.agreeing = agrees ? exclusion.agreeing + 1 : 0;
      if (exclusion.agreeing >= agreeRuns) {
        exclusions.delete(row.key);
        alertOn(sensors[row.sensors[0]!]?.asset ?? row.measurement.target, `bad data cleared: ${sensorNames(row)} agrees with the estimate again (${agreeRuns} runs); used again`);
      }
    });
    // Bad data this run.
    let islandMap: Map<string, number> | undefined;
    const islandOfBus = { get: (id: string): number | undefined => (islandMap ??= islandsOf(outcome.islands, live)).get(id) };
    const removedByIsland = new Map<number, Array<{ sensor: string; normalizedResidual: number }>>();
    for (const r of outcome.removed) {
      const row = rows[r.index]!;
      exclusions.set(row.key, { sinceMs: nowMs, normalizedResidual: r.normalizedResidual, agreeing: 0 });
      const island = islandOfBus.get(busOfMeasurement(row.measurement, live)) ?? -1;
      const list = removedByIsland.get(island) ?? [];
      list.push({ sensor: sensorNames(row), normalizedResidual: r.normalizedResidual });
      removedByIsland.set(island, list);
      alertOn(
        sensors[row.sensors[0]!]?.asset ?? row.measurement.target,
        `bad data: ${row.measurement.kind} ${row.measurement.target} from ${sensorNames(row)} reads ${outcome.values[r.index]!.toFixed(2)} MW, normalised residual ${r.normalizedResidual.toFixed(1)} (limit ${limit}); left out until it agrees again`,
      );
    }
    const unobservableByIsland = new Map<number, string[]>();
    for (const id of outcome.unobservable) {
      const island = islandOfBus.get(id) ?? -1;
      const list = unobservableByIsland.get(island) ?? [];
      list.push(id);
      unobservableByIsland.set(island, list);
    }
    islandSummaries = outcome.islands.map((isl, g) => ({
      reference: isl.reference,
      buses: isl.buses,
      measurements: isl.measurements,
      j: isl.j,
      chi2Threshold: Number.isFinite(isl.chi2Threshold) ? isl.chi2Threshold : null,
      degreesOfFreedom: isl.degreesOfFreedom,
      consistent: isl.consistent,
      removed: removedByIsland.get(g) ?? [],
      unobservable: unobservableByIsland.get(g) ?? [],
    }));

    // What the twin shows: each read branch's |flow| and each read bus's load, as estimated; what goes
    // through the door is the estimates outside the deadband of the asset's value in the twin.
    residualOfSensor.fill(Number.NaN);
    judged.fill(0);
    const commands: InputCommand[] = [];
    const show = (s: number, valueMw: number, sigmaMw: number): void => {
      const sensor = sensors[s]!;
      const value = Math.max(0, Math.round(valueMw * 1e6) / 1e6);
      shownMw[s] = value;
      shownSigmaMw[s] = sigmaMw;
      shownAtMs[s] = nowMs;
      if (sensor.setsLoad && Math.abs(engine.kernel.view(sensor.actor).load - value) > (Number.isFinite(sigmaMw) ? Math.max(1e-6, deadband * sigmaMw) : 1e-6)) commands.push({ type: 'telemetry', target: sensor.asset, value });
    };
    rows.forEach((row, i) => {
      const residual = outcome.normalizedResiduals[i]!;
      for (const s of row.sensors) {
        residualOfSensor[s] = residual;
        judged[s] = 1;
      }
      const m = row.measurement;
      if (m.kind === 'flow') {
        const flow = outcome.branchFlowMw[row.at]!;
        if (Number.isNaN(flow)) return;
        if (Math.abs(flow) > 1e-9) sign[row.at] = flow < 0 ? -1 : 1;
        show(row.sensors[0]!, Math.abs(flow), outcome.branchSigmaMw[row.at]!);
      } else if (m.kind === 'injection' && row.loadRead) {
        // A bus with no load meter: nothing of it is shown.
        const estimate = outcome.estimatedMw[i]!;
        if (Number.isNaN(estimate)) return;
        show(row.sensors[0]!, generationMw[i]! - net.gsMw[row.at]! - estimate, outcome.estimatedSigmaMw[i]!);
      }
    });
    if (commands.length > 0) {
      // After a recovery the journal holds earlier estimates: continue after the last one (else they are duplicates).
      estimateSeq = Math.max(estimateSeq, engine.journal.lastSourceSeq(ESTIMATE_SOURCE) ?? 0);
      const seqs = commands.map(() => ++estimateSeq);
      control.submitBatch(commands, { source: ESTIMATE_SOURCE, sourceSeqs: seqs });
    }
    if (alerts.length > 0) raise(alerts);
    const done = summary();
    for (const listener of listeners) listener(done);
    return done;
  };

  const summary = (): EstimationSummary => ({
    enabled: true,
    runs,
    lastRunMs,
    readings: readingsTaken,
    sensors: sensors.length,
    measurements: lastStructure?.rows.length ?? 0,
    factorisations,
    islands: islandSummaries,
    excluded: [...exclusions].map(([key, e]) => {
      const row = lastStructure === undefined ? undefined : (lastStructure.rowByKey ??= new Map(lastStructure.rows.map((r) => [r.key, r]))).get(key);
      return { sensor: row === undefined ? key : sensorNames(row), sinceMs: e.sinceMs, normalizedResidual: e.normalizedResidual, agreeingRuns: e.agreeing };
    }),
  });

  // The one place a run's computation happens: on this thread (inline) or in the worker, the same
  // EstimationCompute either way; runs one at a time, in order.
  const local = mode === 'inline' ? new EstimationCompute(net) : undefined;
  const jobs = mode === 'worker' ? new WorkerJobs<EstimationJob, EstimationOutcome>(new URL('./estimation-worker.mjs', import.meta.url), { net }, 'state estimation') : undefined;
  let running: Promise<void> | undefined;
  let detached = false;
  const start = (nowMs: number): void => {
    const pending = prepare(nowMs);
    if (local !== undefined) {
      apply(pending, local.run(pending.job));
      return;
    }
    running = jobs!
      .run(pending.job, jobBuffers(pending.job))
      .then((outcome) => {
        if (!detached) apply(pending, outcome);
      })
      .catch((error: unknown) => {
        // The worker may have restarted without the model: the next run sends its spec again.
        computeHolds = undefined;
        if (!detached) settings.onError?.(error as Error);
      })
      .finally(() => {
        running = undefined;
      });
  };

  const tick = (virtualMs?: number): void => {
    const nowMs = Math.max(engine.now, virtualMs ?? 0);
    take(nowMs);
    // Readings taken while a run is in progress wait for the next one.
    if (pendingReadings === 0 || running !== undefined || detached) return;
    if (pendingReadings >= burst || nowMs - pendingSinceMs >= everyMs) start(nowMs);
  };

  const sensorExcluded = (s: number): boolean => exclusions.size > 0 && (lastStructure?.rows.some((r) => r.sensors.includes(s) && exclusions.has(r.key)) ?? false);

  const off = advances?.onAdvance(tick) ?? (() => undefined);
  return {
    tick,
    async runNow(virtualMs) {
      while (running !== undefined) await running;
      const nowMs = Math.max(engine.now, virtualMs ?? 0);
      take(nowMs);
      start(nowMs);
      await running;
      return summary();
    },
    async settled() {
      while (running !== undefined) await running;
    },
    summary,
    assetEstimate(assetId, nowMs = engine.now) {
      const s = sensorOfAsset.get(assetId);
      if (s === undefined) return undefined;
      const sensor = sensors[s]!;
      const excluded = sensorExcluded(s);
      const residual = nullable(residualOfSensor[s]!);
      const trust = trustScore({
        id: assetId,
        nowS: nowMs / 1000,
        lastReadingAtS: sensor.has ? sensor.atMs / 1000 : null,
        expectedIntervalS: intervalS,
        received: sensor.times.filter((t) => t > nowMs - 10 * intervalS * 1000).length,
        // Over the window (10 intervals), counting from the sensor's first reading: a sensor that just joined is not incomplete.
        expected: sensor.has ? Math.min(10, Math.floor((nowMs - sensor.firstAtMs) / (intervalS * 1000)) + 1) : 10,
        normalizedResidual: residual,
        removedAsBadData: excluded,
        recentValues: sensor.recent,
        sigma: sigma[sensor.type],
      });
      return {
        asset: assetId,
        sensor: sensor.type,
        valueMw: nullable(shownMw[s]!),
        sigmaMw: nullable(shownSigmaMw[s]!),
        readingMw: sensor.has ? sensor.value : null,
        readingAtMs: sensor.has ? sensor.atMs : null,
        normalizedResidual: residual,
        excluded,
        trust,
        estimatedAtMs: nullable(shownAtMs[s]!),
      };
    },
    residualOf(assetId) {
      const s = sensorOfAsset.get(assetId);
      if (s === undefined || lastOutcome === undefined) return undefined;
      const excluded = sensorExcluded(s);
      if (!excluded && !judged[s]) return undefined;
      return { normalizedResidual: nullable(residualOfSensor[s]!), removed: excluded };
    },
    onRun(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    detach() {
      off();
      detached = true;
      void jobs?.close();
    },
  };
}

/** Island number (as in the result's `islands`) of every bus of the live network, by bus id. */
function islandsOf(islands: readonly IslandEstimate[], live: GridNetwork): Map<string, number> {
  // The result numbers islands as findIslands does; rebuild it from the references by a walk.
  const adjacency: number[][] = live.busIds.map(() => []);
  for (let k = 0; k < live.from.length; k++) {
    if (!live.branchInService[k] || live.busType[live.from[k]!] === 4 || live.busType[live.to[k]!] === 4) continue;
    adjacency[live.from[k]!]!.push(live.to[k]!);
    adjacency[live.to[k]!]!.push(live.from[k]!);
  }
  const islandOf = new Map<string, number>();
  islands.forEach((island, g) => {
    const start = live.busIndex.get(island.reference)!;
    const stack = [start];
    islandOf.set(island.reference, g);
    while (stack.length > 0) {
      const v = stack.pop()!;
      for (const w of adjacency[v]!) {
        const id = live.busIds[w]!;
        if (islandOf.has(id)) continue;
        islandOf.set(id, g);
        stack.push(w);
      }
    }
  });
  return islandOf;
}

function busOfMeasurement(m: Measurement, live: GridNetwork): string {
  if (m.kind !== 'flow') return m.target;
  const k = live.branchIds.indexOf(m.target);
  return live.busIds[live.from[k]!]!;
}

/**
 * `STRATUM_ESTIMATION=1` attaches the live estimator (opt-in; a city without electrical power
 * assets has nothing to estimate and it stays off). `STRATUM_ESTIMATION_EVERY_S` (default 10) is
 * the cadence in virtual seconds, `STRATUM_ESTIMATION_BURST` (default the number of sensors) the readings
 * that start a run at once, `STRATUM_ESTIMATION_SIGMA` (`flow=2,load=3,generation=3`, any subset)
 * the σ per sensor type in MW; `STRATUM_ESTIMATION_DEADBAND_SIGMA` (default 1; 0 sends every
 * change) the deadband, in the estimate's σ, outside which an estimate is sent to the twin;
 * `STRATUM_TELEMETRY_INTERVAL_S` (default 60) a healthy sensor's interval for its trust. The runs
 * compute in a worker thread; `onError` hears one that failed there.
 *
 * @throws RangeError naming the variable when a value is malformed.
 */
export function liveEstimatorFromEnv(
  env: NodeJS.ProcessEnv,
  engine: Engine,
  control: Pick<Control, 'submitBatch'>,
  advances: { onAdvance(listener: (virtualMs: number) => void): () => void },
  raise: (alerts: Alert[]) => void,
  onError?: (error: Error) => void,
): LiveEstimator | undefined {
  if (env['STRATUM_ESTIMATION'] !== '1') return undefined;
  const positive = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const x = Number(text);
    if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`${name} must be a positive number (got "${text}")`);
    return x;
  };
  const everyS = positive('STRATUM_ESTIMATION_EVERY_S');
  const burst = positive('STRATUM_ESTIMATION_BURST');
  if (burst !== undefined && !Number.isInteger(burst)) throw new RangeError(`STRATUM_ESTIMATION_BURST must be a positive integer (got "${env['STRATUM_ESTIMATION_BURST']}")`);
  const intervalS = positive('STRATUM_TELEMETRY_INTERVAL_S');
  const deadbandText = env['STRATUM_ESTIMATION_DEADBAND_SIGMA'];
  const deadbandSigma = deadbandText === undefined || deadbandText === '' ? undefined : Number(deadbandText);
  if (deadbandSigma !== undefined && !(Number.isFinite(deadbandSigma) && deadbandSigma >= 0)) throw new RangeError(`STRATUM_ESTIMATION_DEADBAND_SIGMA must be a number ≥ 0 (got "${deadbandText}")`);
  let sigmaMw: { flow: number; load: number; generation: number } | undefined;
  const sigmaText = env['STRATUM_ESTIMATION_SIGMA'];
  if (sigmaText !== undefined && sigmaText !== '') {
    sigmaMw = { ...LIVE_SENSOR_SIGMA_MW };
    for (const part of sigmaText.split(',')) {
      const match = /^\s*(flow|load|generation)\s*=\s*([^\s]+)\s*$/.exec(part);
      const value = match ? Number(match[2]) : Number.NaN;
      if (!match || !(Number.isFinite(value) && value > 0)) throw new RangeError(`STRATUM_ESTIMATION_SIGMA: "${part}" is not type=sigma with type flow, load or generation and a positive sigma in MW`);
      sigmaMw[match[1] as SensorType] = value;
    }
  }
  return attachLiveEstimator(engine, control, advances, raise, {
    ...(everyS === undefined ? {} : { everyS }),
    ...(burst === undefined ? {} : { burst }),
    ...(intervalS === undefined ? {} : { expectedIntervalS: intervalS }),
    ...(sigmaMw === undefined ? {} : { sigmaMw }),
    ...(deadbandSigma === undefined ? {} : { deadbandSigma }),
    ...(onError === undefined ? {} : { onError }),
  });
}

/** The `estimation` stream event of a run: its verdicts in a few bytes (the details are `GET /api/estimation`). */
export function estimationEvent(summary: EstimationSummary): EstimationEvent {
  return {
    runs: summary.runs,
    lastRunMs: summary.lastRunMs,
    islands: summary.islands.length,
    consistent: summary.islands.every((i) => i.consistent),
    unobservable: summary.islands.reduce((n, i) => n + i.unobservable.length, 0),
    excluded: summary.excluded.map((e) => e.sensor),
  };
}
