import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createBehaviours, telemetrySetsLoad } from '../../actors/index.ts';
import { DEFAULT_FIELD_SIGMA, Engine, matpowerToCity, networkFromCity, parseCity, parseMatpower, simulateField, type CityModel, type FieldRun } from '../../engine/index.ts';
import { feedPoints } from '../../scenarios/index.ts';
import { sharedDataFile } from '../../test/shared-data.ts';
import { admitBatch } from '../door/index.ts';
import { ESTIMATION_WORKER_NICE } from './estimation-compute.ts';
import { attachLiveEstimator, ESTIMATE_SOURCE, liveEstimatorFromEnv, type LiveEstimator } from './live-estimator.ts';
import type { Alert } from '../protocol.ts';

const city118 = (): CityModel => parseCity(matpowerToCity(parseMatpower(readFileSync(sharedDataFile('grids/case118.m'), 'utf8'), 'case118')), 'case118');

/** Estimators to detach after each test (a worker-mode estimator holds a worker thread). */
const attached: LiveEstimator[] = [];

/** A live engine (direct driver), the estimator over it (its worker unless `compute: 'inline'`), and the door's batch step as the estimator's way in. */
async function twin(city: CityModel, settings: Parameters<typeof attachLiveEstimator>[4] = {}) {
  const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
  const alerts: Alert[] = [];
  const door = { submitBatch: (commands: Parameters<typeof admitBatch>[2], options: { source: string; sourceSeqs: readonly number[] }) => admitBatch(engine, undefined, commands, options) };
  const estimator = attachLiveEstimator(engine, door, undefined, (a) => alerts.push(...a), { everyS: 10, ...settings })!;
  attached.push(estimator);
  return { engine, estimator, alerts };
}

/** Feeds a field run's readings as telemetry at their arrival times, up to `untilS`, runs the engine there, and waits for the run it starts. */
async function feed(engine: Engine, run: FieldRun, fromS: number, untilS: number, estimator: LiveEstimator): Promise<void> {
  for (const r of run.readings) {
    if (r.arrivesAtS < fromS || r.arrivesAtS >= untilS) continue;
    engine.submit({ type: 'telemetry', target: run.sensors[r.sensor]!.target, value: r.value }, { at: 1 + r.arrivesAtS, source: 'field' });
  }
  await engine.runUntil((1 + untilS) * 1000);
  estimator.tick();
  await estimator.settled();
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  for (const estimator of attached.splice(0)) estimator.detach();
  await stop?.();
  stop = undefined;
});

describe('the state estimator in the live twin', () => {
  it('turns a field scan into measurements, estimates per island and shows the estimates as the assets’ loads (journalled as source estimate)', async () => {
    const city = city118();
    const { engine, estimator, alerts } = await twin(city);
    stop = () => engine.stop();
    const net = networkFromCity(city);
    const run = simulateField(net, { seconds: 20, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map(), pmu: [], seed: 5, sensorSet: 'scada' });
    await feed(engine, run, 0, 1, estimator);
    const summary = estimator.summary();
    expect(summary.runs).toBe(1);
    expect(summary.islands).toHaveLength(1);
    expect(summary.islands[0]!.consistent).toBe(true);
    expect(summary.islands[0]!.removed).toEqual([]);
    expect(summary.islands[0]!.unobservable).toEqual([]);
    expect(summary.islands[0]!.chi2Threshold).toBeGreaterThan(0);
    expect(alerts).toEqual([]);
    // The estimate of a branch's |flow| is closer to the truth than its σ, and better than the reading on average.
    const first = run.readings.filter((r) => r.measuredAtS === 0);
    let errEstimate = 0;
    let errReading = 0;
    let flows = 0;
    for (const r of first) {
      const sensor = run.sensors[r.sensor]!;
      if (sensor.kind !== 'flow') continue;
      const e = estimator.assetEstimate(sensor.target)!;
      expect(e.valueMw).not.toBeNull();
      // ≤, not <: a critical measurement (no redundancy) is estimated with its own σ.
      expect(e.sigmaMw!).toBeLessThanOrEqual(DEFAULT_FIELD_SIGMA.flow * (1 + 1e-9));
      errEstimate += (e.valueMw! - r.truth) ** 2;
      errReading += (r.value - r.truth) ** 2;
      flows++;
    }
    expect(flows).toBeGreaterThan(100);
    expect(errEstimate).toBeLessThan(errReading * 0.8);
    // The estimates went through the door: every read bus's load is now its estimate within the
    // deadband (1 σ by default; the ones further off were sent). A branch's load is the DC flow those
    // injections drive in the live model (actors/dc-flow.ts): its estimate is shown, not sent.
    await engine.runUntil(engine.now + 1000);
    const estimated = engine.journal.entries.filter((e) => e.source === ESTIMATE_SOURCE);
    expect(estimated.length).toBeGreaterThan(0);
    expect(estimated.every((e) => e.command.target.startsWith('bus-'))).toBe(true);
    const net118 = networkFromCity(city);
    let loads = 0;
    for (const id of net118.busIds) {
      const e = estimator.assetEstimate(id);
      if (e?.valueMw === null || e?.valueMw === undefined || e.readingMw === null) continue;
      expect(Math.abs(engine.kernel.view(engine.index.indexOf(id)!).load - e.valueMw)).toBeLessThanOrEqual(e.sigmaMw! + 1e-6);
      loads++;
    }
    expect(loads).toBeGreaterThan(50);
    const bus = estimated[0]!.command.target;
    expect(engine.kernel.view(engine.index.indexOf(bus)!).load).toBeCloseTo(estimator.assetEstimate(bus)!.valueMw!, 5);
    expect(estimator.assetEstimate(bus)!.trust.score).toBeGreaterThanOrEqual(70);
  });

  it('with a deadband of 0 every read bus takes its estimate exactly, and a run in the worker gives the same estimates as one inline', async () => {
    const city = city118();
    const runs = [];
    for (const compute of ['worker', 'inline'] as const) {
      const { engine, estimator } = await twin(city, { deadbandSigma: 0, compute });
      const field = simulateField(networkFromCity(city), { seconds: 20, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map([['br-20', 60]]), pmu: [], seed: 5, sensorSet: 'scada' });
      await feed(engine, field, 0, 1, estimator);
      await feed(engine, field, 1, 11, estimator);
      await engine.runUntil(engine.now + 1000);
      const estimates = engine.journal.entries.filter((e) => e.source === ESTIMATE_SOURCE).map((e) => [e.time, e.command.target, (e.command as { value: number }).value]);
      // The last estimate of each bus is its load.
      const last = new Map(estimates.map(([, target, value]) => [target as string, value as number]));
      for (const [target, value] of last) expect(engine.kernel.view(engine.index.indexOf(target)!).load).toBeCloseTo(value, 9);
      runs.push({ estimates, summary: estimator.summary(), br20: estimator.assetEstimate('br-20') });
      await engine.stop();
    }
    expect(runs[0]!.summary.runs).toBe(2);
    expect(runs[0]!.estimates.length).toBeGreaterThan(80);
    expect(runs[1]).toEqual(runs[0]);
  });

  it('sends no branch estimates where a branch reading does not set its load (a live grid: its load is the DC flow)', async () => {
    const { engine } = await twin(city118(), { compute: 'inline' });
    stop = () => engine.stop();
    const [branch, bus] = [engine.index.indexOf('br-1')!, engine.index.indexOf('bus-1')!];
    expect([telemetrySetsLoad(engine.index, branch), telemetrySetsLoad(engine.index, bus)]).toEqual([false, true]);
    const before = engine.kernel.view(branch).load;
    engine.submit({ type: 'telemetry', target: 'br-1', value: before + 50 }, { source: 'test' });
    engine.submit({ type: 'telemetry', target: 'bus-1', value: 7 }, { source: 'test' });
    await engine.runUntil(engine.now + 1000);
    expect(engine.kernel.view(bus).load).toBe(7);
    expect(Math.abs(engine.kernel.view(branch).load - (before + 50))).toBeGreaterThan(10);
  });

  it('runs one at a time: readings taken while a worker run is in progress wait for the next run', async () => {
    const city = city118();
    const { engine, estimator } = await twin(city, { burst: 1 });
    stop = () => engine.stop();
    const field = simulateField(networkFromCity(city), { seconds: 30, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map(), pmu: [], seed: 6, sensorSet: 'scada' });
    const submitScan = (fromS: number, untilS: number): void => {
      for (const r of field.readings) if (r.arrivesAtS >= fromS && r.arrivesAtS < untilS) engine.submit({ type: 'telemetry', target: field.sensors[r.sensor]!.target, value: r.value }, { at: 1 + r.arrivesAtS, source: 'field' });
    };
    submitScan(0, 1);
    await engine.runUntil(2000);
    estimator.tick(); // starts a run in the worker
    submitScan(10, 11);
    await engine.runUntil(12_000);
    estimator.tick(); // takes the second scan; the first run is still out: no second run yet
    expect(estimator.summary().runs).toBe(0);
    await estimator.settled();
    expect(estimator.summary()).toMatchObject({ runs: 1, lastRunMs: 2000 });
    estimator.tick(); // the readings that waited start the next run
    await estimator.settled();
    expect(estimator.summary()).toMatchObject({ runs: 2, lastRunMs: 12_000 });
    // On Linux the worker thread runs at a lower priority than the event loop (nice 10).
    if (process.platform === 'linux') {
      const nice = readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
      expect(nice).toContain(ESTIMATION_WORKER_NICE);
    }
  });

  it('catches a spoofed sensor: an alert names it with its residual, it stays out while it disagrees and comes back once it agrees', async () => {
    const city = city118();
    const { engine, estimator, alerts } = await twin(city, { agreeRuns: 2 });
    stop = () => engine.stop();
    const net = networkFromCity(city);
    const spoof = new Map([['br-20', 60]]);
    const attacked = simulateField(net, { seconds: 40, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof, pmu: [], seed: 9, sensorSet: 'scada' });
    await feed(engine, attacked, 0, 1, estimator);
    const flagged = alerts.filter((a) => a.causedBy === 'state-estimator');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.id).toBe('br-20');
    expect(flagged[0]!.detail).toMatch(/bad data: flow br-20 from br-20 reads .* MW, normalised residual \d+\.\d/);
    const summary = estimator.summary();
    expect(summary.islands[0]!.removed.map((r) => r.sensor)).toEqual(['br-20']);
    expect(summary.excluded.map((e) => e.sensor)).toEqual(['br-20']);
    const e = estimator.assetEstimate('br-20')!;
    expect(e.excluded).toBe(true);
    expect(e.trust.score).toBeLessThan(40); // removed as bad data: BLOCK
    const truth = attacked.readings.find((r) => r.measuredAtS === 0 && attacked.sensors[r.sensor]!.target === 'br-20')!.truth;
    expect(Math.abs(e.valueMw! - truth)).toBeLessThan(4 * e.sigmaMw!);
    // Later scans, still spoofed: no new alert (it is already out), it stays excluded.
    await feed(engine, attacked, 1, 11, estimator);
    expect(alerts.filter((a) => a.causedBy === 'state-estimator')).toHaveLength(1);
    expect(estimator.summary().excluded).toHaveLength(1);
    // The attacker leaves: after two agreeing runs the sensor is used again (and the operator is told).
    const honest = simulateField(net, { seconds: 40, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map(), pmu: [], seed: 9, sensorSet: 'scada' });
    await feed(engine, honest, 11, 21, estimator);
    await feed(engine, honest, 21, 31, estimator);
    expect(estimator.summary().excluded).toEqual([]);
    expect(alerts.at(-1)!.detail).toMatch(/bad data cleared: br-20 agrees with the estimate again/);
    expect(estimator.residualOf('br-20')!.removed).toBe(false);
  });

  it('replays identically: the journal (readings and estimates) fed to a fresh engine without an estimator gives the same state stream', async () => {
    const city = city118();
    const { engine, estimator } = await twin(city);
    const run = simulateField(networkFromCity(city), { seconds: 30, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0.05, stuck: ['br-7'], delayS: 0.5, spoof: new Map([['br-20', 60]]), pmu: [], seed: 21, sensorSet: 'scada' });
    for (let s = 0; s < 30; s += 10) await feed(engine, run, s, s + 10, estimator);
    await engine.runUntil(engine.now + 1000);
    expect(engine.journal.entries.some((e) => e.source === ESTIMATE_SOURCE)).toBe(true);
    const replay = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 3, driver: 'direct' });
    stop = async () => {
      await engine.stop();
      await replay.stop();
    };
    const entries = engine.journal.entries;
    const feeds = feedPoints(entries);
    for (let i = 0; i < entries.length; i++) {
      await replay.runUntil(feeds[i]!);
      replay.replay(entries[i]!);
    }
    await replay.runUntil(engine.now);
    expect(replay.stream.stateHash()).toBe(engine.stream.stateHash());
    const br20 = engine.index.indexOf('br-20')!;
    expect(replay.kernel.view(br20).load).toBe(engine.kernel.view(br20).load);
  });

  it('follows the live topology: an isolated radial branch leaves its bus de-energised, out of the estimate, and the model is rebuilt', async () => {
    const city = city118();
    const { engine, estimator } = await twin(city);
    stop = () => engine.stop();
    const net = networkFromCity(city);
    const radial = net.branchIds.find((_, k) => net.busIds[net.to[k]!] === 'bus-117')!;
    const run = simulateField(net, { seconds: 20, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map(), pmu: [], seed: 4, sensorSet: 'scada' });
    await feed(engine, run, 0, 1, estimator);
    expect(estimator.summary().islands).toHaveLength(1);
    engine.submit({ type: 'isolate', target: radial }, { source: 'test' });
    await feed(engine, run, 1, 11, estimator);
    const summary = estimator.summary();
    expect(summary.factorisations).toBe(2);
    // bus-117 hangs on the isolated branch: the twin de-energises it, and the estimate runs without both.
    expect(engine.kernel.statusOf(engine.index.indexOf('bus-117')!)).not.toBe(0);
    expect(summary.islands.map((i) => i.buses)).toEqual([117]);
    expect(summary.islands[0]!.removed).toEqual([]);
    expect(estimator.assetEstimate(radial)!.estimatedAtMs).toBeLessThan(summary.lastRunMs!);
    expect(estimator.assetEstimate('br-1')!.estimatedAtMs).toBe(summary.lastRunMs);
  });

  it('keeps the factorisation while the sensors and the topology stay the same', async () => {
    const city = city118();
    const { engine, estimator } = await twin(city);
    stop = () => engine.stop();
    const run = simulateField(networkFromCity(city), { seconds: 40, rateHz: 0.1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0, stuck: [], delayS: 0, spoof: new Map(), pmu: [], seed: 2, sensorSet: 'scada' });
    for (let s = 0; s < 40; s += 10) await feed(engine, run, s, s + 10, estimator);
    const summary = estimator.summary();
    expect(summary.runs).toBe(4);
    expect(summary.factorisations).toBe(1);
  });

  it('stays off for a city without electrical assets, and names a malformed setting', async () => {
    const city = parseCity({ name: 'tiny', version: 1, assets: [{ id: 'a', layer: 'power', kind: 'substation', district: 'd' }], links: [] }, 'tiny');
    const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    stop = () => engine.stop();
    const door = { submitBatch: () => ({ accepted: 0, duplicates: 0 }) };
    const advances = { onAdvance: () => () => undefined };
    expect(liveEstimatorFromEnv({ STRATUM_ESTIMATION: '1' }, engine, door, advances, () => undefined)).toBeUndefined();
    expect(liveEstimatorFromEnv({}, engine, door, advances, () => undefined)).toBeUndefined();
    const big = await Engine.create({ city: city118(), behaviours: (i) => createBehaviours(i), seed: 1, driver: 'direct' });
    try {
      expect(() => liveEstimatorFromEnv({ STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_EVERY_S: 'soon' }, big, door, advances, () => undefined)).toThrow(/STRATUM_ESTIMATION_EVERY_S must be a positive number \(got "soon"\)/);
      expect(() => liveEstimatorFromEnv({ STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_SIGMA: 'flow=-1' }, big, door, advances, () => undefined)).toThrow(/STRATUM_ESTIMATION_SIGMA: "flow=-1"/);
      expect(() => liveEstimatorFromEnv({ STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_BURST: '2.5' }, big, door, advances, () => undefined)).toThrow(/STRATUM_ESTIMATION_BURST must be a positive integer/);
      expect(() => liveEstimatorFromEnv({ STRATUM_ESTIMATION: '1', STRATUM_ESTIMATION_DEADBAND_SIGMA: '-1' }, big, door, advances, () => undefined)).toThrow(/STRATUM_ESTIMATION_DEADBAND_SIGMA must be a number ≥ 0 \(got "-1"\)/);
    } finally {
      await big.stop();
    }
  });
});
