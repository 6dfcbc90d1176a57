import { expect, it } from 'vitest';
import { Status, type ActorView, type StateChange } from '../../engine/index.ts';
import { SERIES_FIELDS, ZERO_VALUES, type SeriesSample, type SeriesValues } from './history-series.ts';
import { alignRange, assetSeries, seriesBuckets, type AssetBucket, type HistoryQueries, type SeriesBucket } from './history-store.ts';

/**
 * One contract for every history store (embedded, PostgreSQL partitions, TimescaleDB): written the
 * same records, each must answer every query exactly as a brute-force oracle over the records does.
 */
export interface HistoryUnderTest {
  readonly queries: HistoryQueries;
  write(changes: readonly StateChange[], samples: readonly SeriesSample[]): Promise<void>;
  /** TimescaleDB: materialise the continuous aggregates (the other stores: nothing). */
  materialise?(): Promise<void>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A small seeded generator (the contract's data must be the same on every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const STATUSES = [Status.Ok, Status.Degraded, Status.Failed, Status.Faulted, Status.Isolated] as const;

/** Changes of 3 actors over ~2.5 virtual days, several at the same instant now and then; and samples of two series. */
export function contractData(): { changes: StateChange[]; samples: SeriesSample[] } {
  const rnd = lcg(42);
  const state = new Map<number, ActorView>();
  const changes: StateChange[] = [];
  let time = 5_000;
  let seq = 0;
  const samples: SeriesSample[] = [];
  const series = new Map<string, SeriesValues>();
  for (let i = 0; i < 900; i++) {
    time += rnd() < 0.2 ? 0 : Math.floor(rnd() * 400_000);
    const actor = Math.floor(rnd() * 3);
    const before = state.get(actor) ?? { status: Status.Ok, level: 1, load: 40 + actor, stress: 0.4 };
    const status = rnd() < 0.3 ? STATUSES[Math.floor(rnd() * STATUSES.length)]! : before.status;
    const after: ActorView = { status, level: Math.round(rnd() * 1000) / 1000, load: 10 + rnd() * 90, stress: rnd() * 1.5 };
    state.set(actor, after);
    changes.push({ time, seq, actor, before, after, cause: rnd() < 0.4 ? null : { code: 2 as never, from: Math.floor(rnd() * 50), seq: Math.max(0, seq - 1), time: time - 1_000 } });
    if (rnd() < 0.5) {
      for (const [layer, district] of [['power', 'd0'], ['*', '*']] as const) {
        const key = `${layer}/${district}`;
        const v = series.get(key) ?? ZERO_VALUES;
        const next = { failed: Math.max(0, v.failed + Math.floor(rnd() * 5) - 2), degraded: Math.floor(rnd() * 7), peoplePower: Math.floor(rnd() * 9_000), peopleWater: Math.floor(rnd() * 100), peopleTelecom: 0, costPerHour: Math.floor(rnd() * 1e6) };
        series.set(key, next);
        samples.push({ time, seq, layer, district, ...next });
      }
    }
    seq++;
  }
  return { changes, samples };
}

/** The oracle: asset buckets straight from the list of changes. */
function oracleAsset(changes: readonly StateChange[], actor: number, from: number, to: number, step: number): AssetBucket[] {
  const mine = changes.filter((c) => c.actor === actor);
  const out: AssetBucket[] = [];
  for (let s = from; s < to; s += step) {
    const prior = mine.filter((c) => c.time < s).at(-1);
    const startState = prior?.after ?? mine.find((c) => c.time >= s)!.before;
    const inside = mine.filter((c) => c.time >= s && c.time < s + step);
    const views = [startState, ...inside.map((c) => c.after)];
    out.push({
      startMs: s,
      changes: inside.length,
      meanLoad: views.reduce((sum, v) => sum + v.load, 0) / views.length,
      maxLoad: Math.max(...views.map((v) => v.load)),
      minLevel: Math.min(...views.map((v) => v.level)),
      maxStress: Math.max(...views.map((v) => v.stress)),
      lastStatus: views.at(-1)!.status,
    });
  }
  return out;
}

export function oracleSeries(samples: readonly SeriesSample[], layer: string, district: string, from: number, to: number, step: number): SeriesBucket[] {
  const mine = samples.filter((s) => s.layer === layer && s.district === district);
  const out: SeriesBucket[] = [];
  for (let s = from; s < to; s += step) {
    const prior = mine.filter((x) => x.time < s).at(-1) ?? ZERO_VALUES;
    const inside = mine.filter((x) => x.time >= s && x.time < s + step);
    const peak = {} as Record<(typeof SERIES_FIELDS)[number], number>;
    for (const f of SERIES_FIELDS) peak[f] = Math.max(prior[f], ...inside.map((x) => x[f]));
    out.push({ startMs: s, samples: inside.length, ...peak });
  }
  return out;
}

/** Sums in a database may add in another order: compare the mean to 1e-9 relative, the rest exactly. */
function expectAssetBuckets(got: AssetBucket[], want: AssetBucket[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    expect({ ...g, meanLoad: 0 }).toEqual({ ...w, meanLoad: 0 });
    expect(Math.abs(g.meanLoad - w.meanLoad)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w.meanLoad)));
  });
}

export function historyQueryContract(make: () => Promise<HistoryUnderTest>): void {
  const { changes, samples } = contractData();
  const end = changes.at(-1)!.time;

  async function using(body: (h: HistoryUnderTest) => Promise<void>): Promise<void> {
    const h = await make();
    try {
      await h.write(changes.slice(0, 400), samples.slice(0, 300));
      await h.write(changes.slice(400), samples.slice(300));
      await body(h);
    } finally {
      await h.cleanup();
    }
  }

  it('[history-query] answers asset buckets (mean/max load, min level, max stress, last status) like the oracle at 1 min, 7 min and 1 h', async () => {
    await using(async (h) => {
      for (const [actor, fromMs, toMs, step] of [[0, 0, 24 * HOUR, MINUTE], [1, 3 * HOUR + 17, end, 7 * MINUTE], [2, 0, end + HOUR, HOUR]] as const) {
        const r = alignRange(fromMs, toMs, step);
        const got = assetSeries(await h.queries.assetRaw(actor, r.fromMs, r.toMs, step), r.fromMs, r.toMs, step, { status: 0, level: 1, load: 0, stress: 0 });
        expectAssetBuckets(got, oracleAsset(changes, actor, r.fromMs, r.toMs, step));
      }
    });
  });

  it('[history-query] lists every status change with its cause exactly, in order, bounded by the limit', async () => {
    await using(async (h) => {
      const from = 6 * HOUR;
      const to = 40 * HOUR;
      const want = changes.filter((c) => c.actor === 1 && c.time >= from && c.time < to && c.before.status !== c.after.status)
        .map((c) => ({ time: c.time, seq: c.seq, from: c.before.status, to: c.after.status, cause: c.cause }));
      expect(want.length).toBeGreaterThan(10);
      expect(await h.queries.statusChanges(1, from, to, 10_000)).toEqual(want);
      expect(await h.queries.statusChanges(1, from, to, 5)).toEqual(want.slice(0, 5));
      expect(await h.queries.statusChanges(77, 0, to, 10)).toEqual([]);
    });
  });

  it('[history-query] answers the whole asset question in one call exactly as its parts (carry-in, buckets, status changes)', async () => {
    await using(async (h) => {
      for (const [actor, fromMs, toMs, step, limit] of [[1, 6 * HOUR, 40 * HOUR, MINUTE, 10_000], [1, 0, end, 7 * MINUTE, 3], [2, end + HOUR, end + 2 * HOUR, HOUR, 10], [77, 0, HOUR, MINUTE, 10]] as const) {
        const whole = await h.queries.assetHistory(actor, fromMs, toMs, step, limit);
        const raw = await h.queries.assetRaw(actor, fromMs, toMs, step);
        expect({ carryIn: whole.carryIn, buckets: whole.buckets.map((b) => ({ ...b, sumLoad: 0 })) }).toEqual({ carryIn: raw.carryIn, buckets: raw.buckets.map((b) => ({ ...b, sumLoad: 0 })) });
        whole.buckets.forEach((b, i) => expect(Math.abs(b.sumLoad - raw.buckets[i]!.sumLoad)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b.sumLoad))));
        expect(whole.statusChanges).toEqual(await h.queries.statusChanges(actor, fromMs, toMs, limit));
      }
      // The state carried into a range after the last change is that change's, not the fallback.
      expect((await h.queries.assetHistory(2, end + HOUR, end + 2 * HOUR, HOUR, 10)).carryIn).toEqual(changes.filter((c) => c.actor === 2).at(-1)!.after);
    });
  });

  it('[history-query] answers layer/district buckets (peaks with the carried value) like the oracle, before and after the aggregates are materialised', async () => {
    await using(async (h) => {
      const cases = [['power', 'd0', 0, 30 * HOUR, MINUTE], ['*', '*', 2 * HOUR, end, HOUR], ['*', '*', 0, end, 10 * MINUTE], ['*', '*', 0, 12 * HOUR, 90_000]] as const;
      const check = async (): Promise<void> => {
        for (const [layer, district, fromMs, toMs, step] of cases) {
          const r = alignRange(fromMs, toMs, step);
          const got = seriesBuckets(await h.queries.seriesRaw(layer, district, r.fromMs, r.toMs, step), r.fromMs, r.toMs, step);
          expect(got, `${layer}/${district} step ${step}`).toEqual(oracleSeries(samples, layer, district, r.fromMs, r.toMs, step));
        }
      };
      await check();
      if (h.materialise !== undefined) {
        await h.materialise();
        await check();
      }
      const none = await h.queries.seriesRaw('water', 'd9', 0, HOUR, MINUTE);
      expect(seriesBuckets(none, 0, HOUR, MINUTE).every((b) => b.failed === 0 && b.samples === 0)).toBe(true);
    });
  });
}
