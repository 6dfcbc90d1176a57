import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawTrigger } from '../actors/index.ts';
import { DcOverloadGrid, DcSolver, Rng, acPowerFlow, dcPowerFlow, generateCity, mixSeed, networkFromCase, parseCity, parseMatpower, screenN1, syntheticGrid, toMatpowerText, type Engine, type GridNetwork } from '../engine/index.ts';
import { runStreamingBench, type BenchInjection } from './streaming.ts';
import { measureVoltageMonitorRun } from './voltage.ts';
import { sharedDataFile } from '../test/shared-data.ts';

/**
 * The grid group: DC power flow vs pandapower `rundcpp` (ACTIVSg2000 and a synthetic 10,000-bus
 * grid), full N-1 screening of case1354pegase vs pandapower `rundcpp` in a loop, and N-2
 * dc-overload cascades per second vs the SciPy peer (bench/peers/scipy_dc_cascade.py) on the same
 * triggers, and the AC power flow (Newton–Raphson) on ACTIVSg2000 vs pandapower `runpp` and PYPOWER
 * `runpf`. Python peers run live where installed; otherwise their figures are skipped with a note.
 * Last, the live twin: injection → first delta p99 with viewers (`gridInjectToDeltaP99Ms`).
 */

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function time(fn: () => void, repeats: number, warmups = 3): number {
  for (let i = 0; i < warmups; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    fn();
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
}

function python(args: string[]): { ok: true; json: Record<string, unknown> } | { ok: false; note: string } {
  const r = spawnSync('python3', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error !== undefined) return { ok: false, note: `python3 not runnable: ${r.error.message}` };
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    return { ok: false, note: /ModuleNotFoundError|ImportError/.test(r.stderr) ? `skipped: ${last} (pip install pandapower scipy)` : `peer failed: ${last}` };
  }
  return { ok: true, json: JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown> };
}

const load = (path: string): GridNetwork => networkFromCase(parseMatpower(readFileSync(path, 'utf8'), path));
const peer = (name: string): string => new URL(`./peers/${name}`, import.meta.url).pathname;

export async function runGridBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const { quick, log } = options;
  const out: Record<string, number | string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'stratum-grid-bench-'));
  const activs = sharedDataFile('grids/case_ACTIVSg2000.m');
  const pegase = sharedDataFile('grids/case1354pegase.m');
  const syntheticPath = join(dir, 'synthetic-10000.m');
  const syntheticBuses = quick ? 2000 : 10_000;
  writeFileSync(syntheticPath, toMatpowerText(syntheticGrid({ buses: syntheticBuses, seed: 1, secureRatings: false })));

  // 1. DC power flow: "cold" builds everything from the network (ordering, factorisation, solve),
  // as one rundcpp call does; "warm" reuses the analysed structure, as the live twin does.
  const speedups: number[] = [];
  for (const [label, path] of [['Activsg2000', activs], ['Synthetic10k', syntheticPath]] as const) {
    const net = load(path);
    const solver = new DcSolver(net);
    const cold = time(() => dcPowerFlow(net), quick ? 5 : 20);
    const warm = time(() => dcPowerFlow(net, solver), quick ? 5 : 20);
    out[`dcPowerflowMs${label}`] = round(cold * 1000);
    out[`dcPowerflowWarmMs${label}`] = round(warm * 1000);
    log(`  DC power flow ${net.name} (${net.busIds.length} buses): ${round(cold * 1000)} ms cold, ${round(warm * 1000)} ms with the structure analysed once`);
    const pp = python([peer('pandapower_dc.py'), 'pf', path, quick ? '3' : '10']);
    if (!pp.ok) {
      out[`dcPowerflowPandapowerSkipped${label}`] = pp.note;
      continue;
    }
    const theirs = pp.json['seconds'] as number;
    out[`pandapowerRundcppMs${label}`] = round(theirs * 1000);
    out[`dcPowerflowSpeedupVsPandapower${label}`] = round(theirs / cold);
    speedups.push(theirs / cold);
  }
  if (speedups.length > 0) out['dcPowerflowSpeedupVsPandapower'] = round(Math.min(...speedups));

  // 2. Full N-1 of case1354pegase: every branch and generator outage with LODF, against
  // pandapower rundcpp in a loop over the branch outages (timed on a sample, scaled to all).
  const net1354 = load(pegase);
  const screen = time(() => screenN1(net1354), quick ? 1 : 3, 1);
  const screened = net1354.branchIds.length + net1354.genIds.length;
  out['n1ScreeningSeconds'] = round(screen, 4);
  log(`  N-1 of case1354pegase: ${screened} outages (${net1354.branchIds.length} branches, ${net1354.genIds.length} generators) in ${round(screen * 1000)} ms`);
  const sample = quick ? 20 : 100;
  const pp = python([peer('pandapower_dc.py'), 'n1', pegase, String(sample)]);
  if (pp.ok) {
    const perOutage = pp.json['secondsPerOutage'] as number;
    const theirs = perOutage * net1354.branchIds.length;
    out['pandapowerN1Method'] = `rundcpp in a loop, ${sample} branch outages timed, scaled to all ${net1354.branchIds.length} (generator outages not counted for pandapower)`;
    out['pandapowerN1Seconds'] = round(theirs, 2);
    out['n1ScreeningSpeedupVsPandapower'] = round(theirs / screen);
  } else out['n1ScreeningPandapowerSkipped'] = pp.note;

  // 3. N-2 dc-overload cascades per second on ACTIVSg2000, same triggers for both.
  const netActivs = load(activs);
  const inService = [...netActivs.branchInService.keys()].filter((k) => netActivs.branchInService[k] !== 0);
  for (const [label, k] of [['', 1], ['K07', 0.7]] as const) {
    const runs = quick ? 10 : k === 1 ? 200 : 40;
    const triggers = Array.from({ length: runs }, (_, run) => drawTrigger(netActivs, { kind: 'random-pairs' }, new Rng(mixSeed(1, run)), inService));
    const triggersPath = join(dir, `triggers${label}.json`);
    writeFileSync(triggersPath, JSON.stringify(triggers));
    const grid = new DcOverloadGrid(netActivs, k);
    for (const t of triggers.slice(0, 20)) grid.run(t); // warm-up (JIT), untimed
    const started = performance.now();
    const ours = triggers.map((t) => grid.run(t));
    const seconds = (performance.now() - started) / 1000;
    const dependent = ours.reduce((s, o) => s + o.dependentOutages, 0);
    out[`dcCascadesPerSecond${label}`] = round(runs / seconds);
    log(`  N-2 dc-overload on ACTIVSg2000, K = ${k}: ${runs} cascades (${dependent} dependent outages) in ${round(seconds, 3)} s`);
    const py = python([peer('scipy_dc_cascade.py'), activs, triggersPath, String(k)]);
    if (!py.ok) {
      out[`dcCascadeScipySkipped${label}`] = py.note;
      continue;
    }
    const results = py.json['results'] as Array<{ dependentOutages: number; loadShedMw: number }>;
    const same = results.every((r, i) => r.dependentOutages === ours[i]!.dependentOutages && Math.abs(r.loadShedMw - ours[i]!.loadShedMw) < 1e-6);
    const theirs = py.json['seconds'] as number;
    out[`scipyCascadesPerSecond${label}`] = round(runs / theirs);
    out[`dcCascadeSpeedupVsScipy${label}`] = round(theirs / seconds);
    out[`dcCascadeSameResultsAsScipy${label}`] = same ? 'yes' : 'NO';
  }
  Object.assign(out, measureAcPowerFlow({ quick, log }));
  Object.assign(out, measureVoltageMonitorRun({ quick, log }));
  Object.assign(out, await measureGridInjectToDelta({ quick, log }));
  return out;
}

/**
 * AC power flow of ACTIVSg2000, cold (admittances, the Jacobian's analysis, every Newton
 * iteration, flows: what one `runpf` call does), against pandapower `runpp` (Newton, tolerance
 * 1e-8 MVA, converted once with from_ppc; its own Ybus and Jacobian each run) and PYPOWER `runpf`
 * (MATPOWER's algorithm in Python). Also states how far pandapower's voltages are from ours
 * (from_ppc models some MATPOWER transformers differently) and that PYPOWER's are not (the tests).
 */
export function measureAcPowerFlow(options: { quick: boolean; log: (line: string) => void }): Record<string, number | string> {
  const { quick, log } = options;
  const out: Record<string, number | string> = {};
  const path = sharedDataFile('grids/case_ACTIVSg2000.m');
  const net = load(path);
  let iterations = 0;
  let vmPu: ArrayLike<number> = [];
  const ours = time(() => {
    const r = acPowerFlow(net);
    iterations = r.iterations;
    vmPu = r.vmPu;
  }, quick ? 5 : 20);
  out['acPowerflowMsActivsg2000'] = round(ours * 1000);
  out['acPowerflowIterationsActivsg2000'] = iterations;
  log(`  AC power flow ${net.name} (${net.busIds.length} buses): ${round(ours * 1000)} ms, ${iterations} Newton iterations`);
  const repeats = quick ? '3' : '10';
  const pp = python([peer('pandapower_ac.py'), 'runpp', path, repeats]);
  if (pp.ok) {
    const theirs = pp.json['seconds'] as number;
    const theirVm = pp.json['vmPu'] as number[];
    out['pandapowerRunppMsActivsg2000'] = round(theirs * 1000);
    out['pandapowerRunppNumba'] = pp.json['numba'] === true ? 'yes' : 'no (pip install numba: pandapower is slower without it)';
    out['acPowerflowSpeedupVsPandapower'] = round(theirs / ours);
    out['pandapowerRunppMaxAbsVmDifferencePu'] = round(theirVm.reduce((m, v, i) => Math.max(m, Math.abs(v - vmPu[i]!)), 0), 6);
    log(`  pandapower runpp: ${round(theirs * 1000)} ms (${pp.json['iterations'] as number} iterations); ours is ${round(theirs / ours)}× faster`);
  } else out['acPowerflowPandapowerSkipped'] = pp.note;
  const pypower = python([peer('pandapower_ac.py'), 'runpf', path, repeats]);
  if (pypower.ok) {
    const theirs = pypower.json['seconds'] as number;
    out['pypowerRunpfMsActivsg2000'] = round(theirs * 1000);
    out['acPowerflowSpeedupVsPypower'] = round(theirs / ours);
  } else out['acPowerflowPypowerSkipped'] = pypower.note;
  return out;
}

/**
 * The live twin with an electrical grid: a generated 100,000-asset city (its power layer has
 * ~2,400 buses and ~5,000 branches) served with 500 Socket.io viewers; each measured input is a
 * telemetry reading that raises one distribution bus's load by 10–30 %, and the time counted is
 * from the POST to the arrival, at each viewer, of the first frame in which a branch at that bus
 * carries its new DC flow (so it includes the re-solve of the flows). The viewer and timing code is
 * the streaming group's (bench/streaming.ts `runStreamingBench`).
 */
export async function measureGridInjectToDelta(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const assets = options.quick ? 20_000 : 100_000;
  const viewers = options.quick ? 50 : 500;
  const city = parseCity(generateCity({ assets, seed: 11, grid: 'electrical' }), 'generated');
  const buses: string[] = [];
  const branchesAt = new Map<string, string[]>();
  for (const a of city.assets) {
    const e = a.electrical;
    if (e?.kind === 'bus' && e.pdMw > 0) buses.push(a.id);
    if (e?.kind !== 'branch') continue;
    for (const end of [e.from, e.to]) branchesAt.set(end, [...(branchesAt.get(end) ?? []), a.id]);
  }
  const inject = (engine: Engine, rng: Rng, used: ReadonlySet<number>): BenchInjection | null => {
    for (let tries = 0; tries < 1000; tries++) {
      const bus = buses[Math.floor(rng.next() * buses.length)]!;
      const branch = (branchesAt.get(bus) ?? []).map((id) => engine.index.indexOf(id)!).find((b) => !used.has(b));
      if (branch === undefined) continue;
      const now = engine.kernel.view(engine.index.indexOf(bus)!).load;
      return { body: { type: 'telemetry', target: bus, value: Math.round(now * (1.1 + 0.2 * rng.next()) * 1000) / 1000 }, watch: branch, baseline: engine.kernel.view(branch).load };
    }
    return null;
  };
  const r = await runStreamingBench({ assets, viewers, quick: options.quick, city, inject });
  const buses2 = city.assets.filter((a) => a.electrical?.kind === 'bus').length;
  const branches = city.assets.filter((a) => a.electrical?.kind === 'branch').length;
  options.log(`  live grid: ${assets} assets (${buses2} buses, ${branches} branches), ${r['streamingViewers']} viewers: injection → first delta p50 ${r['injectToDeltaP50Ms']} ms, p99 ${r['injectToDeltaP99Ms']} ms`);
  return {
    gridInjectToDeltaP99Ms: r['injectToDeltaP99Ms']!,
    gridInjectToDeltaP50Ms: r['injectToDeltaP50Ms']!,
    gridInjectToDeltaMaxMs: r['injectToDeltaMaxMs']!,
    gridInjectViewers: r['streamingViewers']!,
    gridInjectAssets: assets,
    gridInjectBuses: buses2,
    gridInjectBranches: branches,
    gridInjectMissedByAViewer: r['injectionsMissedByAViewer']!,
  };
}

function round(x: number, digits = 2): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
