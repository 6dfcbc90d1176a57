import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HydraulicsInputError, reportTimes, runHydraulics, type HydraulicsResult, type Series } from './hydraulics.ts';

/** WNTR 1.5 EpanetSimulator (EPANET 2.2) results, from reference/wntr_reference.py. */
interface ReferenceCase {
  file: string;
  closed: string[];
  times: number[];
  pressureM: Series;
  tankLevelM: Series;
  flowM3s: Series;
}
const reference = JSON.parse(readFileSync('engine/water/reference/wntr-results.json', 'utf8')) as { cases: Record<string, ReferenceCase> };

/**
 * Tolerances: 1 mm of head and 1e-6 m³/s (0.016 GPM). WNTR reads EPANET's binary output, which
 * stores 32-bit floats (about 1e-5 m at 100 m); the two EPANET versions (2.2 there, 2.3 here) agree
 * to within that.
 */
const HEAD_TOLERANCE_M = 1e-3;
const FLOW_TOLERANCE_M3S = 1e-6;

function largestDifference(ours: Series, theirs: Series): { difference: number; where: string } {
  let difference = 0;
  let where = 'nowhere';
  for (const [time, values] of Object.entries(theirs)) {
    for (const [id, value] of Object.entries(values)) {
      const mine = ours[time]?.[id];
      if (mine === undefined) return { difference: Number.POSITIVE_INFINITY, where: `${id} at ${time} s missing` };
      const d = Math.abs(mine - value);
      if (d > difference) {
        difference = d;
        where = `${id} at ${time} s: ${mine} vs ${value}`;
      }
    }
  }
  return { difference, where };
}

describe('EPANET hydraulics against WNTR', () => {
  for (const [name, c] of Object.entries(reference.cases)) {
    it(`${name}: pressures, tank levels and flows agree with WNTR's EpanetSimulator (${c.file}, closed: ${c.closed.join(',') || 'none'})`, async () => {
      const path = `engine/water/networks/${c.file}`;
      const result: HydraulicsResult = await runHydraulics(readFileSync(path, 'utf8'), path, { closeLinks: c.closed, at: c.times });
      expect(result.times).toEqual(c.times);
      const pressure = largestDifference(result.pressureM, c.pressureM);
      const level = largestDifference(result.tankLevelM, c.tankLevelM);
      const flow = largestDifference(result.flowM3s, c.flowM3s);
      expect(pressure.difference, pressure.where).toBeLessThan(HEAD_TOLERANCE_M);
      expect(level.difference, level.where).toBeLessThan(HEAD_TOLERANCE_M);
      expect(flow.difference, flow.where).toBeLessThan(FLOW_TOLERANCE_M3S);
      expect(Object.keys(result.pressureM[String(c.times[1])]!)).toHaveLength(Object.keys(c.pressureM[String(c.times[1])]!).length);
    });
  }

  it('a closed link carries no flow at any time, even one that controls would open (Net3 pump 10)', async () => {
    const path = 'engine/water/networks/Net3.inp';
    const open = await runHydraulics(readFileSync(path, 'utf8'), path, { at: [7200] });
    expect(open.flowM3s['7200']!['10']).toBeGreaterThan(0.01); // the Lake pump runs at 2 h by its time control
    const closed = await runHydraulics(readFileSync(path, 'utf8'), path, { closeLinks: ['10'] });
    for (const time of closed.times) expect(closed.flowM3s[String(time)]!['10']).toBe(0);
  });

  it('a rule that would open a closed link is disabled for the run', async () => {
    const text = [
      '[RESERVOIRS]', ' R 100', '[JUNCTIONS]', ' J 10 5', ' K 10 5', '[PIPES]', ' P R J 100 200 120', ' Q J K 100 200 120 0 Closed',
      '[RULES]', 'RULE 1', 'IF SYSTEM TIME >= 1', 'THEN PIPE Q STATUS IS OPEN',
      '[TIMES]', ' Duration 2:00', ' Hydraulic Timestep 1:00', ' Report Timestep 1:00', '[OPTIONS]', ' Units LPS', '[END]',
    ].join('\n');
    const free = await runHydraulics(text, 'rule.inp', { at: [7200] });
    expect(free.flowM3s['7200']!['Q']).toBeCloseTo(0.005, 9); // the rule opened Q: K's 5 L/s flow through it
    const held = await runHydraulics(text, 'rule.inp', { closeLinks: ['Q'], at: [7200] });
    expect(held.flowM3s['7200']!['Q']).toBe(0);
  });

  it('rejects an unknown link and a time that is not reported, naming the flag', async () => {
    const path = 'engine/water/networks/Net1.inp';
    const text = readFileSync(path, 'utf8');
    await expect(runHydraulics(text, path, { closeLinks: ['nope'] })).rejects.toThrow(HydraulicsInputError);
    await expect(runHydraulics(text, path, { closeLinks: ['nope'] })).rejects.toThrow(/--close: no link "nope"/);
    await expect(runHydraulics(text, path, { at: [1800] })).rejects.toThrow(/--at: 1800 s is not a reporting time/);
  });

  it('lists reporting times from the report start to the duration', () => {
    expect(reportTimes({ durationS: 7200, reportStepS: 3600, reportStartS: 0 })).toEqual([0, 3600, 7200]);
    expect(reportTimes({ durationS: 0, reportStepS: 3600, reportStartS: 0 })).toEqual([0]);
  });
});
