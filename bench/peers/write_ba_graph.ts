/**
 * Writes a seeded Barabási–Albert edge list in the peers' JSON format.
 *
 * Usage: npx tsx bench/peers/write_ba_graph.ts N M SEED OUT.json
 */

import { writeFileSync } from 'node:fs';
import { barabasiAlbert } from '../../engine/graph/index.ts';
import { Rng } from '../../engine/rng.ts';

const [n = '5000', m = '2', seed = '1', out = 'ba.json'] = process.argv.slice(2);
const edges = barabasiAlbert(Number(n), Number(m), new Rng(Number(seed)));
writeFileSync(
  out,
  JSON.stringify({ nodeCount: edges.nodeCount, from: Array.from(edges.from), to: Array.from(edges.to) }),
);
console.log(`wrote ${out}: ${edges.nodeCount} nodes, ${edges.from.length} edges`);
