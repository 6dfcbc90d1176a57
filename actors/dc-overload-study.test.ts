import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DcOverloadGrid, Rng, mixSeed, networkFromCase, parseMatpower } from '../engine/index.ts';
import { sharedDataFile } from '../test/shared-data.ts';
import { drawTrigger, runDcOverloadStudy } from './dc-overload-study.ts';

interface PeerFile {
  case: string;
  trigger: 'random-pairs' | 'random-singles';
  runs: number;
  seed: number;
  ratingFactor: number;
  results: Array<{ trigger: string[]; dependentOutages: number; loadShedMw: number; generations: number; tripped: string[][] }>;
}

const peerDir = new URL('../bench/peers/dc-cascade-reference/', import.meta.url);
const peerFiles = readdirSync(peerDir).filter((f) => f.endsWith('.json'));

describe('dc-overload against the independent SciPy implementation (bench/peers/scipy_dc_cascade.py)', () => {
  it('has reference files', () => expect(peerFiles.length).toBeGreaterThanOrEqual(4));
  for (const file of peerFiles) {
    it(`${file}: same triggers, same branches tripped in the same generations, load shed within 1e-6 MW`, () => {
      const peer = JSON.parse(readFileSync(new URL(file, peerDir), 'utf8')) as PeerFile;
      const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${peer.case}.m`), 'utf8'), peer.case));
      const grid = new DcOverloadGrid(net, peer.ratingFactor);
      const inService = [...net.branchInService.keys()].filter((k) => net.branchInService[k] !== 0);
      peer.results.forEach((expected, run) => {
        const trigger = drawTrigger(net, { kind: peer.trigger }, new Rng(mixSeed(peer.seed, run)), inService);
        expect(trigger).toEqual(expected.trigger);
        const outcome = grid.run(trigger);
        expect(outcome.tripped.map((g) => [...g])).toEqual(expected.tripped);
        expect(outcome.generations).toBe(expected.generations);
        expect(Math.abs(outcome.loadShedMw - expected.loadShedMw)).toBeLessThan(1e-6);
      });
      // The files must exercise the rules, not only quiet grids.
      if (peer.case !== 'case118') expect(peer.results.some((r) => r.dependentOutages > 0)).toBe(true);
    });
  }
});

describe('dc-overload study', () => {
  it('summarises runs: the same seed gives the same study, estimates match the per-run rows', () => {
    const net = networkFromCase(parseMatpower(readFileSync(sharedDataFile('grids/case1354pegase.m'), 'utf8'), 'case1354pegase'));
    const options = { trigger: { kind: 'random-pairs' } as const, runs: 12, seed: 5, ratingFactor: 0.8 };
    const a = runDcOverloadStudy(net, options);
    expect(runDcOverloadStudy(net, options)).toEqual(a);
    const mean = a.perRun.reduce((s, r) => s + r.dependentOutages, 0) / a.runs;
    expect(a.dependentOutages.mean).toBeCloseTo(mean, 12);
    expect(a.anyDependentOutageFraction).toBe(a.perRun.filter((r) => r.dependentOutages > 0).length / a.runs);
    expect(a.perRun.every((r) => r.trigger.length === 2 && r.trigger[0] !== r.trigger[1])).toBe(true);
  });
});
