import { describe, expect, it } from 'vitest';
import { MIN_TRIP_DELAY_MS, timeConstantSeconds, tripDelayMs } from './trip-delay.ts';

describe('inverse-time overload trip delays', () => {
  it('follow t = τ·ln(M²/(M²−1)) with τ by kind and voltage level (the README table)', () => {
    expect(timeConstantSeconds('line', 69)).toBe(300);
    expect(timeConstantSeconds('line', 230)).toBe(600);
    expect(timeConstantSeconds('line', 345)).toBe(900);
    expect(timeConstantSeconds('transformer', 230)).toBe(1200);
    expect(timeConstantSeconds('transformer', 500)).toBe(1800);
    // A 230 kV line at 120 %: 11.9 min, at 150 %: 5.9 min, at 200 %: 2.9 min.
    expect(tripDelayMs(600, 1.2) / 60_000).toBeCloseTo(11.86, 2);
    expect(tripDelayMs(600, 1.5) / 60_000).toBeCloseTo(5.88, 2);
    expect(tripDelayMs(600, 2) / 60_000).toBeCloseTo(2.88, 2);
  });

  it('are shorter the larger the overload, never below the minimum, and infinite within rating', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (const m of [1.01, 1.1, 1.3, 2, 5, 50]) {
      const t = tripDelayMs(900, m);
      expect(t).toBeLessThan(previous);
      previous = t;
    }
    expect(tripDelayMs(300, 1000)).toBe(MIN_TRIP_DELAY_MS);
    expect(tripDelayMs(300, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(tripDelayMs(300, 0.5)).toBe(Number.POSITIVE_INFINITY);
  });
});
