import { Status, type Engine, type StateChange } from '../../engine/index.ts';
import { SERVICE_LAYERS, type CostModel, type ServiceLayer } from '../../scenarios/index.ts';

/**
 * The operator's per-layer/district series, derived from the state-change stream: for every
 * (layer, district) pair — and `*` for "all layers" and "all districts" — the assets failed and
 * degraded, the people without power / water / telecom and the outage cost rate, as a step function
 * of virtual time. A sample is emitted for each series whose values changed, once per virtual
 * instant, when the engine has settled that instant (never mid-cascade), so the samples are the same
 * whatever the wall-clock timing: a replay of the same journal yields the same samples.
 *
 * People without a service follow `OutcomeMeter` (scenarios/economics.ts): for each cohort and
 * service layer, population × (1 − mean level of the assets of that layer it relies on), counted in
 * the cohort's district and under the layer of the service. Cost per hour = Σ asset rate × (1 −
 * level) over the series' assets + people without each service × its person-hour rate.
 */
export const ALL = '*';

export interface SeriesValues {
  /** Assets failed or faulted. */
  readonly failed: number;
  readonly degraded: number;
  readonly peoplePower: number;
  readonly peopleWater: number;
  readonly peopleTelecom: number;
  /** Outage cost per hour, in the cost model's currency. */
  readonly costPerHour: number;
}

export interface SeriesSample extends SeriesValues {
  /** Virtual ms. */
  readonly time: number;
  /** The last state-change seq folded in (orders samples of the same instant). */
  readonly seq: number;
  /** A layer name or `*`. */
  readonly layer: string;
  /** A district name or `*`. */
  readonly district: string;
}

export const SERIES_FIELDS = ['failed', 'degraded', 'peoplePower', 'peopleWater', 'peopleTelecom', 'costPerHour'] as const;
export const ZERO_VALUES: SeriesValues = { failed: 0, degraded: 0, peoplePower: 0, peopleWater: 0, peopleTelecom: 0, costPerHour: 0 };

/**
 * @example
 * const tracker = new SeriesTracker(engine, DEFAULT_COST_MODEL, (samples) => store.appendSamples(samples));
 * await engine.runUntil(3_600_000);
 * tracker.flushSettled();
 * tracker.close();
 */
export class SeriesTracker {
  private readonly layers: readonly string[];
  private readonly districts: readonly string[];
  private readonly d1: number;
  private readonly failed: Int32Array;
  private readonly degraded: Int32Array;
  private readonly assetCost: Float64Array;
  /** People without service, per series × 3 service layers. */
  private readonly people: Float64Array;
  private readonly level: Float64Array;
  private readonly status: Uint8Array;
  private readonly rate: Float64Array;
  private readonly personRate: readonly number[];
  /** For each asset: its (cohort, service layer) reliance slots. */
  private readonly serves: Array<Array<{ cohort: number; layer: number }>>;
  private readonly slotCount: Float64Array;
  private readonly population: Float64Array;
  private readonly dirty = new Set<number>();
  private pendingTime = Number.NEGATIVE_INFINITY;
  private lastSeq: number;
  private readonly off: () => void;
  private readonly serviceLayerIndex: Int32Array;
  /** City layer index of each service layer (power, water, telecom; −1 when the city has none). */
  private readonly layerOfService: Int32Array;
  private readonly keys = new Int32Array(4);

  constructor(private readonly engine: Engine, model: CostModel, private readonly emit: (samples: SeriesSample[]) => void) {
    const index = engine.index;
    this.layers = index.layers;
    this.districts = index.districts;
    this.d1 = this.districts.length + 1;
    const seriesCount = (this.layers.length + 1) * this.d1;
    this.failed = new Int32Array(seriesCount);
    this.degraded = new Int32Array(seriesCount);
    this.assetCost = new Float64Array(seriesCount);
    this.people = new Float64Array(seriesCount * 3);
    const n = index.assetCount;
    this.level = new Float64Array(n).fill(1);
    this.status = new Uint8Array(n);
    this.rate = Float64Array.from(index.city.assets, (a) => model.assetPerHour[a.kind] ?? model.defaultAssetPerHour);
    this.personRate = SERVICE_LAYERS.map((l) => model.personPerHour[l]);
    this.serviceLayerIndex = Int32Array.from(this.layers, (l) => SERVICE_LAYERS.indexOf(l as ServiceLayer));
    this.layerOfService = Int32Array.from(SERVICE_LAYERS, (l) => this.layers.indexOf(l));
    this.population = Float64Array.from(index.cohortPopulation);
    this.slotCount = new Float64Array(index.cohortCount * 3);
    this.serves = Array.from({ length: n }, () => []);
    const rel = index.cohortReliesOn;
    for (let c = 0; c < index.cohortCount; c++) {
      for (let k = rel.offsets[c]!; k < rel.offsets[c + 1]!; k++) {
        const a = rel.items[k]!;
        const layer = this.serviceLayerIndex[index.layerOf[a]!]!;
        if (layer < 0) continue;
        this.serves[a]!.push({ cohort: c, layer });
        this.slotCount[c * 3 + layer]! += 1;
      }
    }
    this.lastSeq = engine.stream.count - 1;
    for (let a = 0; a < n; a++) this.apply(a, engine.kernel.view(a).status, engine.kernel.view(a).level);
    // The starting point of every series, so a query before the first change has a value.
    this.dirty.clear();
    const all: SeriesSample[] = [];
    for (let s = 0; s < seriesCount; s++) all.push(this.sample(s, engine.now));
    emit(all);
    this.off = engine.stream.subscribe((change) => this.onChange(change));
  }

  private seriesOf(layer: number, district: number): number {
    return (layer + 1) * this.d1 + (district + 1);
  }

  /** The four series a (layer, district) change touches, into `keys` (no allocation per change). */
  private fourSeries(layer: number, district: number): void {
    this.keys[0] = this.seriesOf(layer, district);
    this.keys[1] = this.seriesOf(layer, -1);
    this.keys[2] = this.seriesOf(-1, district);
    this.keys[3] = this.seriesOf(-1, -1);
  }

  private onChange(change: StateChange): void {
    if (change.time > this.pendingTime) {
      this.flush();
      this.pendingTime = change.time;
    }
    this.lastSeq = change.seq;
    if (change.actor < this.level.length) this.apply(change.actor, change.after.status, change.after.level);
  }

  private apply(asset: number, status: number, level: number): void {
    const index = this.engine.index;
    const layer = index.layerOf[asset]!;
    const district = index.districtOf[asset]!;
    const keys = this.keys;
    this.fourSeries(layer, district);
    const wasFailed = isFailed(this.status[asset]!) ? 1 : 0;
    const nowFailed = isFailed(status) ? 1 : 0;
    const wasDegraded = this.status[asset] === Status.Degraded ? 1 : 0;
    const nowDegraded = status === Status.Degraded ? 1 : 0;
    const before = this.level[asset]!;
    this.status[asset] = status;
    this.level[asset] = level;
    if (wasFailed === nowFailed && wasDegraded === nowDegraded && before === level) return;
    for (const s of keys) {
      this.failed[s]! += nowFailed - wasFailed;
      this.degraded[s]! += nowDegraded - wasDegraded;
      this.assetCost[s]! += this.rate[asset]! * (before - level);
      this.dirty.add(s);
    }
    if (before === level) return;
    for (const slot of this.serves[asset]!) {
      const people = (this.population[slot.cohort]! * (before - level)) / this.slotCount[slot.cohort * 3 + slot.layer]!;
      const cohortDistrict = index.districtOf[index.assetCount + slot.cohort]!;
      this.fourSeries(this.layerOfService[slot.layer]!, cohortDistrict);
      for (const s of keys) {
        this.people[s * 3 + slot.layer]! += people;
        this.dirty.add(s);
      }
    }
  }

  private sample(s: number, time: number): SeriesSample {
    const layer = Math.floor(s / this.d1) - 1;
    const district = (s % this.d1) - 1;
    const people = [0, 1, 2].map((l) => Math.max(0, Math.round(this.people[s * 3 + l]!)));
    const cost = this.assetCost[s]! + people.reduce((sum, p, l) => sum + p * this.personRate[l]!, 0);
    return {
      time,
      seq: this.lastSeq,
      layer: layer < 0 ? ALL : this.layers[layer]!,
      district: district < 0 ? ALL : this.districts[district]!,
      failed: this.failed[s]!,
      degraded: this.degraded[s]!,
      peoplePower: people[0]!,
      peopleWater: people[1]!,
      peopleTelecom: people[2]!,
      costPerHour: Math.max(0, Math.round(cost)),
    };
  }

  /** Emits the pending instant's samples (its values are final once the engine settled it). */
  private flush(): void {
    if (this.dirty.size === 0) return;
    const out: SeriesSample[] = [];
    for (const s of [...this.dirty].sort((a, b) => a - b)) out.push(this.sample(s, this.pendingTime));
    this.dirty.clear();
    this.emit(out);
  }

  /** Emits the pending instant if the engine has settled it (call before a query, and on a timer). */
  flushSettled(): void {
    if (this.dirty.size > 0 && this.engine.kernel.settledUntil >= this.pendingTime) this.flush();
  }

  close(): void {
    this.off();
  }
}

function isFailed(status: number): boolean {
  return status === Status.Failed || status === Status.Faulted;
}
