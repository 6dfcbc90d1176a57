import type { ActorView, Cause, StateChange } from '../../engine/index.ts';
import { SERIES_FIELDS, ZERO_VALUES, type SeriesSample, type SeriesValues } from './history-series.ts';

/**
 * The history query contract, and the embedded store that implements it without any service.
 *
 * Times are the run's virtual ms. A store answers over a half-open range [fromMs, toMs) that the
 * caller has aligned to whole steps (`alignRange`); buckets start at multiples of the step from
 * virtual 0. A store returns only the buckets that hold records, plus the state carried into the
 * range; `assetSeries` / `seriesBuckets` below fill the gaps, the same way for every store, so the
 * stores differ only in where the records are kept.
 *
 * Per asset bucket the samples are the state at the bucket's start and the state after each change
 * in it (so a bucket without changes shows the state carried in): mean and max load, min level
 * (service), max stress, and the status at the bucket's end. Per layer/district bucket: the peak of
 * each value (failed, degraded, people without each service, cost per hour) over the bucket,
 * counting the value carried in.
 */
export interface AssetRawBucket {
  readonly startMs: number;
  readonly changes: number;
  readonly sumLoad: number;
  readonly maxLoad: number;
  readonly minLevel: number;
  readonly maxStress: number;
  /** The state before the bucket's first change. */
  readonly first: ActorView;
  /** The state after the bucket's last change. */
  readonly last: ActorView;
}

export interface AssetRaw {
  /** The state at `fromMs` (after the last earlier change, or before the first later one); undefined: the store holds no change of it. */
  readonly carryIn: ActorView | undefined;
  readonly buckets: readonly AssetRawBucket[];
}

export interface StatusChangeRecord {
  readonly time: number;
  readonly seq: number;
  readonly from: number;
  readonly to: number;
  readonly cause: Cause | null;
}

export interface SeriesRawBucket {
  readonly startMs: number;
  readonly samples: number;
  readonly max: SeriesValues;
  readonly last: SeriesValues;
}

export interface SeriesRaw {
  /** The values at `fromMs` (the last earlier sample); undefined: none. */
  readonly carryIn: SeriesValues | undefined;
  readonly buckets: readonly SeriesRawBucket[];
}

/** Everything `GET /api/assets/:id/history` needs, in one call (one round trip on PostgreSQL). */
export interface AssetHistory extends AssetRaw {
  /** As `statusChanges` with the same range and limit. */
  readonly statusChanges: readonly StatusChangeRecord[];
}

export interface HistoryQueries {
  /** `embedded`, `timescaledb` or `postgres-partitions`. */
  readonly backend: string;
  /** `assetRaw` and `statusChanges` over the same range, together. */
  assetHistory(actor: number, fromMs: number, toMs: number, stepMs: number, limit: number): Promise<AssetHistory>;
  assetRaw(actor: number, fromMs: number, toMs: number, stepMs: number): Promise<AssetRaw>;
  /** Status changes of an actor in [fromMs, toMs), oldest first, at most `limit`. */
  statusChanges(actor: number, fromMs: number, toMs: number, limit: number): Promise<StatusChangeRecord[]>;
  /** `layer` / `district`: a name or `*`. */
  seriesRaw(layer: string, district: string, fromMs: number, toMs: number, stepMs: number): Promise<SeriesRaw>;
  /** Virtual ms of the oldest record still held (embedded: older ones were evicted), or undefined. */
  retainedFromMs(): Promise<number | undefined>;
}

export interface HistoryWriter {
  appendChanges(changes: readonly StateChange[]): void;
  appendSamples(samples: readonly SeriesSample[]): void;
}

/** Rounds [from, to) outward to whole steps from virtual 0. */
export function alignRange(fromMs: number, toMs: number, stepMs: number): { fromMs: number; toMs: number; buckets: number } {
  const from = Math.floor(fromMs / stepMs) * stepMs;
  const to = Math.max(from + stepMs, Math.ceil(toMs / stepMs) * stepMs);
  return { fromMs: from, toMs: to, buckets: Math.round((to - from) / stepMs) };
}

export interface AssetBucket {
  readonly startMs: number;
  readonly changes: number;
  readonly meanLoad: number;
  readonly maxLoad: number;
  readonly minLevel: number;
  readonly maxStress: number;
  readonly lastStatus: number;
}

/** Dense asset buckets over the aligned range; `fallback`: the state when the store knows none. */
export function assetSeries(raw: AssetRaw, fromMs: number, toMs: number, stepMs: number, fallback: ActorView): AssetBucket[] {
  const out: AssetBucket[] = [];
  let carried = raw.carryIn ?? raw.buckets[0]?.first ?? fallback;
  let k = 0;
  for (let start = fromMs; start < toMs; start += stepMs) {
    const r = raw.buckets[k];
    if (r !== undefined && r.startMs === start) {
      k++;
      const f = r.first;
      out.push({
        startMs: start,
        changes: r.changes,
        meanLoad: (r.sumLoad + f.load) / (r.changes + 1),
        maxLoad: Math.max(r.maxLoad, f.load),
        minLevel: Math.min(r.minLevel, f.level),
        maxStress: Math.max(r.maxStress, f.stress),
        lastStatus: r.last.status,
      });
      carried = r.last;
    } else {
      out.push({ startMs: start, changes: 0, meanLoad: carried.load, maxLoad: carried.load, minLevel: carried.level, maxStress: carried.stress, lastStatus: carried.status });
    }
  }
  return out;
}

export interface SeriesBucket extends SeriesValues {
  readonly startMs: number;
  /** Samples (instants with a change) in the bucket. */
  readonly samples: number;
}

/** Dense layer/district buckets over the aligned range: the peak of each value, carried value included. */
export function seriesBuckets(raw: SeriesRaw, fromMs: number, toMs: number, stepMs: number): SeriesBucket[] {
  const out: SeriesBucket[] = [];
  let carried = raw.carryIn ?? ZERO_VALUES;
  let k = 0;
  for (let start = fromMs; start < toMs; start += stepMs) {
    const r = raw.buckets[k];
    if (r !== undefined && r.startMs === start) {
      k++;
      const peak = {} as Record<(typeof SERIES_FIELDS)[number], number>;
      for (const f of SERIES_FIELDS) peak[f] = Math.max(carried[f], r.max[f]);
      out.push({ startMs: start, samples: r.samples, ...peak });
      carried = r.last;
    } else {
      out.push({ startMs: start, samples: 0, ...carried });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The embedded store

export interface EmbeddedHistoryOptions {
  /** State changes held (default 2,000,000, ≈ 75 B each); the oldest go first. */
  readonly maxChanges?: number;
  /** Layer/district samples held (default 1,000,000, ≈ 70 B each); the oldest go first. */
  readonly maxSamples?: number;
}

const CHANGE_COLUMNS = 10;
const enum C { Time, Seq, Status, Level, Load, Stress, CauseCode, CauseFrom, CauseSeq, CauseTime }

/** A growable columnar log of float64 records with a moving head (evicted records before it). */
class ColumnLog {
  data: Float64Array;
  head = 0;
  length = 0;
  constructor(readonly width: number, capacity = 8) {
    this.data = new Float64Array(width * capacity);
  }

  push(values: ArrayLike<number>): void {
    if ((this.length + 1) * this.width > this.data.length) {
      // Drop the evicted prefix first; grow only when the live part needs it.
      const live = this.length - this.head;
      const capacity = Math.max(8, live * 2 + 1);
      const next = new Float64Array(this.width * capacity);
      next.set(this.data.subarray(this.head * this.width, this.length * this.width));
      this.data = next;
      this.length = live;
      this.head = 0;
    }
    this.data.set(values, this.length * this.width);
    this.length++;
  }

  get(i: number, column: number): number {
    return this.data[i * this.width + column]!;
  }

  /** First index ≥ head whose column 0 (time) is ≥ t. */
  lowerBound(t: number): number {
    let lo = this.head;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid * this.width]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

interface ActorLog {
  log: ColumnLog;
  /** The state before the oldest held change. */
  headBefore: ActorView;
}

/** A ring of owner ids in arrival order: which log to evict from next, for an exact global bound. */
class OwnerRing {
  private readonly ring: Int32Array;
  private start = 0;
  size = 0;
  constructor(readonly capacity: number) {
    this.ring = new Int32Array(capacity);
  }

  /** Adds an owner; returns the evicted (oldest) owner when full, else -1. */
  push(owner: number): number {
    let evicted = -1;
    if (this.size === this.capacity) {
      evicted = this.ring[this.start]!;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.ring[(this.start + this.size) % this.capacity] = owner;
    this.size++;
    return evicted;
  }

  /** The owners held, oldest first. */
  *owners(): Generator<number> {
    for (let k = 0; k < this.size; k++) yield this.ring[(this.start + k) % this.capacity]!;
  }
}

/**
 * Everything an `EmbeddedHistory` holds, as plain data in arrival order (a snapshot's companion:
 * gateways/door/snapshots.ts). `changeRows`: per change the actor then its `CHANGE_COLUMNS` columns;
 * `heads`: each actor's state before its oldest held change; `sampleRows`: per sample its series
 * (an index into `seriesKeys`) then time, seq and the series fields.
 */
export interface HeldHistory {
  readonly changeRows: Float64Array;
  readonly heads: ReadonlyArray<{ readonly actor: number; readonly before: ActorView }>;
  readonly seriesKeys: readonly string[];
  readonly sampleRows: Float64Array;
  readonly oldest: number | undefined;
}

const MINUTE_MS = 60_000;
const FIELDS = SERIES_FIELDS.length;

/**
 * One layer/district series: its samples (time, seq, values) and a roll-up per virtual minute
 * (start, samples, peak of each value, last of each value), kept as the samples arrive (in time
 * order), so a query in whole minutes folds ≤ 1 row a minute instead of every sample.
 */
class SeriesLog {
  readonly raw = new ColumnLog(2 + FIELDS);
  readonly minutes = new ColumnLog(2 + 2 * FIELDS);
  /** Start of the first minute whose samples are all still held (−∞: none evicted). */
  private wholeFrom = Number.NEGATIVE_INFINITY;
  private readonly minuteRow = new Float64Array(2 + 2 * FIELDS);

  push(row: Float64Array): void {
    this.raw.push(row);
    const start = Math.floor(row[0]! / MINUTE_MS) * MINUTE_MS;
    const m = this.minutes;
    const last = m.length - 1;
    if (last >= m.head && m.get(last, 0) === start) {
      const o = last * m.width;
      m.data[o + 1]! += 1;
      for (let k = 0; k < FIELDS; k++) {
        if (row[2 + k]! > m.data[o + 2 + k]!) m.data[o + 2 + k] = row[2 + k]!;
        m.data[o + 2 + FIELDS + k] = row[2 + k]!;
      }
      return;
    }
    const r = this.minuteRow;
    r[0] = start;
    r[1] = 1;
    for (let k = 0; k < FIELDS; k++) r[2 + k] = r[2 + FIELDS + k] = row[2 + k]!;
    m.push(r);
  }

  /** The oldest sample went: minutes up to and including its own are no longer whole. */
  evictOne(): void {
    const t = this.raw.get(this.raw.head, 0);
    this.raw.head++;
    this.wholeFrom = Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    while (this.minutes.head < this.minutes.length && this.minutes.get(this.minutes.head, 0) < this.wholeFrom) this.minutes.head++;
  }

  /** The roll-up gives the same buckets as the samples from `fromMs` on. */
  minutesCover(fromMs: number): boolean {
    return fromMs >= this.wholeFrom;
  }
}

/** Folds a series log (samples, or minute roll-ups when `rolled`) into buckets of `stepMs` over [fromMs, toMs). */
function foldSeries(log: ColumnLog, fromMs: number, toMs: number, stepMs: number, rolled: boolean, carryOnly: boolean): { carryIn: SeriesValues | undefined; buckets: SeriesRawBucket[] | undefined } {
  const width = log.width;
  const data = log.data;
  const lastAt = rolled ? 2 + FIELDS : 2;
  const valuesAt = (i: number, offset: number): SeriesValues => {
    const v = {} as Record<(typeof SERIES_FIELDS)[number], number>;
    SERIES_FIELDS.forEach((f, k) => void (v[f] = data[i * width + offset + k]!));
    return v;
  };
  const first = log.lowerBound(fromMs);
  const carryIn = first > log.head ? valuesAt(first - 1, lastAt) : undefined;
  if (carryOnly) return { carryIn, buckets: undefined };
  const buckets: SeriesRawBucket[] = [];
  const max = new Float64Array(FIELDS);
  let i = first;
  while (i < log.length && data[i * width]! < toMs) {
    const startMs = Math.floor(data[i * width]! / stepMs) * stepMs;
    const end = Math.min(startMs + stepMs, toMs);
    max.fill(Number.NEGATIVE_INFINITY);
    let samples = 0;
    for (; i < log.length && data[i * width]! < end; i++) {
      const o = i * width;
      samples += rolled ? data[o + 1]! : 1;
      for (let k = 0; k < FIELDS; k++) if (data[o + 2 + k]! > max[k]!) max[k] = data[o + 2 + k]!;
    }
    const m = {} as Record<(typeof SERIES_FIELDS)[number], number>;
    SERIES_FIELDS.forEach((f, k) => void (m[f] = max[k]!));
    buckets.push({ startMs, samples, max: m, last: valuesAt(i - 1, lastAt) });
  }
  return { carryIn, buckets };
}

const viewAt = (log: ColumnLog, i: number): ActorView => ({ status: log.get(i, C.Status) as ActorView['status'], level: log.get(i, C.Level), load: log.get(i, C.Load), stress: log.get(i, C.Stress) });

/**
 * History in this process's memory, fed from the state-change stream and the series tracker:
 * per actor and per layer/district series, columnar float64 logs in time order; a global bound per
 * kind evicts the oldest records first (exactly: a ring of owner ids in arrival order says whose
 * head goes). Queries binary-search the range and fold it into buckets. Across a restart it is carried
 * by the snapshot's companion (`exportHeld`/`importHeld`) and the journal tail replayed after it.
 *
 * @example
 * const store = new EmbeddedHistory({ maxChanges: 1_000_000 });
 * store.appendChanges(changes);
 * const raw = await store.assetRaw(12, 0, 3_600_000, 60_000);
 */
export class EmbeddedHistory implements HistoryQueries, HistoryWriter {
  readonly backend = 'embedded';
  private readonly actors = new Map<number, ActorLog>();
  private readonly series = new Map<string, SeriesLog>();
  private readonly seriesIds: string[] = [];
  private readonly seriesIndex = new Map<string, number>();
  private changeRing: OwnerRing;
  private sampleRing: OwnerRing;
  private readonly row = new Float64Array(CHANGE_COLUMNS);
  private readonly sampleRow = new Float64Array(2 + SERIES_FIELDS.length);
  private oldest: number | undefined;

  constructor(options: EmbeddedHistoryOptions = {}) {
    const maxChanges = options.maxChanges ?? 2_000_000;
    const maxSamples = options.maxSamples ?? 1_000_000;
    if (!(Number.isInteger(maxChanges) && maxChanges >= 1)) throw new RangeError(`maxChanges (STRATUM_HISTORY_MAX_CHANGES) must be a whole number ≥ 1 (got ${maxChanges})`);
    if (!(Number.isInteger(maxSamples) && maxSamples >= 1)) throw new RangeError(`maxSamples (STRATUM_HISTORY_MAX_SAMPLES) must be a whole number ≥ 1 (got ${maxSamples})`);
    this.changeRing = new OwnerRing(maxChanges);
    this.sampleRing = new OwnerRing(maxSamples);
  }

  /** Changes held now. */
  get changeCount(): number {
    return this.changeRing.size;
  }

  get sampleCount(): number {
    return this.sampleRing.size;
  }

  appendChanges(changes: readonly StateChange[]): void {
    for (const c of changes) this.appendChange(c);
  }

  appendChange(c: StateChange): void {
    const row = this.row;
    let entry = this.actors.get(c.actor);
    if (entry === undefined) {
      entry = { log: new ColumnLog(CHANGE_COLUMNS), headBefore: c.before };
      this.actors.set(c.actor, entry);
    }
    row[C.Time] = c.time;
    row[C.Seq] = c.seq;
    row[C.Status] = c.after.status;
    row[C.Level] = c.after.level;
    row[C.Load] = c.after.load;
    row[C.Stress] = c.after.stress;
    row[C.CauseCode] = c.cause === null ? -1 : c.cause.code;
    row[C.CauseFrom] = c.cause?.from ?? -1;
    row[C.CauseSeq] = c.cause?.seq ?? -1;
    row[C.CauseTime] = c.cause?.time ?? -1;
    this.pushChange(entry, c.actor, row);
  }

  private pushChange(entry: ActorLog, actor: number, row: ArrayLike<number>): void {
    entry.log.push(row);
    const evicted = this.changeRing.push(actor);
    if (evicted >= 0) {
      const victim = this.actors.get(evicted)!;
      victim.headBefore = viewAt(victim.log, victim.log.head);
      this.oldest = victim.log.get(victim.log.head, C.Time);
      victim.log.head++;
    }
  }

  appendSamples(samples: readonly SeriesSample[]): void {
    const row = this.sampleRow;
    for (const s of samples) {
      row[0] = s.time;
      row[1] = s.seq;
      SERIES_FIELDS.forEach((f, i) => void (row[2 + i] = s[f]));
      this.pushSample(`${s.layer}\u0000${s.district}`, row);
    }
  }

  private pushSample(key: string, row: Float64Array): void {
    let log = this.series.get(key);
    let id = this.seriesIndex.get(key);
    if (log === undefined || id === undefined) {
      log = new SeriesLog();
      id = this.seriesIds.length;
      this.series.set(key, log);
      this.seriesIds.push(key);
      this.seriesIndex.set(key, id);
    }
    log.push(row);
    const evicted = this.sampleRing.push(id);
    if (evicted >= 0) this.series.get(this.seriesIds[evicted]!)!.evictOne();
  }

  /** Everything held, in arrival order (see `HeldHistory`); `importHeld` on an empty store rebuilds it. */
  exportHeld(): HeldHistory {
    const width = CHANGE_COLUMNS;
    const changeRows = new Float64Array(this.changeRing.size * (1 + width));
    const nextOf = new Map<number, number>();
    let o = 0;
    for (const actor of this.changeRing.owners()) {
      const log = this.actors.get(actor)!.log;
      const i = nextOf.get(actor) ?? log.head;
      nextOf.set(actor, i + 1);
      changeRows[o++] = actor;
      changeRows.set(log.data.subarray(i * width, (i + 1) * width), o);
      o += width;
    }
    const sampleWidth = 2 + FIELDS;
    const sampleRows = new Float64Array(this.sampleRing.size * (1 + sampleWidth));
    const nextSample = new Map<number, number>();
    o = 0;
    for (const id of this.sampleRing.owners()) {
      const raw = this.series.get(this.seriesIds[id]!)!.raw;
      const i = nextSample.get(id) ?? raw.head;
      nextSample.set(id, i + 1);
      sampleRows[o++] = id;
      sampleRows.set(raw.data.subarray(i * sampleWidth, (i + 1) * sampleWidth), o);
      o += sampleWidth;
    }
    const heads = Array.from(this.actors, ([actor, entry]) => ({ actor, before: entry.headBefore }));
    return { changeRows, heads, seriesKeys: [...this.seriesIds], sampleRows, oldest: this.oldest };
  }

  /**
   * Puts what `exportHeld` gave before everything held now (after a restart from a snapshot: the
   * history up to the snapshot, ahead of what the restored engine has recorded since), through this
   * store's own bounds, oldest first.
   */
  importHeld(held: HeldHistory): void {
    const width = CHANGE_COLUMNS;
    if (held.changeRows.length % (1 + width) !== 0 || held.sampleRows.length % (3 + FIELDS) !== 0) throw new Error('importHeld: rows of the wrong width');
    const newer = this.exportHeld();
    this.actors.clear();
    this.series.clear();
    this.seriesIds.length = 0;
    this.seriesIndex.clear();
    this.changeRing = new OwnerRing(this.changeRing.capacity);
    this.sampleRing = new OwnerRing(this.sampleRing.capacity);
    this.oldest = undefined;
    this.pushHeld(held);
    this.pushHeld(newer);
    // Where nothing of the older part is left for an actor, the state before its oldest record is
    // what the new store knew (it may itself have evicted records of it since the restart).
    const newerRows = new Map<number, number>();
    for (let o = 0; o < newer.changeRows.length; o += 1 + CHANGE_COLUMNS) newerRows.set(newer.changeRows[o]!, (newerRows.get(newer.changeRows[o]!) ?? 0) + 1);
    for (const { actor, before } of newer.heads) {
      const entry = this.actors.get(actor)!;
      if (entry.log.length - entry.log.head === (newerRows.get(actor) ?? 0)) entry.headBefore = before;
    }
    // The newest record evicted by anyone: before the restart, by the new store, or in this re-push.
    const evicted = [this.oldest, newer.oldest, held.oldest].filter((t): t is number => t !== undefined);
    this.oldest = evicted.length === 0 ? undefined : Math.max(...evicted);
  }

  private pushHeld(held: HeldHistory): void {
    const width = CHANGE_COLUMNS;
    for (const { actor, before } of held.heads) if (!this.actors.has(actor)) this.actors.set(actor, { log: new ColumnLog(width), headBefore: before });
    for (let o = 0; o < held.changeRows.length; o += 1 + width) {
      const actor = held.changeRows[o]!;
      const entry = this.actors.get(actor);
      if (entry === undefined) throw new Error(`importHeld: actor ${actor} has changes but no head state`);
      this.pushChange(entry, actor, held.changeRows.subarray(o + 1, o + 1 + width));
    }
    for (let o = 0; o < held.sampleRows.length; o += 3 + FIELDS) {
      const key = held.seriesKeys[held.sampleRows[o]!];
      if (key === undefined) throw new Error(`importHeld: sample of unknown series ${held.sampleRows[o]}`);
      this.pushSample(key, held.sampleRows.subarray(o + 1, o + 3 + FIELDS));
    }
  }

  async assetRaw(actor: number, fromMs: number, toMs: number, stepMs: number): Promise<AssetRaw> {
    const entry = this.actors.get(actor);
    if (entry === undefined) return { carryIn: undefined, buckets: [] };
    const log = entry.log;
    const first = log.lowerBound(fromMs);
    const carryIn = first > log.head ? viewAt(log, first - 1) : entry.headBefore;
    const buckets: AssetRawBucket[] = [];
    let i = first;
    while (i < log.length && log.get(i, C.Time) < toMs) {
      const startMs = Math.floor(log.get(i, C.Time) / stepMs) * stepMs;
      const end = startMs + stepMs;
      const before = i > log.head ? viewAt(log, i - 1) : entry.headBefore;
      let changes = 0;
      let sumLoad = 0;
      let maxLoad = Number.NEGATIVE_INFINITY;
      let minLevel = Number.POSITIVE_INFINITY;
      let maxStress = Number.NEGATIVE_INFINITY;
      for (; i < log.length && log.get(i, C.Time) < Math.min(end, toMs); i++) {
        const load = log.get(i, C.Load);
        changes++;
        sumLoad += load;
        if (load > maxLoad) maxLoad = load;
        minLevel = Math.min(minLevel, log.get(i, C.Level));
        maxStress = Math.max(maxStress, log.get(i, C.Stress));
      }
      buckets.push({ startMs, changes, sumLoad, maxLoad, minLevel, maxStress, first: before, last: viewAt(log, i - 1) });
    }
    return { carryIn, buckets };
  }

  async assetHistory(actor: number, fromMs: number, toMs: number, stepMs: number, limit: number): Promise<AssetHistory> {
    const [raw, statusChanges] = await Promise.all([this.assetRaw(actor, fromMs, toMs, stepMs), this.statusChanges(actor, fromMs, toMs, limit)]);
    return { ...raw, statusChanges };
  }

  async statusChanges(actor: number, fromMs: number, toMs: number, limit: number): Promise<StatusChangeRecord[]> {
    const entry = this.actors.get(actor);
    if (entry === undefined) return [];
    const log = entry.log;
    const out: StatusChangeRecord[] = [];
    for (let i = log.lowerBound(fromMs); i < log.length && log.get(i, C.Time) < toMs && out.length < limit; i++) {
      const from = i > log.head ? log.get(i - 1, C.Status) : entry.headBefore.status;
      const to = log.get(i, C.Status);
      if (from === to) continue;
      const code = log.get(i, C.CauseCode);
      out.push({
        time: log.get(i, C.Time),
        seq: log.get(i, C.Seq),
        from,
        to,
        cause: code < 0 ? null : { code: code as Cause['code'], from: log.get(i, C.CauseFrom), seq: log.get(i, C.CauseSeq), time: log.get(i, C.CauseTime) },
      });
    }
    return out;
  }

  async seriesRaw(layer: string, district: string, fromMs: number, toMs: number, stepMs: number): Promise<SeriesRaw> {
    const series = this.series.get(`${layer}\u0000${district}`);
    if (series === undefined) return { carryIn: undefined, buckets: [] };
    // Whole minutes, and nothing of the range evicted: the minute roll-up answers alike, faster.
    const raw = foldSeries(series.raw, fromMs, toMs, stepMs, false, stepMs % MINUTE_MS === 0 && series.minutesCover(fromMs));
    if (raw.buckets !== undefined) return raw as SeriesRaw;
    // The value carried in comes from the samples either way (the roll-up of a minute cut by eviction would differ).
    return { carryIn: raw.carryIn, buckets: foldSeries(series.minutes, fromMs, toMs, stepMs, true, false).buckets! };
  }

  async retainedFromMs(): Promise<number | undefined> {
    return this.oldest;
  }
}
