"""Peer for `npm run bench -- --only water`: WNTR's EpanetSimulator on an .inp file.

Usage: python3 bench/peers/wntr_hydraulics.py NET.inp ROUNDS
Prints one JSON line: loadSeconds (building the WaterNetworkModel from the file, once), runSeconds
(one run_sim per round: WNTR writes the .inp, runs EPANET 2.2's native library over the whole
extended period and reads the binary results into pandas), the junction count and the lowest
pressure seen (m) as a sanity check against ours.
"""
import json
import os
import sys
import tempfile
import time

import wntr


def main():
    path, rounds = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    wn = wntr.network.WaterNetworkModel(path)
    load = time.perf_counter() - started
    runs = []
    results = None
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            started = time.perf_counter()
            results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, f'run{i}'))
            runs.append(time.perf_counter() - started)
    pressure = results.node['pressure'][wn.junction_name_list]
    print(json.dumps({
        'wntr': wntr.__version__,
        'loadSeconds': load,
        'runSeconds': runs,
        'junctions': len(wn.junction_name_list),
        'times': int(pressure.shape[0]),
        'minPressureM': float(pressure.min().min()),
    }))


if __name__ == '__main__':
    main()
