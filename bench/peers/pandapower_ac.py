"""AC power flow peers for the grid bench.

    python3 bench/peers/pandapower_ac.py runpp CASE.m REPEATS
    python3 bench/peers/pandapower_ac.py runpf CASE.m REPEATS

`runpp`: pandapower.runpp (Newton–Raphson, tolerance_mva 1e-8, no Q limits: the defaults besides
the tolerance; numba's compiled builders when numba is installed, as pandapower recommends) on the
case converted once with from_ppc; REPEATS timed runs after one untimed run;
prints {"seconds": median, "runs", "vmPu": [...]} (the bus voltages, in the case's bus order, so
the bench can state how far pandapower's answer is from ours: from_ppc models some MATPOWER
branches differently). `runpf`: PYPOWER's runpf with MATPOWER's defaults (the same model as
ours), likewise timed. The .m file is read by matpower_m.py beside this script.
Needs pandapower / PYPOWER (pip install pandapower pypower).
"""
import copy
import json
import statistics
import sys
import time
import warnings

from matpower_m import read_base_mva, read_matrix


def read_case(path):
    text = open(path).read()
    return {"version": "2", "baseMVA": read_base_mva(text), "bus": read_matrix(text, "bus"), "gen": read_matrix(text, "gen"), "branch": read_matrix(text, "branch")}


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    tool, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ppc = read_case(path)
    warnings.simplefilter("ignore")
    if tool == "runpp":
        import pandapower as pp
        from pandapower.converter.pypower import from_ppc

        try:
            import numba  # noqa: F401 — pandapower's compiled Ybus/Jacobian builders, used when present
            jit = True
        except ImportError:
            jit = False
        net = from_ppc(copy.deepcopy(ppc), f_hz=60, validate_conversion=False)
        seconds = timed(lambda: pp.runpp(net, tolerance_mva=1e-8, calculate_voltage_angles=True), repeats)
        print(json.dumps({"seconds": seconds, "runs": repeats, "numba": jit, "iterations": int(net._ppc["iterations"]), "vmPu": [float(v) for v in net.res_bus.vm_pu.values]}))
        return
    from pypower.api import ppoption, runpf

    options = ppoption(VERBOSE=0, OUT_ALL=0)
    seconds = timed(lambda: runpf(copy.deepcopy(ppc), options), repeats)
    print(json.dumps({"seconds": seconds, "runs": repeats}))


if __name__ == "__main__":
    main()
