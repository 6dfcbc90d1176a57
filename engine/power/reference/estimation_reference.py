"""Reference DC state estimates for the shipped MATPOWER cases, and the SciPy peer of the bench.

    python3 engine/power/reference/estimation_reference.py [GRIDS_DIR]      # writes the references
    python3 engine/power/reference/estimation_reference.py --time CASE MEASUREMENTS.json [GRIDS_DIR]

The first form makes, for every case, a seeded measurement set from PYPOWER's rundcpf (flows on
a spanning tree of the branches and 30 % of the others, net injections at 60 % of the buses, PMU angles at 3 %, Gaussian
noise, and three gross errors of 20–40 σ), then runs the same procedure as engine/power/estimation.ts,
written independently with scipy.sparse: DC weighted least squares (reference bus angle 0), the
chi-square test at 99 % with m − (n − 1) degrees of freedom, and while it fails and the largest
normalised residual exceeds 3, removal of that measurement and a new estimate. It writes
estimation/<case>-measurements.json and estimation-reference.json beside this script.

The second form times the procedure alone on a given measurement file (the bench's peer) and prints
{"seconds": …, "removed": …}. Needs numpy, scipy and pypower (`pip install pandapower`).
"""
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.stats import chi2
from pypower.api import ppoption, rundcpf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcpf_reference import CASES, read_case, shared_grids  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def model(ppc):
    """Bus index, reference bus, per-branch from/to/susceptance (MW per rad) and phase shift (rad)."""
    bus = ppc["bus"]
    branch = ppc["branch"]
    index = {int(b): i for i, b in enumerate(bus[:, 0])}
    on = branch[:, 10] > 0
    f = np.array([index[int(b)] for b in branch[:, 0]])
    t = np.array([index[int(b)] for b in branch[:, 1]])
    tap = np.where(branch[:, 8] == 0, 1.0, branch[:, 8])
    b = np.where(on, ppc["baseMVA"] / (branch[:, 3] * tap), 0.0)
    shift = np.deg2rad(branch[:, 9])
    refs = np.flatnonzero(bus[:, 1] == 3)
    assert len(refs) == 1, "one reference bus expected"
    return index, int(refs[0]), f, t, b, shift


def rows(ppc, measurements):
    """H (m × n, sparse), constant c, z and σ of each measurement, in the units of estimation.ts."""
    index, ref, f, t, b, shift = model(ppc)
    n = len(index)
    data, ri, ci = [], [], []
    c = np.zeros(len(measurements))
    z = np.zeros(len(measurements))
    s = np.zeros(len(measurements))
    for i, m in enumerate(measurements):
        if m["kind"] == "flow":
            k = int(m["target"][3:]) - 1
            data += [b[k], -b[k]]
            ri += [i, i]
            ci += [f[k], t[k]]
            c[i] = -b[k] * shift[k]
            z[i], s[i] = m["valueMw"], m["sigmaMw"]
        elif m["kind"] == "injection":
            v = index[int(m["target"][4:])]
            for k in np.flatnonzero(((f == v) | (t == v)) & (b != 0)):
                sign = 1.0 if f[k] == v else -1.0
                data += [sign * b[k], -sign * b[k]]
                ri += [i, i]
                ci += [f[k], t[k]]
                c[i] -= sign * b[k] * shift[k]
            z[i], s[i] = m["valueMw"], m["sigmaMw"]
        else:
            data.append(1.0)
            ri.append(i)
            ci.append(index[int(m["target"][4:])])
            z[i], s[i] = np.deg2rad(m["valueDeg"]), np.deg2rad(m["sigmaDeg"])
    h = sp.csr_matrix((data, (ri, ci)), shape=(len(measurements), n))
    keep = np.array([j for j in range(n) if j != ref])
    return h[:, keep].tocsc(), c, z, s, keep, (f, t, b, shift)


def estimate(h, c, z, s):
    """The procedure of estimation.ts: returns the record and the final state."""
    m = h.shape[0]
    active = np.ones(m, dtype=bool)
    removed = []
    first = None
    while True:
        ha = h[active]
        w = 1.0 / s[active] ** 2
        g = (ha.T @ sp.diags(w) @ ha).tocsc()
        lu = splu(g)
        x = lu.solve(ha.T @ (w * (z[active] - c[active])))
        r = z - c - h @ x
        j = float(np.sum(w * r[active] ** 2))
        dof = int(active.sum()) - h.shape[1]
        thr = float(chi2.ppf(0.99, dof))
        if first is None:
            first = (j, thr)
        if not j > thr:
            break
        # Ω_ii = σ_i² − h_i G⁻¹ h_iᵀ for the active rows.
        hd = ha.toarray()
        omega = s[active] ** 2 - np.einsum("ij,ji->i", hd, lu.solve(hd.T))
        rn = np.zeros(m)
        ok = omega > 1e-9 * s[active] ** 2
        idx = np.flatnonzero(active)
        rn[idx[ok]] = np.abs(r[idx[ok]]) / np.sqrt(omega[ok])
        worst = int(np.argmax(rn))
        if not rn[worst] > 3:
            break
        active[worst] = False
        removed.append({"index": worst, "normalizedResidual": float(rn[worst])})
    return {"initialJ": first[0], "chi2Threshold": first[1], "removed": removed, "finalJ": j}, x, lu


def make_measurements(ppc, seed):
    result, ok = rundcpf(dict(ppc), ppoption(VERBOSE=0, OUT_ALL=0))
    assert ok
    index, ref, f, t, b, shift = model(ppc)
    rng = np.random.RandomState(seed)
    flows = result["branch"][:, 13]
    angle = result["bus"][:, 8] - result["bus"][ref, 8]
    outflow = np.zeros(len(index))
    np.add.at(outflow, f, flows)
    np.add.at(outflow, t, -flows)
    numbers = [int(x) for x in result["bus"][:, 0]]
    # A flow on every branch of a spanning tree keeps the grid observable; the rest are random.
    tree = set()
    seen = {ref}
    frontier = [ref]
    while frontier:
        nxt = []
        for v in frontier:
            for k in np.flatnonzero(((f == v) | (t == v)) & (b != 0)):
                u = int(t[k] if f[k] == v else f[k])
                if u not in seen:
                    seen.add(u)
                    tree.add(int(k))
                    nxt.append(u)
        frontier = nxt
    out = []
    for k in range(len(flows)):
        if b[k] != 0 and (k in tree or rng.rand() < 0.3):
            out.append({"kind": "flow", "target": f"br-{k + 1}", "valueMw": float(flows[k] + rng.randn() * 2.0), "sigmaMw": 2.0})
    for v, number in enumerate(numbers):
        if rng.rand() < 0.6:
            out.append({"kind": "injection", "target": f"bus-{number}", "valueMw": float(outflow[v] + rng.randn() * 3.0), "sigmaMw": 3.0})
        if v != ref and rng.rand() < 0.03:
            out.append({"kind": "angle", "target": f"bus-{number}", "valueDeg": float(angle[v] + rng.randn() * 0.01), "sigmaDeg": 0.01})
    for i in rng.choice(len(out), 3, replace=False):
        key, sigma = ("valueDeg", "sigmaDeg") if out[i]["kind"] == "angle" else ("valueMw", "sigmaMw")
        out[i][key] += float(rng.choice([-1, 1]) * rng.uniform(20, 40) * out[i][sigma])
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--time":
        name, path = sys.argv[2], sys.argv[3]
        ppc = read_case(os.path.join(sys.argv[4] if len(sys.argv) > 4 else shared_grids(), name + ".m"))
        measurements = json.load(open(path))
        started = time.perf_counter()
        h, c, z, s, _, _ = rows(ppc, measurements)
        record, _, _ = estimate(h, c, z, s)
        print(json.dumps({"seconds": time.perf_counter() - started, "removed": len(record["removed"])}))
        return
    grids = sys.argv[1] if len(sys.argv) > 1 else shared_grids()
    os.makedirs(os.path.join(HERE, "estimation"), exist_ok=True)
    out = {"tool": "scipy.sparse WLS (this script)", "cases": {}}
    for seed, name in enumerate(CASES, start=1):
        ppc = read_case(os.path.join(grids, name + ".m"))
        measurements = make_measurements(ppc, seed)
        with open(os.path.join(HERE, "estimation", name + "-measurements.json"), "w") as fh:
            json.dump(measurements, fh)
        h, c, z, s, keep, (f, t, b, shift) = rows(ppc, measurements)
        record, x, lu = estimate(h, c, z, s)
        n = h.shape[1] + 1
        angle = np.zeros(n)
        angle[keep] = x
        flows = b * (angle[f] - angle[t] - shift)
        inv_diag = np.zeros(n)
        eye = np.eye(n - 1)
        inv_diag[keep] = np.einsum("ii->i", lu.solve(eye))
        record.update(
            {
                "measurements": len(measurements),
                "angleDeg": [float(a) for a in np.rad2deg(angle)],
                "sigmaDeg": [float(a) for a in np.rad2deg(np.sqrt(inv_diag))],
                "pFromMw": [float(p) for p in flows],
            }
        )
        out["cases"][name] = record
        print(name, len(measurements), "removed", [r["index"] for r in record["removed"]], file=sys.stderr)
    with open(os.path.join(HERE, "estimation-reference.json"), "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
