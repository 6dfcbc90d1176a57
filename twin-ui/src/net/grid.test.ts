import { describe, expect, it } from 'vitest';
import type { GridReply } from '../model.ts';
import { gridFromReply } from './grid.ts';

const reply = (buses: GridReply['buses']): GridReply => ({ version: 1, clock: 0, branches: [], buses, generators: [], totalLoadMw: 0, totalGenerationMw: 0, shedMw: 0 });

describe('the grid store from GET /api/grid', () => {
  it('carries a bus’s AC voltage and violation when the voltage monitor runs, and none when it is off', () => {
    const indexOf = new Map([['bus-1', 0], ['bus-2', 1]]);
    const on = gridFromReply(reply([{ id: 'bus-1', loadMw: 10, generationMw: 0, vmPu: 0.912, vaDeg: -4, violation: 'under' }, { id: 'bus-2', loadMw: 5, generationMw: 20, vmPu: 1.01, vaDeg: 0, violation: null }]), indexOf);
    expect(on.buses.get(0)).toEqual({ loadMw: 10, generationMw: 0, vmPu: 0.912, violation: 'under' });
    expect(on.buses.get(1)).toEqual({ loadMw: 5, generationMw: 20, vmPu: 1.01, violation: null });
    const off = gridFromReply(reply([{ id: 'bus-1', loadMw: 10, generationMw: 0 }]), indexOf);
    expect(off.buses.get(0)).toEqual({ loadMw: 10, generationMw: 0 });
  });
});
