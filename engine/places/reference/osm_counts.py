"""Independent counts of the bundled OpenStreetMap extract, read with pyosmium (libosmium).

Run from the repository root:  pip install osmium && python3 engine/places/reference/osm_counts.py
Writes osm_counts.json beside this script (the tests compare the importer with it, without Python),
and helsinki-sample.osm: the elements around the Senate Square as OSM XML, with its own counts, to
check the XML reader against the same independent reader.

The definitions follow the importer's documented mapping (README "Real places"):
- buildings: areas (closed ways and multipolygon relations) tagged building != no that libosmium
  assembles (all nodes present, rings closed);
- highway / track ways: ways tagged highway (not a skipped value) or railway=tram|rail|subway|...
  with at least two consecutive nodes present in the extract;
- street segments: those ways split at every node two of them share (counted over runs of present nodes).
"""
import json
import math
import os
import sys

import osmium
import osmium.version

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
PBF = os.path.join(ROOT, 'engine', 'places', 'data', 'helsinki-centre.osm.pbf')
SKIPPED_HIGHWAYS = {'proposed', 'construction', 'abandoned', 'razed', 'disused', 'platform', 'elevator', 'bus_stop', 'crossing', 'street_lamp'}
TRACKS = {'tram', 'rail', 'light_rail', 'narrow_gauge', 'subway'}
SAMPLE_BOX = (24.9500, 60.1680, 24.9545, 60.1700)  # lon/lat box around the Senate Square


class Reader(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.nodes = {}
        self.node_tags = {}
        self.ways = []
        self.relations = 0
        self.tagged_nodes = {}

    def node(self, n):
        self.nodes[n.id] = (n.location.lon, n.location.lat)
        for key in ('emergency', 'man_made', 'power', 'telecom', 'place', 'highway'):
            if key in n.tags:
                name = f'{key}={n.tags[key]}'
                self.tagged_nodes[name] = self.tagged_nodes.get(name, 0) + 1

    def way(self, w):
        self.ways.append((w.id, [r.ref for r in w.nodes], dict(w.tags)))

    def relation(self, r):
        self.relations += 1


def runs(refs, present):
    out, run = [], []
    for ref in refs:
        if ref in present:
            run.append(ref)
        else:
            if len(run) >= 2:
                out.append(run)
            run = []
    if len(run) >= 2:
        out.append(run)
    return out


def transport(tags):
    if 'highway' in tags:
        return None if tags['highway'] in SKIPPED_HIGHWAYS else 'highway'
    if tags.get('railway') in TRACKS:
        return tags['railway']
    return None


def count(path):
    reader = Reader()
    reader.apply_file(path)
    present = reader.nodes
    highway_ways, tracks, transport_runs = 0, {}, []
    for wid, refs, tags in reader.ways:
        cls = transport(tags)
        if cls is None:
            continue
        rs = runs(refs, present)
        if not rs:
            continue
        transport_runs.extend(rs)
        if cls == 'highway':
            highway_ways += 1
        else:
            tracks[cls] = tracks.get(cls, 0) + 1
    uses = {}
    for refs in transport_runs:
        for k, ref in enumerate(refs):
            if k == len(refs) - 1 and ref == refs[0]:
                continue
            uses[ref] = uses.get(ref, 0) + 1
    segments = 0
    for refs in transport_runs:
        segments += 1 + sum(1 for ref in refs[1:-1] if uses.get(ref, 0) >= 2)

    lons = [p[0] for p in present.values()]
    lats = [p[1] for p in present.values()]
    origin = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    kx = math.cos(math.radians(origin[1])) * 111320
    buildings = {'count': 0, 'footprintM2': 0.0}

    class Areas(osmium.SimpleHandler):
        def area(self, a):
            if a.tags.get('building', 'no') == 'no':
                return
            buildings['count'] += 1
            for ring in a.outer_rings():
                pts = [(n.lon * kx, n.lat * 111320) for n in ring]
                s = 0.0
                for i in range(len(pts) - 1):
                    s += pts[i][0] * pts[i + 1][1] - pts[i + 1][0] * pts[i][1]
                buildings['footprintM2'] += abs(s) / 2

    Areas().apply_file(path, locations=True)
    return {
        'nodes': len(present),
        'ways': len(reader.ways),
        'relations': reader.relations,
        'buildings': buildings['count'],
        'buildingFootprintM2': round(buildings['footprintM2'], 1),
        'highwayWays': highway_ways,
        'trackWays': dict(sorted(tracks.items())),
        'streetSegments': segments,
        'taggedNodes': dict(sorted((k, v) for k, v in reader.tagged_nodes.items() if k.split('=')[0] in ('emergency', 'power', 'telecom', 'place') or k in ('man_made=utility_pole', 'man_made=mast', 'highway=traffic_signals'))),
    }


def write_sample(path):
    """The ways touching SAMPLE_BOX with all their nodes, as OSM XML (libosmium's writer)."""
    reader = Reader()
    reader.apply_file(PBF)
    w0, s0, e0, n0 = SAMPLE_BOX
    inside = {i for i, (lon, lat) in reader.nodes.items() if w0 <= lon <= e0 and s0 <= lat <= n0}
    ways = [w for w in reader.ways if any(r in inside for r in w[1]) and all(r in reader.nodes for r in w[1])]
    keep = inside | {r for w in ways for r in w[1]}
    if os.path.exists(path):
        os.remove(path)
    writer = osmium.SimpleWriter(path)
    fp = osmium.FileProcessor(PBF)
    for obj in fp:
        if obj.is_node() and obj.id in keep:
            writer.add_node(obj)
        elif obj.is_way() and obj.id in {w[0] for w in ways}:
            writer.add_way(obj)
    writer.close()


def main():
    sample = os.path.join(HERE, 'helsinki-sample.osm')
    write_sample(sample)
    result = {
        'reader': f'pyosmium {osmium.version.pyosmium_release} (libosmium {osmium.version.libosmium_version})',
        'source': 'engine/places/data/helsinki-centre.osm.pbf',
        'extract': count(PBF),
        'sample': count(sample),
    }
    with open(os.path.join(HERE, 'osm_counts.json'), 'w') as f:
        json.dump(result, f, indent=2)
        f.write('\n')
    json.dump(result, sys.stdout, indent=2)


if __name__ == '__main__':
    main()
