/**
 * The live telemetry monitor: one feed per asset that receives telemetry (a load reading). Each feed
 * keeps a DemandTracker and the facts its trust score needs; `assess(nowS)` scores every feed and
 * returns the alerts that changed since the last assessment — an asset forecast to reach its rating
 * within the horizon (*at risk*), a feed whose trust fell to BLOCK (*untrusted*), and a latest
 * reading at or above the rating (*overload*, with the feed's trust: automation's trigger). An alert is
 * raised when its condition starts, not on every assessment, and raised again only after it cleared.
 * A feed's forecast is believed once its slope is known (see SLOPE_CONFIDENCE).
 *
 * Pure: the caller passes virtual times (s) and readings; the same inputs give the same alerts.
 */
import { DEFAULT_INITIAL_SLOPE_SIGMA, DEFAULT_LEVEL_DIFFUSION, DEFAULT_SLOPE_DIFFUSION, DemandTracker, type DemandTrackerOptions } from './demand.ts';
import { gateAction, gateVerdict, trustScore, type GateDecision, type TrustScore } from './trust.ts';

export interface MonitorOptions {
  /** Seconds between readings of a healthy feed (default 60). */
  readonly expectedIntervalS?: number;
  /** Completeness window, seconds (default 10 expected intervals). */
  readonly windowS?: number;
  /** Reading σ as a share of the asset's rating, or of the first reading when the rating is unbounded (default 0.02). */
  readonly relativeSigma?: number;
  /** At-risk horizon, seconds (default 3600) and band width k (default 2). */
  readonly horizonS?: number;
  readonly k?: number;
  /** Rating of an asset (its capacity); undefined or ∞: no at-risk check. */
  readonly ratingOf: (assetId: string) => number | undefined;
  /**
   * The state estimator's judgement of an asset's latest reading (its |r_N|, or removed as bad data),
   * the trust score's residual component; undefined (or no function): not judged, left out.
   */
  readonly residualOf?: (assetId: string) => { readonly normalizedResidual: number | null; readonly removed: boolean } | undefined;
}

export type MonitorAlert =
  | { readonly kind: 'at-risk'; readonly asset: string; readonly atS: number; readonly inS: number; readonly forecastMw: number; readonly sigmaMw: number; readonly ratingMw: number; readonly message: string }
  | { readonly kind: 'untrusted'; readonly asset: string; readonly atS: number; readonly score: number; readonly reasons: readonly string[]; readonly message: string }
  /** The latest reading is at or above the rating: what automatic load shedding reacts to (through the gate). */
  | { readonly kind: 'overload'; readonly asset: string; readonly atS: number; readonly readingMw: number; readonly ratingMw: number; readonly trust: number; readonly message: string };

interface Feed {
  readonly tracker: DemandTracker;
  readonly sigma: number;
  readonly scale: number;
  lastS: number;
  readonly times: number[];
  readonly recent: number[];
  atRisk: boolean;
  blocked: boolean;
  overloaded: boolean;
}

const RECENT = 8;
/**
 * A feed's forecast is believed once its slope is known well enough that the slope's σ alone moves
 * the horizon's forecast by at most this share of the scale (rating): a few readings do not give a slope.
 */
const SLOPE_CONFIDENCE = 0.1;

export class TelemetryMonitor {
  private readonly feeds = new Map<string, Feed>();
  private readonly interval: number;
  private readonly window: number;
  private readonly relativeSigma: number;
  private readonly horizon: number;
  private readonly k: number;

  constructor(private readonly options: MonitorOptions) {
    this.interval = options.expectedIntervalS ?? 60;
    this.window = options.windowS ?? 10 * this.interval;
    this.relativeSigma = options.relativeSigma ?? 0.02;
    this.horizon = options.horizonS ?? 3600;
    this.k = options.k ?? 2;
    if (!(this.interval > 0 && this.window > 0 && this.relativeSigma > 0 && this.horizon >= 0 && this.k >= 0)) {
      throw new RangeError('telemetry monitor: expectedIntervalS, windowS and relativeSigma must be > 0, horizonS and k ≥ 0');
    }
  }

  /** Feeds seen so far. */
  get size(): number {
    return this.feeds.size;
  }

  /** One reading of an asset's load at virtual time `atS` (readings must come in time order per asset). */
  observe(asset: string, atS: number, value: number): void {
    let feed = this.feeds.get(asset);
    if (feed === undefined) {
      const rating = this.options.ratingOf(asset);
      const scale = rating !== undefined && Number.isFinite(rating) && rating > 0 ? rating : Math.max(Math.abs(value), 1);
      const sigma = this.relativeSigma * scale;
      const trackerOptions: DemandTrackerOptions = {
        measurementSigmaMw: sigma,
        // The documented defaults are for a 10-unit load: scale the diffusions with the load (variance ∝ scale²).
        levelDiffusion: DEFAULT_LEVEL_DIFFUSION * (scale / 10) ** 2,
        slopeDiffusion: DEFAULT_SLOPE_DIFFUSION * (scale / 10) ** 2,
        initialSlopeSigma: DEFAULT_INITIAL_SLOPE_SIGMA * (scale / 10),
      };
      feed = { tracker: new DemandTracker(trackerOptions), sigma, scale, lastS: atS, times: [], recent: [], atRisk: false, blocked: false, overloaded: false };
      this.feeds.set(asset, feed);
    }
    const dt = feed.times.length === 0 ? 0 : Math.max(0, atS - feed.lastS);
    feed.tracker.update(value, dt);
    feed.lastS = Math.max(feed.lastS, atS);
    feed.times.push(atS);
    while (feed.times.length > 0 && feed.times[0]! < atS - this.window) feed.times.shift();
    feed.recent.push(value);
    if (feed.recent.length > RECENT) feed.recent.shift();
  }

  /** The trust score of an asset's feed at `nowS` (undefined: no telemetry seen for it). */
  trust(asset: string, nowS: number): TrustScore | undefined {
    const feed = this.feeds.get(asset);
    if (feed === undefined) return undefined;
    const since = nowS - this.window;
    const judged = this.options.residualOf?.(asset);
    return trustScore({
      id: asset,
      nowS,
      lastReadingAtS: feed.lastS,
      expectedIntervalS: this.interval,
      received: feed.times.filter((t) => t > since).length,
      expected: Math.max(1, Math.floor(this.window / this.interval)),
      // From the live estimator when one runs on this asset's sensor; else the residual component is left out.
      normalizedResidual: judged?.normalizedResidual ?? null,
      removedAsBadData: judged?.removed ?? false,
      recentValues: feed.recent,
      sigma: feed.sigma,
    });
  }

  /** Passes an automatic action on `target` through the gate on its feed's trust. */
  gate(action: string, target: string, nowS: number): GateDecision {
    const trust = this.trust(target, nowS);
    return gateAction({ action, target, atMs: Math.round(nowS * 1000) }, trust === undefined ? [] : [trust]);
  }

  /** Scores every feed at `nowS`; returns the alerts whose condition started since the last call. */
  assess(nowS: number): MonitorAlert[] {
    const alerts: MonitorAlert[] = [];
    for (const [asset, feed] of this.feeds) {
      const trust = this.trust(asset, nowS)!;
      const blocked = gateVerdict(trust.score) === 'BLOCK';
      if (blocked && !feed.blocked) {
        alerts.push({ kind: 'untrusted', asset, atS: nowS, score: trust.score, reasons: trust.reasons, message: `telemetry of ${asset} untrusted (trust ${trust.score}): ${trust.reasons.join('; ')}` });
      }
      feed.blocked = blocked;
      const rating = this.options.ratingOf(asset);
      const latest = feed.recent[feed.recent.length - 1]!;
      const overloaded = rating !== undefined && Number.isFinite(rating) && latest >= rating;
      if (overloaded && !feed.overloaded) {
        alerts.push({ kind: 'overload', asset, atS: nowS, readingMw: latest, ratingMw: rating, trust: trust.score, message: `${asset} reads ${latest} against its rating ${rating} (trust ${trust.score})` });
      }
      feed.overloaded = overloaded;
      // An untrusted feed's forecast is not believed either: at risk only on data that passes.
      const risk = rating === undefined || !Number.isFinite(rating) || blocked || Math.sqrt(feed.tracker.state!.pSS) * this.horizon > SLOPE_CONFIDENCE * feed.scale ? null : feed.tracker.atRisk({ ratingMw: rating, horizonS: this.horizon, k: this.k });
      // The forecast runs from the last reading; the warning counts from now.
      const inS = risk === null ? 0 : Math.max(0, risk.inS - (nowS - feed.lastS));
      if (risk !== null && !feed.atRisk) {
        alerts.push({
          kind: 'at-risk',
          asset,
          atS: nowS,
          inS,
          forecastMw: risk.meanMw,
          sigmaMw: risk.sigmaMw,
          ratingMw: risk.ratingMw,
          message: `${asset} at risk: load forecast ${risk.meanMw.toFixed(2)} ± ${risk.sigmaMw.toFixed(2)} reaches its rating ${risk.ratingMw} in ${Math.round(inS / 60)} min`,
        });
      }
      feed.atRisk = risk !== null;
    }
    return alerts;
  }
}
