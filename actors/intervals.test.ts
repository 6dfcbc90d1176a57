import { describe, expect, it } from 'vitest';
import { estimate } from './intervals.ts';

describe('estimate (bootstrap interval of a mean of fractions)', () => {
  it('never reports a lower bound below 0 for rare failures (the normal approximation gave -0.0001)', () => {
    const values = [...Array.from({ length: 99 }, () => 0), 0.01];
    const e = estimate(values);
    expect(e.mean).toBeCloseTo(0.0001, 10);
    expect(e.ci95[0]).toBeGreaterThanOrEqual(0);
    expect(e.ci95[1]).toBeGreaterThan(e.mean);
    expect(e.ci95[1]).toBeLessThanOrEqual(0.01);
  });

  it('never reports an upper bound above 1', () => {
    const e = estimate([1, 1, 1, 1, 1, 1, 1, 0.9]);
    expect(e.ci95[1]).toBeLessThanOrEqual(1);
    expect(e.ci95[0]).toBeLessThan(e.mean);
  });

  it('covers the mean of a symmetric sample about as wide as 1.96 standard errors', () => {
    const values = Array.from({ length: 400 }, (_, i) => 0.3 + 0.2 * ((i % 20) / 19 - 0.5));
    const e = estimate(values);
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - e.mean) ** 2, 0) / (values.length - 1));
    const half = 1.96 * sd / Math.sqrt(values.length);
    expect(e.ci95[1] - e.ci95[0]).toBeGreaterThan(1.6 * half);
    expect(e.ci95[1] - e.ci95[0]).toBeLessThan(2.4 * half);
  });

  it('is deterministic and collapses to the mean for a single run', () => {
    expect(estimate([0.2, 0.4, 0.1])).toEqual(estimate([0.2, 0.4, 0.1]));
    expect(estimate([0.5])).toEqual({ mean: 0.5, ci95: [0.5, 0.5] });
  });
});
