import {
  CAUSE_NAMES,
  CityIndex,
  Engine,
  Rng,
  Status,
  BetweennessSolver,
  connectedComponents,
  hashCity,
  mixSeed,
  pagerank,
  buildCsr,
  type CityModel,
  type InputCommand,
  type StateChange,
} from '../engine/index.ts';
import { Worker } from 'node:worker_threads';
import { createBehaviours } from './behaviours.ts';
import { ImpactBounds } from './impact-bounds.ts';
import { estimate, type Estimate } from './intervals.ts';
import { layerGraph } from './layer-solver.ts';
import { LIVE_OPTIONS, type BehaviourOptions } from './options.ts';

/**
 * Cascade studies on the live engine's own actors and rules (direct driver, batch mode): the
 * analyst's numbers and the live twin can never disagree because they are the same code.
 */

export type CascadeModel = 'motter-lai' | 'interdependent' | 'stochastic';

export type Attack =
  | { readonly kind: 'highest-load' }
  | { readonly kind: 'highest-degree' }
  | { readonly kind: 'random'; readonly count: number }
  | { readonly kind: 'ids'; readonly ids: readonly string[] };

export interface StudyOptions {
  readonly model: CascadeModel;
  readonly runs: number;
  readonly seed: number;
  /** Motter–Lai tolerance. */
  readonly alpha?: number;
  /** Motter–Lai attack, or the stochastic model's trigger (ids). */
  readonly attack?: Attack;
  /** Interdependent model: the layer attacked and the share of its nodes removed (1 − p). */
  readonly attackLayer?: string;
  readonly removeFraction?: number;
  /** Simulated seconds per run (default one day); repairs happen within it under the stochastic model. */
  readonly untilSeconds?: number;
  /** Called after each run (progress bars). */
  readonly onRun?: (done: number, total: number) => void;
  /** Worker threads to spread runs over (default 1: in this thread). Results do not depend on it. */
  readonly workers?: number;
}

/** σ of the lognormal repair-time factor under the stochastic model: 90% of repairs take 0.44–2.3 × the kind's repair time. */
export const STOCHASTIC_REPAIR_SPREAD = 0.5;

/** The rules each model applies (README "Cascade models" documents the equations). */
export function modelOptions(model: CascadeModel, alpha = 0.25): BehaviourOptions {
  switch (model) {
    case 'motter-lai':
      return { ...LIVE_OPTIONS, loadModel: 'flow', alpha, tripResetSeconds: null, selfRepair: false, connectivity: false, dependencies: false };
    case 'interdependent':
      return { ...LIVE_OPTIONS, loadModel: 'none', tripResetSeconds: null, selfRepair: false, connectivity: true, dependencies: true };
    case 'stochastic':
      return { ...LIVE_OPTIONS, loadModel: 'none', tripResetSeconds: null, selfRepair: true, repairSpread: STOCHASTIC_REPAIR_SPREAD, connectivity: true, dependencies: true };
  }
}

export const MODEL_RULES: Readonly<Record<CascadeModel, string>> = {
  'motter-lai': 'load = shortest-path betweenness over the working part of each linked layer; capacity = (1 + alpha) × initial load; every overloaded asset fails in the same step; repeats until nothing fails. Dependencies and connectivity are not applied. It runs on every layer with links; G per layer = largest connected component of the layer\'s working assets ÷ the layer\'s assets (giantComponentByLayer); giantComponentFraction = largest connected component of all assets ÷ N (meaningful for a one-layer graph).',
  interdependent: 'an asset works only while in the main (largest) connected component of the working part of its own layer and while all its hard providers work; a random share of the attacked layer is removed; iterates to the end. Result: the attacked layer\'s share in the mutually connected giant component.',
  stochastic: 'each failed provider gets one chance per dependent edge to pass its failure, with the edge\'s probability; partial dependencies degrade; connectivity applies in layers with links; damaged assets repair after their restoration time × a lognormal factor (median 1, σ 0.5) drawn per repair.',
};

export interface RunOutcome {
  readonly seed: number;
  readonly triggered: readonly string[];
  /** Assets that failed at some point in the run ÷ all assets. */
  readonly failedFraction: number;
  readonly giantComponentFraction?: number;
  /** Motter–Lai: per layer with links, its largest working component ÷ its assets. */
  readonly giantComponentByLayer?: Readonly<Record<string, number>>;
  readonly mutualGiantComponentFraction?: number;
  readonly stateHash: string;
}


export interface StudyResult {
  readonly model: CascadeModel;
  readonly rules: string;
  readonly runs: number;
  readonly seed: number;
  readonly parameters: Record<string, number | string>;
  readonly failedFraction: Estimate;
  readonly giantComponentFraction?: Estimate;
  /** Motter–Lai: G of each layer the model ran on (the layers with links), by layer name. */
  readonly giantComponentByLayer?: Readonly<Record<string, Estimate>>;
  readonly mutualGiantComponentFraction?: Estimate;
  readonly perRun: readonly RunOutcome[];
  readonly bottlenecks: {
    /** Assets that failed in the most runs. */
    readonly failMostOften: ReadonlyArray<{ id: string; runs: number; share: number }>;
    /** Assets whose failure directly caused the most other failures, summed over runs. */
    readonly causeMostFailures: ReadonlyArray<{ id: string; caused: number }>;
  };
}

/** A city prepared once for many runs: index, hash and the analyses attacks need. */
export class StudyCity {
  readonly index: CityIndex;
  readonly cityHash: string;
  private loads: Float64Array | undefined;

  constructor(readonly city: CityModel) {
    this.index = new CityIndex(city);
    this.cityHash = hashCity(city);
  }

  /** Initial shortest-path betweenness of every asset within its layer (0 in layers without links). */
  initialLoads(): Float64Array {
    if (this.loads !== undefined) return this.loads;
    const index = this.index;
    const loads = new Float64Array(index.assetCount);
    for (const layer of index.solverLayer) {
      const graph = layerGraph(index, layer);
      const solver = new BetweennessSolver({ nodeCount: graph.members.length, offsets: graph.offsets, targets: graph.targets }, { undirected: true });
      const local = solver.compute();
      graph.members.forEach((asset, k) => (loads[asset] = local[k]!));
    }
    this.loads = loads;
    return loads;
  }

  /** Largest connected component over links among working assets ÷ all assets. */
  giantComponentFraction(working: Uint8Array): number {
    const index = this.index;
    const g = { nodeCount: index.assetCount, offsets: index.links.offsets, targets: index.links.items };
    return connectedComponents(g, working).largestSize / Math.max(1, index.assetCount);
  }

  /** Per layer with links (the layers Motter–Lai and connectivity run on): largest working component ÷ the layer's assets. */
  giantComponentByLayer(working: Uint8Array): Record<string, number> {
    const index = this.index;
    const g = { nodeCount: index.assetCount, offsets: index.links.offsets, targets: index.links.items };
    const out: Record<string, number> = {};
    for (const layer of index.solverLayer) {
      const members = this.layerAssets(index.layers[layer]!);
      // Links never cross layers, so the largest component over this layer's working members is the layer's.
      const mask = new Uint8Array(index.assetCount);
      for (const a of members) mask[a] = working[a]!;
      out[index.layers[layer]!] = connectedComponents(g, mask).largestSize / Math.max(1, members.length);
    }
    return out;
  }

  /** Names of the layers with links, in layer order. */
  linkedLayers(): string[] {
    return Array.from(this.index.solverLayer, (l) => this.index.layers[l]!);
  }

  /** Assets of a layer, by actor index. */
  layerAssets(layer: string): Int32Array {
    const l = this.index.layers.indexOf(layer);
    if (l < 0) throw new RangeError(`unknown layer "${layer}" (the city has ${this.index.layers.join(', ')})`);
    return this.index.layerMembers.items.subarray(this.index.layerMembers.offsets[l]!, this.index.layerMembers.offsets[l + 1]!);
  }

  /** Resolves an attack to asset ids for one run. */
  targets(attack: Attack, rng: Rng): string[] {
    const index = this.index;
    const argmax = (score: (a: number) => number): number => {
      let best = 0;
      for (let a = 1; a < index.assetCount; a++) if (score(a) > score(best)) best = a;
      return best;
    };
    switch (attack.kind) {
      case 'highest-load': {
        const loads = this.initialLoads();
        return [index.ids[argmax((a) => loads[a]!)]!];
      }
      case 'highest-degree':
        return [index.ids[argmax((a) => index.links.offsets[a + 1]! - index.links.offsets[a]!)]!];
      case 'random': {
        const all = Array.from({ length: index.assetCount }, (_, a) => a);
        return rng.shuffle(all).slice(0, attack.count).map((a) => index.ids[a]!);
      }
      case 'ids':
        for (const id of attack.ids) {
          const a = index.indexOf(id);
          if (a === undefined || a >= index.assetCount) throw new RangeError(`unknown asset "${id}" in the attack`);
        }
        return [...attack.ids];
    }
  }
}

/** What one run contributes to a study (also what a Monte Carlo worker process sends back). */
export interface SingleRun {
  readonly outcome: RunOutcome;
  readonly everFailed: Uint8Array;
  readonly caused: Float64Array;
}

/** One run of one model on the engine. */
export async function runOnce(study: StudyCity, options: StudyOptions, runSeed: number): Promise<SingleRun> {
  const index = study.index;
  const rng = new Rng(runSeed);
  const engine = await Engine.create({
    city: study.city,
    index,
    cityHash: study.cityHash,
    behaviours: (i) => createBehaviours(i, modelOptions(options.model, options.alpha)),
    seed: runSeed,
    driver: 'direct',
    ringSize: 16,
  });
  const everFailed = new Uint8Array(index.assetCount);
  const caused = new Float64Array(index.assetCount);
  engine.stream.subscribe((c: StateChange) => {
    if (c.actor >= index.assetCount || c.after.level > 0 || c.before.level === 0) return;
    everFailed[c.actor] = 1;
    if (c.cause !== null && c.cause.from >= 0 && c.cause.from < index.assetCount && c.cause.from !== c.actor) caused[c.cause.from]! += 1;
  });

  let triggered: string[];
  if (options.model === 'interdependent') {
    const layer = options.attackLayer ?? index.layers[0]!;
    const members = Array.from(study.layerAssets(layer));
    const count = Math.round((options.removeFraction ?? 0.5) * members.length);
    triggered = rng.shuffle(members).slice(0, count).map((a) => index.ids[a]!);
  } else {
    triggered = study.targets(options.attack ?? { kind: 'highest-load' }, rng);
  }
  for (const id of triggered) engine.submit({ type: 'fail', target: id } satisfies InputCommand, { at: 1, source: 'study' });

  // A bounded horizon for every model: cohorts keep updating their stress while services are out,
  // so "until nothing is queued" may never come in a city with people in it.
  await engine.runUntil(Math.round((options.untilSeconds ?? 86_400) * 1000));

  const working = new Uint8Array(index.assetCount);
  for (let a = 0; a < index.assetCount; a++) working[a] = engine.kernel.view(a).level > 0 ? 1 : 0;
  let failed = 0;
  for (let a = 0; a < index.assetCount; a++) failed += everFailed[a]!;
  const outcome: { -readonly [K in keyof RunOutcome]: RunOutcome[K] } = {
    seed: runSeed,
    triggered,
    failedFraction: failed / Math.max(1, index.assetCount),
    stateHash: engine.stream.stateHash(),
  };
  if (options.model === 'motter-lai') {
    outcome.giantComponentFraction = study.giantComponentFraction(working);
    outcome.giantComponentByLayer = study.giantComponentByLayer(working);
  }
  if (options.model === 'interdependent') {
    const members = study.layerAssets(options.attackLayer ?? index.layers[0]!);
    let alive = 0;
    for (const a of members) alive += working[a]!;
    outcome.mutualGiantComponentFraction = alive / Math.max(1, members.length);
  }
  await engine.stop();
  return { outcome, everFailed, caused };
}

/** Every run of a study, in run order, in this thread or spread over worker threads. */
async function runAll(study: StudyCity, options: StudyOptions): Promise<SingleRun[]> {
  const seeds = Array.from({ length: options.runs }, (_, run) => ({ run, seed: mixSeed(options.seed, run) }));
  const workers = Math.min(options.workers ?? 1, options.runs);
  const results = new Array<SingleRun>(options.runs);
  let done = 0;
  if (workers <= 1) {
    for (const { run, seed } of seeds) {
      results[run] = await runOnce(study, options, seed);
      options.onRun?.(++done, options.runs);
    }
    return results;
  }
  const { onRun: _onRun, ...plain } = options;
  await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./study-worker-boot.mjs', import.meta.url), {
          workerData: { city: study.city, options: plain, seeds: seeds.filter((s) => s.run % workers === w) },
        });
        worker.on('message', (m: { run: number } & SingleRun) => {
          results[m.run] = { outcome: m.outcome, everFailed: m.everFailed, caused: m.caused };
          options.onRun?.(++done, options.runs);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`study worker ${w} exited with code ${code}`))));
      }),
    ),
  );
  return results;
}

/** Monte Carlo: `runs` runs with seeds derived from `seed`, summarised with 95% intervals. */
export async function runStudy(study: StudyCity, options: StudyOptions): Promise<StudyResult> {
  if (!(options.runs >= 1)) throw new RangeError('--runs must be at least 1');
  return summariseStudy(study, options, await runAll(study, options));
}

/**
 * The study's result from its runs, given in run order (`results[r]` is run r). Whoever ran them
 * (this thread, worker threads, `stratum worker` processes over Kafka), the same runs give the
 * same result.
 */
export function summariseStudy(study: StudyCity, options: StudyOptions, results: readonly SingleRun[]): StudyResult {
  const index = study.index;
  const failCounts = new Float64Array(index.assetCount);
  const causedTotals = new Float64Array(index.assetCount);
  const perRun: RunOutcome[] = [];
  for (const { outcome, everFailed, caused } of results) {
    perRun.push(outcome);
    for (let a = 0; a < index.assetCount; a++) {
      failCounts[a]! += everFailed[a]!;
      causedTotals[a]! += caused[a]!;
    }
  }
  const top = (scores: Float64Array, k: number): number[] =>
    Array.from(scores.keys())
      .filter((a) => scores[a]! > 0)
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, k);
  const parameters: Record<string, number | string> = {};
  if (options.model === 'motter-lai') parameters['alpha'] = options.alpha ?? 0.25;
  if (options.attack !== undefined) parameters['attack'] = options.attack.kind === 'ids' ? `ids:${options.attack.ids.join(',')}` : options.attack.kind;
  if (options.model === 'interdependent') {
    parameters['attackLayer'] = options.attackLayer ?? index.layers[0]!;
    parameters['removeFraction'] = options.removeFraction ?? 0.5;
  }
  const result: { -readonly [K in keyof StudyResult]: StudyResult[K] } = {
    model: options.model,
    rules: MODEL_RULES[options.model],
    runs: options.runs,
    seed: options.seed,
    parameters,
    failedFraction: estimate(perRun.map((r) => r.failedFraction)),
    perRun,
    bottlenecks: {
      failMostOften: top(failCounts, 10).map((a) => ({ id: index.ids[a]!, runs: failCounts[a]!, share: failCounts[a]! / options.runs })),
      causeMostFailures: top(causedTotals, 10).map((a) => ({ id: index.ids[a]!, caused: causedTotals[a]! })),
    },
  };
  if (options.model === 'motter-lai') {
    result.giantComponentFraction = estimate(perRun.map((r) => r.giantComponentFraction!));
    result.giantComponentByLayer = Object.fromEntries(study.linkedLayers().map((layer) => [layer, estimate(perRun.map((r) => r.giantComponentByLayer![layer]!))]));
    parameters['layers'] = study.linkedLayers().join(',');
  }
  if (options.model === 'interdependent') result.mutualGiantComponentFraction = estimate(perRun.map((r) => r.mutualGiantComponentFraction!));
  return result;
}

export interface CriticalityRow {
  readonly id: string;
  readonly layer: string;
  readonly kind: string;
  readonly betweenness: number;
  readonly pagerank: number;
  /** Assets that fail (at some point within a day) when this one alone fails, under the stochastic model. */
  readonly impact: number;
  /** The most `impact` could be (ImpactBounds): what screening compared with. */
  readonly bound: number;
}

export interface CriticalityResult {
  readonly rows: CriticalityRow[];
  /** Assets simulated; every other asset's bound was below the last impact listed. */
  readonly simulated: number;
  readonly assets: number;
}

/**
 * Ranks assets by simulated impact (stochastic model, one run each, same seed), with betweenness
 * (within each layer) and PageRank (over links and dependencies, importance flowing from dependents
 * to their providers) beside it.
 *
 * Exact, not sampled: assets are simulated in order of their impact bound (ImpactBounds), largest
 * first, and the search stops only when the next bound is below the `top`-th impact found, so no
 * asset left unsimulated could have entered the list. (Betweenness and PageRank used to choose the
 * candidates and missed the only generator of a city: a source is peripheral by both measures.)
 */
export async function criticality(
  study: StudyCity,
  options: { top: number; seed: number; onRun?: (done: number, total: number) => void; yieldBetweenRuns?: boolean },
): Promise<CriticalityResult> {
  const index = study.index;
  const loads = study.initialLoads();
  const from: number[] = [];
  const to: number[] = [];
  for (let a = 0; a < index.assetCount; a++) {
    for (let k = index.links.offsets[a]!; k < index.links.offsets[a + 1]!; k++) {
      from.push(a);
      to.push(index.links.items[k]!);
    }
  }
  for (let e = 0; e < index.depFrom.length; e++) {
    from.push(index.depTo[e]!);
    to.push(index.depFrom[e]!);
  }
  const rank = pagerank(buildCsr(index.assetCount, from, to, { undirected: false })).scores;
  const bounds = new ImpactBounds(index);
  const bound = Float64Array.from({ length: index.assetCount }, (_, a) => bounds.bound(a));
  const order = Array.from({ length: index.assetCount }, (_, a) => a).sort((a, b) => bound[b]! - bound[a]! || a - b);
  const better = (x: CriticalityRow, y: CriticalityRow): number => y.impact - x.impact || y.betweenness - x.betweenness || (x.id < y.id ? -1 : 1);
  const kept: CriticalityRow[] = [];
  let simulated = 0;
  for (const a of order) {
    const last = kept.length >= options.top ? kept[options.top - 1]!.impact : -1;
    if (bound[a]! < last) break;
    const { outcome } = await runOnce(study, { model: 'stochastic', runs: 1, seed: options.seed, attack: { kind: 'ids', ids: [index.ids[a]!] } }, options.seed);
    simulated++;
    kept.push({
      id: index.ids[a]!,
      layer: index.layerName(a),
      kind: index.city.assets[a]!.kind,
      betweenness: loads[a]!,
      pagerank: rank[a]!,
      impact: Math.round(outcome.failedFraction * index.assetCount),
      bound: bound[a]!,
    });
    kept.sort(better);
    if (kept.length > options.top) kept.length = options.top;
    options.onRun?.(simulated, index.assetCount);
    // In a live server, let sockets and the real-time loop run between simulations.
    if (options.yieldBetweenRuns) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { rows: kept, simulated, assets: index.assetCount };
}

export interface ExplainHop {
  readonly id: string;
  /** Simulated seconds. */
  readonly time: number;
  readonly cause: string;
  /** The asset (or `input`) that caused this hop. */
  readonly via: string;
}

/**
 * The causal chain that brought `assetId` down in a run: from the input that started it, hop by
 * hop, to the asset. Each hop names the asset, when it failed, why, and through whom.
 */
export function explainChain(index: CityIndex, failures: ReadonlyMap<number, readonly StateChange[]>, assetId: string, at?: number): ExplainHop[] {
  const target = index.indexOf(assetId);
  if (target === undefined) throw new RangeError(`unknown asset or cohort "${assetId}"`);
  const chain: ExplainHop[] = [];
  const seen = new Set<number>();
  let actor = target;
  let before = at ?? Number.POSITIVE_INFINITY;
  for (let hop = 0; hop < 10_000 && !seen.has(actor); hop++) {
    seen.add(actor);
    const events = failures.get(actor) ?? [];
    const event = [...events].reverse().find((e) => e.time <= before);
    if (event === undefined || event.cause === null) break;
    const cause = event.cause;
    chain.push({ id: index.nameOf(actor), time: event.time / 1000, cause: CAUSE_NAMES[cause.code] ?? 'unknown', via: index.nameOf(cause.from) });
    if (cause.from < 0 || cause.from === actor) break;
    actor = cause.from;
    before = cause.time;
  }
  return chain.reverse();
}

/**
 * Collects, per actor, the changes that lowered its service (for explain). A live twin runs for a
 * shift: `perActor` keeps only each actor's latest changes so the log stays bounded.
 */
export function collectFailures(engine: Engine, perActor = Number.POSITIVE_INFINITY): Map<number, StateChange[]> {
  const failures = new Map<number, StateChange[]>();
  engine.stream.subscribe((c) => {
    if (c.after.level < c.before.level || (c.after.status !== c.before.status && c.after.status !== Status.Ok)) {
      const list = failures.get(c.actor) ?? [];
      list.push(c);
      if (list.length > perActor) list.shift();
      failures.set(c.actor, list);
    }
  });
  return failures;
}
