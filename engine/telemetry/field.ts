/**
 * The field simulator: realistic telemetry from a grid's true DC power flow.
 *
 * Every scan (`rateHz` per second over `seconds`) the loads swing around their case values (each bus
 * on its own seeded phase of a sine of amplitude `loadSwing` and period `loadPeriodS`; generators
 * follow pro rata so the slack does not take the whole swing), the DC power flow gives the truth, and
 * every sensor reads it:
 * - flow sensors on every in-service branch (MW at the from end), injection sensors on every
 *   in-service bus (net MW into the network), PMU angle sensors on the buses in `pmu` (degrees
 *   against the island's reference) — the estimator's measurement kinds;
 * - Gaussian noise of the sensor type's σ;
 * - a reading is lost with probability `dropout`;
 * - a stuck sensor repeats its first reading forever;
 * - each sensor has a fixed latency drawn uniformly from [0, 2·delayS] (mean `delayS`);
 * - an attacker adds `offset` to every reading of the spoofed flow/injection sensors.
 * With `sensorSet: 'scada'` the sensors are what a SCADA system reads of the twin's assets instead:
 * |MW| at the from end of each branch (`flow`, a transducer does not know the direction the model
 * calls positive), each bus's load (`load`, where the case has a positive load) and each
 * generator's output (`generation`, where the case dispatches it above 0), never below
 * 0 (noise, with the injection σ for loads and generators, is added before the cut at 0; the
 * attacker's offset after it) — the readings the live twin's estimator takes as telemetry.
 * The snapshot is what a SCADA database holds at the end: each sensor's latest reading that has
 * arrived. All randomness comes from one seeded stream, so a seed reproduces the run.
 */
import { ValidationError, type Problem } from '../errors.ts';
import type { Measurement } from '../power/estimation.ts';
import { DcSolver, dcPowerFlow } from '../power/dcpf.ts';
import { busActive, type GridNetwork } from '../power/network.ts';
import { Rng } from '../rng.ts';

export type SensorKind = 'flow' | 'injection' | 'angle' | 'load' | 'generation';

export interface FieldOptions {
  readonly seconds: number;
  readonly rateHz: number;
  /** σ per sensor type: MW for flow and injection, degrees for angle. */
  readonly sigma: { readonly flow: number; readonly injection: number; readonly angle: number };
  readonly dropout: number;
  /** Targets (br-N, bus-N) whose sensors are stuck. */
  readonly stuck: readonly string[];
  readonly delayS: number;
  /** Target → offset (MW) the attacker adds to its flow or injection readings. */
  readonly spoof: ReadonlyMap<string, number>;
  /** Buses with a PMU (angle sensor). */
  readonly pmu: readonly string[];
  readonly seed: number;
  /** Relative amplitude of the load swing (default 0.05) and its period (default 900 s). */
  readonly loadSwing?: number;
  readonly loadPeriodS?: number;
  /** `estimator` (default): flow, injection and angle sensors; `scada`: |flow|, load and generation per asset (see above). */
  readonly sensorSet?: 'estimator' | 'scada';
}

export const DEFAULT_FIELD_SIGMA = { flow: 2, injection: 3, angle: 0.05 } as const;

export interface FieldSensor {
  readonly kind: SensorKind;
  readonly target: string;
  readonly sigma: number;
  readonly latencyS: number;
  readonly stuck: boolean;
  readonly spoofOffset: number;
}

export interface FieldReading {
  readonly sensor: number;
  readonly measuredAtS: number;
  readonly arrivesAtS: number;
  readonly value: number;
  /** The true value at the measurement time (for tests and scoring; a real field device has none). */
  readonly truth: number;
}

export interface FieldRun {
  readonly sensors: readonly FieldSensor[];
  /** Delivered readings, in arrival order (ties by sensor). */
  readonly readings: readonly FieldReading[];
  readonly scans: number;
  readonly dropped: number;
  /** The estimator's input: each sensor's latest arrived reading at the end of the run. */
  readonly snapshot: readonly Measurement[];
  /** Sensor of each snapshot entry, and which entries are spoofed or stuck. */
  readonly snapshotSensors: readonly number[];
  readonly spoofedInSnapshot: readonly number[];
  readonly stuckInSnapshot: readonly number[];
}

function checkTargets(net: GridNetwork, options: FieldOptions): void {
  const problems: Problem[] = [];
  const branchIndex = new Map(net.branchIds.map((id, k) => [id, k]));
  const known = (flag: string, id: string, busOnly = false): void => {
    const k = branchIndex.get(id);
    const v = net.busIndex.get(id);
    if (k !== undefined && !busOnly) {
      if (net.branchInService[k] === 0) problems.push({ path: flag, reason: `branch "${id}" is out of service: it has no sensor` });
    } else if (v !== undefined) {
      if (!busActive(net, v)) problems.push({ path: flag, reason: `bus "${id}" is isolated: it has no sensor` });
    } else problems.push({ path: flag, reason: `no ${busOnly ? 'bus' : 'branch or bus'} "${id}" in ${net.name} (ids are br-<row>, bus-<BUS_I>)` });
  };
  options.stuck.forEach((id) => known('--stuck', id));
  for (const id of options.spoof.keys()) known('--spoof', id);
  options.pmu.forEach((id) => known('--pmu', id, true));
  const positive = (flag: string, x: number): void => {
    if (!(Number.isFinite(x) && x > 0)) problems.push({ path: flag, reason: `must be a positive number (got ${x})` });
  };
  positive('--seconds', options.seconds);
  positive('--rate', options.rateHz);
  positive('--noise flow', options.sigma.flow);
  positive('--noise injection', options.sigma.injection);
  positive('--noise angle', options.sigma.angle);
  if (!(options.dropout >= 0 && options.dropout < 1)) problems.push({ path: '--dropout', reason: `must be a probability in [0, 1) (got ${options.dropout})` });
  if (!(Number.isFinite(options.delayS) && options.delayS >= 0)) problems.push({ path: '--delay', reason: `must be a number of seconds ≥ 0 (got ${options.delayS})` });
  for (const [id, offset] of options.spoof) if (!Number.isFinite(offset)) problems.push({ path: '--spoof', reason: `offset of "${id}" must be a finite number of MW` });
  if (options.seconds * options.rateHz > 1_000_000) problems.push({ path: '--seconds', reason: `at most 1,000,000 scans (seconds × rate = ${options.seconds * options.rateHz})` });
  if (problems.length > 0) throw new ValidationError('field simulator options', problems);
}

/**
 * Runs the field simulator on a network.
 *
 * @example
 * const run = simulateField(net, { seconds: 60, rateHz: 1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0.02, stuck: [], delayS: 0.5, spoof: new Map([['br-20', 80]]), pmu: [], seed: 7 });
 * estimateDcState(net, run.snapshot).removed; // the spoofed br-20 reading
 */
export function simulateField(net: GridNetwork, options: FieldOptions): FieldRun {
  checkTargets(net, options);
  const rng = new Rng(options.seed);
  const swing = options.loadSwing ?? 0.05;
  const period = options.loadPeriodS ?? 900;
  const stuck = new Set(options.stuck);
  const latency = (): number => options.delayS * 2 * rng.next();

  const sensors: FieldSensor[] = [];
  const sensorOf: number[] = []; // branch or bus index of each sensor
  for (let k = 0; k < net.branchIds.length; k++) {
    if (net.branchInService[k] === 0 || !busActive(net, net.from[k]!) || !busActive(net, net.to[k]!)) continue;
    const id = net.branchIds[k]!;
    sensors.push({ kind: 'flow', target: id, sigma: options.sigma.flow, latencyS: latency(), stuck: stuck.has(id), spoofOffset: options.spoof.get(id) ?? 0 });
    sensorOf.push(k);
  }
  const scada = options.sensorSet === 'scada';
  for (let v = 0; v < net.busIds.length; v++) {
    // SCADA: a load meter where the case has load (telemetry is ≥ 0: a negative load cannot be reported).
    if (!busActive(net, v) || (scada && !(net.pdMw[v]! > 0))) continue;
    const id = net.busIds[v]!;
    sensors.push({ kind: scada ? 'load' : 'injection', target: id, sigma: options.sigma.injection, latencyS: latency(), stuck: stuck.has(id), spoofOffset: options.spoof.get(id) ?? 0 });
    sensorOf.push(v);
  }
  if (scada) {
    for (let g = 0; g < net.genIds.length; g++) {
      if (!net.genInService[g] || !busActive(net, net.genBus[g]!) || !(net.pgMw[g]! > 0)) continue;
      const id = net.genIds[g]!;
      sensors.push({ kind: 'generation', target: id, sigma: options.sigma.injection, latencyS: latency(), stuck: stuck.has(id), spoofOffset: options.spoof.get(id) ?? 0 });
      sensorOf.push(g);
    }
  }
  for (const id of options.pmu) {
    sensors.push({ kind: 'angle', target: id, sigma: options.sigma.angle, latencyS: latency(), stuck: stuck.has(id), spoofOffset: 0 });
    sensorOf.push(net.busIndex.get(id)!);
  }

  const phase = Float64Array.from(net.busIds, () => 2 * Math.PI * rng.next());
  const solver = new DcSolver(net);
  const baseLoad = net.pdMw.reduce((s, x) => s + x, 0);
  // SCADA readings are physical: generation matches the load (the DC model has no losses), else the
  // slack generator would take the case's AC losses and "produce" a negative output no meter reads.
  const baseGeneration = net.pgMw.reduce((s, x, g) => s + (net.genInService[g] ? x : 0), 0);
  const generationBase = scada && baseGeneration > 0 ? baseGeneration : baseLoad;
  const scans = Math.floor(options.seconds * options.rateHz + 1e-9) + 1;
  const first = new Float64Array(sensors.length).fill(Number.NaN);
  const readings: FieldReading[] = [];
  let dropped = 0;
  for (let j = 0; j < scans; j++) {
    const t = j / options.rateHz;
    const pdMw = Float64Array.from(net.pdMw, (pd, v) => pd * (1 + swing * Math.sin((2 * Math.PI * t) / period + phase[v]!)));
    const ratio = generationBase === 0 ? 1 : pdMw.reduce((s, x) => s + x, 0) / generationBase;
    const pf = dcPowerFlow({ ...net, pdMw }, solver, { pgMw: Float64Array.from(net.pgMw, (pg) => pg * ratio) });
    const outflow = new Float64Array(net.busIds.length);
    for (let k = 0; k < pf.flowMw.length; k++) {
      outflow[net.from[k]!]! += pf.flowMw[k]!;
      outflow[net.to[k]!]! -= pf.flowMw[k]!;
    }
    for (let s = 0; s < sensors.length; s++) {
      const sensor = sensors[s]!;
      const at = sensorOf[s]!;
      let truth: number;
      if (sensor.kind === 'flow') truth = scada ? Math.abs(pf.flowMw[at]!) : pf.flowMw[at]!;
      else if (sensor.kind === 'injection') truth = outflow[at]!;
      else if (sensor.kind === 'load') truth = pdMw[at]!;
      else if (sensor.kind === 'generation') truth = pf.pgMw[at]!;
      else {
        const ref = pf.references[pf.islands.islandOf[at]!] ?? -1;
        truth = ((pf.angleRad[at]! - (ref >= 0 ? pf.angleRad[ref]! : 0)) * 180) / Math.PI;
      }
      // Draw noise and the dropout for every sensor every scan, so that changing one sensor's fault
      // leaves every other sensor's stream unchanged.
      const noise = sensor.sigma * rng.normal();
      const lost = rng.next() < options.dropout;
      let value = scada ? Math.max(0, truth + noise) + sensor.spoofOffset : truth + noise + sensor.spoofOffset;
      if (sensor.stuck) {
        if (Number.isNaN(first[s]!)) first[s] = value;
        value = first[s]!;
      }
      if (lost) {
        dropped++;
        continue;
      }
      readings.push({ sensor: s, measuredAtS: t, arrivesAtS: t + sensor.latencyS, value, truth });
    }
  }
  readings.sort((a, b) => a.arrivesAtS - b.arrivesAtS || a.sensor - b.sensor);

  const latest = new Map<number, FieldReading>();
  // The snapshot is the estimator's input: its measurement kinds only (none in the scada set but the flows, whose sign it lacks).
  for (const r of readings) if (r.arrivesAtS <= options.seconds && !scada) latest.set(r.sensor, r);
  const snapshotSensors = [...latest.keys()].sort((a, b) => a - b);
  const snapshot = snapshotSensors.map((s): Measurement => {
    const sensor = sensors[s]!;
    const value = latest.get(s)!.value;
    if (sensor.kind === 'angle') return { kind: 'angle', target: sensor.target, valueDeg: value, sigmaDeg: sensor.sigma };
    if (sensor.kind === 'flow' || sensor.kind === 'injection') return { kind: sensor.kind, target: sensor.target, valueMw: value, sigmaMw: sensor.sigma };
    throw new Error(`internal: a ${sensor.kind} sensor in the estimator snapshot`);
  });
  const indicesWhere = (test: (sensor: FieldSensor) => boolean): number[] => snapshotSensors.flatMap((s, i) => (test(sensors[s]!) ? [i] : []));
  return {
    sensors,
    readings,
    scans,
    dropped,
    snapshot,
    snapshotSensors,
    spoofedInSnapshot: indicesWhere((s) => s.spoofOffset !== 0),
    stuckInSnapshot: indicesWhere((s) => s.stuck),
  };
}

/** Parses `flow=2,injection=3,angle=0.05` (any subset) over the defaults. */
export function parseNoise(text: string): { flow: number; injection: number; angle: number } {
  const sigma: { flow: number; injection: number; angle: number } = { ...DEFAULT_FIELD_SIGMA };
  for (const part of text.split(',')) {
    const match = /^\s*(flow|injection|angle)\s*=\s*([^\s]+)\s*$/.exec(part);
    const value = match ? Number(match[2]) : Number.NaN;
    if (!match || !(Number.isFinite(value) && value > 0)) throw new RangeError(`"${part}" is not kind=sigma with kind flow, injection or angle and a positive sigma`);
    sigma[match[1] as 'flow' | 'injection' | 'angle'] = value;
  }
  return sigma;
}

/** Parses `br-12,bus-5:80` (targets, then one offset in MW); several groups separated by `;`. */
export function parseSpoof(text: string): Map<string, number> {
  const spoof = new Map<string, number>();
  for (const group of text.split(';')) {
    const colon = group.lastIndexOf(':');
    const offset = colon < 0 ? Number.NaN : Number(group.slice(colon + 1));
    const ids = colon < 0 ? [] : group.slice(0, colon).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (ids.length === 0 || !Number.isFinite(offset) || offset === 0) throw new RangeError(`"${group}" is not ids:offsetMw (e.g. br-12,bus-5:80) with a non-zero offset`);
    for (const id of ids) spoof.set(id, offset);
  }
  return spoof;
}
