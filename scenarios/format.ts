import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { readTextFile, ValidationError, zodProblems } from '../engine/index.ts';

/**
 * The scenario format: a named timeline of events at virtual times (`at`, seconds from the start
 * of the run). Three families of events:
 *
 * - plain inputs (`fail`, `repair`, `restore`, `isolate`, `telemetry`, `shed`, `ambient`, `cyber`,
 *   `order`) — exactly the engine's input commands, except that `target` may also be a selector
 *   resolved against the city at expansion time;
 * - hazards (`heatwave`, `flood`, `storm`, `earthquake`) — expanded into ambient and `fail` inputs
 *   through fragility curves (fragility.ts) with one seeded draw per asset;
 * - cyber incidents (`scada-compromise`, `ddos`, `ransomware`).
 *
 * Coordinates are metres, or a string `"40%"` of the city's extent along that axis; lengths are
 * metres or `"10%"` of the city's larger side, so library scenarios fit any generated city.
 * The JSON Schema of this format is `scenarios/scenario.schema.json` (generated from these zod
 * schemas by `npx tsx scenarios/schema.ts`; a test checks it is current).
 */

const percent = z.string().regex(/^-?\d+(\.\d+)?%$/, 'a number of metres or a percentage like "40%"');
/** Metres, or a percentage of the city's extent along the axis. */
export const coordinateSchema = z.union([z.number().finite(), percent]).describe('metres, or "P%" of the city extent along this axis');
/** Metres, or a percentage of the city's larger side. */
export const lengthSchema = z.union([z.number().finite().min(0), percent]).describe('metres, or "P%" of the city\'s larger side');
export const pointSchema = z.strictObject({ x: coordinateSchema, y: coordinateSchema });

/** Picks assets by kind/layer/district at expansion time (ids differ between cities). */
export const selectorSchema = z.strictObject({
  kind: z.string().min(1).optional(),
  layer: z.string().min(1).optional(),
  district: z.string().min(1).optional(),
  /** Order candidates by: file order, distance to `near`, seeded shuffle, or base load (largest first). */
  pick: z.enum(['first', 'nearest', 'random', 'largest']).default('first'),
  near: pointSchema.optional(),
  /** How many to take, or `all`. */
  count: z.union([z.number().int().min(1), z.literal('all')]).default(1),
  /** Candidates to pass over first, in pick order: `pick: nearest, skip: 1` is the second nearest. */
  skip: z.number().int().min(0).default(0),
  /**
   * What a selector that matches nothing does: `error` (the scenario is refused for this city) or
   * `skip` (the event expands to no inputs — e.g. a second hospital in a city that has one).
   */
  ifNone: z.enum(['error', 'skip']).default('error'),
}).describe('asset selector resolved against the city at expansion time');

const target = z.union([z.string().min(1), selectorSchema]);
const at = z.number().min(0, 'must be ≥ 0 seconds').describe('seconds from the start of the run');
const label = z.string().optional();
const hazardEnum = z.enum(['flood', 'wind', 'shaking', 'heat', 'fire']);
const curveSchema = z.strictObject({ median: z.number().positive(), beta: z.number().positive() });
/** Per-kind curve overrides for one hazard event. */
const fragilityOverride = z.record(z.string(), curveSchema).optional();

const plainEvents = [
  z.strictObject({ at, label, type: z.literal('fail'), target, severity: z.number().min(0).max(1).optional(), hazard: hazardEnum.optional() }),
  z.strictObject({ at, label, type: z.literal('repair'), target }),
  z.strictObject({ at, label, type: z.literal('restore'), target }),
  z.strictObject({ at, label, type: z.literal('isolate'), target }),
  z.strictObject({ at, label, type: z.literal('telemetry'), target, value: z.number().finite().min(0) }),
  z.strictObject({ at, label, type: z.literal('shed'), target, share: z.number().min(0).max(1) }),
  z.strictObject({ at, label, type: z.literal('ambient'), target, celsius: z.number().min(-60).max(70) }),
  z.strictObject({ at, label, type: z.literal('cyber'), target, attack: z.enum(['compromise', 'ddos', 'ransomware']), severity: z.number().min(0).max(1).optional() }),
  z.strictObject({ at, label, type: z.literal('secure'), target }),
  z.strictObject({ at, label, type: z.literal('order'), target: z.string().min(1), order: z.enum(['shelter', 'evacuate', 'save-water', 'all-clear']) }),
] as const;

export const heatwaveSchema = z.strictObject({
  at,
  label,
  type: z.literal('heatwave'),
  /** Districts affected (default: all). */
  districts: z.array(z.string().min(1)).min(1).optional(),
  /** Air temperature over time; each point becomes an ambient input. */
  profile: z.array(z.strictObject({ hour: z.number().min(0), celsius: z.number().min(-60).max(70) })).min(1, 'a heatwave needs at least one profile point'),
  fragility: fragilityOverride,
});

export const floodSchema = z.strictObject({
  at,
  label,
  type: z.literal('flood'),
  /** Flooded area (polygon, ≥ 3 vertices); default: the whole city. */
  area: z.array(pointSchema).min(3, 'a polygon needs at least 3 vertices').optional(),
  /** Uniform water depth (m) inside the area … */
  depth: z.number().min(0).max(30).optional(),
  /** … or a water level (m) over the terrain: depth = level − ground elevation. */
  waterLevel: z.number().min(-100).max(1000).optional(),
  /** Ground elevation = asset z + base + slope·(position − city origin), metres. */
  terrain: z.strictObject({ base: z.number().default(0), slope: z.strictObject({ x: z.number().default(0), y: z.number().default(0) }).optional() }).optional(),
  /** Hours for the water to rise: lower ground floods first. */
  riseHours: z.number().min(0).max(240).default(0),
  fragility: fragilityOverride,
}).refine((f) => (f.depth === undefined) !== (f.waterLevel === undefined), { message: 'give exactly one of depth or waterLevel', path: ['depth'] });

export const stormSchema = z.strictObject({
  at,
  label,
  type: z.literal('storm'),
  /** The centre's track: points with hours from `at` (ascending). */
  track: z.array(z.strictObject({ x: coordinateSchema, y: coordinateSchema, hour: z.number().min(0) })).min(2, 'a track needs at least 2 points'),
  /** Maximum 3-s gust (m/s) at the radius of maximum wind. */
  maxWind: z.number().positive().max(120),
  /** Radius of maximum wind. */
  radius: lengthSchema,
  /** Decay exponent beyond the radius: v = vmax·(R/d)^decay (modified Rankine vortex). */
  decay: z.number().min(0.1).max(2).default(0.6),
  stepMinutes: z.number().min(1).max(120).default(10),
  fragility: fragilityOverride,
}).refine((s) => s.track.every((p, i) => i === 0 || p.hour >= s.track[i - 1]!.hour), { message: 'track hours must ascend', path: ['track'] });

export const earthquakeSchema = z.strictObject({
  at,
  label,
  type: z.literal('earthquake'),
  epicentre: pointSchema,
  magnitude: z.number().min(3).max(9.5),
  depthKm: z.number().min(0).max(700).default(10),
  fragility: fragilityOverride,
});

export const scadaCompromiseSchema = z.strictObject({
  at,
  label,
  type: z.literal('scada-compromise'),
  /** The first compromised control centre (default: the first SCADA centre). */
  target: target.optional(),
  /** Probability that the intrusion crosses each telecom data link. */
  spread: z.number().min(0).max(1).default(0.3),
  /** How many link hops the intrusion may travel. */
  hops: z.number().int().min(0).max(10).default(2),
  hopMinutes: z.number().min(0).max(1440).default(15),
  /** Severity on compromised network equipment (switches, routers); control centres go offline. */
  networkSeverity: z.number().min(0).max(1).default(0.3),
  /** Probability that an asset controlled by a compromised centre is driven to misoperate. */
  misoperate: z.number().min(0).max(1).default(0.5),
  /** Severity of a misoperation on the controlled asset (1 = offline). */
  misoperateSeverity: z.number().min(0).max(1).default(0.5),
});

export const ddosSchema = z.strictObject({
  at,
  label,
  type: z.literal('ddos'),
  /** Default: every core router. */
  target: target.optional(),
  severity: z.number().min(0).max(1).default(1),
  /** When given, the targets are restored after this many hours (the attack is mitigated). */
  durationHours: z.number().positive().max(720).optional(),
});

export const ransomwareSchema = z.strictObject({
  at,
  label,
  type: z.literal('ransomware'),
  /** Default: the hospital nearest the city centre. */
  target: target.optional(),
  severity: z.number().min(0).max(1).default(0.5),
  durationHours: z.number().positive().max(720).optional(),
});

export const scenarioEventSchema = z.union([
  z.discriminatedUnion('type', [...plainEvents, heatwaveSchema, earthquakeSchema, scadaCompromiseSchema, ddosSchema, ransomwareSchema]),
  floodSchema,
  stormSchema,
]);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'letters, digits and dashes'),
  title: z.string().optional(),
  description: z.string().optional(),
  /** Seed of the hazard draws (default: the run's seed). */
  seed: z.number().int().min(0).optional(),
  /** Suggested run length (hours of virtual time). */
  durationHours: z.number().positive().max(8760).optional(),
  tags: z.array(z.string()).optional(),
  events: z.array(scenarioEventSchema).min(1, 'a scenario needs at least one event'),
});

export type ScenarioEventSpec = z.infer<typeof scenarioEventSchema>;
export type Selector = z.infer<typeof selectorSchema>;
export type Target = string | Selector;

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly seed: number | undefined;
  readonly durationHours: number | undefined;
  readonly tags: readonly string[];
  /** Events in file order (expansion sorts the resulting inputs by time). */
  readonly events: readonly ScenarioEventSpec[];
  /** Where it came from (a path, `library:NAME`, `request body`). */
  readonly source: string;
}

/** Validates a scenario document; errors name the source, the JSON path and the reason. */
export function parseScenario(document: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(document);
  if (!parsed.success) throw new ValidationError(source, explain(parsed.error, document));
  const d = parsed.data;
  return { name: d.name, title: d.title ?? d.name, description: d.description ?? '', seed: d.seed, durationHours: d.durationHours, tags: d.tags ?? [], events: d.events, source };
}

/**
 * zod reports a union mismatch as "Invalid input" at the event; for an event with a known `type`
 * re-check it against that branch, so the problem names the field and the reason.
 */
function explain(error: z.ZodError, document: unknown): { path: string; reason: string }[] {
  const problems: { path: string; reason: string }[] = [];
  for (const issue of error.issues) {
    const [first, i] = issue.path;
    if (issue.code === 'invalid_union' && first === 'events' && typeof i === 'number' && issue.path.length === 2) {
      const event = (document as { events: unknown[] }).events[i];
      const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
      const branch = type === 'flood' ? floodSchema : type === 'storm' ? stormSchema : undefined;
      const retry = branch?.safeParse(event) ?? (typeof type === 'string' ? scenarioEventSchema.options[0].safeParse(event) : undefined);
      if (retry !== undefined && !retry.success) {
        for (const p of zodProblems(retry.error)) problems.push({ path: `$.events[${i}]${p.path.slice(1)}`, reason: p.reason });
        continue;
      }
      problems.push({ path: `$.events[${i}].type`, reason: `unknown event type ${JSON.stringify(type)}` });
      continue;
    }
    problems.push(...zodProblems(new z.ZodError([issue])));
  }
  return problems;
}

/** Parses scenario text (YAML or JSON by the name's extension; YAML is a superset of JSON). */
export function parseScenarioText(text: string, source: string): Scenario {
  let document: unknown;
  try {
    document = /\.json$/i.test(source) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError(source, [{ path: '$', reason: `cannot parse: ${(error as Error).message}` }]);
  }
  return parseScenario(document, source);
}

/** Reads a scenario file (JSON or YAML by extension). */
export function loadScenarioFile(path: string): Scenario {
  return parseScenarioText(readTextFile(path), path);
}
