"""dc-overload cascades with SciPy: an independent implementation of the rules of `stratum cascade
--model dc-overload` (README "Cascade models"), for checking the engine and for the bench.

    python3 bench/peers/scipy_dc_cascade.py CASE.m TRIGGERS.json [RATING_FACTOR] > out.json

TRIGGERS.json is a list of triggers, each a list of ids (`br-<row>`, `gen-<row>`). Prints one JSON
object: `seconds` (the cascades only, not parsing and the intact grid), `results` (per trigger:
`trigger`, `dependentOutages`, `loadShedMw`, `generations`, `tripped`).

Rules: ratings r = max(K * RATE_A, 1.1 |f0|) (RATE_A = 0: unlimited), f0 the intact flows after
balancing; per island of in-service branches: no generation -> load lost, G >= L -> generators
scaled by L/G, G < L -> loads scaled by G/L (loads Pd + Gs), reference = bus with the largest
generation (lowest bus row on ties); MATPOWER DC flows b = 1/(x tap), P = base b (Va_f - Va_t -
shift); every in-service branch with |f| > r (1 + 1e-9) trips at once; repeat. B is solved per
island with scipy.sparse.linalg.spsolve (SuperLU) after removing the reference row and column.
"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from matpower_m import read_base_mva, read_matrix


class Grid:
    def __init__(self, path, rating_factor):
        text = open(path).read()
        self.base = read_base_mva(text)
        bus = read_matrix(text, "bus")
        gen = read_matrix(text, "gen")
        br = read_matrix(text, "branch")
        number = {int(b): i for i, b in enumerate(bus[:, 0])}
        self.n = len(bus)
        self.active = bus[:, 1] != 4
        self.f = np.array([number[int(b)] for b in br[:, 0]])
        self.t = np.array([number[int(b)] for b in br[:, 1]])
        tap = np.where(br[:, 8] == 0, 1.0, br[:, 8])
        self.b = 1.0 / (br[:, 3] * tap)
        self.shift = br[:, 9] * np.pi / 180
        self.rate = br[:, 5]
        self.br_on = br[:, 10] > 0
        self.gbus = np.array([number[int(b)] for b in gen[:, 0]], dtype=int)
        self.gen_on = gen[:, 7] > 0
        self.load = bus[:, 2] + bus[:, 4]
        self.pg = np.where(self.gen_on, gen[:, 1], 0.0)
        self.ids = {f"br-{k + 1}": ("br", k) for k in range(len(br))}
        self.ids.update({f"gen-{g + 1}": ("gen", g) for g in range(len(gen))})
        load, pg = self.load.copy(), self.pg.copy()
        flows = self.flows(self.br_on, self.gen_on, load, pg)
        self.base_load, self.base_pg = load, pg
        self.rating = np.where(self.rate > 0, np.maximum(rating_factor * self.rate, 1.1 * np.abs(flows)), np.inf)

    def flows(self, br_on, gen_on, load, pg):
        """Balances every island in place (rule 2) and returns the DC flows (rule 3)."""
        on = br_on & self.active[self.f] & self.active[self.t]
        adj = sp.coo_matrix((np.ones(on.sum()), (self.f[on], self.t[on])), shape=(self.n, self.n))
        _, label = connected_components(adj, directed=False)
        gen_at = np.zeros(self.n)
        np.add.at(gen_at, self.gbus[gen_on], pg[gen_on])
        flows = np.zeros(len(self.f))
        theta = np.zeros(self.n)
        for island in np.unique(label[self.active]):
            buses = np.flatnonzero((label == island) & self.active)
            gens = np.flatnonzero(gen_on & (label[self.gbus] == island))
            G = pg[gens].sum()
            L = load[buses].sum()
            if not G > 0:
                load[buses] = 0.0
                pg[gens] = 0.0
                continue
            if G >= L:
                pg[gens] *= L / G
            else:
                load[buses] *= G / L
            gen_at[:] = 0
            np.add.at(gen_at, self.gbus[gens], pg[gens])
            cand = buses[gen_at[buses] > 0]
            if len(cand) == 0:  # generation scaled to nothing (an island without load): not energised
                continue
            ref = cand[np.argmax(gen_at[cand])]  # first maximum = lowest bus row on ties
            inj = (gen_at - load) / self.base
            k = np.flatnonzero(on & (label[self.f] == island))
            np.add.at(inj, self.f[k], self.b[k] * self.shift[k])
            np.add.at(inj, self.t[k], -self.b[k] * self.shift[k])
            others = buses[buses != ref]
            if len(others) > 0:
                pos = -np.ones(self.n, dtype=int)
                pos[others] = np.arange(len(others))
                rows, cols, vals = [], [], []
                for a, c in ((self.f[k], self.t[k]), (self.t[k], self.f[k])):
                    rows.append(pos[a]); cols.append(pos[a]); vals.append(self.b[k])
                    rows.append(pos[a]); cols.append(pos[c]); vals.append(-self.b[k])
                rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
                keep = (rows >= 0) & (cols >= 0)
                B = sp.csc_matrix((vals[keep], (rows[keep], cols[keep])), shape=(len(others), len(others)))
                theta[others] = spsolve(B, inj[others]) if len(others) > 1 else inj[others] / B.toarray()[0]
            theta[ref] = 0.0
            flows[k] = self.base * self.b[k] * (theta[self.f[k]] - theta[self.t[k]] - self.shift[k])
        return flows

    def run(self, trigger):
        br_on, gen_on = self.br_on.copy(), self.gen_on.copy()
        for name in trigger:
            kind, i = self.ids[name]
            if kind == "br":
                br_on[i] = False
            else:
                gen_on[i] = False
        load, pg = self.base_load.copy(), self.base_pg.copy()
        tripped = []
        while True:
            flows = self.flows(br_on, gen_on, load, pg)
            trips = np.flatnonzero(br_on & (np.abs(flows) > self.rating * (1 + 1e-9)))
            if len(trips) == 0:
                break
            br_on[trips] = False
            tripped.append([f"br-{k + 1}" for k in trips])
        shed = self.base_load.sum() - load.sum()
        return {"trigger": trigger, "dependentOutages": sum(len(g) for g in tripped), "loadShedMw": float(shed), "generations": len(tripped), "tripped": tripped}


def main():
    grid = Grid(sys.argv[1], float(sys.argv[3]) if len(sys.argv) > 3 else 1.0)
    triggers = json.load(open(sys.argv[2]))
    started = time.perf_counter()
    results = [grid.run(t) for t in triggers]
    print(json.dumps({"seconds": time.perf_counter() - started, "results": results}))


if __name__ == "__main__":
    main()
