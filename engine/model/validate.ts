import { readFileSync } from 'node:fs';
import { importOsmFile, isOsmPath } from '../places/index.ts';
import { z } from 'zod';
import { ValidationError, type Problem } from '../errors.ts';
import {
  DEFAULT_DISTRICT,
  DEFAULT_KIND,
  SOURCE_KINDS,
  defaultCapacity,
  repairSecondsFor,
} from './defaults.ts';
import { epanetCityDocument } from '../water/city.ts';
import { geographySchema, lonLatProjector } from './geography.ts';
import type { Asset, CityModel, Cohort, Dependency, Link, Position } from './types.ts';
import { checkElectricalReferences, electricalSchema, gridSchema, isPandapowerDocument, matpowerCityDocument, pandapowerCityDocument } from '../power/city-model.ts';

const id = z.string().min(1, 'must be a non-empty string').max(200, 'must be at most 200 characters');
const share = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const nonNegative = z.number().min(0, 'must be ≥ 0');
const finite = z.number().finite();

/** `{x, y, z?}` in metres, or `[lon, lat]` / `[x, y, z]`. */
const positionSchema = z.union([
  z.strictObject({ x: finite, y: finite, z: finite.optional() }),
  z.tuple([finite, finite]),
  z.tuple([finite, finite, finite]),
]);

const assetSchema = z.strictObject({
  id,
  layer: id,
  kind: id.optional(),
  position: positionSchema.optional(),
  district: id.optional(),
  capacity: z.union([nonNegative, z.null()]).optional(),
  baseLoad: nonNegative.optional(),
  source: z.boolean().optional(),
  repairTime: nonNegative.optional(),
  props: z.record(z.string(), z.unknown()).optional(),
  electrical: electricalSchema.optional(),
});

const linkSchema = z.strictObject({ from: id, to: id, kind: id.optional() });

const dependencySchema = z.strictObject({
  from: id,
  to: id,
  kind: id.optional(),
  strength: share.optional(),
  probability: share.optional(),
  latency: nonNegative.optional(),
});

const cohortSchema = z.strictObject({
  id,
  district: id,
  population: z.number().int('must be a whole number').min(0, 'must be ≥ 0'),
  elderlyShare: share.optional(),
  mobilityLimitedShare: share.optional(),
  riskAversion: share.optional(),
  compliance: share.optional(),
  reliesOn: z.array(id).optional(),
  position: positionSchema.optional(),
});

const citySchema = z.strictObject({
  name: z.string().optional(),
  version: z.literal(1).optional(),
  assets: z.array(assetSchema).min(1, 'a city needs at least one asset'),
  links: z.array(linkSchema).optional(),
  dependencies: z.array(dependencySchema).optional(),
  cohorts: z.array(cohortSchema).optional(),
  grid: gridSchema.optional(),
  geography: geographySchema.optional(),
  epanet: z
    .strictObject({
      inp: z.string().min(1, 'must be the text of an EPANET .inp file'),
      hydraulicStepSeconds: z.number().min(1).max(86_400).optional(),
      tankAlertHorizonSeconds: nonNegative.optional(),
      minSolveIntervalSeconds: z.number().min(0).max(86_400).optional(),
      minPressureM: finite.optional(),
      requiredPressureM: finite.optional(),
      pressureExponent: z.number().positive().max(10).optional(),
    })
    .refine((e) => (e.requiredPressureM ?? 20) > (e.minPressureM ?? 0), { message: 'requiredPressureM must be above minPressureM', path: ['requiredPressureM'] })
    .optional(),
});

type RawCity = z.infer<typeof citySchema>;
type RawPosition = z.infer<typeof positionSchema>;

/** Formats a zod path as a JSON path: `$.assets[3].capacity`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

/** Turns zod issues into our problems. */
export function zodProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path), reason: issue.message }));
}

type Projector = (lon: number, lat: number) => [number, number];

function toPosition(raw: RawPosition | undefined, project: Projector | null): Position | null {
  if (raw === undefined) return null;
  if (Array.isArray(raw) && project !== null) {
    const [x, y] = project(raw[0], raw[1]);
    return { x, y, z: raw[2] ?? 0 };
  }
  if (Array.isArray(raw)) return { x: raw[0], y: raw[1], z: raw[2] ?? 0 };
  return { x: raw.x, y: raw.y, z: raw.z ?? 0 };
}

/**
 * Validates a parsed city document and fills in the defaults. Checks form (types, ranges) and
 * references (duplicate ids, unknown ids, links that cross layers, self loops).
 *
 * @param source names the input in error messages, e.g. the file path.
 * @throws ValidationError listing every problem with its JSON path.
 * @example
 * const city = parseCity({ assets: [{ id: 'A1', layer: 'A' }] }, 'inline');
 */
export function parseCity(document: unknown, source: string): CityModel {
  const parsed = citySchema.safeParse(document);
  if (!parsed.success) {
    // Report the reference problems (dangling edges, duplicates) in the same breath: an analyst
    // fixing a file should not discover them one round later.
    const problems = zodProblems(parsed.error);
    const seen = new Set(problems.map((p) => `${p.path}\u0000${p.reason}`));
    for (const p of resolveReferences(salvage(document)).problems) if (!seen.has(`${p.path}\u0000${p.reason}`)) problems.push(p);
    throw new ValidationError(source, problems);
  }
  const { city, problems } = resolveReferences(parsed.data);
  if (problems.length > 0) throw new ValidationError(source, problems);
  return city;
}

/**
 * The parts of a document that failed the schema which still say something about references: every
 * asset with a string id (so a bad capacity does not make its edges "dangling"), every link,
 * dependency and reliance with string ends. Positions in the arrays are kept so paths stay true;
 * other fields are left out (the schema has reported them).
 */
function salvage(document: unknown): RawCity {
  const record = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const doc = record(document);
  const edge = (e: unknown): { from: string; to: string } => ({ from: text(record(e)['from']), to: text(record(e)['to']) });
  return {
    assets: list(doc['assets']).map((a) => ({ id: text(record(a)['id']), layer: text(record(a)['layer']) })),
    links: list(doc['links']).map(edge),
    dependencies: list(doc['dependencies']).map(edge),
    cohorts: list(doc['cohorts']).map((c) => ({
      id: text(record(c)['id']),
      district: '',
      population: 0,
      reliesOn: list(record(c)['reliesOn']).map(text),
    })),
  };
}

function resolveReferences(raw: RawCity): { city: CityModel; problems: Problem[] } {
  const problems: Problem[] = [];
  const layerOf = new Map<string, string>();
  // A city with a geography gives [lon, lat] positions: the simulation works in metres about its origin.
  const project = raw.geography === undefined ? null : lonLatProjector(raw.geography.origin);
  const assets: Asset[] = raw.assets.map((a, i) => {
    if (a.id === '') return undefined;
    if (layerOf.has(a.id)) problems.push({ path: `$.assets[${i}].id`, reason: `duplicate asset id "${a.id}"` });
    layerOf.set(a.id, a.layer);
    const kind = a.kind ?? DEFAULT_KIND;
    const baseLoad = a.baseLoad ?? 0;
    const capacity = a.capacity === undefined || a.capacity === null ? defaultCapacity(baseLoad) : a.capacity;
    if (capacity < baseLoad) {
      problems.push({ path: `$.assets[${i}].capacity`, reason: `capacity ${capacity} is below baseLoad ${baseLoad}` });
    }
    return {
      id: a.id,
      kind,
      layer: a.layer,
      position: toPosition(a.position, project),
      district: a.district ?? DEFAULT_DISTRICT,
      capacity,
      baseLoad,
      source: a.source ?? SOURCE_KINDS.has(kind),
      repairSeconds: a.repairTime ?? repairSecondsFor(kind),
      props: a.props ?? {},
      ...(a.electrical === undefined ? {} : { electrical: a.electrical }),
    };
  }).filter((a): a is Asset => a !== undefined);
  problems.push(...checkElectricalReferences(assets));

  const checkRef = (ref: string, path: string): boolean => {
    if (layerOf.has(ref)) return true;
    if (ref === '') return false; // not a string: the schema has said so
    problems.push({ path, reason: `unknown asset id "${ref}" (dangling edge)` });
    return false;
  };

  const seenLinks = new Set<string>();
  const links: Link[] = (raw.links ?? []).map((l, i) => {
    const fromOk = checkRef(l.from, `$.links[${i}].from`);
    const toOk = checkRef(l.to, `$.links[${i}].to`);
    if (l.from === l.to && l.from !== '') problems.push({ path: `$.links[${i}]`, reason: `self loop on "${l.from}"` });
    if (fromOk && toOk && layerOf.get(l.from) !== '' && layerOf.get(l.to) !== '' && layerOf.get(l.from) !== layerOf.get(l.to)) {
      problems.push({
        path: `$.links[${i}]`,
        reason: `links join assets of one layer; "${l.from}" is ${layerOf.get(l.from)}, "${l.to}" is ${layerOf.get(l.to)} (use a dependency across layers)`,
      });
    }
    const key = l.from < l.to ? `${l.from}\u0000${l.to}` : `${l.to}\u0000${l.from}`;
    if (seenLinks.has(key)) problems.push({ path: `$.links[${i}]`, reason: `duplicate link "${l.from}"–"${l.to}"` });
    seenLinks.add(key);
    return { from: l.from, to: l.to, kind: l.kind ?? 'link' };
  });

  const seenDeps = new Set<string>();
  const dependencies: Dependency[] = (raw.dependencies ?? []).map((d, i) => {
    checkRef(d.from, `$.dependencies[${i}].from`);
    checkRef(d.to, `$.dependencies[${i}].to`);
    if (d.from === d.to && d.from !== '') problems.push({ path: `$.dependencies[${i}]`, reason: `"${d.from}" cannot depend on itself` });
    const key = `${d.from}\u0000${d.to}`;
    if (seenDeps.has(key)) problems.push({ path: `$.dependencies[${i}]`, reason: `duplicate dependency "${d.from}" → "${d.to}"` });
    seenDeps.add(key);
    return {
      from: d.from,
      to: d.to,
      kind: d.kind ?? 'supply',
      strength: d.strength ?? 1,
      probability: d.probability ?? 1,
      latencySeconds: d.latency ?? 0,
    };
  });

  const cohortIds = new Set<string>();
  const cohorts: Cohort[] = (raw.cohorts ?? []).map((c, i) => {
    if (c.id !== '' && (cohortIds.has(c.id) || layerOf.has(c.id))) {
      problems.push({ path: `$.cohorts[${i}].id`, reason: `duplicate id "${c.id}" (cohort ids share one namespace with assets)` });
    }
    cohortIds.add(c.id);
    const reliesOn = c.reliesOn ?? [];
    reliesOn.forEach((ref, j) => checkRef(ref, `$.cohorts[${i}].reliesOn[${j}]`));
    const named = reliesOn.filter((r) => r !== '');
    if (new Set(named).size !== named.length) {
      problems.push({ path: `$.cohorts[${i}].reliesOn`, reason: 'lists an asset more than once' });
    }
    return {
      id: c.id,
      district: c.district,
      population: c.population,
      elderlyShare: c.elderlyShare ?? 0.15,
      mobilityLimitedShare: c.mobilityLimitedShare ?? 0.05,
      riskAversion: c.riskAversion ?? 0.5,
      compliance: c.compliance ?? 0.7,
      reliesOn,
      position: toPosition(c.position, project),
    };
  });

  raw.geography?.buildings.forEach((b, i) => {
    if (b.cohort !== undefined && !cohortIds.has(b.cohort)) problems.push({ path: `$.geography.buildings[${i}].cohort`, reason: `unknown cohort id "${b.cohort}"` });
  });
  const city: CityModel = {
    name: raw.name ?? 'city',
    assets,
    links,
    dependencies,
    cohorts,
    ...(raw.grid === undefined ? {} : { grid: raw.grid }),
    ...(raw.epanet === undefined ? {} : { epanet: raw.epanet as NonNullable<CityModel['epanet']> }),
  };
  return { city: raw.geography === undefined ? city : { ...city, geography: raw.geography }, problems };
}

/**
 * Reads and validates a city file (JSON, or a MATPOWER case `.m`: engine/power). GeoJSON FeatureCollections are accepted too: Point
 * features become assets (properties carry id, layer, kind, …), LineString features with `from`
 * and `to` properties become links.
 *
 * @throws ValidationError naming the file, the JSON path and the reason.
 */
export function loadCityFile(path: string): CityModel {
  if (isOsmPath(path)) return parseCity(importOsmFile(path), path); // OpenStreetMap: a real place
  if (/\.inp$/i.test(path)) return parseCity(epanetCityDocument(readTextFile(path), path), path); // EPANET: the water layer
  if (path.endsWith('.m')) return parseCity(matpowerCityDocument(readTextFile(path), path), path); // MATPOWER: the power layer
  const document = readJsonFile(path);
  if (isPandapowerDocument(document)) return parseCity(pandapowerCityDocument(document, path), path); // pandapower (pp.to_json): the power layer
  return parseCityDocument(document, path);
}

/** A city file's parsed JSON (the engine's format or GeoJSON), validated as `loadCityFile` does. */
export function parseCityDocument(document: unknown, source: string): CityModel {
  return parseCity(fromGeoJson(document, source), source);
}

/** Reads a text file; @throws ValidationError naming the file when it cannot be read. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, [{ path: '$', reason: `cannot read file: ${(error as Error).message}` }]);
  }
}

/** Reads and parses a JSON file; @throws ValidationError naming the file when it cannot be read or is not JSON. */
export function readJsonFile(path: string): unknown {
  const text = readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(path, [{ path: '$', reason: `not valid JSON: ${(error as Error).message}` }]);
  }
}

interface GeoFeature {
  type: 'Feature';
  geometry: { type: string; coordinates: unknown } | null;
  properties: Record<string, unknown> | null;
}

/** Converts a GeoJSON FeatureCollection to the city document form; other documents pass through. */
function fromGeoJson(document: unknown, source: string): unknown {
  if (typeof document !== 'object' || document === null || (document as { type?: unknown }).type !== 'FeatureCollection') {
    return document;
  }
  const features = (document as { features?: unknown }).features;
  if (!Array.isArray(features)) {
    throw new ValidationError(source, [{ path: '$.features', reason: 'a FeatureCollection needs a features array' }]);
  }
  const assets: unknown[] = [];
  const links: unknown[] = [];
  const problems: Problem[] = [];
  (features as GeoFeature[]).forEach((feature, i) => {
    const props = feature.properties ?? {};
    const type = feature.geometry?.type;
    if (type === 'Point') {
      assets.push({ ...props, position: feature.geometry?.coordinates });
    } else if (type === 'LineString') {
      links.push({ from: props['from'], to: props['to'], ...(props['kind'] === undefined ? {} : { kind: props['kind'] }) });
    } else {
      problems.push({ path: `$.features[${i}].geometry`, reason: `unsupported geometry ${String(type)} (use Point for assets, LineString for links)` });
    }
  });
  if (problems.length > 0) throw new ValidationError(source, problems);
  return { assets, links };
}
