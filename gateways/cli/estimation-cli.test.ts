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

const measurements = new URL('../../engine/power/reference/estimation/case118-measurements.json', import.meta.url).pathname;
const reference = JSON.parse(readFileSync(new URL('../../engine/power/reference/estimation-reference.json', import.meta.url), 'utf8')) as {
  cases: Record<string, { removed: Array<{ index: number }>; finalJ: number }>;
};

describe('stratum estimate', () => {
  it('--json prints the issue\'s fields, with the reference\'s bad data removed', async () => {
    const r = await run('estimate', '--case', sharedDataFile('grids/case118.m'), '--measurements', measurements, '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as Record<string, unknown> & { removed: Array<{ index: number; normalizedResidual: number }>; finalJ: number; buses: unknown[]; branches: unknown[] };
    for (const key of ['initialJ', 'chi2Threshold', 'removed', 'finalJ', 'buses', 'branches', 'unobservable']) expect(json).toHaveProperty(key);
    expect(json.removed.map((x) => x.index)).toEqual(reference.cases['case118']!.removed.map((x) => x.index));
    expect(json.finalJ).toBeCloseTo(reference.cases['case118']!.finalJ, 6);
    expect(json.buses[0]).toEqual({ id: 'bus-1', angleDeg: expect.any(Number), sigmaDeg: expect.any(Number) });
  });

  it('text output names each removed measurement', async () => {
    const r = await run('estimate', '--case', sharedDataFile('grids/case118.m'), '--measurements', measurements);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/bad data removed: #\d+ (flow|injection|angle) (br|bus)-\d+ \(normalised residual [\d.]+\)/);
  });

  it('a bad measurement file is one message naming the entry; bad flags exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-estimate-'));
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify([{ kind: 'flow', target: 'br-1', valueMw: 'x', sigmaMw: 1 }]));
    const bad = await run('estimate', '--case', sharedDataFile('grids/case118.m'), '--measurements', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('$[0].valueMw');
    const flag = await run('estimate', '--case', sharedDataFile('grids/case118.m'), '--measurements', file, '--confidence', '1.5');
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('--confidence');
  });
});
