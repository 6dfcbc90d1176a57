#!/usr/bin/env python3
"""Peer baseline: the obvious NetworkX implementation of the Motter-Lai overload cascade.

Usage: networkx_motter_lai.py EDGES.json ALPHA [ATTACK]

EDGES.json is {"nodeCount": N, "from": [...], "to": [...]} (an undirected edge list).
ATTACK is "highest-load" (default: remove the node with the largest initial load, lowest id on
ties) or "node:<id>".

Model (Motter & Lai, Phys. Rev. E 66, 065102, 2002): load = unnormalised shortest-path betweenness,
capacity = (1 + alpha) * initial load; after the attack, loads are recomputed on the surviving graph
and every node with load > capacity * (1 + 1e-9) fails in the same step, until none does.
This mirrors engine/graph/motter-lai.ts exactly so the two can be compared.

Prints one JSON line: seconds (initial loads + cascade + giant component, excluding file parsing and
graph construction), steps (steps in which a node failed), failed (overload failures, attack
excluded), stepSizes, giantComponentFraction (largest surviving component / N), attacked.
"""

import json
import sys
import time

import networkx as nx

RELATIVE_EPSILON = 1e-9


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        data = json.load(handle)
    alpha = float(argv[2])
    attack = argv[3] if len(argv) > 3 else "highest-load"
    n = int(data["nodeCount"])

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((a, b) for a, b in zip(data["from"], data["to"]) if a != b)

    start = time.perf_counter()
    initial = nx.betweenness_centrality(graph, normalized=False)
    capacity = {v: (1.0 + alpha) * initial[v] for v in graph}
    if attack == "highest-load":
        target = max(range(n), key=lambda v: (initial[v], -v))
    elif attack.startswith("node:"):
        target = int(attack.split(":", 1)[1])
    else:
        print(f"unknown attack {attack!r}", file=sys.stderr)
        return 2

    survivors = graph.copy()
    survivors.remove_node(target)
    step_sizes = []
    while True:
        load = nx.betweenness_centrality(survivors, normalized=False)
        overloaded = [v for v in survivors if load[v] > capacity[v] * (1.0 + RELATIVE_EPSILON)]
        if not overloaded:
            break
        survivors.remove_nodes_from(overloaded)
        step_sizes.append(len(overloaded))
    giant = max((len(c) for c in nx.connected_components(survivors)), default=0)
    seconds = time.perf_counter() - start

    print(json.dumps({
        "implementation": f"networkx {nx.__version__}",
        "seconds": seconds,
        "steps": len(step_sizes),
        "failed": sum(step_sizes),
        "stepSizes": step_sizes,
        "giantComponentFraction": giant / n if n else 0.0,
        "attacked": target,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
