import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { loadCityFile, parseCity } from '../model/validate.ts';
import type { CityModel } from '../model/types.ts';
import { importOsm, type ImportReport, type OsmCityDocument } from './osm-import.ts';
import { readOsmFile, readOsmPbf, readOsmXml, type OsmData } from './osm-read.ts';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const PBF = here('./data/helsinki-centre.osm.pbf');
const SAMPLE = here('./reference/helsinki-sample.osm');

/** Counts from pyosmium (libosmium), written by reference/osm_counts.py. */
interface Counts {
  nodes: number;
  ways: number;
  relations: number;
  buildings: number;
  buildingFootprintM2: number;
  highwayWays: number;
  trackWays: Record<string, number>;
  streetSegments: number;
  taggedNodes: Record<string, number>;
}
const reference = JSON.parse(readFileSync(here('./reference/osm_counts.json'), 'utf8')) as { extract: Counts; sample: Counts };

let data: OsmData;
let document: OsmCityDocument;
let report: ImportReport;
let city: CityModel;

beforeAll(() => {
  data = readOsmFile(PBF);
  ({ document, report } = importOsm(data, { source: 'helsinki-centre.osm.pbf' }));
  city = parseCity(document, 'imported');
});

function expectCountsMatch(r: ImportReport, d: OsmData, counts: Counts): void {
  expect({ nodes: d.nodeIds.length, ways: d.ways.length, relations: d.relations.length }).toEqual({ nodes: counts.nodes, ways: counts.ways, relations: counts.relations });
  expect(r.buildings).toBe(counts.buildings);
  expect(r.highwayWays).toBe(counts.highwayWays);
  expect(r.trackWays).toEqual(counts.trackWays);
  expect(r.streetSegments).toBe(counts.streetSegments);
  // Both project equirectangularly, about slightly different origins: agree within 0.2 %.
  expect(Math.abs(r.buildingFootprintM2 - counts.buildingFootprintM2) / counts.buildingFootprintM2).toBeLessThan(0.002);
}

describe('reading OpenStreetMap files (checked against pyosmium)', () => {
  it('reads the PBF extract with the counts libosmium reads', () => {
    expectCountsMatch(report, data, reference.extract);
    expect(data.headerBbox).not.toBeNull();
  });
  it('reads OSM XML with the counts libosmium reads, and imports it the same way', () => {
    const xml = readOsmFile(SAMPLE);
    const sample = importOsm(xml, { source: 'helsinki-sample.osm' });
    expectCountsMatch(sample.report, xml, reference.sample);
    // The XML nodes carry the same coordinates as the PBF ones.
    for (const id of xml.nodeIds.slice(0, 50)) {
      const i = data.nodeIndex.get(id)!;
      const j = xml.nodeIndex.get(id)!;
      expect(xml.lon[j]).toBeCloseTo(data.lon[i]!, 7);
      expect(xml.lat[j]).toBeCloseTo(data.lat[i]!, 7);
    }
  });
  it('maps the tagged infrastructure the extract has', () => {
    const tagged = reference.extract.taggedNodes;
    expect(report.tagged['hydrant']).toBe(tagged['emergency=fire_hydrant']);
    expect(report.tagged['pole']).toBe(tagged['man_made=utility_pole']);
    expect(report.tagged['cabinet']).toBe((tagged['power=box'] ?? 0) + (tagged['power=cable_distribution_cabinet'] ?? 0));
    expect(report.tagged['fire-station']).toBe(1);
    expect(report.tagged['distribution-substation']).toBe(1);
    expect(report.tagged['main']).toBeGreaterThan(30);
  });
});

describe('the imported city', () => {
  it('validates, with every layer and positions in metres about the extract centre', () => {
    const layers = new Set(city.assets.map((a) => a.layer));
    for (const layer of ['power', 'water', 'telecom', 'transport', 'emergency']) expect(layers.has(layer)).toBe(true);
    for (const a of city.assets) {
      expect(Math.abs(a.position!.x)).toBeLessThan(1500);
      expect(Math.abs(a.position!.y)).toBeLessThan(1500);
    }
    expect(city.geography?.attribution).toBe('© OpenStreetMap contributors');
    expect(city.geography?.buildings.length).toBe(report.footprints);
  });
  it('keeps one transport asset per street piece, in one routable graph', () => {
    const transport = city.assets.filter((a) => a.layer === 'transport');
    expect(transport.length).toBe(report.streetSegments);
    const ways = new Set(transport.map((a) => a.props['osm']));
    expect(ways.size).toBe(report.highwayWays + Object.values(report.trackWays).reduce((s, n) => s + n, 0));
    const ids = new Set(transport.map((a) => a.id));
    const adjacency = new Map<string, string[]>();
    for (const l of city.links) {
      if (!ids.has(l.from)) continue;
      adjacency.set(l.from, [...(adjacency.get(l.from) ?? []), l.to]);
      adjacency.set(l.to, [...(adjacency.get(l.to) ?? []), l.from]);
    }
    const seen = new Set([transport[0]!.id]);
    const queue = [transport[0]!.id];
    while (queue.length > 0) {
      for (const n of adjacency.get(queue.pop()!) ?? []) {
        if (seen.has(n)) continue;
        seen.add(n);
        queue.push(n);
      }
    }
    expect(seen.size).toBe(transport.length);
    expect(report.connectors).toBeLessThan(report.streetSegments / 50);
  });
  it('estimates residents from footprint × levels ÷ 45 m², in cohorts that shade their buildings', () => {
    expect(report.population).toBe(city.cohorts.reduce((s, c) => s + c.population, 0));
    // 0.53 km² of footprints × ~5 storeys ÷ 45 m²: tens of thousands, as in Helsinki's central districts.
    expect(report.population).toBeGreaterThan(20_000);
    expect(report.population).toBeLessThan(80_000);
    const cohortIds = new Set(city.cohorts.map((c) => c.id));
    for (const b of city.geography!.buildings) if (b.cohort !== undefined) expect(cohortIds.has(b.cohort)).toBe(true);
    for (const c of city.cohorts) {
      const relied = c.reliesOn.map((id) => city.assets.find((a) => a.id === id)!.kind);
      expect(relied).toEqual(['feeder', 'main', 'tower', 'hospital']);
    }
  });
  it('is the same file every time (deterministic import)', () => {
    const again = importOsm(readOsmFile(PBF), { source: 'helsinki-centre.osm.pbf' }).document;
    expect(JSON.stringify(again)).toBe(JSON.stringify(document));
  });
  it('loads directly from the extract through loadCityFile', () => {
    const direct = loadCityFile(PBF);
    expect(direct.assets.length).toBe(city.assets.length);
  });
  it('without synthesis keeps only what OpenStreetMap maps', () => {
    const bare = importOsm(data, { source: 'x.osm.pbf', synthesize: new Set() }).document;
    expect(bare.assets.some((a) => (a.props as { synthesised?: boolean } | undefined)?.synthesised === true)).toBe(false);
    expect(() => parseCity(bare, 'bare')).not.toThrow();
  });
});

describe('bad OpenStreetMap input', () => {
  it('names the byte where a PBF file is truncated', () => {
    const bytes = readFileSync(PBF);
    expect(() => readOsmPbf(bytes.subarray(0, 5000), 'cut.osm.pbf')).toThrow(ValidationError);
    expect(() => readOsmPbf(bytes.subarray(0, 5000), 'cut.osm.pbf')).toThrow(/cut\.osm\.pbf: byte \d+: blob of \d+ bytes runs past the end/);
    expect(() => readOsmPbf(Buffer.from('hello, world'), 'text.pbf')).toThrow(/text\.pbf: byte 0/);
  });
  it('names the line of malformed XML or a node without coordinates', () => {
    expect(() => readOsmXml('<osm>\n<node id="1" lat="60"/>\n</osm>', 'a.osm')).toThrow(/a\.osm: line 2: <node> needs a numeric lon/);
    expect(() => readOsmXml('<osm>\n<way id="1">\n</osm>', 'b.osm')).toThrow(/b\.osm: line \d+: not well-formed XML/);
    expect(() => readOsmXml('<html></html>', 'c.osm')).toThrow(/no <osm> root element/);
  });
  it('refuses an extract with nothing the importer uses', () => {
    const empty = readOsmXml('<osm><node id="1" lat="60" lon="24"/></osm>', 'd.osm');
    expect(() => importOsm(empty, { source: 'd.osm', synthesize: new Set() })).toThrow(/maps nothing the importer uses/);
  });
});

describe('districts', () => {
  /** A small OSM XML city: two district boundaries side by side, a street grid, a building in each half. */
  function twoDistrictCity(withBoundaries: boolean): string {
    const lines: string[] = ['<osm version="0.6">'];
    let id = 1;
    const node = (lon: number, lat: number, tags: Record<string, string> = {}): number => {
      const n = id++;
      const t = Object.entries(tags).map(([k, v]) => `<tag k="${k}" v="${v}"/>`).join('');
      lines.push(`<node id="${n}" lon="${lon}" lat="${lat}">${t}</node>`);
      return n;
    };
    const way = (refs: number[], tags: Record<string, string>): number => {
      const w = id++;
      lines.push(`<way id="${w}">${refs.map((r) => `<nd ref="${r}"/>`).join('')}${Object.entries(tags).map(([k, v]) => `<tag k="${k}" v="${v}"/>`).join('')}</way>`);
      return w;
    };
    // Corners of the two halves: west [24.930, 24.940], east [24.940, 24.950] × [60.160, 60.170].
    const [sw, sm, se, ne, nm, nw] = [node(24.93, 60.16), node(24.94, 60.16), node(24.95, 60.16), node(24.95, 60.17), node(24.94, 60.17), node(24.93, 60.17)];
    if (withBoundaries) {
      const west = way([sw, sm, nm, nw, sw], {});
      const east = way([sm, se, ne, nm, sm], {});
      for (const [w, name] of [[west, 'Länsi'], [east, 'Itä']] as const) {
        lines.push(`<relation id="${id++}"><member type="way" ref="${w}" role="outer"/><tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="10"/><tag k="name" v="${name}"/></relation>`);
      }
    }
    // Streets: three east–west and three north–south, crossing at shared nodes.
    const grid: number[][] = [];
    for (let r = 0; r < 3; r++) grid.push([0, 1, 2].map((c) => node(24.932 + c * 0.008, 60.162 + r * 0.003)));
    for (let r = 0; r < 3; r++) way(grid[r]!, { highway: 'residential', name: `Katu ${r}` });
    for (let c = 0; c < 3; c++) way([grid[0]![c]!, grid[1]![c]!, grid[2]![c]!], { highway: 'primary' });
    for (const lon of [24.934, 24.946]) {
      const b = [node(lon, 60.1635), node(lon + 0.001, 60.1635), node(lon + 0.001, 60.164), node(lon, 60.164)];
      way([...b, b[0]!], { building: 'apartments', 'building:levels': '6' });
    }
    lines.push('</osm>');
    return lines.join('\n');
  }

  it('come from closed administrative boundaries when the extract has them', () => {
    const { document: doc, report: r } = importOsm(readOsmXml(twoDistrictCity(true), 'two.osm'), { source: 'two.osm' });
    expect(r.districtSource).toBe('boundaries');
    expect(doc.geography.districts.map((d) => d.name).sort()).toEqual(['Itä', 'Länsi']);
    const districtAt = (lon: number): Set<string> => new Set(doc.assets.filter((a) => a.layer === 'transport' && Math.abs(a.position[0] - lon) < 0.001).map((a) => a.district));
    expect(districtAt(24.932)).toEqual(new Set(['lansi']));
    expect(districtAt(24.948)).toEqual(new Set(['ita']));
    expect(new Set(doc.cohorts.map((c) => c.district))).toEqual(new Set(['lansi', 'ita']));
    expect(() => parseCity(doc, 'two')).not.toThrow();
  });
  it('fall back to a 500 m grid without boundaries or named places', () => {
    const { document: doc, report: r } = importOsm(readOsmXml(twoDistrictCity(false), 'grid.osm'), { source: 'grid.osm' });
    expect(r.districtSource).toBe('grid');
    for (const a of doc.assets) expect(a.district).toMatch(/^grid-\d+-\d+$/);
    expect(() => parseCity(doc, 'grid')).not.toThrow();
  });
  it('use the named places in the Helsinki extract, whose boundaries its edge cuts', () => {
    expect(report.districtSource).toBe('place-nodes');
    expect(document.geography.districts.map((d) => d.name)).toContain('Kluuvi');
  });
});
