"""Reference pressure-driven snapshots for actors/water-solver.test.ts and engine/water/live.test.ts,
from WNTR's EpanetSimulator (EPANET 2.2, pressure-driven analysis).

Run from the repository root:  python3 engine/water/reference/wntr_pda_reference.py
Writes engine/water/reference/wntr-pda-results.json (committed, so the tests need no Python).

Net1 at 0:00 (a steady state: duration 0) under PDA with minimum pressure 0 m, required pressure
90 m (more than Net1 gives, so demand satisfaction is partial) and exponent 0.5, controls removed
(the live twin applies none):
  - pump-on:   the pump runs (its initial status);
  - pump-off:  pump 9 closed (its power lost);
  - pump-off-leak: pump 9 closed and a leak at junction 21 (the start of pipe 21) as an emitter of C m3/s per sqrt(m)
    (C from the live twin's leak rule for pipe 21 of 254 mm at health 0.4: 0.75 x 0.6 x 0.1 x area x sqrt(2g)).
Results in SI: junction pressure (m), delivered demand and required demand (m3/s).
"""
import json
import math
import os
import tempfile

import wntr
from wntr.network import LinkStatus

HERE = os.path.dirname(os.path.abspath(__file__))
NET1 = os.path.join(HERE, '..', 'networks', 'Net1.inp')

DIAMETER_21_M = 10 * 0.0254  # pipe 21 (junction 21 -> 22), 10 in
LEAK_C = 0.75 * 0.6 * 0.1 * math.pi * DIAMETER_21_M ** 2 / 4 * math.sqrt(2 * 9.80665)


def run(pump_closed, leak):
    wn = wntr.network.WaterNetworkModel(NET1)
    for name in list(wn.control_name_list):
        wn.remove_control(name)
    wn.options.time.duration = 0
    wn.options.hydraulic.demand_model = 'PDA'
    wn.options.hydraulic.minimum_pressure = 0.0
    wn.options.hydraulic.required_pressure = 90.0
    wn.options.hydraulic.pressure_exponent = 0.5
    if pump_closed:
        wn.get_link('9').initial_status = LinkStatus.Closed
    if leak:
        wn.get_node('21').emitter_coefficient = LEAK_C
    with tempfile.TemporaryDirectory() as tmp:
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, 'run'))
    junctions = wn.junction_name_list
    pressure = results.node['pressure']
    demand = results.node['demand']
    required = {j: float(wn.get_node(j).demand_timeseries_list.at(0)) for j in junctions}
    out = {
        'pressureM': {j: float(pressure.at[0, j]) for j in junctions},
        'demandM3s': {j: float(demand.at[0, j]) for j in junctions},
        'requiredM3s': required,
    }
    return out


def main():
    cases = {
        'pump-on': run(False, False),
        'pump-off': run(True, False),
        'pump-off-leak': run(True, True),
    }
    document = {
        'source': 'WNTR %s EpanetSimulator (EPANET 2.2), Net1 at 0:00, PDA min 0 m, required 90 m, exponent 0.5' % wntr.__version__,
        'leakCoefficientM3sPerSqrtM': LEAK_C,
        'cases': cases,
    }
    with open(os.path.join(HERE, 'wntr-pda-results.json'), 'w') as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
