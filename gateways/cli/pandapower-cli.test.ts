import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './cli.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'stratum-pandapower-cli-'));
const network = (name: string): string => new URL(`../../engine/power/reference/pandapower/${name}.json`, import.meta.url).pathname;
const reference = JSON.parse(readFileSync(new URL('../../engine/power/reference/pandapower-json-reference.json', import.meta.url), 'utf8')) as {
  networks: Record<string, { dc: { line_p_from_mw: Record<string, number>; trafo_p_hv_mw: Record<string, number> } }>;
};
interface PowerflowJson {
  model: string;
  buses: Array<{ id: string; vmPu?: number }>;
  branches: Array<{ id: string; from: string; to: string; pFromMw: number; ratingMw: number | null }>;
}

describe('pandapower networks on the command line', () => {
  it('import pandapower writes a city whose DC power flow is pandapower rundcpp', async () => {
    const out = join(dir, 'oberrhein.city.json');
    const imported = await run('import', 'pandapower', '--in', network('mv_oberrhein'), '--out', out);
    expect(imported.code).toBe(0);
    expect(imported.err).toMatch(/^wrote .*oberrhein\.city\.json: 179 buses, 183 branches, 155 generators/);
    const city = JSON.parse(readFileSync(out, 'utf8')) as { assets: Array<{ id: string; kind: string }> };
    expect(city.assets.find((a) => a.id === 'trafo-114')?.kind).toBe('transformer');
    const pf = await run('powerflow', '--case', out, '--json');
    expect(pf.code).toBe(0);
    const flows = new Map((JSON.parse(pf.out) as PowerflowJson).branches.map((b) => [b.id, b.pFromMw]));
    const ref = reference.networks['mv_oberrhein']!.dc;
    for (const [index, p] of Object.entries(ref.line_p_from_mw)) expect(Math.abs(flows.get(`line-${index}`)! - p)).toBeLessThan(1e-6);
    for (const [index, p] of Object.entries(ref.trafo_p_hv_mw)) expect(Math.abs(flows.get(`trafo-${index}`)! - p)).toBeLessThan(1e-6);
  });

  it('powerflow, contingency and the dc-overload cascade take the pandapower file itself', async () => {
    const ac = await run('powerflow', '--case', network('example_simple'), '--model', 'ac', '--json');
    expect(ac.code).toBe(0);
    const pf = JSON.parse(ac.out) as PowerflowJson;
    expect(pf.model).toBe('ac');
    expect(pf.branches.map((b) => b.id)).toEqual(['line-0', 'line-1', 'line-2', 'line-3', 'trafo-0']);
    const screening = await run('contingency', '--case', network('case30'), '--json');
    expect(screening.code).toBe(0);
    expect(JSON.parse(screening.out)).toMatchObject({ screened: { branches: 41, generators: 6 } });
    const cascade = await run('cascade', '--city', network('case118_from_ppc'), '--model', 'dc-overload', '--trigger', 'ids:line-7,trafo-3', '--json');
    expect(cascade.code).toBe(0);
    expect(JSON.parse(cascade.out)).toHaveProperty('perRun');
  });

  it('an unsupported element in service is a one-line error naming it, and nothing is written', async () => {
    const doc = JSON.parse(readFileSync(network('case9'), 'utf8')) as { _object: Record<string, { _object: string }> };
    const frame = JSON.parse(doc._object['dcline']!._object) as { columns: string[]; index: number[]; data: unknown[][] };
    frame.index.push(0);
    frame.data.push(frame.columns.map((c) => (c === 'in_service' ? true : c === 'from_bus' ? 0 : c === 'to_bus' ? 1 : 0)));
    doc._object['dcline']!._object = JSON.stringify(frame);
    const bad = join(dir, 'with-dcline.json');
    writeFileSync(bad, JSON.stringify(doc));
    const out = join(dir, 'never.json');
    const r = await run('import', 'pandapower', '--in', bad, '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/with-dcline\.json: \$\.dcline: 1 dcline element\(s\) in service \(index 0\): "dcline" is not supported/);
    expect(() => readFileSync(out)).toThrow();
    const pf = await run('powerflow', '--case', bad);
    expect(pf.code).not.toBe(0);
    expect(pf.err).toMatch(/"dcline" is not supported/);
  });
});
