"""Reference DC power flows for the shipped MATPOWER cases, from PYPOWER's rundcpf (a line-by-line
port of MATPOWER's), cross-checked against pandapower's rundcpp on the same ppc.

    python3 engine/power/reference/dcpf_reference.py [GRIDS_DIR]

writes dcpf-reference.json beside this script: for every case, the bus angles (degrees) by BUS_I,
the from-end flow (MW) of every branch row, and every generator's Pg after the slack update.
Needs `pip install pypower pandapower` (numpy, scipy). The .m files are read by bench/peers/matpower_m.py
(numeric matrices only), independent of the TypeScript reader under test.
"""
import json
import os
import sys

import numpy as np
from pypower.api import ppoption, rundcpf

# The numeric .m reader the bench peers share (independent of the TypeScript reader under test).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../bench/peers"))
from matpower_m import read_base_mva, read_matrix  # noqa: E402

CASES = ["case118", "case300", "case1354pegase", "case_ACTIVSg2000"]


def read_case(path):
    text = open(path).read()
    return {"version": "2", "baseMVA": read_base_mva(text), "bus": read_matrix(text, "bus"), "gen": read_matrix(text, "gen"), "branch": read_matrix(text, "branch")}


def pandapower_check(ppc, result):
    """pandapower's rundcpp on the same case, for the record: max |difference| of the sorted |flows|, MW."""
    try:
        import pandapower as pp
        from pandapower.converter.pypower import from_ppc
    except ImportError:
        return None
    import copy
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = from_ppc(copy.deepcopy(ppc), f_hz=60, validate_conversion=False)
        pp.rundcpp(net)
    # from_ppc splits branches into lines, transformers and impedances with its own order and
    # orientation, so compare the sorted magnitudes of all branch flows.
    theirs = np.concatenate([net.res_line.p_from_mw.values, net.res_trafo.p_hv_mw.values, net.res_impedance.p_from_mw.values])
    if len(theirs) != len(result):
        return None
    return float(np.max(np.abs(np.sort(np.abs(theirs)) - np.sort(np.abs(result)))))


def shared_grids():
    """../shared/data/grids beside the repository (CI), or one level further up (a git worktree)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../..")
    for up in ("..", "../.."):
        path = os.path.normpath(os.path.join(root, up, "shared/data/grids"))
        if os.path.isdir(path):
            return path
    raise SystemExit("cannot find shared/data/grids beside the repository; pass its path")


def main():
    grids = sys.argv[1] if len(sys.argv) > 1 else shared_grids()
    out = {"tool": "PYPOWER rundcpf", "cases": {}}
    for name in CASES:
        ppc = read_case(os.path.join(grids, name + ".m"))
        result, success = rundcpf(dict(ppc), ppoption(VERBOSE=0, OUT_ALL=0))
        assert success, name
        flows = result["branch"][:, 13]
        check = pandapower_check(ppc, flows)
        out["cases"][name] = {
            "busNumbers": [int(b) for b in result["bus"][:, 0]],
            "angleDeg": [float(a) for a in result["bus"][:, 8]],
            "pFromMw": [float(f) for f in flows],
            "pgMw": [float(p) for p in result["gen"][:, 1]],
            "pandapowerMaxAbsFlowDifferenceMw": check,
        }
        print(name, "branches", len(flows), "pandapower |Δ| max", check, file=sys.stderr)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcpf-reference.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
