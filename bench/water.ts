import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveWaterModel, epanetWorkspace, generateWaterNetwork, runHydraulics, writeInp } from '../engine/index.ts';

/**
 * `npm run bench -- --only water`: EPANET hydraulics of a generated network over 24 h (epanet-js,
 * results gathered in SI for every junction, tank and link at every hour) against WNTR's
 * EpanetSimulator (native EPANET 2.2 behind Python) on the same `.inp`. Median of several rounds
 * each, after one untimed round of ours (the WebAssembly module loads once per process).
 */
export async function runWaterBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const junctions = options.quick ? 500 : 3000;
  const rounds = options.quick ? 2 : 5;
  const network = generateWaterNetwork({ junctions, seed: 7 });
  const text = writeInp(network);
  const dir = mkdtempSync(join(tmpdir(), 'stratum-water-bench-'));
  const file = join(dir, `generated-${junctions}.inp`);
  writeFileSync(file, text);
  options.log(`  network: ${junctions} junctions, ${network.pipes.length} pipes, ${network.pumps.length} pumps, ${network.tanks.length} tanks, 24 h hourly (${file})`);

  await epanetWorkspace();
  let ours = await runHydraulics(text, file);
  const seconds: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    ours = await runHydraulics(text, file);
    seconds.push((performance.now() - started) / 1000);
  }
  const oursSeconds = median(seconds);
  const oursMin = Math.min(...ours.times.flatMap((t) => Object.values(ours.pressureM[String(t)]!)));
  const figures: Record<string, number | string> = {
    waterJunctions: junctions,
    waterPipes: network.pipes.length,
    hydraulicsSeconds: round3(oursSeconds),
    hydraulicsRoundsSeconds: seconds.map(round3).join(' '),
    hydraulicsMinPressureM: round3(oursMin),
  };

  // The live solver's unit of work: one pressure-driven snapshot of the same network (what an
  // injection that closes a main costs the water layer before its deltas can go out).
  const live = LiveWaterModel.open(text, file);
  const closed = new Uint8Array(live.linkIds.length);
  const snapshots: number[] = [];
  for (let i = 0; i < (options.quick ? 10 : 40); i++) {
    closed.fill(0);
    closed[(i * 7919) % closed.length] = 1; // a different main closed each time
    const started = performance.now();
    live.solve((i % 24) * 3600, closed, live.tankInitM);
    snapshots.push(performance.now() - started);
  }
  live.close();
  figures['waterSnapshotSolveMedianMs'] = round2(median(snapshots));
  figures['waterSnapshotSolveMaxMs'] = round2(Math.max(...snapshots));
  figures['waterInjectToDeltaP99Ms'] = 'not measured (see README: the streaming bench does not yet run a city with an EPANET water layer)';

  const script = fileURLToPath(new URL('./peers/wntr_hydraulics.py', import.meta.url));
  const peer = spawnSync('python3', [script, file, String(rounds)], { encoding: 'utf8', timeout: 600_000 });
  if (peer.status !== 0) {
    figures['hydraulicsSpeedupVsWntr'] = 'skipped';
    figures['wntrSkipped'] = /No module named/.test(peer.stderr) ? 'wntr not installed (pip install wntr)' : `peer failed: ${peer.stderr.split('\n').slice(-3).join(' ')}`;
    return figures;
  }
  const result = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { wntr: string; loadSeconds: number; runSeconds: number[]; minPressureM: number; times: number };
  const wntrSeconds = median(result.runSeconds);
  figures['wntrVersion'] = result.wntr;
  figures['wntrRunSimSeconds'] = round3(wntrSeconds);
  figures['wntrRoundsSeconds'] = result.runSeconds.map(round3).join(' ');
  figures['wntrModelLoadSeconds'] = round3(result.loadSeconds);
  figures['wntrMinPressureM'] = round3(result.minPressureM);
  figures['hydraulicsSameMinPressure'] = Math.abs(result.minPressureM - oursMin) < 1e-3 && result.times === ours.times.length ? 'yes' : 'no';
  figures['hydraulicsSpeedupVsWntr'] = round2(wntrSeconds / oursSeconds);
  return figures;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
