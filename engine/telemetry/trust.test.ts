import { describe, expect, it } from 'vitest';
import { assetTrust, gateAction, gateVerdict, trustScore, type FeedObservation } from './trust.ts';

/** A healthy 1 Hz feed with noisy values, observed at t = 100 s. */
const healthy = (over: Partial<FeedObservation> = {}): FeedObservation => ({
  id: 'br-12',
  nowS: 100,
  lastReadingAtS: 99.5,
  expectedIntervalS: 1,
  received: 60,
  expected: 60,
  normalizedResidual: 0.8,
  removedAsBadData: false,
  recentValues: [50.1, 49.7, 50.4, 49.9, 50.2, 50.0],
  sigma: 0.5,
  ...over,
});

describe('trust score', () => {
  it('a fresh, complete, consistent, lively feed scores 100 and passes', () => {
    const t = trustScore(healthy());
    expect(t).toMatchObject({ score: 100, freshness: 1, completeness: 1, residual: 1, anomaly: 1, reasons: [] });
    expect(gateVerdict(t.score)).toBe('PASS');
  });

  it('each fault that makes data unusable blocks on its own: stale, removed as bad data, stuck, never received', () => {
    const stale = trustScore(healthy({ lastReadingAtS: 85 }));
    expect(stale.freshness).toBe(0);
    expect(stale.reasons[0]).toMatch(/15\.0 s old/);
    const spoofed = trustScore(healthy({ removedAsBadData: true, normalizedResidual: 41.2 }));
    expect(spoofed.residual).toBe(0);
    expect(spoofed.reasons).toContain('removed by the estimator as bad data (normalised residual 41.2)');
    const stuck = trustScore(healthy({ recentValues: [50.1, 50.3, 50.3, 50.3, 50.3, 50.3] }));
    expect(stuck.anomaly).toBe(0);
    const silent = trustScore(healthy({ lastReadingAtS: null, received: 0 }));
    for (const t of [stale, spoofed, stuck, silent]) {
      expect(t.score).toBe(0);
      expect(gateVerdict(t.score)).toBe('BLOCK');
    }
  });

  it('milder faults lower the score by the documented formula 100·F^0.3·C^0.2·R^0.3·A^0.2', () => {
    // Half the readings missing, a residual of 4 (R = 0.5), a jump (A = 0.15), 5 s old at T = 1 s (F = 5/8).
    const t = trustScore(healthy({ received: 30, normalizedResidual: 4, recentValues: [50, 50.2, 60, 60.1], lastReadingAtS: 95 }));
    expect(t.completeness).toBe(0.5);
    expect(t.residual).toBe(0.5);
    expect(t.anomaly).toBe(0.15);
    expect(t.freshness).toBeCloseTo(5 / 8, 12);
    expect(t.score).toBe(Math.round(100 * (5 / 8) ** 0.3 * 0.5 ** 0.2 * 0.5 ** 0.3 * 0.15 ** 0.2));
    expect(gateVerdict(t.score)).toBe('HOLD');
    // A jump alone holds automation for an operator.
    expect(gateVerdict(trustScore(healthy({ recentValues: [50, 50.2, 60, 60.1] })).score)).toBe('HOLD');
    expect(t.reasons).toHaveLength(4);
  });

  it('leaves the residual out, renormalising the weights, when the estimator could not judge the reading', () => {
    const t = trustScore(healthy({ normalizedResidual: null, received: 30 }));
    expect(t.residual).toBeNull();
    expect(t.score).toBe(Math.round(100 * 0.5 ** (0.2 / 0.7)));
  });

  it('gate thresholds: 70 passes, 69 holds, 40 holds, 39 blocks', () => {
    expect([70, 69, 40, 39, 100, 0].map(gateVerdict)).toEqual(['PASS', 'HOLD', 'HOLD', 'BLOCK', 'PASS', 'BLOCK']);
    expect(() => gateVerdict(Number.NaN)).toThrow(/finite/);
  });

  it('refuses a feed description it cannot score, naming the feed', () => {
    expect(() => trustScore(healthy({ expectedIntervalS: 0 }))).toThrow(/br-12: expectedIntervalS/);
    expect(() => trustScore(healthy({ sigma: -1 }))).toThrow(/br-12: sigma/);
  });
});

describe('gate on automatic actions', () => {
  it('an asset is as trusted as its weakest feed; the decision names that feed and maps the verdict to an outcome', () => {
    const good = trustScore(healthy({ id: 'bus-5' }));
    const weak = trustScore(healthy({ id: 'br-7', received: 3, expected: 60 }));
    expect(assetTrust('sub-1', [good, weak]).score).toBe(weak.score);
    const decision = gateAction({ action: 'shed', target: 'sub-1', atMs: 60_000 }, [good, weak]);
    expect(decision).toMatchObject({ action: 'shed', target: 'sub-1', atMs: 60_000, trust: weak.score, verdict: 'HOLD', outcome: 'ask-operator', weakestFeed: 'br-7' });
    expect(decision.reasons[0]).toBe('br-7: 3 of 60 readings received');
    expect(gateAction({ action: 'shed', target: 'sub-1', atMs: 0 }, [good]).outcome).toBe('act');
    const spoofed = trustScore(healthy({ removedAsBadData: true }));
    expect(gateAction({ action: 'shed', target: 'sub-1', atMs: 0 }, [good, spoofed])).toMatchObject({ verdict: 'BLOCK', outcome: 'refuse' });
    expect(gateAction({ action: 'shed', target: 'sub-2', atMs: 0 }, [])).toMatchObject({ trust: 0, verdict: 'BLOCK', reasons: ['no feed measures this asset'] });
  });
});
