import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataFile } from '../../test/shared-data.ts';
import { main } from './cli.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'stratum-power-cli-'));
const case118 = sharedDataFile('grids/case118.m');
const reference = JSON.parse(readFileSync(new URL('../../engine/power/reference/dcpf-reference.json', import.meta.url), 'utf8')) as { cases: Record<string, { pFromMw: number[] }> };

interface PowerflowJson {
  model: string;
  buses: Array<{ id: string; angleDeg: number }>;
  branches: Array<{ id: string; from: string; to: string; pFromMw: number; ratingMw: number | null; loading: number | null }>;
  totalLoadMw: number;
  totalGenerationMw: number;
}

describe('power CLI', () => {
  it('powerflow --json on a .m prints the issue\'s shape with PYPOWER\'s flows', async () => {
    const r = await run('powerflow', '--case', case118, '--json');
    expect(r.code).toBe(0);
    const pf = JSON.parse(r.out) as PowerflowJson;
    expect(pf.model).toBe('dc');
    expect(pf.buses[0]).toEqual({ id: 'bus-1', angleDeg: expect.any(Number) });
    expect(pf.branches[0]).toMatchObject({ id: 'br-1', from: 'bus-1', to: 'bus-2', ratingMw: null, loading: null });
    pf.branches.forEach((b, k) => expect(Math.abs(b.pFromMw - reference.cases['case118']!.pFromMw[k]!)).toBeLessThan(1e-6));
    expect(pf.totalLoadMw).toBeCloseTo(4242, 6);
    expect(pf.totalGenerationMw).toBeCloseTo(4242, 6);
  });

  it('powerflow --model ac --json prints voltages, both ends\' P and Q, violations and totals matching PYPOWER runpf', async () => {
    const acReference = JSON.parse(readFileSync(new URL('../../engine/power/reference/acpf-reference.json', import.meta.url), 'utf8')) as {
      cases: Record<string, { iterations: number; vmPu: number[]; vaDeg: number[]; pFromMw: number[]; qToMvar: number[] }>;
    };
    const r = await run('powerflow', '--case', case118, '--model', 'ac', '--json');
    expect(r.code).toBe(0);
    const pf = JSON.parse(r.out) as {
      model: string;
      iterations: number;
      converged: boolean;
      buses: Array<{ id: string; vmPu: number; angleDeg: number }>;
      branches: Array<{ id: string; from: string; to: string; pFromMw: number; qFromMvar: number; pToMw: number; qToMvar: number; ratingMw: number | null; loading: number | null }>;
      voltageViolations: Array<{ id: string; vmPu: number; vminPu: number; vmaxPu: number }>;
      totalLoadMw: number;
      totalGenerationMw: number;
      lossesMw: number;
    };
    const ref = acReference.cases['case118']!;
    expect(pf).toMatchObject({ model: 'ac', iterations: ref.iterations, converged: true });
    expect(Object.keys(pf.branches[0]!).slice(0, 9)).toEqual(['id', 'from', 'to', 'pFromMw', 'qFromMvar', 'pToMw', 'qToMvar', 'ratingMw', 'loading']);
    pf.buses.forEach((b, v) => {
      expect(Math.abs(b.vmPu - ref.vmPu[v]!)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(b.angleDeg - ref.vaDeg[v]!)).toBeLessThanOrEqual(1e-6);
    });
    pf.branches.forEach((b, k) => {
      expect(Math.abs(b.pFromMw - ref.pFromMw[k]!)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(b.qToMvar - ref.qToMvar[k]!)).toBeLessThanOrEqual(1e-4);
    });
    // case118's limits are 0.94–1.06 pu; the solved voltages stay inside them.
    expect(pf.voltageViolations).toEqual([]);
    expect(pf.totalLoadMw).toBeCloseTo(4242, 6);
    expect(pf.totalGenerationMw - pf.totalLoadMw).toBeCloseTo(pf.lossesMw, 6);
    // A tightened limit is reported with the bus's voltage.
    const tight = join(dir, 'tight118.m');
    writeFileSync(tight, readFileSync(case118, 'utf8').replace(/^(\s*1\s+2\s+51\s+27\s+0\s+0\s+1\s+0\.955\s+10\.67\s+138\s+1\s+)1\.06(\s+)0\.94;/m, '$11.06$20.96;'));
    const tightPf = JSON.parse((await run('powerflow', '--case', tight, '--model', 'ac', '--json')).out) as typeof pf;
    expect(tightPf.voltageViolations).toEqual([{ id: 'bus-1', vmPu: 0.955, vminPu: 0.96, vmaxPu: 1.06, kind: 'under' }]);
    const text = await run('powerflow', '--case', tight, '--model', 'ac', '--top', '3');
    expect(text.out).toMatch(/converged in 3 Newton iteration\(s\)/);
    expect(text.out).toContain('1 bus(es) outside [Vmin, Vmax], worst first:\n  bus-1      0.9550 pu (under [0.96, 1.06])');
  });

  it('powerflow --model: a bad value or a case that does not converge is a one-line error', async () => {
    const bad = await run('powerflow', '--case', case118, '--model', 'acdc');
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')[0]).toContain('--model must be dc or ac (got "acdc")');
    const heavy = join(dir, 'heavy.m');
    writeFileSync(heavy, 'function mpc = heavy\nmpc.baseMVA = 100;\nmpc.bus = [\n 1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n 2 1 5000 0 0 0 1 1 0 230 1 1.1 0.9;\n];\nmpc.gen = [\n 1 0 0 0 0 1 100 1 9999 0;\n];\nmpc.branch = [\n 1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360;\n];\n');
    const diverged = await run('powerflow', '--case', heavy, '--model', 'ac');
    expect(diverged.code).toBe(1);
    expect(diverged.err).toMatch(/^stratum: AC power flow of heavy did not converge in 10 Newton iteration\(s\): largest mismatch \S+ pu \([PQ]\) at bus-2, tolerance 1e-8\n$/);
    // DC stays the default.
    expect((JSON.parse((await run('powerflow', '--case', heavy, '--json')).out) as { model: string }).model).toBe('dc');
  });

  it('import matpower writes a city that validate, powerflow and cascade read like the .m', async () => {
    const city = join(dir, 'case118.json');
    const imported = await run('import', 'matpower', '--in', case118, '--out', city);
    expect(imported.code).toBe(0);
    expect(imported.err).toContain('118 buses, 186 branches, 54 generators');
    expect(JSON.parse((await run('validate', '--city', city)).out)).toMatchObject({ valid: true, assets: 358 });
    expect((await run('powerflow', '--case', city, '--json')).out).toBe((await run('powerflow', '--case', case118, '--json')).out);
    const fromCity = JSON.parse((await run('cascade', '--city', city, '--model', 'dc-overload', '--trigger', 'random-singles', '--runs', '5', '--json')).out) as { perRun: unknown };
    const fromCase = JSON.parse((await run('cascade', '--city', case118, '--model', 'dc-overload', '--trigger', 'random-singles', '--runs', '5', '--json')).out) as { perRun: unknown };
    expect(fromCity.perRun).toEqual(fromCase.perRun);
  });

  it('cascade --model dc-overload --json has the fields the issue lists, and --report writes a page', async () => {
    const report = join(dir, 'dc.html');
    const r = await run('cascade', '--city', sharedDataFile('grids/case1354pegase.m'), '--model', 'dc-overload', '--trigger', 'random-pairs', '--rating-factor', '0.8', '--runs', '8', '--seed', '3', '--json', '--report', report);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown>;
    for (const key of ['dependentOutages', 'loadShedMw', 'loadShedFraction']) expect(out[key]).toEqual({ mean: expect.any(Number), ci95: [expect.any(Number), expect.any(Number)] });
    expect(out['anyDependentOutageFraction']).toEqual(expect.any(Number));
    expect((out['perRun'] as unknown[])[0]).toEqual({ trigger: [expect.any(String), expect.any(String)], dependentOutages: expect.any(Number), loadShedMw: expect.any(Number), generations: expect.any(Number) });
    expect(readFileSync(report, 'utf8')).toContain('Dependent outages per run');
    const ids = await run('cascade', '--city', sharedDataFile('grids/case1354pegase.m'), '--model', 'dc-overload', '--trigger', 'ids:br-76', '--json');
    expect((JSON.parse(ids.out) as { perRun: Array<{ trigger: string[] }> }).perRun[0]!.trigger).toEqual(['br-76']);
  });

  it('contingency --json lists outages worst first with their overloads', async () => {
    const r = await run('contingency', '--case', sharedDataFile('grids/case1354pegase.m'), '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { screened: { branches: number; generators: number }; contingencies: Array<{ outage: string; maxLoading: number; overloads: unknown[] }> };
    expect(out.screened).toEqual({ branches: 1991, generators: 260 });
    expect(out.contingencies[0]).toMatchObject({ outage: 'br-76' });
    for (let i = 1; i < out.contingencies.length; i++) expect(out.contingencies[i - 1]!.maxLoading).toBeGreaterThanOrEqual(out.contingencies[i]!.maxLoading);
  });

  it('bad input: exit codes and messages that name the flag, the file and the line', async () => {
    const bad = join(dir, 'bad.m');
    writeFileSync(bad, 'function mpc = bad\nmpc.baseMVA = 100;\nmpc.bus = [\n 1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n];\nmpc.gen = [];\nmpc.branch = [\n 1 2 0 0.1 0 0 0 0 0 0 1 -360 360;\n];\n');
    const parsed = await run('powerflow', '--case', bad);
    expect(parsed.code).toBe(1);
    expect(parsed.err).toContain('bad.m: line 8: mpc.branch row 1, T_BUS: bus 2 is not in mpc.bus');
    expect((await run('powerflow', '--case', join(dir, 'missing.m'))).err).toMatch(/missing\.m.*cannot read file/);
    const trigger = await run('cascade', '--city', case118, '--model', 'dc-overload', '--trigger', 'ids:br-999');
    expect(trigger.code).toBe(2);
    expect(trigger.err).toContain('--trigger: unknown branch or generator "br-999"');
    expect((await run('cascade', '--city', case118, '--model', 'dc-overload')).code).toBe(2);
    expect((await run('cascade', '--city', case118, '--model', 'dc-overload', '--trigger', 'random-pairs', '--rating-factor', '0')).code).toBe(2);
    expect((await run('cascade', '--city', case118, '--model', 'stochastic', '--trigger', 'random-pairs')).err).toContain('is for the dc-overload model');
  });
});
