import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { LiveWaterModel, epanetCityDocument, epanetWorkspace, generateCity, generateWaterNetwork, parseCity, runHydraulics, writeInp, type CityModel } from '../engine/index.ts';
import { runStreamingBench } from './streaming.ts';

/** The inject → delta figure is measured only on a machine this quiet (1-minute load average). */
const MAX_LOAD_FOR_LATENCY = 3;

type Xy = { x: number; y: number };

/**
 * A generated city of about `totalAssets` assets whose water layer is a generated EPANET network of
 * `junctions` junctions (every junction, pipe, pump, tank and works an asset) in the middle of the
 * city: the generated water layer is taken out, each cohort and emergency service that relied on one
 * of its mains relies on the nearest junction instead, and each pump depends on the nearest
 * distribution substation for power.
 */
export function cityWithGeneratedNetwork(totalAssets: number, junctions: number, seed: number): CityModel {
  const waterShare = 0.16; // engine/model/generate.ts SHARES.water
  const spacing = 120;
  const extent = Math.ceil(Math.sqrt(junctions)) * spacing;
  const probe = generateWaterNetwork({ junctions, seed });
  const waterAssets = probe.junctions.length + probe.reservoirs.length + probe.tanks.length + probe.pipes.length + probe.pumps.length;
  const generated = Math.round((totalAssets - waterAssets) / (1 - waterShare));
  const city = generateCity({ assets: generated, seed });
  const side = Math.sqrt(generated) * spacing * 0.75;
  const network = generateWaterNetwork({ junctions, seed, spacingM: spacing, originM: { x: side / 2 - extent / 2, y: side / 2 - extent / 2 } });
  const water = epanetCityDocument(writeInp(network), 'generated.inp');
  const removed = new Set(city.assets.filter((a) => a.layer === 'water').map((a) => a.id));
  const nodes = water.assets.filter((a) => a.kind === 'junction' && a.position !== undefined) as { id: string; position: Xy }[];
  const nearest = (p: Xy, among: readonly { id: string; position: Xy }[]): string => {
    let best = among[0]!.id;
    let d = Number.POSITIVE_INFINITY;
    for (const n of among) {
      const e = (n.position.x - p.x) ** 2 + (n.position.y - p.y) ** 2;
      if (e < d) {
        d = e;
        best = n.id;
      }
    }
    return best;
  };
  const positionOf = new Map(city.assets.map((a) => [a.id, a.position]));
  const dependencies = city.dependencies.flatMap((d) => {
    if (removed.has(d.to)) return [];
    if (removed.has(d.from)) return [{ ...d, from: nearest(positionOf.get(d.to)!, nodes) }];
    return [d];
  });
  const substations = city.assets.filter((a) => a.kind === 'distribution-substation');
  for (const pump of water.assets.filter((a) => a.kind === 'pump' && a.position !== undefined)) {
    dependencies.push({ from: nearest(pump.position!, substations), to: pump.id, kind: 'power', strength: 1, probability: 1, latency: 0 });
  }
  return parseCity(
    {
      name: `${city.name} with a ${junctions}-junction EPANET network`,
      version: 1,
      assets: [...city.assets.filter((a) => !removed.has(a.id)), ...water.assets],
      links: [...city.links.filter((l) => !removed.has(l.from) && !removed.has(l.to)), ...water.links],
      dependencies,
      cohorts: city.cohorts.map((c) => ({ ...c, reliesOn: [...new Set(c.reliesOn.map((id) => (removed.has(id) ? nearest(c.position, nodes) : id)))] })),
      epanet: water.epanet,
    },
    'bench city',
  );
}

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

  // The default generated city's own network at 100,000 assets (about 17,000 junctions): one snapshot's cost.
  const bigAssets = options.quick ? 20_000 : 100_000;
  const big = generateCity({ assets: bigAssets, seed: 1, water: 'epanet' });
  const bigModel = LiveWaterModel.open(big.epanet!.inp, 'generated city');
  const bigClosed = new Uint8Array(bigModel.linkIds.length);
  const bigSnapshots: number[] = [];
  for (let i = 0; i < (options.quick ? 3 : 10); i++) {
    bigClosed.fill(0);
    bigClosed[(i * 7919) % bigClosed.length] = 1;
    const started = performance.now();
    bigModel.solve(8 * 3600 + i * 900, bigClosed, bigModel.tankInitM);
    bigSnapshots.push(performance.now() - started);
  }
  figures['waterGeneratedCityAssets'] = bigAssets;
  figures['waterGeneratedCityJunctions'] = bigModel.junctionIds.length;
  figures['waterGeneratedCitySnapshotMedianMs'] = round2(median(bigSnapshots));
  bigModel.close();

  // Injection → first delta with the network inside a 100,000-asset city, 500 viewers: the streaming
  // bench's own measurement, its injections failing the network's mains and junctions (each closes
  // links, so EPANET re-solves before the frame is cut).
  const load = loadavg()[0]!;
  if (load >= MAX_LOAD_FOR_LATENCY) {
    figures['waterInjectToDeltaP99Ms'] = `not measured (load average ${load.toFixed(1)} ≥ ${MAX_LOAD_FOR_LATENCY})`;
  } else {
    const city = cityWithGeneratedNetwork(options.quick ? 10_000 : 100_000, junctions, 7);
    const streaming = await runStreamingBench({
      assets: city.assets.length,
      viewers: options.quick ? 50 : 500,
      quick: options.quick,
      city,
      targets: (index) => city.assets.flatMap((a, i) => (a.kind === 'junction' || a.kind === 'pipe' ? [i] : [])).filter((i) => i < index.assetCount),
    });
    figures['waterCityAssets'] = city.assets.length;
    figures['waterStreamingViewers'] = streaming['streamingViewers']!;
    figures['waterInjectToDeltaP50Ms'] = streaming['injectToDeltaP50Ms']!;
    figures['waterInjectToDeltaP99Ms'] = streaming['injectToDeltaP99Ms']!;
    figures['waterInjectionsMissedByAViewer'] = streaming['injectionsMissedByAViewer']!;
  }

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
