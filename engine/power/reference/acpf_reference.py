"""Reference AC power flows for the shipped MATPOWER cases, from PYPOWER's runpf (a line-by-line
port of MATPOWER's) with MATPOWER's default options: Newton's method, mismatch tolerance 1e-8 pu,
at most 10 iterations, generator reactive limits not enforced.

    python3 engine/power/reference/acpf_reference.py [GRIDS_DIR]

writes acpf-reference.json beside this script: for every case the iteration count, every bus's
voltage magnitude (pu) and angle (degrees) by BUS_I, and every branch row's Pf, Qf, Pt, Qt
(MW/MVAr), all rounded to 1e-9 (full per-element values, not a hash: the file stays well under
2 MB). For the record it also runs pandapower's runpp on the same ppc (converted with from_ppc)
and stores the largest |ΔVm| and |ΔVa| against PYPOWER. Needs `pip install pypower pandapower`.
The .m files are read by bench/peers/matpower_m.py (numeric matrices only, through
dcpf_reference.read_case), independent of the TypeScript reader under test.
"""
import copy
import json
import os
import sys
import warnings

import numpy as np
import pypower.runpf as pypower_runpf
from pypower.api import ppoption, runpf

# The .m reading and the grids folder are the DC reference's (this folder is on sys.path when run).
from dcpf_reference import read_case, shared_grids  # noqa: E402

CASES = ["case118", "case300", "case1354pegase", "case_ACTIVSg2000"]


def pandapower_check(ppc, vm, va):
    """pandapower's runpp on the same case: max |ΔVm| (pu) and |ΔVa| (deg) against PYPOWER, or None."""
    try:
        import pandapower as pp
        from pandapower.converter.pypower import from_ppc
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = from_ppc(copy.deepcopy(ppc), f_hz=60, validate_conversion=False)
        try:
            pp.runpp(net, tolerance_mva=1e-8, numba=False, calculate_voltage_angles=True)
        except Exception as error:  # noqa: BLE001 — recorded, not fatal: PYPOWER is the reference
            return {"error": str(error)[:200]}
    # from_ppc keeps the bus order of the ppc; the slack angle is the case's.
    theirs_vm = net.res_bus.vm_pu.values
    theirs_va = net.res_bus.va_degree.values
    if len(theirs_vm) != len(vm):
        return None
    return {"maxAbsVmPu": float(np.max(np.abs(theirs_vm - vm))), "maxAbsVaDeg": float(np.max(np.abs(theirs_va - va)))}


ITERATIONS = []


def counting_newtonpf(*args):
    """PYPOWER's runpf does not return the iteration count; newtonpf does: remember it."""
    V, converged, iterations = ORIGINAL_NEWTONPF(*args)
    ITERATIONS.append(int(iterations))
    return V, converged, iterations


ORIGINAL_NEWTONPF = pypower_runpf.newtonpf
pypower_runpf.newtonpf = counting_newtonpf


def r9(values):
    return [round(float(x), 9) for x in values]


def main():
    grids = sys.argv[1] if len(sys.argv) > 1 else shared_grids()
    options = ppoption(VERBOSE=0, OUT_ALL=0, PF_ALG=1, PF_TOL=1e-8, PF_MAX_IT=10, ENFORCE_Q_LIMS=0)
    out = {"tool": "PYPOWER runpf (Newton, PF_TOL 1e-8, PF_MAX_IT 10, ENFORCE_Q_LIMS 0)", "rounding": 1e-9, "cases": {}}
    for name in CASES:
        ppc = read_case(os.path.join(grids, name + ".m"))
        result, success = runpf(copy.deepcopy(ppc), options)
        assert success, name
        bus, branch = result["bus"], result["branch"]
        check = pandapower_check(ppc, bus[:, 7], bus[:, 8])
        out["cases"][name] = {
            "iterations": ITERATIONS[-1],
            "busNumbers": [int(b) for b in bus[:, 0]],
            "vmPu": r9(bus[:, 7]),
            "vaDeg": r9(bus[:, 8]),
            "pFromMw": r9(branch[:, 13]),
            "qFromMvar": r9(branch[:, 14]),
            "pToMw": r9(branch[:, 15]),
            "qToMvar": r9(branch[:, 16]),
            "pandapowerRunpp": check,
        }
        print(name, "buses", len(bus), "branches", len(branch), "pandapower", check, file=sys.stderr)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "acpf-reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
