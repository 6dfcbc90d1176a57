import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { parseMatpower } from './matpower.ts';
import { SHIPPED_CASES, sharedDataFile } from '../../test/shared-data.ts';

const HEAD = 'function mpc = tiny\nmpc.version = \'2\';\nmpc.baseMVA = 100;\n';
const BUS = 'mpc.bus = [\n  1 3 10 0 0 0 1 1 0 230 1 1.1 0.9;\n  2 1 20 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n';
const GEN = 'mpc.gen = [\n  1 30 0 0 0 1 100 1 Inf 0;\n];\n';
const BRANCH = 'mpc.branch = [\n  1 2 0 0.1 0 50 0 0 0 0 1 -360 360;\n];\n';

function problems(text: string): string[] {
  try {
    parseMatpower(text, 'x.m');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).problems.map((p) => `${p.path}: ${p.reason}`);
  }
  throw new Error('expected a ValidationError');
}

describe('MATPOWER reader', () => {
  it('reads the four shipped cases with their sizes', () => {
    const sizes = SHIPPED_CASES.map((name) => {
      const mpc = parseMatpower(readFileSync(sharedDataFile(`grids/${name}.m`), 'utf8'), name);
      return [mpc.name, mpc.baseMva, mpc.buses.length, mpc.gens.length, mpc.branches.length];
    });
    expect(sizes).toEqual([
      ['case118', 100, 118, 54, 186],
      ['case300', 100, 300, 69, 411],
      ['case1354pegase', 100, 1354, 260, 1991],
      ['case_ACTIVSg2000', 100, 2000, 544, 3206],
    ]);
  });

  it('takes comments, commas, rows on one line, continuations and Inf', () => {
    const text = `${HEAD}% a comment\nmpc.bus = [ 1, 3, 10, 0, 0, 0, 1, 1, 0, 230, 1, 1.1, 0.9; 2 1 20 0 0 0 1 1 0 230 1 1.1 0.9 % second bus\n];\n${GEN}mpc.branch = [\n  1 2 0 0.1 0 50 0 0 ...\n  0 0 1 -360 360;\n];\nmpc.gencost = [ 2 0 0 3 0.1 1 0 ];\nmpc.bus_name = {\n  'A';\n  'B';\n};\n`;
    const mpc = parseMatpower(text, 'x.m');
    expect(mpc.buses.map((b) => b.number)).toEqual([1, 2]);
    expect(mpc.branches[0]).toMatchObject({ from: 1, to: 2, xPu: 0.1, rateAMva: 50, inService: true, line: 11 });
    expect(mpc.gens[0]!.pmaxMw).toBe(Number.POSITIVE_INFINITY);
  });

  it('names the line, the row and the column of a bad value', () => {
    expect(problems(`${HEAD}${BUS}${GEN}mpc.branch = [\n  1 7 0 0.1 0 50 0 0 0 0 1 -360 360;\n];\n`)).toEqual(['line 12: mpc.branch row 1, T_BUS: bus 7 is not in mpc.bus']);
    expect(problems(`${HEAD}mpc.bus = [\n  1 3 10 0 0 0 1 1 0 230 1 1.1 0.9;\n  1 5 abc 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n${GEN}${BRANCH}`)).toEqual([
      'line 6: mpc.bus: "abc" is not a number',
      'line 6: mpc.bus row 2, PD: must be a finite number (got NaN)',
      'line 6: mpc.bus row 2, BUS_I: bus 1 is already defined on line 5',
      'line 6: mpc.bus row 2, BUS_TYPE: must be 1 (PQ), 2 (PV), 3 (reference) or 4 (isolated) (got 5)',
      'line 12: mpc.branch row 1, T_BUS: bus 2 is not in mpc.bus',
    ]);
    expect(problems(`${HEAD}${BUS}${GEN}mpc.branch = [\n  1 2 0 0.1 0 50;\n];\n`)).toEqual([
      'line 12: mpc.branch row 1 has 6 columns; at least 11 are needed (F_BUS T_BUS BR_R BR_X BR_B RATE_A RATE_B RATE_C TAP SHIFT BR_STATUS)',
    ]);
  });

  it('reports missing parts and an unclosed matrix', () => {
    expect(problems('function mpc = empty\n')).toEqual(['line 1: mpc.baseMVA is missing', 'line 1: mpc.bus is missing', 'line 1: mpc.gen is missing', 'line 1: mpc.branch is missing']);
    expect(problems(`${HEAD}${BUS}${GEN}mpc.branch = [\n  1 2 0 0.1 0 50 0 0 0 0 1 -360 360;\n`)).toContain('line 11: mpc.branch opened with "[" is never closed with "]"');
    expect(problems(`function mpc = x\nmpc.baseMVA = -5;\n${BUS}${GEN}${BRANCH}`)).toEqual(['line 2: mpc.baseMVA must be a positive number (got "-5")']);
  });
});
