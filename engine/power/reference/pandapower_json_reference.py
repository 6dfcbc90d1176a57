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
switches or lines to an out-of-service bus, `ac_open_lines_out` is runpp on the same network with
those lines out of service instead (our reader's model; pandapower keeps such a line charged from
its live end).

Networks: a small network exercising every conversion (feature_mix), pandapower's examples that need no download (example_simple, case9, case30, the CIGRE MV
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


def feature_mix():
    """A small network that exercises every conversion the reader does, with values large enough
    that a wrong formula shows: off-nominal bus voltages, taps on either side (ratio, symmetrical
    with an angle, ideal phase shifter), strong magnetising branches with an uneven leakage split,
    parallel elements, line conductance, scaled loads and sgens, a shunt rated at another voltage,
    a slack generator beside an external grid in another island, out-of-service elements."""
    net = pp.create_empty_network(name="feature_mix", f_hz=60, sn_mva=10)
    b = [pp.create_bus(net, vn_kv=kv, max_vm_pu=1.1, min_vm_pu=0.9) for kv in (110, 110, 21, 20, 20, 20, 10, 110, 110)]
    dead = pp.create_bus(net, vn_kv=20, in_service=False)
    pp.create_ext_grid(net, b[0], vm_pu=1.02, va_degree=12.5)
    pp.create_line_from_parameters(net, b[0], b[1], length_km=30, r_ohm_per_km=0.06, x_ohm_per_km=0.4, c_nf_per_km=11, max_i_ka=0.6, g_us_per_km=0.5, parallel=2)
    # Magnetising branch exaggerated (i0 8 %, pfe 400 kW) so that the T model's asymmetry shows.
    pp.create_transformer_from_parameters(net, b[1], b[2], sn_mva=40, vn_hv_kv=110, vn_lv_kv=20, vk_percent=12, vkr_percent=0.5, pfe_kw=400, i0_percent=8, shift_degree=150,
                                               tap_side="hv", tap_neutral=0, tap_min=-9, tap_max=9, tap_step_percent=1.5, tap_pos=-3, tap_changer_type="Ratio",
                                               leakage_resistance_ratio_hv=0.3, leakage_reactance_ratio_hv=0.7)
    pp.create_transformer_from_parameters(net, b[1], b[2], sn_mva=25, vn_hv_kv=115, vn_lv_kv=21, vk_percent=10, vkr_percent=0.4, pfe_kw=30, i0_percent=0.5, shift_degree=150,
                                          tap_side="lv", tap_neutral=0, tap_min=-9, tap_max=9, tap_step_percent=2, tap_step_degree=5, tap_pos=2, tap_changer_type="Symmetrical", parallel=2, df=0.9,
                                          leakage_resistance_ratio_hv=0.5, leakage_reactance_ratio_hv=0.5)
    pp.create_line_from_parameters(net, b[2], b[3], length_km=4, r_ohm_per_km=0.2, x_ohm_per_km=0.12, c_nf_per_km=300, max_i_ka=0.3)
    pp.create_line_from_parameters(net, b[3], b[4], length_km=3, r_ohm_per_km=0.2, x_ohm_per_km=0.12, c_nf_per_km=300, max_i_ka=0.3)
    pp.create_line_from_parameters(net, b[2], b[4], length_km=5, r_ohm_per_km=0.2, x_ohm_per_km=0.12, c_nf_per_km=300, max_i_ka=0.3, in_service=False)
    pp.create_line_from_parameters(net, b[4], dead, length_km=1, r_ohm_per_km=0.2, x_ohm_per_km=0.12, c_nf_per_km=300, max_i_ka=0.3)
    pp.create_transformer_from_parameters(net, b[4], b[6], sn_mva=6, vn_hv_kv=20, vn_lv_kv=10.5, vk_percent=6, vkr_percent=0.8, pfe_kw=8, i0_percent=1, shift_degree=0,
                                          tap_side="hv", tap_neutral=0, tap_min=-5, tap_max=5, tap_step_degree=3, tap_pos=2, tap_changer_type="Ideal",
                                          leakage_resistance_ratio_hv=0.5, leakage_reactance_ratio_hv=0.5)
    pp.create_switch(net, b[4], b[5], et="b", closed=True)
    pp.create_load(net, b[3], p_mw=6, q_mvar=2, scaling=0.8)
    pp.create_load(net, b[5], p_mw=3, q_mvar=1)
    pp.create_load(net, b[6], p_mw=2, q_mvar=0.5)
    pp.create_load(net, b[6], p_mw=50, q_mvar=50, in_service=False)
    pp.create_load(net, dead, p_mw=1, q_mvar=0.2)
    pp.create_sgen(net, b[5], p_mw=2.5, q_mvar=-0.4, scaling=0.9)
    pp.create_gen(net, b[3], p_mw=1.5, vm_pu=1.01)
    pp.create_sgen(net, b[3], p_mw=0.7, q_mvar=0.1)  # beside a gen: its bus stays at the gen's set point
    pp.create_shunt(net, b[6], q_mvar=-0.8, p_mw=0.01, vn_kv=11, step=2)
    pp.create_shunt(net, b[2], q_mvar=0.3, p_mw=0.0)
    # A second island with its own slack generator.
    pp.create_gen(net, b[7], p_mw=20, vm_pu=1.0, slack=True)
    pp.create_line_from_parameters(net, b[7], b[8], length_km=20, r_ohm_per_km=0.1, x_ohm_per_km=0.38, c_nf_per_km=9, max_i_ka=0.5)
    pp.create_load(net, b[8], p_mw=15, q_mvar=4)
    return net


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
        "feature_mix": feature_mix,
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
            # Our reader takes a line with an open switch, or with an out-of-service bus at one end,
            # out of service; pandapower keeps it energised from its live end (an auxiliary bus), with
            # its charging. The same network with those lines out of service is our model exactly.
            opened = net.switch[(net.switch.et == "l") & (~net.switch.closed)]
            dead_end = net.line.index[net.line.in_service & ~(net.bus.in_service.loc[net.line.from_bus].values & net.bus.in_service.loc[net.line.to_bus].values)]
            ac_open_lines_out = None
            if len(opened) > 0 or len(dead_end) > 0:
                net.line.loc[opened.element.values, "in_service"] = False
                net.line.loc[dead_end, "in_service"] = False
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
