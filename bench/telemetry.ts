import { readFileSync } from 'node:fs';
import { DEFAULT_FIELD_SIGMA, estimateDcState, networkFromCase, parseMatpower, simulateField, TelemetryMonitor, Rng } from '../engine/index.ts';
import { sharedDataFile } from '../test/shared-data.ts';

/**
 * `npm run bench -- --only telemetry`: the field simulator and the estimator together on
 * ACTIVSg2000 (readings generated per second; a seeded spoofing attack on five readings, and whether
 * the estimator removes exactly those), and the live telemetry monitor's throughput (readings
 * observed per second, and one assessment of every feed, on 10,000 feeds).
 */
export async function runTelemetryBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const name = 'case_ACTIVSg2000';
  const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name));
  const rng = new Rng(7);
  const inService = net.branchIds.filter((_, k) => net.branchInService[k] !== 0);
  const spoofTargets = [...new Set(Array.from({ length: 5 }, () => inService[rng.int(inService.length)]!))];
  const seconds = options.quick ? 5 : 30;
  let started = performance.now();
  const run = simulateField(net, { seconds, rateHz: 1, sigma: DEFAULT_FIELD_SIGMA, dropout: 0.02, stuck: [], delayS: 0.5, spoof: new Map(spoofTargets.map((id) => [id, 150])), pmu: [], seed: 7 });
  const fieldSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const estimate = estimateDcState(net, run.snapshot);
  const estimateSeconds = (performance.now() - started) / 1000;
  const removed = estimate.removed.map((r) => r.index).sort((a, b) => a - b);
  const exact = removed.length === run.spoofedInSnapshot.length && removed.every((x, i) => x === run.spoofedInSnapshot[i]);
  options.log(`  ${name}: ${run.sensors.length} sensors × ${run.scans} scans; spoofed ${spoofTargets.join(', ')}; removed ${removed.length} (${exact ? 'exactly the spoofed' : 'NOT exactly the spoofed'})`);

  const feeds = options.quick ? 2_000 : 10_000;
  const readingsEach = 20;
  const monitor = new TelemetryMonitor({ expectedIntervalS: 60, ratingOf: () => 12 });
  started = performance.now();
  for (let t = 0; t < readingsEach; t++) for (let f = 0; f < feeds; f++) monitor.observe(`a${f}`, t * 60, 6 + 0.2 * rng.normal());
  const observeSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  monitor.assess(readingsEach * 60);
  const assessSeconds = (performance.now() - started) / 1000;
  return {
    fieldReadingsPerSec: Math.round((run.sensors.length * run.scans) / fieldSeconds),
    fieldSensors: run.sensors.length,
    fieldSnapshotEstimateSeconds: Math.round(estimateSeconds * 1000) / 1000,
    fieldSpoofedRemovedExactly: exact ? 'yes' : `no: removed ${removed.join(' ')} vs spoofed ${run.spoofedInSnapshot.join(' ')}`,
    monitorReadingsPerSec: Math.round((feeds * readingsEach) / observeSeconds),
    monitorAssessMs: Math.round(assessSeconds * 1000 * 10) / 10,
    monitorFeeds: feeds,
  };
}
