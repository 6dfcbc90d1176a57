import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { DemandTracker } from './demand.ts';

/** Readings every `dt` s of truth(t) plus seeded Gaussian noise σ. */
function feed(tracker: DemandTracker, truth: (t: number) => number, opts: { seconds: number; dt: number; sigma: number; seed: number }, each?: (t: number) => void): void {
  const rng = new Rng(opts.seed);
  for (let t = 0; t <= opts.seconds; t += opts.dt) {
    tracker.update(truth(t) + opts.sigma * rng.normal(), t === 0 ? 0 : opts.dt);
    each?.(t);
  }
}

describe('DemandTracker (local level with trend)', () => {
  it('tracks a noisy ramp with bounded lag: the level error stays within 3σ of its own band and the slope is learnt', () => {
    const slope = 0.005; // MW/s = 18 MW/h
    const truth = (t: number): number => 10 + slope * t;
    const tracker = new DemandTracker({ measurementSigmaMw: 0.5 });
    const errors: number[] = [];
    feed(tracker, truth, { seconds: 3600, dt: 10, sigma: 0.5, seed: 7 }, (t) => {
      if (t >= 600) errors.push(tracker.state!.levelMw - truth(t));
    });
    // No systematic lag on a ramp (the slope state absorbs it): mean error near 0, every error small.
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.max(...errors.map(Math.abs))).toBeLessThan(1);
    expect(Math.abs(tracker.state!.slopeMwPerS - slope) / slope).toBeLessThan(0.2);
    // Smoothing: the level is closer to the truth than the raw readings are (σ 0.5).
    const rms = Math.sqrt(errors.reduce((a, b) => a + b * b, 0) / errors.length);
    expect(rms).toBeLessThan(0.3);
  });

  it('a level load with noise forecasts flat, and the forecast σ grows with the horizon', () => {
    const tracker = new DemandTracker({ measurementSigmaMw: 0.3 });
    feed(tracker, () => 8, { seconds: 3600, dt: 5, sigma: 0.3, seed: 3 });
    const near = tracker.forecast(60);
    const far = tracker.forecast(3600);
    expect(Math.abs(near.meanMw - 8)).toBeLessThan(0.2);
    expect(Math.abs(far.meanMw - 8)).toBeLessThan(2 * far.sigmaMw);
    expect(far.sigmaMw).toBeGreaterThan(near.sigmaMw);
    expect(tracker.atRisk({ ratingMw: 12, horizonS: 600, k: 2 })).toBeNull();
  });

  it('follows a step: within 2 minutes of a 3 MW jump the level is within 0.5 MW of the new value', () => {
    const tracker = new DemandTracker({ measurementSigmaMw: 0.2 });
    const truth = (t: number): number => (t < 1800 ? 5 : 8);
    let errorAfter = Number.POSITIVE_INFINITY;
    let surprise = 0;
    feed(tracker, truth, { seconds: 1920, dt: 5, sigma: 0.2, seed: 11 }, (t) => {
      if (t === 1800) surprise = tracker.state!.normalizedInnovation;
      if (t === 1920) errorAfter = Math.abs(tracker.state!.levelMw - 8);
    });
    expect(surprise).toBeGreaterThan(5); // the step shows as a large normalised innovation
    expect(errorAfter).toBeLessThan(0.5);
  });

  it('flags the rating crossing of a ramp well before it happens, conservatively, and sharpens as it nears', () => {
    const slope = 0.002; // MW/s
    const truth = (t: number): number => 10 + slope * t; // reaches the 16 MW rating at t = 3000 s
    const tracker = new DemandTracker({ measurementSigmaMw: 0.3 });
    const rng = new Rng(5);
    const predicted: Array<[number, number]> = [];
    for (let t = 0; t <= 3000; t += 10) {
      tracker.update(truth(t) + 0.3 * rng.normal(), t === 0 ? 0 : 10);
      const risk = tracker.atRisk({ ratingMw: 16, horizonS: 1800, k: 2 });
      if (risk === null) continue;
      predicted.push([t, t + risk.inS]);
      if (risk.inS > 0) expect(risk.meanMw + 2 * risk.sigmaMw).toBeCloseTo(16, 2);
    }
    // Flagged at every reading from the moment the crossing enters the 30-minute horizon (1200 s).
    const flagged = new Set(predicted.map(([t]) => t));
    for (let t = 1200; t <= 3000; t += 10) expect(flagged.has(t)).toBe(true);
    // The k·σ band makes the predicted time conservative: never later than the real crossing once
    // the slope is learnt, and within 7.5 minutes of it in the last 1000 s.
    for (const [t, at] of predicted) {
      if (t >= 600) expect(at).toBeLessThanOrEqual(3000 + 30);
      if (t >= 2000) expect(3000 - at).toBeLessThan(450);
    }
  });

  it('a rating already exceeded is at risk now (inS 0)', () => {
    const tracker = new DemandTracker({ measurementSigmaMw: 0.1 });
    tracker.update(20, 0);
    expect(tracker.atRisk({ ratingMw: 15, horizonS: 3600 })?.inS).toBe(0);
  });

  it('is deterministic and restorable: a saved state continues exactly', () => {
    const options = { measurementSigmaMw: 0.4 };
    const a = new DemandTracker(options);
    feed(a, (t) => 3 + 0.001 * t, { seconds: 600, dt: 15, sigma: 0.4, seed: 2 });
    const b = new DemandTracker(options, JSON.parse(JSON.stringify(a.state)) as typeof a.state);
    a.update(4, 15);
    b.update(4, 15);
    expect(b.state).toEqual(a.state);
    expect(b.forecast(900)).toEqual(a.forecast(900));
  });

  it('refuses bad input with a message naming it, and keeps its state', () => {
    expect(() => new DemandTracker({ measurementSigmaMw: 0 })).toThrow(/measurementSigmaMw/);
    const tracker = new DemandTracker({ measurementSigmaMw: 1 });
    expect(() => tracker.forecast(10)).toThrow(/no reading yet/);
    tracker.update(5, 0);
    const before = tracker.state;
    expect(() => tracker.update(Number.NaN, 1)).toThrow(/reading/);
    expect(() => tracker.update(5, -1)).toThrow(/dt/);
    expect(tracker.state).toBe(before);
    expect(() => tracker.atRisk({ ratingMw: 10, horizonS: -5 })).toThrow(/horizon/);
  });
});

describe('DemandTracker at-risk check on a load that levels off', () => {
  it('stops flagging once the ramp has ended below the rating', () => {
    const truth = (t: number): number => Math.min(10 + 0.002 * t, 13.5); // plateau 2.5 MW under the rating
    const tracker = new DemandTracker({ measurementSigmaMw: 0.3 });
    const rng = new Rng(9);
    let lastFlag = -1;
    for (let t = 0; t <= 7200; t += 10) {
      tracker.update(truth(t) + 0.3 * rng.normal(), t === 0 ? 0 : 10);
      if (tracker.atRisk({ ratingMw: 16, horizonS: 1800, k: 2 }) !== null) lastFlag = t;
    }
    // The ramp ends at 1750 s; within an hour of that the learnt slope is flat and the alarm clears.
    expect(lastFlag).toBeGreaterThan(0); // the ramp itself was flagged
    expect(lastFlag).toBeLessThan(1750 + 3600);
  });
});
