import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir as _tmp } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StudyCity, runOnce, runStudy, type StudyOptions } from '../actors/index.ts';
import { Rng, barabasiAlbert, generateCity, parseCity, type CityModel } from '../engine/index.ts';

/** Seconds and runs/s of a Monte Carlo study (runs after one warm-up run). */
async function throughput(study: StudyCity, options: StudyOptions): Promise<{ runsPerSec: number; seconds: number; mean: number }> {
  await runOnce(study, options, 12345);
  const t0 = performance.now();
  const result = await runStudy(study, options);
  const seconds = (performance.now() - t0) / 1000;
  return { runsPerSec: options.runs / seconds, seconds, mean: result.failedFraction.mean };
}

function graphCity(n: number, from: Int32Array, to: Int32Array): CityModel {
  const links: Array<{ from: string; to: string }> = [];
  const seen = new Set<string>();
  for (let e = 0; e < from.length; e++) {
    const [a, b] = [from[e]!, to[e]!];
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || seen.has(key)) continue;
    seen.add(key);
    links.push({ from: `N${a}`, to: `N${b}` });
  }
  return parseCity({ assets: Array.from({ length: n }, (_, i) => ({ id: `N${i}`, layer: 'A' })), links }, 'ba');
}

/**
 * Physics group: Monte Carlo throughput of each model on a 10,000-asset city, and the engine's
 * Motter–Lai against the obvious NetworkX implementation on the same 5,000-node scale-free graph.
 */
export async function runPhysicsBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const city = parseCity(generateCity({ assets: 10_000, seed: 5 }), 'generated');
  const study = new StudyCity(city);
  const stochasticRuns = options.quick ? 100 : 1000;
  const workers = availableParallelism();
  const trigger = city.assets.filter((a) => a.kind === 'transmission-substation').slice(0, 3).map((a) => a.id);
  options.log(`  stochastic: ${stochasticRuns} runs on 10,000 assets, trigger ${trigger.join(', ')}`);
  const stochastic = await throughput(study, { model: 'stochastic', runs: stochasticRuns, seed: 1, attack: { kind: 'ids', ids: trigger }, untilSeconds: 86_400, workers });
  options.log(`  interdependent and motter-lai on the same city`);
  const interdependent = await throughput(study, { model: 'interdependent', runs: options.quick ? 5 : 20, seed: 1, attackLayer: 'power', removeFraction: 0.2 });
  const motterLai = await throughput(study, { model: 'motter-lai', runs: options.quick ? 2 : 5, seed: 1, alpha: 0.2, attack: { kind: 'random', count: 1 } });

  const n = options.quick ? 1000 : 5000;
  const edges = barabasiAlbert(n, 2, new Rng(1));
  const ba = new StudyCity(graphCity(n, edges.from, edges.to));
  options.log(`  motter-lai on BA(${n}, 2): engine vs networkx`);
  const t0 = performance.now();
  const engineRun = await runOnce(ba, { model: 'motter-lai', runs: 1, seed: 1, alpha: 0.1, attack: { kind: 'highest-load' } }, 1);
  const engineSeconds = (performance.now() - t0) / 1000;
  const figures: Record<string, number | string> = {
    stochasticRunsPerSec10k: round2(stochastic.runsPerSec),
    stochasticWorkers: workers,
    stochasticSecondsFor1000Runs10k: round2(1000 / stochastic.runsPerSec),
    stochasticMeanFailedFraction: round4(stochastic.mean),
    interdependentRunsPerSec10k: round2(interdependent.runsPerSec),
    motterLaiRunsPerSec10k: round2(motterLai.runsPerSec),
    motterLaiBaNodes: n,
    motterLaiEngineSeconds: round2(engineSeconds),
    motterLaiEngineG: round4(engineRun.outcome.giantComponentFraction ?? 0),
  };

  const dir = mkdtempSync(join(_tmp(), 'stratum-bench-'));
  const file = join(dir, 'ba.json');
  writeFileSync(file, JSON.stringify({ nodeCount: n, from: Array.from(edges.from), to: Array.from(edges.to) }));
  const script = fileURLToPath(new URL('./peers/networkx_motter_lai.py', import.meta.url));
  const peer = spawnSync('python3', [script, file, '0.1', 'highest-load'], { encoding: 'utf8', timeout: 3_600_000 });
  if (peer.status !== 0) {
    figures['motterLaiSpeedupVsNetworkx'] = 'skipped';
    figures['networkxSkipped'] = /No module named/.test(peer.stderr) ? 'networkx not installed (apt-get install python3-networkx)' : `peer failed: ${peer.stderr.split('\n').slice(-2).join(' ')}`;
    return figures;
  }
  const result = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { seconds: number; giantComponentFraction: number };
  figures['networkxSeconds'] = round2(result.seconds);
  figures['networkxG'] = round4(result.giantComponentFraction);
  figures['motterLaiSpeedupVsNetworkx'] = round2(result.seconds / engineSeconds);
  figures['motterLaiSameResult'] = Math.abs(result.giantComponentFraction - (engineRun.outcome.giantComponentFraction ?? -1)) < 1e-9 ? 'yes' : 'no';
  return figures;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
