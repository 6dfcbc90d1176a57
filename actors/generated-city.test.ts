import { describe, expect, it } from 'vitest';
import { CityIndex, generateCity, parseCity } from '../engine/index.ts';
import { ImpactBounds } from './impact-bounds.ts';
import { StudyCity, runStudy } from './studies.ts';

const city = parseCity(generateCity({ assets: 2000, seed: 7 }), 'gen-2000');

describe('generated cities under the stochastic model', () => {
  it('have no single asset that can take out a large part of the city, even in the worst case', () => {
    const bounds = new ImpactBounds(new CityIndex(city));
    let worst = 0;
    for (let a = 0; a < city.assets.length; a++) worst = Math.max(worst, bounds.bound(a));
    // The worst single loss (an aggregation switch and its towers, every chance taken) stays small.
    expect(worst / city.assets.length).toBeLessThan(0.05);
  });

  it('give Monte Carlo spread: runs of one trigger end differently, and the interval has width', async () => {
    // The distribution substations that feed pumping stations: whether each pump's standby power
    // holds (chance 0.6 to fail) decides whether its mains go dry.
    const kindOf = new Map(city.assets.map((a) => [a.id, a.kind]));
    const trigger = [...new Set(city.dependencies.filter((d) => kindOf.get(d.to) === 'pumping-station').map((d) => d.from))].slice(0, 6);
    const result = await runStudy(new StudyCity(city), { model: 'stochastic', runs: 40, seed: 3, attack: { kind: 'ids', ids: trigger } });
    const outcomes = new Set(result.perRun.map((r) => r.failedFraction));
    expect(outcomes.size).toBeGreaterThanOrEqual(4);
    expect(result.failedFraction.ci95[1] - result.failedFraction.ci95[0]).toBeGreaterThan(0);
  }, 60_000);
});
