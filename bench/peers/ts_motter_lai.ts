/**
 * Counterpart of networkx_motter_lai.py over engine/graph, with the same arguments and the same
 * JSON line, so a harness (or a person) can run both on one edge list and compare.
 *
 * Usage: npx tsx bench/peers/ts_motter_lai.ts EDGES.json ALPHA [highest-load | node:<id>]
 */

import { readFileSync } from 'node:fs';
import { MotterLaiCascade, buildCsr, highestLoadNode } from '../../engine/graph/index.ts';

interface EdgeFile {
  readonly nodeCount: number;
  readonly from: number[];
  readonly to: number[];
}

const [path, alphaText, attack = 'highest-load'] = process.argv.slice(2);
if (path === undefined || alphaText === undefined) {
  console.error('usage: ts_motter_lai.ts EDGES.json ALPHA [highest-load | node:<id>]');
  process.exit(2);
}
const data = JSON.parse(readFileSync(path, 'utf8')) as EdgeFile;
const graph = buildCsr(data.nodeCount, data.from, data.to, { undirected: true });

// Timed like the Python peer: initial loads, cascade and giant component; not parsing or building.
const start = performance.now();
const cascade = new MotterLaiCascade(graph, Number(alphaText), { undirected: true });
let target: number;
if (attack === 'highest-load') target = highestLoadNode(cascade.initialLoads);
else if (attack.startsWith('node:')) target = Number(attack.slice(5));
else throw new Error(`unknown attack ${attack}`);
cascade.removeNodes([target]);
const stepSizes: number[] = [];
for (let failed = cascade.step(); failed.length > 0; failed = cascade.step()) stepSizes.push(failed.length);
const summary = cascade.summary();
const seconds = (performance.now() - start) / 1000;

console.log(
  JSON.stringify({
    implementation: `engine/graph (node ${process.version})`,
    seconds,
    steps: summary.steps,
    failed: summary.failed,
    stepSizes,
    giantComponentFraction: summary.giantComponentFraction,
    attacked: target,
  }),
);
