/**
 * Trust in a feed (one sensor's stream of readings) and in an asset (the feeds that measure it), and
 * the gate that automation passes before it acts.
 *
 * Four components, each in [0, 1]:
 * - **freshness** F: age of the newest reading against the feed's expected interval T:
 *   1 up to 2T, falling linearly to 0 at 10T (stale); 0 when nothing was ever received.
 * - **completeness** C: readings received ÷ readings expected over the window (capped at 1).
 * - **residual consistency** R: the reading's normalised residual |r_N| from the state estimator:
 *   1 up to 2, linearly to 0 at 6; 0 when the estimator removed it as bad data. When the estimator
 *   cannot judge it (not in the last estimate, or a critical measurement whose residual is always 0)
 *   R is left out and the other weights are renormalised.
 * - **anomaly** A: 0 when the last `stuckCount` readings are identical (a noisy sensor repeating
 *   itself exactly is stuck), else 0.15 when two consecutive readings among the recent ones differ
 *   by more than `jumpSigmas`·σ·√2 (a jump noise cannot explain: 0.15^0.2 = 0.68, so a jump alone
 *   holds automation for an operator until it leaves the recent readings), else 1.
 *
 * Score = round(100 · F^0.3 · C^0.2 · R^0.3 · A^0.2): a weighted geometric mean, so any one component
 * at 0 (stale, removed as bad data, stuck) blocks on its own, and milder faults combine.
 * An asset's trust is the minimum over its feeds: an action is no better than its weakest input.
 */

export const TRUST_WEIGHTS = { freshness: 0.3, completeness: 0.2, residual: 0.3, anomaly: 0.2 } as const;
/** The gate: PASS ≥ 70 acts, HOLD 40–69 asks an operator, BLOCK < 40 refuses and alerts. */
export const GATE_PASS = 70;
export const GATE_HOLD = 40;
/** Anomaly component after a jump: low enough that a jump alone gives HOLD (100 · 0.15^0.2 = 68). */
export const JUMP_ANOMALY = 0.15;

export interface FeedObservation {
  readonly id: string;
  /** Virtual time of the assessment and of the newest reading, seconds (null: never received). */
  readonly nowS: number;
  readonly lastReadingAtS: number | null;
  /** Seconds between readings when the feed is healthy (> 0). */
  readonly expectedIntervalS: number;
  /** Readings received and expected over the assessment window. */
  readonly received: number;
  readonly expected: number;
  /** |r_N| of the feed's reading in the last estimate; null when the estimator could not judge it. */
  readonly normalizedResidual: number | null;
  readonly removedAsBadData: boolean;
  /** The latest readings, oldest first (for stuck and jump checks). */
  readonly recentValues: readonly number[];
  /** The sensor's standard deviation, in the readings' unit (> 0). */
  readonly sigma: number;
}

export interface TrustOptions {
  /** This many identical readings in a row mean stuck (default 5). */
  readonly stuckCount?: number;
  /** A step between consecutive readings above jumpSigmas·σ·√2 is a jump (default 6). */
  readonly jumpSigmas?: number;
}

export interface TrustScore {
  readonly id: string;
  readonly score: number;
  readonly freshness: number;
  readonly completeness: number;
  /** null: left out (the estimator could not judge the reading). */
  readonly residual: number | null;
  readonly anomaly: number;
  /** Why the score is below 100, in words an operator reads. */
  readonly reasons: readonly string[];
}

export type GateVerdict = 'PASS' | 'HOLD' | 'BLOCK';

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** The trust score of one feed (formula in the module comment). */
export function trustScore(feed: FeedObservation, options: TrustOptions = {}): TrustScore {
  const stuckCount = options.stuckCount ?? 5;
  const jumpSigmas = options.jumpSigmas ?? 6;
  if (!(feed.expectedIntervalS > 0)) throw new RangeError(`feed ${feed.id}: expectedIntervalS must be > 0 (got ${feed.expectedIntervalS})`);
  if (!(feed.sigma > 0)) throw new RangeError(`feed ${feed.id}: sigma must be > 0 (got ${feed.sigma})`);
  const reasons: string[] = [];

  let freshness = 0;
  if (feed.lastReadingAtS === null) reasons.push('no reading received');
  else {
    const age = Math.max(0, feed.nowS - feed.lastReadingAtS);
    const t = feed.expectedIntervalS;
    freshness = clamp01((10 * t - age) / (8 * t));
    if (freshness < 1) reasons.push(`last reading ${age.toFixed(1)} s old (expected every ${t} s)`);
  }

  const completeness = feed.expected > 0 ? clamp01(feed.received / feed.expected) : 1;
  if (completeness < 1) reasons.push(`${feed.received} of ${feed.expected} readings received`);

  let residual: number | null = null;
  if (feed.removedAsBadData) {
    residual = 0;
    reasons.push(`removed by the estimator as bad data${feed.normalizedResidual === null ? '' : ` (normalised residual ${feed.normalizedResidual.toFixed(1)})`}`);
  } else if (feed.normalizedResidual !== null) {
    residual = clamp01((6 - feed.normalizedResidual) / 4);
    if (residual < 1) reasons.push(`normalised residual ${feed.normalizedResidual.toFixed(1)}`);
  }

  let anomaly = 1;
  const values = feed.recentValues;
  const tail = values.slice(-stuckCount);
  if (tail.length >= stuckCount && tail.every((v) => v === tail[0])) {
    anomaly = 0;
    reasons.push(`stuck: last ${stuckCount} readings identical (${tail[0]})`);
  } else {
    const limit = jumpSigmas * feed.sigma * Math.SQRT2;
    for (let i = 1; i < values.length; i++) {
      if (Math.abs(values[i]! - values[i - 1]!) > limit) {
        anomaly = JUMP_ANOMALY;
        reasons.push(`jump of ${(values[i]! - values[i - 1]!).toFixed(2)} between readings (limit ${limit.toFixed(2)})`);
        break;
      }
    }
  }

  const w = TRUST_WEIGHTS;
  const parts: Array<[number, number]> = [
    [freshness, w.freshness],
    [completeness, w.completeness],
    [anomaly, w.anomaly],
  ];
  if (residual !== null) parts.push([residual, w.residual]);
  const total = parts.reduce((s, [, weight]) => s + weight, 0);
  const score = Math.round(100 * parts.reduce((p, [c, weight]) => p * c ** (weight / total), 1));
  return { id: feed.id, score, freshness, completeness, residual, anomaly, reasons };
}

/** PASS ≥ 70, HOLD 40–69, BLOCK < 40. */
export function gateVerdict(score: number): GateVerdict {
  if (!Number.isFinite(score)) throw new RangeError(`trust score must be a finite number (got ${score})`);
  if (score >= GATE_PASS) return 'PASS';
  if (score >= GATE_HOLD) return 'HOLD';
  return 'BLOCK';
}

/** The trust of an asset: its weakest feed (score 0 with a reason when it has none). */
export function assetTrust(assetId: string, feeds: readonly TrustScore[]): { readonly id: string; readonly score: number; readonly weakest: TrustScore | null; readonly reasons: readonly string[] } {
  if (feeds.length === 0) return { id: assetId, score: 0, weakest: null, reasons: ['no feed measures this asset'] };
  let weakest = feeds[0]!;
  for (const f of feeds) if (f.score < weakest.score) weakest = f;
  return { id: assetId, score: weakest.score, weakest, reasons: weakest.reasons.map((r) => `${weakest.id}: ${r}`) };
}

/** What the gate decided about one automatic action: the record written to the ledger. */
export interface GateDecision {
  /** What automation wanted to do, e.g. `shed` / `isolate`. */
  readonly action: string;
  readonly target: string;
  /** Virtual time of the decision, ms. */
  readonly atMs: number;
  readonly trust: number;
  readonly verdict: GateVerdict;
  /** PASS: act; HOLD: queue for an operator's approval; BLOCK: refuse and alert. */
  readonly outcome: 'act' | 'ask-operator' | 'refuse';
  /** The feed that set the trust, and why it is below 100. */
  readonly weakestFeed: string | null;
  readonly reasons: readonly string[];
}

/**
 * Passes an automatic action through the gate on the trust of the feeds it depends on.
 *
 * @example
 * const decision = gateAction({ action: 'shed', target: 'sub-3', atMs: 60_000 }, [trustScore(feed)]);
 * if (decision.outcome === 'act') …
 */
export function gateAction(request: { readonly action: string; readonly target: string; readonly atMs: number }, feeds: readonly TrustScore[]): GateDecision {
  const trust = assetTrust(request.target, feeds);
  const verdict = gateVerdict(trust.score);
  const outcome = verdict === 'PASS' ? 'act' : verdict === 'HOLD' ? 'ask-operator' : 'refuse';
  return { action: request.action, target: request.target, atMs: request.atMs, trust: trust.score, verdict, outcome, weakestFeed: trust.weakest?.id ?? null, reasons: trust.reasons };
}
