import { z } from 'zod';
import { readJsonFile, ValidationError, zodProblems, type Engine, type StateChange } from '../engine/index.ts';

/**
 * The economic cost of outages. Documented defaults (CONTEXT.md, "Cost model"): a cost per hour of
 * full outage per asset kind (repair crews aside: lost service, penalties, emergency operation) and
 * a cost per person-hour without power, water or telecom (value of lost load). Partial service
 * costs in proportion: an asset at level 0.4 costs 60 % of its hourly rate.
 */
export interface CostModel {
  readonly currency: string;
  /** Per hour of full outage, by asset kind. */
  readonly assetPerHour: Readonly<Record<string, number>>;
  /** For a kind missing from `assetPerHour`. */
  readonly defaultAssetPerHour: number;
  /** Per person-hour without the service (population of a cohort × share of the service lost). */
  readonly personPerHour: Readonly<Record<ServiceLayer, number>>;
}

export const SERVICE_LAYERS = ['power', 'water', 'telecom'] as const;
export type ServiceLayer = (typeof SERVICE_LAYERS)[number];

export const DEFAULT_COST_MODEL: CostModel = {
  currency: 'EUR',
  assetPerHour: {
    'generator': 50_000,
    'transmission-substation': 20_000,
    'distribution-substation': 5_000,
    'feeder': 500,
    'treatment-plant': 15_000,
    'pumping-station': 2_000,
    'main': 300,
    'core-router': 10_000,
    'aggregation-switch': 2_000,
    'tower': 400,
    'scada-centre': 8_000,
    'data-centre': 25_000,
    'hospital': 30_000,
    'fire-station': 2_000,
    'road': 200,
  },
  defaultAssetPerHour: 500,
  personPerHour: { power: 3.5, water: 2, telecom: 1.5 },
};

/** Merges a partial model over the defaults (config files, API bodies). */
export function costModel(overrides: Partial<{ currency: string; assetPerHour: Record<string, number>; defaultAssetPerHour: number; personPerHour: Partial<Record<ServiceLayer, number>> }> = {}): CostModel {
  return {
    currency: overrides.currency ?? DEFAULT_COST_MODEL.currency,
    assetPerHour: { ...DEFAULT_COST_MODEL.assetPerHour, ...overrides.assetPerHour },
    defaultAssetPerHour: overrides.defaultAssetPerHour ?? DEFAULT_COST_MODEL.defaultAssetPerHour,
    personPerHour: { ...DEFAULT_COST_MODEL.personPerHour, ...overrides.personPerHour },
  };
}

const costSchema = z.number().finite().nonnegative();
/** A cost model file (JSON): every field optional, merged over the defaults; unknown fields refused. */
const costModelFileSchema = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').optional(),
  assetPerHour: z.record(z.string().min(1), costSchema).optional(),
  defaultAssetPerHour: costSchema.optional(),
  personPerHour: z.strictObject({ power: costSchema.optional(), water: costSchema.optional(), telecom: costSchema.optional() }).optional(),
});

/**
 * Parses a cost model (JSON text or an object) over the defaults.
 * @throws ValidationError naming `source`, the JSON path and the reason.
 */
export function parseCostModel(input: unknown, source: string): CostModel {
  const parsed = costModelFileSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(source, zodProblems(parsed.error));
  const file = parsed.data;
  return {
    currency: file.currency ?? DEFAULT_COST_MODEL.currency,
    assetPerHour: { ...DEFAULT_COST_MODEL.assetPerHour, ...file.assetPerHour },
    defaultAssetPerHour: file.defaultAssetPerHour ?? DEFAULT_COST_MODEL.defaultAssetPerHour,
    personPerHour: {
      power: file.personPerHour?.power ?? DEFAULT_COST_MODEL.personPerHour.power,
      water: file.personPerHour?.water ?? DEFAULT_COST_MODEL.personPerHour.water,
      telecom: file.personPerHour?.telecom ?? DEFAULT_COST_MODEL.personPerHour.telecom,
    },
  };
}

/** Reads a cost model file (`--cost-model`, `STRATUM_COST_MODEL`). */
export function loadCostModelFile(path: string): CostModel {
  return parseCostModel(readJsonFile(path), path);
}

/** What a run cost the city: the training score's outcome. */
export interface Outcome {
  readonly fromMs: number;
  readonly toMs: number;
  readonly peopleHoursWithout: Readonly<Record<ServiceLayer, number>>;
  /** Hours hospitals spent below full service, summed over hospitals. */
  readonly hospitalHoursDegraded: number;
  /** Asset-hours of lost service (1 − level) by kind. */
  readonly assetOutageHours: Readonly<Record<string, number>>;
  readonly cost: { readonly currency: string; readonly assets: number; readonly people: number; readonly total: number };
}

const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Integrates outage over virtual time by subscribing to an engine's state-change stream. Attach
 * before the run; `outcome(untilMs)` at any time. People without a service: for each cohort and
 * layer, population × (1 − mean level of the assets of that layer it relies on).
 *
 * @example
 * const meter = OutcomeMeter.attach(engine);
 * await engine.runUntil(86_400_000);
 * meter.outcome(engine.now).cost.total;
 */
export class OutcomeMeter {
  private readonly level: Float64Array;
  private readonly kindOf: string[];
  private readonly rate: Float64Array;
  private readonly hospital: Uint8Array;
  /** For each asset: the (cohort, layer) slots it serves. */
  private readonly serves: { cohort: number; layer: number }[][];
  private readonly slotSum: Float64Array;
  private readonly slotCount: Float64Array;
  private readonly population: Float64Array;
  private last: number;
  private readonly people = [0, 0, 0];
  private hospitalHours = 0;
  private readonly withoutNow = [0, 0, 0];
  private costRate = 0;
  private hospitalsDown = 0;
  private readonly lostByKind = new Map<string, number>();
  private assetCostHours = 0;
  private readonly outageByKind = new Map<string, number>();
  private readonly off: () => void;
  private readonly start: number;

  private constructor(private readonly engine: Engine, private readonly model: CostModel) {
    const index = engine.index;
    const n = index.assetCount;
    this.start = this.last = engine.now;
    this.level = new Float64Array(n);
    this.rate = new Float64Array(n);
    this.hospital = new Uint8Array(n);
    this.kindOf = index.city.assets.map((a) => a.kind);
    this.serves = Array.from({ length: n }, () => []);
    for (let a = 0; a < n; a++) {
      this.level[a] = 1;
      this.rate[a] = model.assetPerHour[this.kindOf[a]!] ?? model.defaultAssetPerHour;
      this.hospital[a] = this.kindOf[a] === 'hospital' ? 1 : 0;
    }
    const m = index.cohortCount;
    this.slotSum = new Float64Array(m * 3);
    this.slotCount = new Float64Array(m * 3);
    this.population = Float64Array.from(index.cohortPopulation);
    const rel = index.cohortReliesOn;
    for (let c = 0; c < m; c++) {
      for (let k = rel.offsets[c]!; k < rel.offsets[c + 1]!; k++) {
        const a = rel.items[k]!;
        const layer = SERVICE_LAYERS.indexOf(index.city.assets[a]!.layer as ServiceLayer);
        if (layer < 0) continue;
        this.serves[a]!.push({ cohort: c, layer });
        this.slotSum[c * 3 + layer]! += 1;
        this.slotCount[c * 3 + layer]! += 1;
      }
    }
    for (let a = 0; a < n; a++) this.setLevel(a, engine.kernel.view(a).level);
    this.off = engine.stream.subscribe((change) => this.onChange(change));
  }

  static attach(engine: Engine, model: CostModel = DEFAULT_COST_MODEL): OutcomeMeter {
    return new OutcomeMeter(engine, model);
  }

  detach(): void {
    this.off();
  }

  private advance(to: number): void {
    if (to <= this.last) return;
    const hours = (to - this.last) / 3_600_000;
    this.last = to;
    for (let l = 0; l < 3; l++) this.people[l]! += this.withoutNow[l]! * hours;
    this.assetCostHours += this.costRate * hours;
    this.hospitalHours += this.hospitalsDown * hours;
    for (const [kind, lost] of this.lostByKind) if (lost > 0) this.outageByKind.set(kind, (this.outageByKind.get(kind) ?? 0) + lost * hours);
  }

  /** Running totals change only with a level, so integration costs O(kinds) per instant. */
  private setLevel(a: number, after: number): void {
    const before = this.level[a]!;
    if (after === before) return;
    this.level[a] = after;
    const kind = this.kindOf[a]!;
    this.costRate += this.rate[a]! * (before - after);
    this.lostByKind.set(kind, (this.lostByKind.get(kind) ?? 0) + (before - after));
    if (this.hospital[a] === 1) this.hospitalsDown += (after < 1 ? 1 : 0) - (before < 1 ? 1 : 0);
    for (const s of this.serves[a]!) {
      const slot = s.cohort * 3 + s.layer;
      this.slotSum[slot]! += after - before;
      this.withoutNow[s.layer]! -= (this.population[s.cohort]! * (after - before)) / this.slotCount[slot]!;
    }
  }

  private onChange(change: StateChange): void {
    if (change.actor >= this.level.length) return;
    this.advance(change.time);
    this.setLevel(change.actor, change.after.level);
  }

  /** What the outage costs per hour right now (assets and people), in the model's currency. */
  costPerHourNow(): number {
    const people = SERVICE_LAYERS.reduce((sum, l, i) => sum + this.withoutNow[i]! * this.model.personPerHour[l], 0);
    return Math.round(this.costRate + people);
  }

  /** People without power, water and telecom right now (population × share of service lost). */
  peopleWithoutNow(): Record<ServiceLayer, number> {
    return { power: Math.round(this.withoutNow[0]!), water: Math.round(this.withoutNow[1]!), telecom: Math.round(this.withoutNow[2]!) };
  }

  get currency(): string {
    return this.model.currency;
  }

  /** The outcome from attachment up to `untilMs` (default: the engine's clock). */
  outcome(untilMs = this.engine.now): Outcome {
    this.advance(untilMs);
    const peopleHoursWithout = { power: round(this.people[0]!), water: round(this.people[1]!), telecom: round(this.people[2]!) };
    const people = SERVICE_LAYERS.reduce((sum, l, i) => sum + this.people[i]! * this.model.personPerHour[l], 0);
    const assetOutageHours: Record<string, number> = {};
    for (const [k, v] of [...this.outageByKind].sort((p, q) => (p[0] < q[0] ? -1 : 1))) assetOutageHours[k] = round(v);
    return {
      fromMs: this.start,
      toMs: Math.max(this.last, untilMs),
      peopleHoursWithout,
      hospitalHoursDegraded: round(this.hospitalHours),
      assetOutageHours,
      cost: { currency: this.model.currency, assets: Math.round(this.assetCostHours), people: Math.round(people), total: Math.round(this.assetCostHours + people) },
    };
  }
}
