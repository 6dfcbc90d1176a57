import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redispatchAfterGeneratorOutage, screenN1 } from './contingency.ts';
import { DcSolver, dcPowerFlow } from './dcpf.ts';
import { parseMatpower } from './matpower.ts';
import { networkFromCase } from './network.ts';
import { sharedDataFile } from '../../test/shared-data.ts';

const load = (name: string) => networkFromCase(parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name));

describe('N-1 screening with LODF', () => {
  for (const [name, stride] of [['case118', 1], ['case1354pegase', 7]] as const) {
    it(`${name}: post-contingency flows agree with a full re-solve to 1e-6 MW (every ${stride === 1 ? '' : `${stride}th `}branch and generator)`, () => {
      const net = load(name);
      const screening = screenN1(net, { keepFlows: true });
      const flows = screening.flows!;
      const solver = new DcSolver(net);
      let checked = 0;
      screening.contingencies.forEach((c, i) => {
        if (i % stride !== 0) return;
        let full: Float64Array;
        if (c.kind === 'branch') {
          const branchOn = Uint8Array.from(net.branchInService);
          branchOn[net.branchIds.indexOf(c.outage)] = 0;
          full = dcPowerFlow(net, solver, { branchOn }).flowMw;
        } else {
          const g = net.genIds.indexOf(c.outage);
          const genOn = Uint8Array.from(net.genInService);
          genOn[g] = 0;
          full = dcPowerFlow(net, solver, { genOn, pgMw: redispatchAfterGeneratorOutage(net, screening.base, g) }).flowMw;
        }
        const post = flows[i]!;
        let worst = 0;
        for (let l = 0; l < full.length; l++) worst = Math.max(worst, Math.abs(post[l]! - full[l]!));
        expect(worst, c.outage).toBeLessThan(1e-6);
        checked++;
      });
      expect(checked).toBeGreaterThan(100);
    });
  }

  it('case118: bridges split the grid; a cut-off part with generation keeps its load, one without loses it', () => {
    const screening = screenN1(load('case118'));
    const byId = new Map(screening.contingencies.map((c) => [c.outage, c]));
    // br-9 (bus 9–10) is bus 10's only branch: bus 10 has a generator and no load, so nothing is
    // lost. br-184 (bus 12–117) is bus 117's only branch: its 20 MW load has no generator left.
    expect(byId.get('br-9')!.resolved).toBe(true);
    expect(byId.get('br-9')!.lostLoadMw).toBe(0);
    expect(byId.get('br-184')!.resolved).toBe(true);
    expect(byId.get('br-184')!.lostLoadMw).toBe(20);
    expect(screening.contingencies.filter((c) => c.resolved).length).toBe(9);
  });

  it('case1354pegase: finds post-contingency overloads and lists them worst first', () => {
    const screening = screenN1(load('case1354pegase'));
    const withOverloads = screening.contingencies.filter((c) => c.overloads.length > 0);
    expect(withOverloads.length).toBeGreaterThan(0);
    for (const c of withOverloads) {
      for (let i = 1; i < c.overloads.length; i++) expect(c.overloads[i - 1]!.loading).toBeGreaterThanOrEqual(c.overloads[i]!.loading);
      expect(c.maxLoading).toBeCloseTo(c.overloads[0]!.loading, 12);
    }
  });
});
