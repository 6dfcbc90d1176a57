import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { TelemetryMonitor } from './monitor.ts';

const ratings: Record<string, number> = { f1: 12, f2: 12, f3: Number.POSITIVE_INFINITY };
const monitor = (): TelemetryMonitor => new TelemetryMonitor({ expectedIntervalS: 60, horizonS: 3600, ratingOf: (id) => ratings[id] });

describe('TelemetryMonitor', () => {
  it('raises one at-risk alert, ahead of time, for a load ramping towards its rating; none for a steady one', () => {
    const m = monitor();
    const rng = new Rng(1);
    const alerts = [];
    // f1 ramps 6 → 12 over 4 h (reaches the rating at 14,400 s); f2 sits at 6.
    for (let t = 0; t <= 14_400; t += 60) {
      m.observe('f1', t, 6 + (6 * t) / 14_400 + 0.1 * rng.normal());
      m.observe('f2', t, 6 + 0.1 * rng.normal());
      alerts.push(...m.assess(t));
    }
    const atRisk = alerts.filter((a) => a.kind === 'at-risk');
    expect(atRisk.map((a) => a.asset)).toEqual(['f1']);
    const first = atRisk[0]!;
    expect(first.kind === 'at-risk' && first.inS).toBeGreaterThan(0);
    expect(first.atS).toBeLessThan(14_400 - 1800); // warned at least half an hour before
    expect(first.message).toMatch(/^f1 at risk: load forecast .* reaches its rating 12 in \d+ min$/);
    expect(alerts.filter((a) => a.kind === 'untrusted')).toEqual([]);
    // The ramp's last readings reach 12: overload alerts for f1 only, on a trusted feed.
    const overloads = alerts.filter((a) => a.kind === 'overload');
    expect([...new Set(overloads.map((a) => a.asset))]).toEqual(['f1']); // noise may cross the rating more than once
    expect(overloads[0]!.kind === 'overload' && overloads[0]!.trust).toBeGreaterThanOrEqual(70);
  });

  it('an overload that arrives as a jump carries a trust that holds automation', () => {
    const m = monitor();
    const rng = new Rng(4);
    for (let t = 0; t <= 600; t += 60) m.observe('f1', t, 6 + 0.1 * rng.normal());
    m.observe('f1', 660, 13);
    const overload = m.assess(660).find((a) => a.kind === 'overload');
    expect(overload).toMatchObject({ asset: 'f1', readingMw: 13, ratingMw: 12 });
    expect(overload!.kind === 'overload' && overload!.trust).toBeLessThan(70);
    expect(m.gate('shed', 'f1', 660)).toMatchObject({ verdict: 'HOLD', outcome: 'ask-operator' });
  });

  it('flags a stuck feed and a silent feed as untrusted (once each) and the gate then refuses to act on them', () => {
    const m = monitor();
    const rng = new Rng(2);
    for (let t = 0; t <= 600; t += 60) {
      m.observe('f1', t, t < 300 ? 5 + 0.1 * rng.normal() : 5.2); // stuck from 300 s
      if (t <= 120) m.observe('f2', t, 5 + 0.1 * rng.normal()); // silent after 120 s
      m.observe('f3', t, 5 + 0.1 * rng.normal());
    }
    expect(m.gate('shed', 'f3', 600)).toMatchObject({ verdict: 'PASS', outcome: 'act' });
    const alerts = m.assess(600);
    expect(alerts.map((a) => [a.kind, a.asset])).toEqual([['untrusted', 'f1'], ['untrusted', 'f2']]);
    expect(alerts[0]!.message).toContain('stuck');
    expect(alerts[1]!.message).toContain('480.0 s old');
    expect(m.assess(660)).toEqual([]); // not raised again while it lasts
    expect(m.gate('shed', 'f1', 600)).toMatchObject({ verdict: 'BLOCK', outcome: 'refuse', weakestFeed: 'f1' });
    expect(m.gate('shed', 'nothing', 600)).toMatchObject({ verdict: 'BLOCK', reasons: ['no feed measures this asset'] });
  });

  it('takes the state estimator\'s judgement into the trust: a reading removed as bad data blocks the gate, a large residual lowers it, none leaves it out', () => {
    const judged: Record<string, { normalizedResidual: number | null; removed: boolean }> = { f1: { normalizedResidual: 25, removed: true }, f2: { normalizedResidual: 4, removed: false } };
    const m = new TelemetryMonitor({ expectedIntervalS: 60, ratingOf: (id) => ratings[id], residualOf: (id) => judged[id] });
    for (let t = 0; t <= 600; t += 60) for (const id of ['f1', 'f2', 'f3']) m.observe(id, t, 6 + (t % 120 === 0 ? 0.01 : -0.01));
    expect(m.trust('f1', 600)).toMatchObject({ score: 0, residual: 0 });
    expect(m.gate('shed', 'f1', 600)).toMatchObject({ verdict: 'BLOCK', outcome: 'refuse' });
    expect(m.trust('f1', 600)!.reasons.join()).toMatch(/removed by the estimator as bad data \(normalised residual 25\.0\)/);
    expect(m.trust('f2', 600)!.residual).toBeCloseTo(0.5, 9);
    expect(m.trust('f2', 600)!.score).toBeLessThan(100);
    expect(m.trust('f3', 600)).toMatchObject({ residual: null, score: 100 });
  });
});
