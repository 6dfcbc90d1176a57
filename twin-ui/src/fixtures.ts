/**
 * Test fixtures: wire topologies built from small hand-made graphs. Node and browser safe (no
 * engine import), so unit tests and the bench page can share them.
 */
import { PROTOCOL_VERSION, type Topology } from './model.ts';

export interface FixtureAsset {
  id: string;
  kind: string;
  layer: string;
  district: string;
  position: { x: number; y: number; z: number } | null;
}

export function topologyOf(spec: {
  name?: string;
  assets: FixtureAsset[];
  cohorts?: { id: string; district: string; population: number }[];
  links?: [string, string][];
  dependencies?: [string, string][];
  reliance?: [string, string][];
}): Topology & { reliance?: number[] } {
  const cohorts = spec.cohorts ?? [];
  const ids = [...spec.assets.map((a) => a.id), ...cohorts.map((c) => c.id)];
  const at = new Map(ids.map((id, i) => [id, i]));
  const ix = (id: string): number => {
    const i = at.get(id);
    if (i === undefined) throw new Error(`fixture: unknown id ${id}`);
    return i;
  };
  const intern = (list: string[], v: string): number => {
    const i = list.indexOf(v);
    if (i >= 0) return i;
    list.push(v);
    return list.length - 1;
  };
  const layers: string[] = [];
  const kinds: string[] = [];
  const districts: string[] = [];
  const positions: (number | null)[] = [];
  for (const a of spec.assets) positions.push(...(a.position ? [a.position.x, a.position.y, a.position.z] : [null, null, null]));
  for (let k = 0; k < cohorts.length; k++) positions.push(null, null, null);
  const t: Topology & { reliance?: number[] } = {
    protocol: PROTOCOL_VERSION,
    name: spec.name ?? 'fixture',
    cityHash: 'fixture',
    assetCount: spec.assets.length,
    cohortCount: cohorts.length,
    layers,
    districts,
    kinds,
    ids,
    kind: spec.assets.map((a) => intern(kinds, a.kind)),
    layer: spec.assets.map((a) => intern(layers, a.layer)),
    district: [...spec.assets.map((a) => intern(districts, a.district)), ...cohorts.map((c) => intern(districts, c.district))],
    positions,
    capacity: spec.assets.map(() => 100),
    source: spec.assets.map(() => 0),
    links: (spec.links ?? []).flatMap(([a, b]) => [ix(a), ix(b)]),
    dependencies: (spec.dependencies ?? []).flatMap(([a, b]) => [ix(a), ix(b)]),
    dependencyStrength: (spec.dependencies ?? []).map(() => 1),
    population: cohorts.map((c) => c.population),
  };
  if (spec.reliance) t.reliance = spec.reliance.flatMap(([c, a]) => [ix(c) - spec.assets.length, ix(a)]);
  return t;
}

/** A synthetic grid city of `n` assets over six layers, for the bench and the renderer's smoke tests. */
export function gridTopology(n: number): Topology {
  const layers = ['power', 'water', 'telecom', 'transport', 'emergency', 'social'];
  const kinds = ['distribution-substation', 'feeder', 'main', 'pumping-station', 'tower', 'road', 'hospital', 'shelter'];
  const kindLayer = [0, 0, 1, 1, 2, 3, 4, 5];
  const side = Math.ceil(Math.sqrt(n));
  const dSide = Math.max(1, Math.round(side / 12));
  const ids: string[] = [];
  const kind: number[] = [];
  const layer: number[] = [];
  const district: number[] = [];
  const positions: number[] = [];
  const links: number[] = [];
  const dependencies: number[] = [];
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < n; i++) {
    const k = i % 97 === 0 ? 6 : Math.floor(rnd() * 6) === 5 ? 7 : Math.floor(rnd() * 6);
    const gx = i % side;
    const gy = Math.floor(i / side);
    ids.push(`a${i}`);
    kind.push(k);
    layer.push(kindLayer[k]!);
    district.push(Math.floor(gy / (side / dSide)) * dSide + Math.floor(gx / (side / dSide)));
    positions.push(gx * 60 + rnd() * 20, gy * 60 + rnd() * 20, 0);
    if (gx > 0) links.push(i - 1, i);
    if (i > side && i % 3 === 0) dependencies.push(i - side - 1, i);
  }
  const districts = Array.from({ length: dSide * dSide }, (_, d) => `d${d}`);
  return {
    protocol: PROTOCOL_VERSION,
    name: `grid-${n}`,
    cityHash: 'grid',
    assetCount: n,
    cohortCount: 0,
    layers,
    districts,
    kinds,
    ids,
    kind,
    layer,
    district,
    positions,
    capacity: kind.map(() => 100),
    source: kind.map(() => 0),
    links,
    dependencies,
    dependencyStrength: dependencies.filter((_, i) => i % 2 === 0).map(() => 1),
    population: [],
  };
}
