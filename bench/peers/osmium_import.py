"""Peer for the places bench: pyosmium (libosmium, C++) reading an OSM file the way the importer must.

Usage: python3 bench/peers/osmium_import.py FILE REPEATS
Each repeat reads every node, way and relation with tags, keeps node locations for the ways
(flex_mem index) and assembles the multipolygon areas (buildings), then prints one JSON line:
{"elements": N, "seconds": [..per repeat..], "reader": "pyosmium x (libosmium y)"}.
"""
import json
import sys
import time

import osmium
import osmium.version


class Pass(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.elements = 0
        self.tags = 0
        self.areas = 0

    def node(self, n):
        self.elements += 1
        self.tags += len(n.tags)

    def way(self, w):
        self.elements += 1
        self.tags += len(w.tags) + len(w.nodes)

    def relation(self, r):
        self.elements += 1
        self.tags += len(r.tags) + len(r.members)

    def area(self, a):
        if 'building' in a.tags:
            self.areas += sum(1 for _ in a.outer_rings())


def main():
    path, repeats = sys.argv[1], int(sys.argv[2])
    seconds = []
    elements = 0
    for _ in range(repeats):
        started = time.perf_counter()
        handler = Pass()
        handler.apply_file(path, locations=True)
        seconds.append(time.perf_counter() - started)
        elements = handler.elements
    print(json.dumps({'elements': elements, 'seconds': seconds, 'reader': f'pyosmium {osmium.version.pyosmium_release} (libosmium {osmium.version.libosmium_version})'}))


if __name__ == '__main__':
    main()
