/**
 * Demand tracking: a Kalman filter per load on a local level with trend.
 *
 * State x = [level (MW), slope (MW/s)]. Between readings dt seconds apart the state moves by
 * F = [[1, dt], [0, 1]] plus process noise from two white-noise sources:
 * - the level diffuses with spectral density `levelDiffusion` (MW²/s): steps and unmodelled wiggle;
 * - the slope diffuses with spectral density `slopeDiffusion` (MW²/s³): the demand's ramp changes.
 * Integrated over dt this gives Q = [[qL·dt + qS·dt³/3, qS·dt²/2], [qS·dt²/2, qS·dt]] (the
 * continuous-time integrated random walk, exact for any dt, so irregular readings need no resampling).
 * A reading z = level + v, v ~ N(0, σ²) with σ = `measurementSigmaMw`.
 *
 * Pure arithmetic on a plain state object (no clock, no randomness): an actor can keep the state and
 * restore it exactly; the same readings give the same forecasts.
 */

export interface DemandTrackerOptions {
  /** Standard deviation of one meter reading, MW (> 0). */
  readonly measurementSigmaMw: number;
  /** Spectral density of the level's random walk, MW²/s (≥ 0). Default (0.01 MW)²/s: a 10 MW-class load wanders ~0.6 MW in an hour. */
  readonly levelDiffusion?: number;
  /** Spectral density of the slope's random walk, MW²/s³ (≥ 0). Default (2e-6 MW/s)²/s (see DEFAULT_SLOPE_DIFFUSION). */
  readonly slopeDiffusion?: number;
  /** Prior standard deviation of the slope at the first reading, MW/s. Default 0.001 MW/s (3.6 MW/h). */
  readonly initialSlopeSigma?: number;
}

/** The filter's whole state: mean [level, slope] and covariance (symmetric, three numbers). */
export interface DemandState {
  readonly levelMw: number;
  readonly slopeMwPerS: number;
  readonly pLL: number;
  readonly pLS: number;
  readonly pSS: number;
  /** Readings taken so far. */
  readonly readings: number;
  /** Last innovation normalised by its standard deviation (0 before the second reading). */
  readonly normalizedInnovation: number;
}

export interface DemandForecast {
  /** Seconds ahead of the last reading. */
  readonly aheadS: number;
  readonly meanMw: number;
  /** Standard deviation of the true load at that time (state uncertainty plus process noise; meter noise excluded). */
  readonly sigmaMw: number;
}

export interface AtRisk {
  /** Seconds after the last reading at which mean + k·σ first reaches the rating (0: already). */
  readonly inS: number;
  readonly meanMw: number;
  readonly sigmaMw: number;
  readonly ratingMw: number;
}

export const DEFAULT_LEVEL_DIFFUSION = 0.01 ** 2;
/**
 * The ramp rate drifts by √(4e-12·3600) ≈ 1.2e-4 MW/s (0.4 MW/h) per hour: a daily load curve of a
 * 10 MW load (±30 %) changes its ramp by about 0.1 MW/h per hour; twice that leaves room for weather.
 */
export const DEFAULT_SLOPE_DIFFUSION = 2e-6 ** 2;
export const DEFAULT_INITIAL_SLOPE_SIGMA = 0.001;

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a finite number ≥ 0 (got ${value})`);
  return value;
}

/**
 * A local-level-with-trend Kalman filter for one load.
 *
 * @example
 * const tracker = new DemandTracker({ measurementSigmaMw: 0.3 });
 * tracker.update(12.1, 0); tracker.update(12.4, 60);
 * tracker.forecast(3600);                          // { aheadS: 3600, meanMw, sigmaMw }
 * tracker.atRisk({ ratingMw: 15, horizonS: 3600, k: 2 }); // { inS, … } or null
 */
export class DemandTracker {
  private readonly r: number;
  private readonly qL: number;
  private readonly qS: number;
  private readonly p0: number;
  private s: DemandState | undefined;

  constructor(options: DemandTrackerOptions, state?: DemandState) {
    const sigma = options.measurementSigmaMw;
    if (!(Number.isFinite(sigma) && sigma > 0)) throw new RangeError(`measurementSigmaMw must be a positive finite number (got ${sigma})`);
    this.r = sigma * sigma;
    this.qL = nonNegative('levelDiffusion', options.levelDiffusion ?? DEFAULT_LEVEL_DIFFUSION);
    this.qS = nonNegative('slopeDiffusion', options.slopeDiffusion ?? DEFAULT_SLOPE_DIFFUSION);
    const slopeSigma = nonNegative('initialSlopeSigma', options.initialSlopeSigma ?? DEFAULT_INITIAL_SLOPE_SIGMA);
    this.p0 = slopeSigma * slopeSigma;
    this.s = state;
  }

  /** The filter state (undefined before the first reading): save it, restore with `new DemandTracker(options, state)`. */
  get state(): DemandState | undefined {
    return this.s;
  }

  /**
   * Takes one reading `dtS` seconds after the previous one (ignored for the first reading).
   *
   * @throws RangeError on a non-finite reading or a negative or non-finite dt (the state is unchanged).
   */
  update(readingMw: number, dtS: number): DemandState {
    if (!Number.isFinite(readingMw)) throw new RangeError(`reading must be a finite number of MW (got ${readingMw})`);
    if (!(Number.isFinite(dtS) && dtS >= 0)) throw new RangeError(`dt must be a finite number of seconds ≥ 0 (got ${dtS})`);
    const prior = this.s;
    if (prior === undefined) {
      this.s = { levelMw: readingMw, slopeMwPerS: 0, pLL: this.r, pLS: 0, pSS: this.p0, readings: 1, normalizedInnovation: 0 };
      return this.s;
    }
    const p = this.predict(prior, dtS);
    // Measurement update with H = [1, 0]: innovation y, its variance S, gain K = P·Hᵀ/S.
    const y = readingMw - p.levelMw;
    const innovationVariance = p.pLL + this.r;
    const kL = p.pLL / innovationVariance;
    const kS = p.pLS / innovationVariance;
    // Joseph-free form is fine here: P − K·S·Kᵀ stays symmetric by construction with three numbers.
    this.s = {
      levelMw: p.levelMw + kL * y,
      slopeMwPerS: p.slopeMwPerS + kS * y,
      pLL: p.pLL - kL * p.pLL,
      pLS: p.pLS - kL * p.pLS,
      pSS: p.pSS - kS * p.pLS,
      readings: prior.readings + 1,
      normalizedInnovation: y / Math.sqrt(innovationVariance),
    };
    return this.s;
  }

  /** The load `aheadS` seconds after the last reading: mean and standard deviation. */
  forecast(aheadS: number): DemandForecast {
    const s = this.required();
    if (!(Number.isFinite(aheadS) && aheadS >= 0)) throw new RangeError(`forecast horizon must be a finite number of seconds ≥ 0 (got ${aheadS})`);
    const p = this.predict(s, aheadS);
    return { aheadS, meanMw: p.levelMw, sigmaMw: Math.sqrt(Math.max(0, p.pLL)) };
  }

  /**
   * The hidden-risk check: the first time within `horizonS` at which mean + k·σ of the forecast
   * reaches `ratingMw`, or null. The upper band is not monotone in general (a falling mean with a
   * widening σ), so it is scanned on `steps` points and the first crossing refined by bisection.
   */
  atRisk(options: { readonly ratingMw: number; readonly horizonS: number; readonly k?: number; readonly steps?: number }): AtRisk | null {
    const { ratingMw, horizonS } = options;
    const k = nonNegative('k', options.k ?? 2);
    const steps = options.steps ?? 240;
    if (!Number.isFinite(ratingMw)) throw new RangeError(`rating must be a finite number of MW (got ${ratingMw})`);
    if (!(Number.isFinite(horizonS) && horizonS >= 0)) throw new RangeError(`horizon must be a finite number of seconds ≥ 0 (got ${horizonS})`);
    if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a whole number ≥ 1 (got ${steps})`);
    const excess = (t: number): number => {
      const f = this.forecast(t);
      return f.meanMw + k * f.sigmaMw - ratingMw;
    };
    const hit = (t: number): AtRisk => {
      const f = this.forecast(t);
      return { inS: t, meanMw: f.meanMw, sigmaMw: f.sigmaMw, ratingMw };
    };
    if (excess(0) >= 0) return hit(0);
    let lo = 0;
    for (let i = 1; i <= steps; i++) {
      const t = (horizonS * i) / steps;
      if (excess(t) >= 0) {
        let hi = t;
        for (let j = 0; j < 40 && hi - lo > 1e-3; j++) {
          const mid = (lo + hi) / 2;
          if (excess(mid) >= 0) hi = mid;
          else lo = mid;
        }
        return hit(hi);
      }
      lo = t;
    }
    return null;
  }

  private required(): DemandState {
    if (this.s === undefined) throw new RangeError('no reading yet: the tracker forecasts only after its first reading');
    return this.s;
  }

  /** The state dt seconds on, without a reading (time update). */
  private predict(s: DemandState, dt: number): DemandState {
    const { qL, qS } = this;
    const pLL = s.pLL + 2 * dt * s.pLS + dt * dt * s.pSS + qL * dt + (qS * dt * dt * dt) / 3;
    const pLS = s.pLS + dt * s.pSS + (qS * dt * dt) / 2;
    const pSS = s.pSS + qS * dt;
    return { ...s, levelMw: s.levelMw + dt * s.slopeMwPerS, pLL, pLS, pSS };
  }
}
