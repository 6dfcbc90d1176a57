/**
 * Island balancing of the live twin (unlike the dc-overload cascade's rule 2, which acts on the
 * cascade's own shrinking state, this starts every round from the current schedule: demand as the
 * buses report it, generation as dispatched or telemetered). Per island of the in-service branches:
 *
 * - no in-service generator with capacity → the island is dark: its load is lost, nothing flows;
 * - scheduled generation ≥ load → every generator scaled by load/generation (they back off together);
 * - scheduled generation < load → the shortfall is shared by the generators' headroom to Pmax, in
 *   proportion to it (a governor response with participation by reserve; generators without a Pmax
 *   take the shortfall in proportion to their schedule); if all of them together cannot cover it,
 *   they run at Pmax and every load of the island is scaled by capacity/load (load shed).
 *
 * The reference bus of each island is the bus with the largest generation (ties: lowest index).
 */
import { chooseReferences, type Islands } from './dcpf.ts';
import type { GridNetwork } from './network.ts';

export interface LiveDispatch {
  /** Load served per bus, MW. */
  readonly loadMw: Float64Array;
  /** Output per generator, MW (0 when off or dark). */
  readonly pgMw: Float64Array;
  /** Reference bus per island (-1: dark). */
  readonly references: Int32Array;
  /** Demand not served (dark islands and shortfalls), MW. */
  readonly shedMw: number;
}

/**
 * @param demandMw demand per bus (MW); @param scheduleMw scheduled output per generator (MW);
 * @param pmaxMw per generator (Infinity: no limit).
 */
export function balanceLive(net: GridNetwork, islands: Islands, genOn: Uint8Array, demandMw: Float64Array, scheduleMw: Float64Array, pmaxMw: Float64Array): LiveDispatch {
  const count = islands.count;
  const load = new Float64Array(count);
  const gen = new Float64Array(count);
  const headroom = new Float64Array(count);
  const unlimited = new Float64Array(count);
  const capacity = new Float64Array(count);
  const generators = new Uint32Array(count);
  const islandOfGen = (g: number): number => (genOn[g] === 0 ? -1 : islands.islandOf[net.genBus[g]!]!);
  for (let v = 0; v < demandMw.length; v++) {
    const i = islands.islandOf[v]!;
    if (i >= 0) load[i]! += demandMw[v]!;
  }
  for (let g = 0; g < scheduleMw.length; g++) {
    const i = islandOfGen(g);
    if (i < 0 || !(pmaxMw[g]! > 0)) continue;
    const scheduled = Math.min(Math.max(0, scheduleMw[g]!), pmaxMw[g]!);
    generators[i]!++;
    gen[i]! += scheduled;
    capacity[i]! += pmaxMw[g]!;
    if (pmaxMw[g] === Number.POSITIVE_INFINITY) unlimited[i]! += scheduled > 0 ? scheduled : 1;
    else headroom[i]! += pmaxMw[g]! - scheduled;
  }
  const loadScale = new Float64Array(count).fill(1);
  const pgMw = new Float64Array(scheduleMw.length);
  for (let g = 0; g < scheduleMw.length; g++) {
    const i = islandOfGen(g);
    if (i < 0 || !(pmaxMw[g]! > 0) || generators[i] === 0) continue;
    const scheduled = Math.min(Math.max(0, scheduleMw[g]!), pmaxMw[g]!);
    const need = load[i]! - gen[i]!;
    if (need <= 0) pgMw[g] = gen[i]! > 0 ? (scheduled * load[i]!) / gen[i]! : 0;
    else if (unlimited[i]! > 0) {
      // Generators without a limit cover the whole shortfall, by schedule (1 MW weight when idle).
      pgMw[g] = pmaxMw[g] === Number.POSITIVE_INFINITY ? scheduled + (need * (scheduled > 0 ? scheduled : 1)) / unlimited[i]! : scheduled;
    } else if (headroom[i]! >= need) pgMw[g] = scheduled + (need * (pmaxMw[g]! - scheduled)) / headroom[i]!;
    else pgMw[g] = pmaxMw[g]!;
  }
  for (let i = 0; i < count; i++) {
    if (generators[i] === 0) loadScale[i] = 0;
    else if (unlimited[i] === 0 && capacity[i]! < load[i]!) loadScale[i] = capacity[i]! / load[i]!;
  }
  const loadMw = new Float64Array(demandMw.length);
  let shedMw = 0;
  for (let v = 0; v < demandMw.length; v++) {
    const i = islands.islandOf[v]!;
    const served = i >= 0 ? demandMw[v]! * loadScale[i]! : 0;
    loadMw[v] = served;
    shedMw += demandMw[v]! - served;
  }
  const references = chooseReferences(net, islands, 'largest-generation', pgMw, genOn);
  // An island whose generators all sit at zero (no load to serve) still needs a reference to be solved.
  for (let i = 0; i < count; i++) {
    if (references[i]! >= 0 || generators[i] === 0) continue;
    for (let g = 0; g < scheduleMw.length; g++) {
      if (islandOfGen(g) === i && pmaxMw[g]! > 0) {
        references[i] = net.genBus[g]!;
        break;
      }
    }
  }
  return { loadMw, pgMw, references, shedMw };
}
