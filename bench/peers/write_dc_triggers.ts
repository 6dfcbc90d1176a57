/**
 * `npx tsx bench/peers/write_dc_triggers.ts CASE.m random-pairs|random-singles RUNS SEED OUT.json`
 * writes the triggers `stratum cascade --model dc-overload` draws for those runs (a JSON list of
 * id lists), so that scipy_dc_cascade.py runs exactly the same cascades.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { drawTrigger } from '../../actors/index.ts';
import { Rng, mixSeed, networkFromCase, parseMatpower } from '../../engine/index.ts';

const [path, kind, runs, seed, out] = process.argv.slice(2);
if (path === undefined || out === undefined || (kind !== 'random-pairs' && kind !== 'random-singles')) {
  process.stderr.write('usage: write_dc_triggers.ts CASE.m random-pairs|random-singles RUNS SEED OUT.json\n');
  process.exit(2);
}
const net = networkFromCase(parseMatpower(readFileSync(path, 'utf8'), path));
const inService = [...net.branchInService.keys()].filter((k) => net.branchInService[k] !== 0);
const triggers = Array.from({ length: Number(runs) }, (_, run) => drawTrigger(net, { kind }, new Rng(mixSeed(Number(seed), run)), inService));
writeFileSync(out, JSON.stringify(triggers));
