"""Reference hydraulics for engine/water/hydraulics.test.ts, from WNTR's EpanetSimulator (EPANET 2.2).

Run from the repository root:  python3 engine/water/reference/wntr_reference.py
Writes engine/water/reference/wntr-results.json (committed, so the tests need no Python).

Each case runs the network's extended-period simulation with some links held closed for the whole
run: initial status Closed and every control acting on them removed (the same rule as
`stratum hydraulics --close`). Results are WNTR's, in SI: pressure m (junctions), tank level m
(WNTR reports a tank's "pressure" as its level), flow m3/s (every link).
"""
import json
import os
import sys
import tempfile

import wntr
from wntr.network import LinkStatus

HERE = os.path.dirname(os.path.abspath(__file__))
NETWORKS = os.path.join(HERE, '..', 'networks')

CASES = [
    # name, file, links held closed, times reported (seconds)
    ('net1-open', 'Net1.inp', [], list(range(0, 24 * 3600 + 1, 3600))),
    ('net1-closed', 'Net1.inp', ['111', '122'], list(range(0, 24 * 3600 + 1, 3600))),
    ('net3-open', 'Net3.inp', [], list(range(0, 168 * 3600 + 1, 6 * 3600))),
    ('net3-closed', 'Net3.inp', ['10', '103'], list(range(0, 168 * 3600 + 1, 6 * 3600))),
]


def hold_closed(wn, link_ids):
    for link_id in link_ids:
        wn.get_link(link_id).initial_status = LinkStatus.Closed
    for name in list(wn.control_name_list):
        control = wn.get_control(name)
        if any(action.target()[0].name in link_ids for action in control.actions()):
            wn.remove_control(name)


def run_case(file_name, closed, times):
    wn = wntr.network.WaterNetworkModel(os.path.join(NETWORKS, file_name))
    hold_closed(wn, closed)
    with tempfile.TemporaryDirectory() as tmp:
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, 'run'))
    pressure = results.node['pressure']
    flow = results.link['flowrate']
    junctions = wn.junction_name_list
    tanks = wn.tank_name_list

    def pick(frame, names, t):
        return {name: float(frame.at[t, name]) for name in names}

    return {
        'closed': closed,
        'times': times,
        'pressureM': {str(t): pick(pressure, junctions, t) for t in times},
        'tankLevelM': {str(t): pick(pressure, tanks, t) for t in times},
        'flowM3s': {str(t): pick(flow, wn.link_name_list, t) for t in times},
    }


def main():
    out = {
        'producedBy': 'engine/water/reference/wntr_reference.py',
        'wntr': wntr.__version__,
        'epanet': '2.2 (WNTR EpanetSimulator default)',
        'python': sys.version.split()[0],
        'cases': {name: {'file': file_name, **run_case(file_name, closed, times)} for name, file_name, closed, times in CASES},
    }
    with open(os.path.join(HERE, 'wntr-results.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
