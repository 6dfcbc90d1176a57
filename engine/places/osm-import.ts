import { ValidationError } from '../errors.ts';
import type { Building, DistrictArea, Geography, LandArea, Street } from '../model/geography.ts';
import { lonLatProjector, METRES_PER_DEGREE } from '../model/geography.ts';
import { joinRings, midpointAlong, NearestIndex, pointInRing, ringArea, vertexMean, voronoiCell } from './geometry.ts';
import { readOsmFile, type OsmData, type OsmWay } from './osm-read.ts';
import { MAPPING, RULES, type SynthLayer, SYNTH_LAYERS } from './rules.ts';

/**
 * OpenStreetMap extract → city document. The mapping and every synthesis rule are listed in
 * rules.ts and the README ("Real places"); the numbers live there, the steps here:
 *
 * 1. districts: named `place=suburb|quarter|neighbourhood` nodes, each area the nearest node's
 *    (Voronoi cells); fewer than two → a square grid;
 * 2. transport: every `highway=*` way and tram/rail/subway track, split at every node two of them
 *    share, one asset per piece, pieces meeting at a node linked; pieces the extract's edge cut off
 *    are joined to the nearest piece of the main network (`connector`), so the graph is one;
 * 3. buildings: footprints (ways and multipolygons), residents = floor area ÷ floor area per resident;
 * 4. tagged infrastructure → assets of its kind;
 * 5. synthesis (power, water, telecom) at real street junctions, by cells of the built-up area;
 * 6. dependencies by nearest provider; cohorts per district and feeder area.
 */

export interface ImportOptions {
  /** Layers to synthesise where OSM maps no network (default: all three). */
  readonly synthesize?: ReadonlySet<SynthLayer>;
  readonly name?: string;
  /** Names the input in the geography (`source`) and in errors. */
  readonly source: string;
}

/** What an import produced, for the CLI's summary and the tests. */
export interface ImportReport {
  readonly osm: { nodes: number; ways: number; relations: number };
  /** Buildings (closed ways and multipolygon relations) the importer assembled. */
  readonly buildings: number;
  /** Their outer rings: one footprint each in the view. */
  readonly footprints: number;
  /** Sum of the footprints' areas (m²), before levels. */
  readonly buildingFootprintM2: number;
  readonly highwayWays: number;
  readonly trackWays: Record<string, number>;
  readonly streetSegments: number;
  readonly connectors: number;
  readonly tagged: Record<string, number>;
  readonly synthesised: Record<string, number>;
  readonly ignored: Record<string, number>;
  readonly districts: number;
  readonly districtSource: 'boundaries' | 'place-nodes' | 'grid';
  readonly cohorts: number;
  readonly population: number;
}

/** The city document an import writes: positions `[lon, lat]`, with its geography. */
export interface OsmCityDocument {
  name: string;
  version: 1;
  geography: Geography;
  assets: Array<{
    id: string;
    layer: string;
    kind: string;
    position: [number, number];
    district: string;
    baseLoad?: number;
    capacity?: number;
    source?: boolean;
    props?: Record<string, unknown>;
  }>;
  links: Array<{ from: string; to: string; kind: string }>;
  dependencies: Array<{ from: string; to: string; kind: string; strength: number; probability: number; latency: number }>;
  cohorts: Array<{ id: string; district: string; population: number; elderlyShare: number; reliesOn: string[]; position: [number, number] }>;
}

type Doc = OsmCityDocument;
type DocAsset = Doc['assets'][number];

/** An asset under construction, in local metres. */
interface Site {
  readonly id: string;
  readonly layer: string;
  readonly kind: string;
  readonly x: number;
  readonly y: number;
  baseLoad: number;
  source?: boolean;
  props?: Record<string, unknown>;
}

/** Reads an OSM file and imports it. @throws ValidationError naming the file. */
export function importOsmFile(path: string, options: Omit<ImportOptions, 'source'> = {}): OsmCityDocument {
  return importOsm(readOsmFile(path), { ...options, source: path.split('/').pop() ?? path }).document;
}

export function importOsm(data: OsmData, options: ImportOptions): { document: OsmCityDocument; report: ImportReport } {
  const synth = options.synthesize ?? new Set(SYNTH_LAYERS);
  if (data.nodeIds.length === 0) throw new ValidationError(options.source, [{ path: '$', reason: 'the extract has no nodes' }]);

  // ---- frame: origin at the centre of the header box (else of the nodes) ----
  const box = data.headerBbox ?? extentOf(data.lon, data.lat);
  const origin: [number, number] = [round7((box[0] + box[2]) / 2), round7((box[1] + box[3]) / 2)];
  const project = lonLatProjector(origin);
  const kx = Math.cos((origin[1] * Math.PI) / 180) * METRES_PER_DEGREE;
  const unproject = (x: number, y: number): [number, number] => [round7(origin[0] + x / kx), round7(origin[1] + y / METRES_PER_DEGREE)];
  const nx = new Float64Array(data.nodeIds.length);
  const ny = new Float64Array(data.nodeIds.length);
  for (let i = 0; i < nx.length; i++) [nx[i], ny[i]] = project(data.lon[i]!, data.lat[i]!);
  const [bx0, by0] = project(box[0], box[1]);
  const [bx1, by1] = project(box[2], box[3]);
  const frame: [number, number, number, number] = [bx0, by0, bx1, by1];
  /** Node ids → flattened x, y (metres); null when a node is missing from the extract. */
  const pathOf = (refs: readonly number[]): number[] | null => {
    const out: number[] = [];
    for (const ref of refs) {
      const i = data.nodeIndex.get(ref);
      if (i === undefined) return null;
      out.push(nx[i]!, ny[i]!);
    }
    return out;
  };
  const lonLatOf = (refs: readonly number[]): number[] => {
    const out: number[] = [];
    for (const ref of refs) {
      const i = data.nodeIndex.get(ref)!;
      out.push(round7(data.lon[i]!), round7(data.lat[i]!));
    }
    return out;
  };

  const doc: Doc = {
    name: options.name ?? `osm-${options.source.replace(/\.osm(\.pbf)?$|\.pbf$/i, '')}`,
    version: 1,
    geography: { origin, attribution: RULES.attribution, licence: RULES.licence, source: options.source, buildings: [], streets: [], districts: [] },
    assets: [],
    links: [],
    dependencies: [],
    cohorts: [],
  };
  const tagged: Record<string, number> = {};
  const synthesised: Record<string, number> = {};
  const ignored: Record<string, number> = {};
  const bump = (counts: Record<string, number>, key: string, by = 1): void => {
    counts[key] = (counts[key] ?? 0) + by;
  };

  // ---- 1. districts ----
  const wayById = new Map(data.ways.map((w) => [w.id, w] as const));
  const boundaries = closedBoundaries(data, wayById, pathOf);
  const seeds: Array<{ name: string; x: number; y: number }> = [];
  for (const [id, tags] of data.nodeTags) {
    if (!MAPPING.districtPlaces.has(tags['place'] ?? '') || tags['name'] === undefined) continue;
    if (seeds.some((s) => s.name === tags['name'])) continue;
    const i = data.nodeIndex.get(id)!;
    seeds.push({ name: tags['name'], x: nx[i]!, y: ny[i]! });
  }
  seeds.sort((a, b) => a.name.localeCompare(b.name));
  const districtSource: ImportReport['districtSource'] = boundaries.length >= 2 ? 'boundaries' : seeds.length >= 2 ? 'place-nodes' : 'grid';
  const districtAreas: DistrictArea[] = [];
  let districtOf: (x: number, y: number) => string;
  if (districtSource === 'boundaries') {
    const ids = boundaries.map((b) => slug(b.name));
    const centres = boundaries.map((b) => vertexMean(b.ring));
    const centreIndex = new NearestIndex(
      centres.map((c) => c[0]),
      centres.map((c) => c[1]),
      500,
    );
    // Inside a boundary: that district (the first by name where they overlap); outside all: the nearest centre's.
    districtOf = (x, y) => {
      const inside = boundaries.findIndex((b) => pointInRing(b.ring, x, y));
      return ids[inside >= 0 ? inside : centreIndex.nearest(x, y)]!;
    };
    boundaries.forEach((b, i) => districtAreas.push({ id: ids[i]!, name: b.name, ring: unprojectFlat(b.ring, unproject) }));
  } else if (districtSource === 'place-nodes') {
    const ids = seeds.map((s) => slug(s.name));
    const seedIndex = new NearestIndex(
      seeds.map((s) => s.x),
      seeds.map((s) => s.y),
      500,
    );
    districtOf = (x, y) => ids[seedIndex.nearest(x, y)]!;
    seeds.forEach((s, i) => {
      const cell = voronoiCell(
        seeds.map((t) => [t.x, t.y] as const),
        i,
        frame,
      );
      districtAreas.push({ id: ids[i]!, name: s.name, ring: unprojectFlat(cell, unproject) });
    });
  } else {
    const g = RULES.districtGridMetres;
    districtOf = (x, y) => `grid-${Math.floor((x - frame[0]) / g)}-${Math.floor((y - frame[1]) / g)}`;
    for (let gx = 0; frame[0] + gx * g < frame[2]; gx++) {
      for (let gy = 0; frame[1] + gy * g < frame[3]; gy++) {
        const x0 = frame[0] + gx * g;
        const y0 = frame[1] + gy * g;
        const ring = [x0, y0, Math.min(frame[2], x0 + g), y0, Math.min(frame[2], x0 + g), Math.min(frame[3], y0 + g), x0, Math.min(frame[3], y0 + g)];
        districtAreas.push({ id: `grid-${gx}-${gy}`, name: `grid ${gx},${gy}`, ring: unprojectFlat(ring, unproject) });
      }
    }
  }

  const sites: Site[] = [];
  const siteIds = new Set<string>();
  /** Site → its number (a cheap key for links; ids are strings). */
  const siteNumber = new Map<Site, number>();
  const addSite = (site: Site): Site => {
    let id = site.id;
    for (let k = 2; siteIds.has(id); k++) id = `${site.id}-${k}`;
    const placed = id === site.id ? site : { ...site, id };
    siteIds.add(id);
    siteNumber.set(placed, sites.length);
    sites.push(placed);
    return placed;
  };
  const linked = new Set<number>();
  const link = (a: Site, b: Site, kind: string): void => {
    const na = siteNumber.get(a)!;
    const nb = siteNumber.get(b)!;
    const key = na < nb ? na * 16_777_216 + nb : nb * 16_777_216 + na;
    if (a === b || linked.has(key)) return;
    linked.add(key);
    doc.links.push({ from: a.id, to: b.id, kind });
  };
  const depended = new Set<string>();
  const depend = (provider: Site | undefined, dependent: Site, kind: string, strength: number, latency = 0, probability = 1): void => {
    if (provider === undefined || provider === dependent || depended.has(`${provider.id} ${dependent.id}`)) return;
    depended.add(`${provider.id} ${dependent.id}`);
    doc.dependencies.push({ from: provider.id, to: dependent.id, kind, strength, probability, latency });
  };

  // ---- 2. transport ----
  // Node ids are 64-bit-ish numbers (slow Map keys): the transport pass works on node indices.
  const isSignal = new Uint8Array(data.nodeIds.length);
  for (const [id, tags] of data.nodeTags) if (tags['highway'] === 'traffic_signals') isSignal[data.nodeIndex.get(id)!] = 1;
  // A way the extract's edge cut keeps its runs of nodes inside the extract, each a way of its own.
  const transportWays = data.ways
    .filter((w) => transportClass(w.tags) !== null)
    .flatMap((w) => presentRuns(w.refs, data.nodeIndex).map((nodes) => ({ way: w, nodes })));
  const uses = new Int32Array(data.nodeIds.length);
  for (const { nodes } of transportWays) {
    // A closed way's first and last node are one node, counted once.
    const end = nodes[nodes.length - 1] === nodes[0] ? nodes.length - 1 : nodes.length;
    for (let k = 0; k < end; k++) uses[nodes[k]!]! += 1;
  }
  const segments: Site[] = [];
  const atNode = new Map<number, Site[]>();
  const trackWays: Record<string, number> = {};
  let highwayWays = 0;
  const signalSegments: Site[] = [];
  const streets: Street[] = [];
  const countedWays = new Set<number>();
  const pieces = new Map<number, number>();
  const tramSegments: Site[] = [];
  for (const { way: w, nodes } of transportWays) {
    const cls = transportClass(w.tags)!;
    const path: number[] = [];
    const lonLat: number[] = [];
    for (const i of nodes) {
      path.push(nx[i]!, ny[i]!);
      lonLat.push(round7(data.lon[i]!), round7(data.lat[i]!));
    }
    if (!countedWays.has(w.id)) {
      countedWays.add(w.id);
      if (w.tags['highway'] !== undefined) highwayWays++;
      else bump(trackWays, cls.osmClass);
    }
    streets.push({ class: cls.osmClass, path: lonLat });
    let start = 0;
    let piece = pieces.get(w.id) ?? 0;
    for (let k = 1; k < nodes.length; k++) {
      const last = k === nodes.length - 1;
      if (!last && uses[nodes[k]!]! < 2) continue;
      const [x, y] = midpointAlong(path.slice(2 * start, 2 * k + 2));
      const props: Record<string, unknown> = { osm: `way/${w.id}`, class: cls.osmClass };
      if (w.tags['name'] !== undefined) props['name'] = w.tags['name'];
      const seg = addSite({ id: `tr-w${w.id}-${piece++}`, layer: 'transport', kind: cls.kind, x, y, baseLoad: 0, props });
      segments.push(seg);
      if (cls.kind === 'tram-track') tramSegments.push(seg);
      for (const end of [nodes[start]!, nodes[k]!]) {
        const list = atNode.get(end);
        if (list === undefined) atNode.set(end, [seg]);
        else list.push(seg);
      }
      for (let j = start; j <= k; j++) {
        if (isSignal[nodes[j]!] === 1) {
          signalSegments.push(seg);
          break;
        }
      }
      start = k;
    }
    pieces.set(w.id, piece);
  }
  const junctionPairs: Array<[Site, Site]> = [];
  for (const list of atNode.values()) {
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        link(list[a]!, list[b]!, 'junction');
        junctionPairs.push([list[a]!, list[b]!]);
      }
    }
  }
  const connectors = stitchComponents(segments, junctionPairs, link);

  // Street junctions (nodes two or more transport ways share): where synthesised equipment is placed.
  const junctionXs: number[] = [];
  const junctionYs: number[] = [];
  uses.forEach((n, i) => {
    if (n < 2) return;
    junctionXs.push(nx[i]!);
    junctionYs.push(ny[i]!);
  });
  const junctions = new NearestIndex(junctionXs, junctionYs, 100);
  const atJunction = (x: number, y: number): [number, number] => {
    const j = junctions.nearest(x, y);
    return j < 0 ? [x, y] : [junctionXs[j]!, junctionYs[j]!];
  };

  // ---- 3. buildings ----
  interface Footprint {
    ring: number[];
    lonLat: number[];
    x: number;
    y: number;
    floorArea: number;
    footprint: number;
    residents: number;
    height: number;
    cohort?: string;
  }
  const footprints: Footprint[] = [];
  let buildingObjects = 0;
  const addFootprint = (refs: number[], tags: Record<string, string>): boolean => {
    const ring = pathOf(refs);
    if (ring === null || refs.length < 3) {
      bump(ignored, 'building with nodes outside the extract');
      return false;
    }
    const levels = positiveNumber(tags['building:levels']) ?? (positiveNumber(tags['height']) !== undefined ? Math.max(1, Math.round(positiveNumber(tags['height'])! / RULES.metresPerLevel)) : RULES.defaultLevels);
    const height = positiveNumber(tags['height']) ?? levels * RULES.metresPerLevel;
    const footprint = ringArea(ring);
    const floorArea = footprint * levels;
    const residential = MAPPING.residentialBuildings.has(tags['building'] ?? '');
    const [x, y] = vertexMean(ring);
    footprints.push({ ring, lonLat: lonLatOf(refs), x, y, floorArea, footprint, residents: residential ? floorArea / RULES.floorAreaPerResident : 0, height: round1(height) });
    return true;
  };
  for (const w of data.ways) {
    if (!isBuilding(w.tags)) continue;
    if (w.refs.length < 4 || w.refs[0] !== w.refs[w.refs.length - 1]) {
      bump(ignored, 'building way that is not closed');
      continue;
    }
    if (addFootprint(w.refs.slice(0, -1), w.tags)) buildingObjects++;
  }
  for (const r of data.relations) {
    if (!isBuilding(r.tags) || r.tags['type'] !== 'multipolygon') continue;
    const memberWays = r.members.filter((m) => m.type === 'way');
    // Like libosmium, a multipolygon with a member way (or node) outside the extract is skipped.
    if (memberWays.some((m) => wayById.get(m.ref)?.refs.every((ref) => data.nodeIndex.has(ref)) !== true)) {
      bump(ignored, 'building relation with members outside the extract');
      continue;
    }
    const outers = memberWays.filter((m) => m.role === 'outer' || m.role === '').map((m) => wayById.get(m.ref)!.refs);
    const rings = joinRings(outers);
    if (rings.length === 0) bump(ignored, 'building relation whose outer ring is not in the extract');
    if (rings.length > 0) buildingObjects++;
    // Outer rings that touch stay separate footprints (libosmium would merge their shared edges).
    for (const ring of rings) addFootprint(ring, r.tags);
  }

  // Parks, grass and water: closed ways, drawn on the ground.
  const areas: LandArea[] = [];
  const matches = (table: Record<string, string[]>, tags: Record<string, string>): boolean => Object.entries(table).some(([k, values]) => tags[k] !== undefined && values.includes(tags[k]));
  for (const w of data.ways) {
    if (w.refs.length < 4 || w.refs[0] !== w.refs[w.refs.length - 1] || !w.refs.every((ref) => data.nodeIndex.has(ref))) continue;
    const cls = matches(MAPPING.waterAreas, w.tags) ? 'water' : matches(MAPPING.greenAreas, w.tags) ? 'green' : null;
    if (cls !== null) areas.push({ class: cls, ring: lonLatOf(w.refs.slice(0, -1)) });
  }

  // ---- 4. tagged infrastructure ----
  const byKind = new Map<string, Site[]>();
  const kindList = (kind: string): Site[] => {
    let list = byKind.get(kind);
    if (list === undefined) byKind.set(kind, (list = []));
    return list;
  };
  /** Maps one tagged element (placed at x, y) to an asset when a rule matches; geometry is computed only then. */
  const addInfrastructure = (osm: string, tags: Record<string, string>, place: () => [number, number] | null): void => {
    if (!MAPPING.infrastructureKeys.some((k) => tags[k] !== undefined)) return;
    const mapped = infrastructureKind(tags);
    if (mapped === null) {
      if (tags['man_made'] === 'pipeline') bump(ignored, `pipeline of ${tags['substance'] ?? tags['type'] ?? 'unknown substance'} (no layer)`);
      return;
    }
    const at = place();
    if (at === null) return;
    const props: Record<string, unknown> = { osm };
    if (tags['name'] !== undefined) props['name'] = tags['name'];
    if (tags['voltage'] !== undefined) props['voltage'] = tags['voltage'];
    const site = addSite({ id: `${mapped.prefix}-${osm[0]}${osm.split('/')[1]}`, layer: mapped.layer, kind: mapped.kind, x: at[0], y: at[1], baseLoad: 0, ...(mapped.source ? { source: true } : {}), props });
    kindList(site.kind).push(site);
    bump(tagged, site.kind);
  };
  for (const [id, tags] of data.nodeTags) {
    const i = data.nodeIndex.get(id)!;
    addInfrastructure(`node/${id}`, tags, () => [nx[i]!, ny[i]!]);
  }
  for (const w of data.ways) {
    addInfrastructure(`way/${w.id}`, w.tags, () => {
      const path = pathOf(w.refs);
      if (path === null || path.length < 2) return null;
      return w.refs[0] === w.refs[w.refs.length - 1] && path.length > 2 ? vertexMean(path.slice(0, -2)) : midpointAlong(path);
    });
  }
  for (const r of data.relations) {
    addInfrastructure(`relation/${r.id}`, r.tags, () => {
      const points: number[] = [];
      for (const m of r.members) {
        if (m.type !== 'way' || (m.role !== 'outer' && m.role !== '')) continue;
        points.push(...(pathOf(wayById.get(m.ref)?.refs ?? []) ?? []));
      }
      return points.length >= 2 ? vertexMean(points) : null;
    });
  }

  // ---- 5. synthesis on the built-up area ----
  const built = footprints.length > 0 ? footprints : segments.map((s) => ({ x: s.x, y: s.y, floorArea: 1, residents: 0 }));
  const extent = extentOf(
    built.map((b) => b.x),
    built.map((b) => b.y),
  );
  const at = (fx: number, fy: number): [number, number] => atJunction(extent[0] + fx * (extent[2] - extent[0]), extent[1] + fy * (extent[3] - extent[1]));
  /** Cells of `size` metres that hold buildings: weighted centre and floor area. */
  const cellsOf = (size: number): Array<{ x: number; y: number; floorArea: number }> => {
    const cells = new Map<string, { sx: number; sy: number; w: number }>();
    for (const b of built) {
      const key = `${Math.floor(b.x / size)},${Math.floor(b.y / size)}`;
      const c = cells.get(key) ?? { sx: 0, sy: 0, w: 0 };
      const w = Math.max(b.floorArea, 1);
      c.sx += b.x * w;
      c.sy += b.y * w;
      c.w += w;
      cells.set(key, c);
    }
    return [...cells.keys()].sort().map((key) => {
      const c = cells.get(key)!;
      return { x: c.sx / c.w, y: c.sy / c.w, floorArea: c.w };
    });
  };
  const make = (id: string, layer: string, kind: string, [x, y]: [number, number], source = false, role?: string): Site => {
    const site = addSite({ id, layer, kind, x, y, baseLoad: 0, ...(source ? { source: true } : {}), props: { synthesised: true, ...(role === undefined ? {} : { role }) } });
    kindList(kind).push(site);
    bump(synthesised, kind);
    return site;
  };
  const nearestOf = (list: readonly Site[], x: number, y: number, except?: Site): Site | undefined => {
    let best: Site | undefined;
    let bestD = Infinity;
    for (const s of list) {
      const d = (s.x - x) ** 2 + (s.y - y) ** 2;
      if (s !== except && d < bestD) {
        bestD = d;
        best = s;
      }
    }
    return best;
  };
  const twoNearest = (list: readonly Site[], x: number, y: number): Site[] => {
    const first = nearestOf(list, x, y);
    const second = first === undefined ? undefined : nearestOf(list, x, y, first);
    return [first, second].filter((s): s is Site => s !== undefined);
  };
  const kinds = (...names: string[]): Site[] => names.flatMap((n) => byKind.get(n) ?? []);

  if (synth.has('power')) {
    const tx = kinds('transmission-substation');
    for (let k = tx.length; k < 2; k++) {
      const infeed = make(`pw-infeed-${k}`, 'power', 'generator', at(k === 0 ? 0 : 1, 0.5), true, '110 kV grid infeed: the regional grid outside the extract');
      const sub = make(`pw-tx-${k}`, 'power', 'transmission-substation', at(k === 0 ? 0.3 : 0.7, 0.5));
      link(infeed, sub, 'transmission-line');
    }
    const txs = kinds('transmission-substation');
    for (let k = 1; k < txs.length; k++) link(txs[k - 1]!, txs[k]!, 'transmission-line');
    const osmDx = kinds('distribution-substation');
    cellsOf(RULES.powerCells.distributionMetres).forEach((cell, k) => {
      const near = nearestOf(osmDx, cell.x, cell.y);
      if (near !== undefined && Math.hypot(near.x - cell.x, near.y - cell.y) < RULES.powerCells.distributionMetres / 2) return;
      make(`pw-dx-${k}`, 'power', 'distribution-substation', atJunction(cell.x, cell.y));
    });
    const dxs = kinds('distribution-substation');
    for (const d of dxs) for (const t of twoNearest(txs, d.x, d.y)) link(t, d, 'subtransmission-line');
    const feeders: Site[] = [];
    cellsOf(RULES.powerCells.feederMetres).forEach((cell, k) => {
      const f = make(`pw-fd-${k}`, 'power', 'feeder', atJunction(cell.x, cell.y));
      feeders.push(f);
      link(nearestOf(dxs, f.x, f.y)!, f, 'feeder-line');
    });
    // Normally-closed ties to the nearest feeder of another substation: the meshed city network.
    for (const f of feeders) {
      const home = nearestOf(dxs, f.x, f.y);
      const other = nearestOf(
        feeders.filter((g) => nearestOf(dxs, g.x, g.y) !== home),
        f.x,
        f.y,
      );
      if (other !== undefined && Math.hypot(other.x - f.x, other.y - f.y) < RULES.powerCells.feederMetres * 2) link(f, other, 'tie-switch');
    }
  }
  const feeders = kinds('feeder');
  for (const s of kinds('pole', 'power-tower', 'cabinet', 'transformer', 'line', 'distribution-substation')) {
    const grid = s.kind === 'distribution-substation' ? kinds('transmission-substation') : feeders;
    if (s.kind === 'distribution-substation' && s.props?.['synthesised'] === true) continue;
    for (const g of s.kind === 'line' ? twoNearest(grid, s.x, s.y) : grid.length > 0 ? [nearestOf(grid, s.x, s.y)!] : []) link(g, s, s.kind === 'line' ? 'line' : 'service');
  }

  if (synth.has('telecom')) {
    const cores = [make('tc-core-0', 'telecom', 'core-router', at(0.4, 0.6), true), make('tc-core-1', 'telecom', 'core-router', at(0.6, 0.4), true)];
    link(cores[0]!, cores[1]!, 'fibre');
    const aggs = cellsOf(RULES.telecomCells.aggregationMetres).map((cell, k) => {
      const a = make(`tc-agg-${k}`, 'telecom', 'aggregation-switch', atJunction(cell.x, cell.y));
      for (const c of cores) link(c, a, 'fibre');
      return a;
    });
    const osmTowers = kinds('tower');
    cellsOf(RULES.telecomCells.towerMetres).forEach((cell, k) => {
      const near = nearestOf(osmTowers, cell.x, cell.y);
      if (near !== undefined && Math.hypot(near.x - cell.x, near.y - cell.y) < RULES.telecomCells.towerMetres / 2) return;
      make(`tc-tw-${k}`, 'telecom', 'tower', atJunction(cell.x, cell.y));
    });
    const scada = make('tc-scada-0', 'telecom', 'scada-centre', at(0.5, 0.5));
    for (const a of twoNearest(aggs, scada.x, scada.y)) link(a, scada, 'fibre');
    for (const t of kinds('tower', 'exchange', 'data-centre')) {
      if (t.kind === 'data-centre') continue;
      const a = nearestOf(aggs, t.x, t.y);
      if (a !== undefined) link(a, t, 'backhaul');
    }
    for (const d of kinds('data-centre')) for (const c of cores) link(c, d, 'fibre');
  }

  if (synth.has('water')) {
    const plants = kinds('treatment-plant', 'reservoir');
    const plant = plants[0] ?? make('wt-plant-0', 'water', 'treatment-plant', at(0.5, 1), true, 'trunk main from the treatment works outside the extract');
    const pumps = kinds('pumping-station');
    if (pumps.length < 2) for (let k = pumps.length; k < 2; k++) pumps.push(make(`wt-ps-${k}`, 'water', 'pumping-station', at(k === 0 ? 0.35 : 0.65, k === 0 ? 0.35 : 0.65)));
    for (const p of pumps) link(plant, p, 'trunk-main');
    for (let k = 1; k < pumps.length; k++) link(pumps[k - 1]!, pumps[k]!, 'trunk-main');
    const mains = cellsOf(RULES.waterCells.mainMetres).map((cell, k) => make(`wt-mn-${k}`, 'water', 'main', atJunction(cell.x, cell.y)));
    for (const m of mains) {
      link(nearestOf(pumps, m.x, m.y)!, m, 'main');
      const other = nearestOf(mains, m.x, m.y, m);
      if (other !== undefined) link(m, other, 'main');
    }
    for (const t of kinds('water-tower')) link(nearestOf(mains, t.x, t.y)!, t, 'main');
  }
  const mains = kinds('main');
  const synthMains = mains.filter((m) => m.props?.['synthesised'] === true);
  for (const m of mains) if (m.props?.['synthesised'] !== true) for (const g of twoNearest(synthMains, m.x, m.y)) link(g, m, 'main');
  for (const h of kinds('hydrant')) {
    const m = nearestOf(mains, h.x, h.y);
    if (m !== undefined) link(m, h, 'service-pipe');
  }

  // ---- 6. dependencies (nearest provider) ----
  const txs = kinds('transmission-substation');
  const dxs = kinds('distribution-substation');
  const towers = kinds('tower');
  const scadas = kinds('scada-centre');
  const hospitals = kinds('hospital');
  if (hospitals.length === 0 && synth.size > 0) {
    hospitals.push(make('em-hospital-0', 'emergency', 'hospital', at(0.1, 0.9), false, 'stand-in for the nearest hospital, outside the extract'));
  }
  for (const c of kinds('core-router', 'scada-centre')) depend(nearestOf(txs, c.x, c.y), c, 'power', 0.5);
  for (const t of kinds('tower', 'exchange', 'aggregation-switch')) depend(nearestOf(feeders, t.x, t.y), t, 'power', 1, RULES.towerBatterySeconds);
  for (const d of kinds('data-centre')) depend(nearestOf(txs, d.x, d.y), d, 'power', 0.5);
  for (const s of [...txs, ...dxs]) depend(nearestOf(scadas, s.x, s.y), s, 'scada', 0.3, 30, 0.8);
  for (const p of kinds('pumping-station')) depend(nearestOf(dxs, p.x, p.y), p, 'power', 1);
  for (const p of kinds('treatment-plant')) {
    depend(nearestOf(txs, p.x, p.y), p, 'power', 1);
    depend(nearestOf(scadas, p.x, p.y), p, 'scada', 0.3, 30, 0.8);
  }
  const roadSegments = segments.filter((s) => s.kind === 'road');
  const roadIndex = new NearestIndex(
    roadSegments.map((s) => s.x),
    roadSegments.map((s) => s.y),
    100,
  );
  for (const e of kinds('hospital', 'fire-station', 'police-station')) {
    depend(nearestOf(feeders, e.x, e.y), e, 'power', e.kind === 'hospital' ? 0.6 : 1);
    depend(nearestOf(mains, e.x, e.y), e, 'water', 0.5, 1800);
    depend(nearestOf(towers, e.x, e.y), e, 'telecom', 0.4);
    const r = roadIndex.nearest(e.x, e.y);
    if (r >= 0) depend(roadSegments[r], e, 'road-access', 0.7);
  }
  for (const t of tramSegments) depend(nearestOf(dxs, t.x, t.y), t, 'traction-power', 1);
  for (const s of signalSegments) depend(nearestOf(feeders, s.x, s.y), s, 'signals', 0.2);

  // ---- cohorts: per district and feeder area (else per feeder-sized cell) ----
  const groups = new Map<string, { district: string; feeder: Site | undefined; members: Footprint[] }>();
  for (const fp of footprints) {
    const district = districtOf(fp.x, fp.y);
    const feeder = nearestOf(feeders, fp.x, fp.y);
    const area = feeder?.id ?? `${Math.floor(fp.x / RULES.powerCells.feederMetres)}_${Math.floor(fp.y / RULES.powerCells.feederMetres)}`;
    const key = `${district}|${area}`;
    const g = groups.get(key) ?? { district, feeder, members: [] };
    g.members.push(fp);
    groups.set(key, g);
  }
  let population = 0;
  const mainsServed = new Map<Site, number>();
  const feederLoad = new Map<Site, number>();
  [...groups.keys()].sort().forEach((key, k) => {
    const g = groups.get(key)!;
    const id = `co-${g.district}-${k}`;
    const residents = Math.round(g.members.reduce((s, m) => s + m.residents, 0));
    const floorArea = g.members.reduce((s, m) => s + m.floorArea, 0);
    population += residents;
    const [x, y] = vertexMean(g.members.flatMap((m) => [m.x, m.y]));
    const main = nearestOf(mains, x, y);
    const reliesOn = [g.feeder, main, nearestOf(towers, x, y), nearestOf(hospitals, x, y)].filter((s): s is Site => s !== undefined).map((s) => s.id);
    for (const m of g.members) m.cohort = id;
    if (g.feeder !== undefined) feederLoad.set(g.feeder, (feederLoad.get(g.feeder) ?? 0) + (floorArea * RULES.wattsPerSquareMetre) / 1e6);
    if (main !== undefined) mainsServed.set(main, (mainsServed.get(main) ?? 0) + (residents * RULES.litresPerResidentDay) / 86_400);
    doc.cohorts.push({ id, district: g.district, population: residents, elderlyShare: RULES.elderlyShare, reliesOn: [...new Set(reliesOn)], position: unproject(x, y) });
  });

  // ---- loads: feeders carry their buildings, substations their feeders; capacity = load × margin ----
  for (const [f, load] of feederLoad) f.baseLoad = load;
  for (const f of feeders) f.baseLoad = Math.max(f.baseLoad, RULES.minimumFeederMw);
  const sumChildren = (parents: readonly Site[], children: readonly Site[]): void => {
    for (const c of children) {
      const p = nearestOf(parents, c.x, c.y);
      if (p !== undefined) p.baseLoad += c.baseLoad;
    }
  };
  sumChildren(dxs, feeders);
  sumChildren(txs, dxs);
  for (const [m, load] of mainsServed) m.baseLoad = load;
  sumChildren(kinds('pumping-station'), mains);

  // ---- document ----
  for (const s of sites) {
    const asset: DocAsset = { id: s.id, layer: s.layer, kind: s.kind, position: unproject(s.x, s.y), district: districtOf(s.x, s.y) };
    if (s.baseLoad > 0) {
      asset.baseLoad = round3(s.baseLoad);
      asset.capacity = round3(s.baseLoad * RULES.capacityMargin);
    } else if (s.source === true) {
      asset.baseLoad = 0;
    }
    if (s.source === true) asset.source = true;
    if (s.props !== undefined) asset.props = s.props;
    doc.assets.push(asset);
  }
  const buildings: Building[] = footprints.map((f) => ({ ring: f.lonLat, height: f.height, ...(f.cohort === undefined ? {} : { cohort: f.cohort }) }));
  const usedDistricts = new Set([...doc.assets.map((a) => a.district), ...doc.cohorts.map((c) => c.district)]);
  doc.geography = { ...doc.geography, buildings, streets, areas, districts: districtAreas.filter((d) => usedDistricts.has(d.id)) };
  if (doc.assets.length === 0) throw new ValidationError(options.source, [{ path: '$', reason: 'the extract maps nothing the importer uses (no streets, buildings or infrastructure)' }]);

  return {
    document: doc,
    report: {
      osm: { nodes: data.nodeIds.length, ways: data.ways.length, relations: data.relations.length },
      buildings: buildingObjects,
      footprints: footprints.length,
      buildingFootprintM2: Math.round(footprints.reduce((sum, f) => sum + f.footprint, 0) * 10) / 10,
      highwayWays,
      trackWays,
      streetSegments: segments.length,
      connectors,
      tagged,
      synthesised,
      ignored,
      districts: doc.geography.districts.length,
      districtSource,
      cohorts: doc.cohorts.length,
      population,
    },
  };
}

/**
 * Joins every other component of the street graph to the main (largest) one: a link from the
 * component's piece nearest a piece of the main one. The extract's edge cuts streets whose other ends lie outside it.
 */
function stitchComponents(segments: readonly Site[], links: ReadonlyArray<readonly [Site, Site]>, link: (a: Site, b: Site, kind: string) => void): number {
  if (segments.length === 0) return 0;
  const index = new Map(segments.map((s, i) => [s, i] as const));
  const parent = segments.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const [from, to] of links) parent[find(index.get(from)!)] = find(index.get(to)!);
  const members = new Map<number, number[]>();
  segments.forEach((_, i) => {
    const root = find(i);
    const list = members.get(root) ?? [];
    list.push(i);
    members.set(root, list);
  });
  const components = [...members.values()].sort((a, b) => b.length - a.length || a[0]! - b[0]!);
  const main = components[0]!;
  const mainIndex = new NearestIndex(
    main.map((i) => segments[i]!.x),
    main.map((i) => segments[i]!.y),
    100,
  );
  let connectors = 0;
  for (const component of components.slice(1)) {
    let best: [number, number] = [-1, -1];
    let bestD = Infinity;
    for (const i of component) {
      const j = main[mainIndex.nearest(segments[i]!.x, segments[i]!.y)]!;
      const d = Math.hypot(segments[j]!.x - segments[i]!.x, segments[j]!.y - segments[i]!.y);
      if (d < bestD) {
        bestD = d;
        best = [i, j];
      }
    }
    link(segments[best[0]]!, segments[best[1]]!, 'connector');
    connectors++;
  }
  return connectors;
}

/**
 * Named administrative boundaries (`boundary=administrative`, `admin_level` 9–11: city districts and
 * quarters) whose outer rings close inside the extract, at the finest level that has at least two.
 * An extract cut from a bigger map usually cuts them (Helsinki's: none closes); then none is used.
 */
function closedBoundaries(data: OsmData, wayById: ReadonlyMap<number, OsmWay>, pathOf: (refs: readonly number[]) => number[] | null): Array<{ name: string; ring: number[] }> {
  const byLevel = new Map<number, Array<{ name: string; ring: number[] }>>();
  for (const r of data.relations) {
    const level = Number(r.tags['admin_level']);
    if (r.tags['boundary'] !== 'administrative' || !(level >= 9 && level <= 11) || r.tags['name'] === undefined) continue;
    const outers = r.members.filter((m) => m.type === 'way' && (m.role === 'outer' || m.role === ''));
    if (outers.some((m) => wayById.get(m.ref) === undefined)) continue;
    const rings = joinRings(outers.map((m) => wayById.get(m.ref)!.refs))
      .map((refs) => pathOf(refs))
      .filter((ring): ring is number[] => ring !== null);
    if (rings.length === 0) continue;
    const ring = rings.reduce((a, b) => (ringArea(b) > ringArea(a) ? b : a));
    const list = byLevel.get(level) ?? [];
    list.push({ name: r.tags['name'], ring });
    byLevel.set(level, list);
  }
  const levels = [...byLevel.keys()].sort((a, b) => b - a);
  const chosen = levels.map((l) => byLevel.get(l)!).find((list) => list.length >= 2) ?? [];
  return chosen.sort((a, b) => a.name.localeCompare(b.name));
}

/** Splits a node list into its runs of at least two nodes present in the extract, as node indices. */
function presentRuns(refs: readonly number[], present: ReadonlyMap<number, number>): Int32Array[] {
  const runs: Int32Array[] = [];
  let run: number[] = [];
  for (const ref of refs) {
    const i = present.get(ref);
    if (i !== undefined) run.push(i);
    else {
      if (run.length >= 2) runs.push(Int32Array.from(run));
      run = [];
    }
  }
  if (run.length >= 2) runs.push(Int32Array.from(run));
  return runs;
}

function transportClass(tags: Record<string, string>): { kind: string; osmClass: string } | null {
  const highway = tags['highway'];
  if (highway !== undefined) {
    if (MAPPING.skippedHighways.has(highway)) return null;
    return { kind: MAPPING.motorHighways.has(highway) ? 'road' : 'footway', osmClass: highway };
  }
  const railway = tags['railway'];
  if (railway !== undefined && MAPPING.tracks[railway] !== undefined) return { kind: MAPPING.tracks[railway], osmClass: railway };
  return null;
}

function isBuilding(tags: Record<string, string>): boolean {
  return tags['building'] !== undefined && tags['building'] !== 'no';
}

function infrastructureKind(tags: Record<string, string>): { layer: string; kind: string; prefix: string; source: boolean } | null {
  for (const rule of MAPPING.infrastructure) {
    if (rule.match(tags)) return { layer: rule.layer, kind: rule.kind(tags), prefix: rule.prefix, source: rule.source ?? false };
  }
  return null;
}

function positiveNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function extentOf(xs: ArrayLike<number>, ys: ArrayLike<number>): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    minX = Math.min(minX, xs[i]!);
    maxX = Math.max(maxX, xs[i]!);
    minY = Math.min(minY, ys[i]!);
    maxY = Math.max(maxY, ys[i]!);
  }
  return [minX, minY, maxX, maxY];
}

function unprojectFlat(xy: readonly number[], unproject: (x: number, y: number) => [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < xy.length; i += 2) out.push(...unproject(xy[i]!, xy[i + 1]!));
  return out;
}

function slug(name: string): string {
  return (
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'district'
  );
}

const round7 = (v: number): number => Math.round(v * 1e7) / 1e7;
const round3 = (v: number): number => Math.round(v * 1000) / 1000;
const round1 = (v: number): number => Math.round(v * 10) / 10;
