"""Reference power flows for the pandapower JSON reader (engine/power/pandapower.ts).

    python3 engine/power/reference/pandapower_json_reference.py [GRIDS_DIR]

Builds pandapower networks, saves each with `pandapower.to_json` beside this script
(`pandapower/<name>.json`, geodata and the standard-type library dropped to keep them small) and writes
`pandapower-json-reference.json` beside this script with pandapower's own results on them:
`rundcpp` (bus va_degree, line p_from_mw, trafo p_hv_mw, impedance p_from_mw) and `runpp` (bus vm_pu / va_degree, line
p_from_mw / q_from_mvar, trafo p_hv_mw / q_hv_mvar, impedance p_from_mw / q_from_mvar), both with calculate_voltage_angles=True (our
model always applies phase shifts, as MATPOWER does) and otherwise pandapower's defaults
(trafo_model "t", Newton-Raphson, tolerance 1e-8 MVA, no Q limits). Values rounded to 1e-10;
null where pandapower reports NaN (a bus pandapower leaves unsupplied). For networks with open line
switches, `ac_open_lines_out` is runpp on the same network with those lines out of service instead
(our reader's model of an open line switch; pandapower keeps such a line charged from its closed end).

Networks: pandapower's examples that need no download (example_simple, case9, case30, the CIGRE MV
network with PV and wind, mv_oberrhein) and the shipped MATPOWER case118 converted with
`from_ppc`. Needs `pip install pandapower` (3.x); the .m file is read by bench/peers/matpower_m.py.
"""
import copy
import json
import math
import os
import sys
import warnings

import pandapower as pp
import pandapower.networks as pn
from pandapower.converter.pypower import from_ppc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../bench/peers"))
from matpower_m import read_base_mva, read_matrix  # noqa: E402


def shared_grids():
    """../shared/data/grids beside the repository (CI), or one level further up (a git worktree)."""
    root = os.path.join(HERE, "../../..")
    for up in ("..", "../.."):
        path = os.path.normpath(os.path.join(root, up, "shared/data/grids"))
        if os.path.isdir(path):
            return path
    raise SystemExit("cannot find shared/data/grids beside the repository; pass its path")


def case118(grids):
    text = open(os.path.join(grids, "case118.m")).read()
    ppc = {"version": "2", "baseMVA": read_base_mva(text), "bus": read_matrix(text, "bus"), "gen": read_matrix(text, "gen"), "branch": read_matrix(text, "branch")}
    return from_ppc(copy.deepcopy(ppc), f_hz=60, validate_conversion=False)


def rounded(values):
    return [None if (v is None or (isinstance(v, float) and math.isnan(v))) else round(float(v), 10) for v in values]


def by_index(frame, column):
    return dict(zip([str(i) for i in frame.index], rounded(frame[column].values)))


def ac_results(net):
    return {
        "iterations": int(net._ppc["iterations"]),
        "bus_vm_pu": by_index(net.res_bus, "vm_pu"),
        "bus_va_degree": by_index(net.res_bus, "va_degree"),
        "line_p_from_mw": by_index(net.res_line, "p_from_mw"),
        "line_q_from_mvar": by_index(net.res_line, "q_from_mvar"),
        "trafo_p_hv_mw": by_index(net.res_trafo, "p_hv_mw"),
        "trafo_q_hv_mvar": by_index(net.res_trafo, "q_hv_mvar"),
        "impedance_p_from_mw": by_index(net.res_impedance, "p_from_mw"),
        "impedance_q_from_mvar": by_index(net.res_impedance, "q_from_mvar"),
    }


def main():
    grids = sys.argv[1] if len(sys.argv) > 1 else shared_grids()
    networks = {
        "example_simple": pn.example_simple,
        "case9": pn.case9,
        "case30": pn.case30,
        "cigre_mv_pv_wind": lambda: pn.create_cigre_network_mv(with_der="pv_wind"),
        "mv_oberrhein": pn.mv_oberrhein,
        "case118_from_ppc": lambda: case118(grids),
    }
    os.makedirs(os.path.join(HERE, "pandapower"), exist_ok=True)
    out = {"tool": f"pandapower {pp.__version__} rundcpp / runpp (calculate_voltage_angles=True)", "networks": {}}
    for name, build in networks.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = build()
            for table in ("bus", "line"):
                if "geo" in net[table]:
                    net[table]["geo"] = None
            # The standard-type library (~70 kB per file) is not needed to read the network.
            net.std_types = {kind: {} for kind in net.std_types}
            path = os.path.join(HERE, "pandapower", name + ".json")
            # pp.to_json's text without its indentation (the same JSON; pp.from_json reads it back).
            with open(path, "w") as f:
                json.dump(json.loads(pp.to_json(net)), f, separators=(",", ":"))
            assert len(pp.from_json(path).bus) == len(net.bus)
            pp.rundcpp(net, calculate_voltage_angles=True)
            dc = {"bus_va_degree": by_index(net.res_bus, "va_degree"), "line_p_from_mw": by_index(net.res_line, "p_from_mw"), "trafo_p_hv_mw": by_index(net.res_trafo, "p_hv_mw"), "impedance_p_from_mw": by_index(net.res_impedance, "p_from_mw")}
            pp.runpp(net, calculate_voltage_angles=True)
            ac = ac_results(net)
            # Our reader takes a line with an open switch out of service; pandapower keeps it
            # energised from its closed end (an auxiliary bus), with its charging. The same network
            # with those lines out of service is our model exactly.
            opened = net.switch[(net.switch.et == "l") & (~net.switch.closed)]
            ac_open_lines_out = None
            if len(opened) > 0:
                net.line.loc[opened.element.values, "in_service"] = False
                net.switch.loc[opened.index, "closed"] = True
                pp.runpp(net, calculate_voltage_angles=True)
                ac_open_lines_out = ac_results(net)
        out["networks"][name] = {"file": f"pandapower/{name}.json", "dc": dc, "ac": ac, "ac_open_lines_out": ac_open_lines_out}
        print(f"{name}: {len(net.bus)} buses, {len(net.line)} lines, {len(net.trafo)} trafos, {os.path.getsize(path) // 1024} kB")
    with open(os.path.join(HERE, "pandapower-json-reference.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
