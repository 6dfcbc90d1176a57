"""pandapower peer for the grid bench.

    python3 bench/peers/pandapower_dc.py pf CASE.m REPEATS
    python3 bench/peers/pandapower_dc.py n1 CASE.m OUTAGES

`pf`: pandapower.rundcpp on the case (converted once with from_ppc), REPEATS times after one
untimed run; prints {"seconds": median, "runs": REPEATS}. `n1`: N-1 screening the way pandapower
does it without a contingency library, rundcpp in a loop: each of the first OUTAGES branches
(lines, then transformers) out, solved, results read, branch restored; prints {"secondsPerOutage",
"outages", "branches"}. The .m file is read by matpower_m.py beside this script. Needs pandapower (pip install pandapower).
"""
import copy
import json
import statistics
import sys
import time
import warnings

import numpy as np

from matpower_m import read_base_mva, read_matrix



def load(path):
    from pandapower.converter.pypower import from_ppc

    text = open(path).read()
    base = read_base_mva(text)
    ppc = {"version": "2", "baseMVA": base, "bus": read_matrix(text, "bus"), "gen": read_matrix(text, "gen"), "branch": read_matrix(text, "branch")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return from_ppc(copy.deepcopy(ppc), f_hz=50, validate_conversion=False)


def main():
    import pandapower as pp

    mode, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    net = load(path)
    warnings.simplefilter("ignore")
    pp.rundcpp(net, numba=False)
    if mode == "pf":
        times = []
        for _ in range(count):
            started = time.perf_counter()
            pp.rundcpp(net, numba=False)
            times.append(time.perf_counter() - started)
        print(json.dumps({"seconds": statistics.median(times), "runs": count}))
        return
    elements = [("line", i) for i in net.line.index] + [("trafo", i) for i in net.trafo.index]
    chosen = elements[:count]
    started = time.perf_counter()
    for table, i in chosen:
        net[table].at[i, "in_service"] = False
        try:
            pp.rundcpp(net, numba=False)
            _ = net.res_line.p_from_mw.values, net.res_trafo.p_hv_mw.values
        except Exception:  # an outage that islands part of the grid may not solve; it still counts
            pass
        net[table].at[i, "in_service"] = True
    seconds = time.perf_counter() - started
    print(json.dumps({"secondsPerOutage": seconds / len(chosen), "outages": len(chosen), "branches": len(elements)}))


if __name__ == "__main__":
    main()
