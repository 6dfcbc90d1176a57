/**
 * Monte Carlo studies of the dc-overload cascade (rules in engine/power/cascade.ts): triggers by
 * id, or sampled N-1 (`random-singles`) and N-2 (`random-pairs`) outages of in-service branches,
 * one seeded stream per run (run r uses mixSeed(seed, r)), summarised with 95% intervals.
 */
import { DcOverloadGrid, Rng, mixSeed, type DcCascadeOutcome, type GridNetwork } from '../engine/index.ts';
import { estimate, type Estimate } from './intervals.ts';

export type DcTrigger = { readonly kind: 'ids'; readonly ids: readonly string[] } | { readonly kind: 'random-pairs' } | { readonly kind: 'random-singles' };

export const DC_OVERLOAD_RULES =
  '1. ratings r = max(K × RATE_A, 1.1 × |f0|), f0 the intact flows after rule 2 (RATE_A = 0: unlimited); ' +
  '2. in every island of in-service branches: no generation → its load is lost; generation ≥ load → generators scaled by load/generation; generation < load → loads (Pd + Gs) scaled by generation/load; the reference is the bus with the largest generation; ' +
  '3. MATPOWER DC flows per island; ' +
  '4. every in-service branch with |f| > r (relative tolerance 1e-9) trips at once; repeat from 2 until nothing trips.';

export interface DcOverloadRun {
  readonly trigger: readonly string[];
  readonly dependentOutages: number;
  readonly loadShedMw: number;
  readonly generations: number;
}

export interface DcOverloadStudyResult {
  readonly model: 'dc-overload';
  readonly rules: string;
  readonly grid: string;
  readonly runs: number;
  readonly seed: number;
  readonly parameters: { readonly ratingFactor: number; readonly trigger: string };
  readonly dependentOutages: Estimate;
  readonly loadShedMw: Estimate;
  readonly loadShedFraction: Estimate;
  /** Share of runs in which at least one branch tripped after the trigger. */
  readonly anyDependentOutageFraction: number;
  /** Branches that tripped in the most runs. */
  readonly tripMostOften: ReadonlyArray<{ id: string; runs: number; share: number }>;
  readonly perRun: readonly DcOverloadRun[];
}

/** The trigger of one run: ids as given, or one or two distinct in-service branches drawn from `rng`. */
export function drawTrigger(net: GridNetwork, trigger: DcTrigger, rng: Rng, inService: readonly number[]): string[] {
  if (trigger.kind === 'ids') return [...trigger.ids];
  const count = trigger.kind === 'random-pairs' ? 2 : 1;
  if (inService.length < count) throw new RangeError(`the grid has ${inService.length} in-service branch(es); ${trigger.kind} needs ${count}`);
  const first = rng.int(inService.length);
  if (count === 1) return [net.branchIds[inService[first]!]!];
  let second = rng.int(inService.length - 1);
  if (second >= first) second++;
  return [net.branchIds[inService[first]!]!, net.branchIds[inService[second]!]!];
}

/**
 * Runs the study. Each run's trigger comes from its own seeded stream, so a run can be repeated
 * alone and results do not depend on the order runs are done in.
 *
 * @example
 * const r = runDcOverloadStudy(net, { trigger: { kind: 'random-pairs' }, runs: 100, seed: 1, ratingFactor: 1 });
 * r.dependentOutages.mean;
 */
export function runDcOverloadStudy(
  net: GridNetwork,
  options: { trigger: DcTrigger; runs: number; seed: number; ratingFactor: number; onRun?: (done: number, total: number) => void },
  prepared: DcOverloadGrid = new DcOverloadGrid(net, options.ratingFactor),
): DcOverloadStudyResult {
  if (!(options.runs >= 1)) throw new RangeError('--runs must be at least 1');
  if (options.trigger.kind === 'ids') for (const id of options.trigger.ids) prepared.resolve(id);
  const inService: number[] = [];
  for (let k = 0; k < net.branchIds.length; k++) if (net.branchInService[k] !== 0) inService.push(k);
  const outcomes: DcCascadeOutcome[] = [];
  const trips = new Map<string, number>();
  for (let run = 0; run < options.runs; run++) {
    const trigger = drawTrigger(net, options.trigger, new Rng(mixSeed(options.seed, run)), inService);
    const outcome = prepared.run(trigger);
    outcomes.push(outcome);
    for (const id of outcome.tripped.flat()) trips.set(id, (trips.get(id) ?? 0) + 1);
    options.onRun?.(run + 1, options.runs);
  }
  const row = new Map(net.branchIds.map((id, k) => [id, k]));
  const tripMostOften = [...trips.entries()]
    .sort((a, b) => b[1] - a[1] || row.get(a[0])! - row.get(b[0])!)
    .slice(0, 10)
    .map(([id, runs]) => ({ id, runs, share: runs / options.runs }));
  return {
    model: 'dc-overload',
    rules: DC_OVERLOAD_RULES,
    grid: net.name,
    runs: options.runs,
    seed: options.seed,
    parameters: { ratingFactor: options.ratingFactor, trigger: options.trigger.kind === 'ids' ? `ids:${options.trigger.ids.join(',')}` : options.trigger.kind },
    dependentOutages: estimate(outcomes.map((o) => o.dependentOutages)),
    loadShedMw: estimate(outcomes.map((o) => o.loadShedMw)),
    loadShedFraction: estimate(outcomes.map((o) => o.loadShedFraction)),
    anyDependentOutageFraction: outcomes.filter((o) => o.dependentOutages > 0).length / outcomes.length,
    tripMostOften,
    perRun: outcomes.map((o) => ({ trigger: o.trigger, dependentOutages: o.dependentOutages, loadShedMw: o.loadShedMw, generations: o.generations })),
  };
}
