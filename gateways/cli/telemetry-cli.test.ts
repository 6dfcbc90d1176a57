import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataFile } from '../../test/shared-data.ts';
import { matpowerToCity, parseCity, parseMatpower } from '../../engine/index.ts';
import { startServerWith } from '../server.ts';
import { main } from './cli.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const case118 = sharedDataFile('grids/case118.m');

describe('stratum field', () => {
  it('writes a measurement file that `stratum estimate` reads, and the estimator removes exactly the spoofed entries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-field-'));
    const out = join(dir, 'm.json');
    const stream = join(dir, 'readings.ndjson');
    const field = await run('field', '--case', case118, '--seconds', '20', '--rate', '1', '--noise', 'flow=1.5,injection=2.5', '--dropout', '0.05', '--delay', '0.4',
      '--stuck', 'br-3', '--spoof', 'br-20,bus-45:80', '--pmu', 'bus-10', '--seed', '4', '--out', out, '--stream', stream, '--json');
    expect(field.code).toBe(0);
    const summary = JSON.parse(field.out) as { sensors: number; readings: number; spoofedInSnapshot: number[]; stuckInSnapshot: number[] };
    expect(summary.sensors).toBe(186 + 118 + 1);
    expect(summary.spoofedInSnapshot).toHaveLength(2);
    expect(readFileSync(stream, 'utf8').trim().split('\n')).toHaveLength(summary.readings);
    const estimate = await run('estimate', '--case', case118, '--measurements', out, '--json');
    expect(estimate.code).toBe(0);
    const result = JSON.parse(estimate.out) as { removed: Array<{ index: number }> };
    expect(result.removed.map((r) => r.index).sort((a, b) => a - b)).toEqual(summary.spoofedInSnapshot);
  });

  it('text summary names the counts; bad flags exit 2 with a one-line message naming the flag', async () => {
    const ok = await run('field', '--case', case118, '--seconds', '2');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/field simulator on case118: 304 sensors, 3 scans, 912 readings delivered, 0 dropped/);
    for (const [args, flag] of [
      [['--dropout', '1.2'], '--dropout'],
      [['--noise', 'flow=0'], '--noise'],
      [['--spoof', 'br-20'], '--spoof'],
      [['--stuck', 'br-99999'], '--stuck'],
      [['--pmu', 'br-1'], '--pmu'],
      [['--seconds', 'x'], '--seconds'],
    ] as const) {
      const bad = await run('field', '--case', case118, ...args);
      expect(bad.code, flag).toBe(2);
      expect(bad.err).toContain(flag);
    }
  });

  it('--send streams scada telemetry to a running server through its door; bad transport flags exit 2 naming the flag', async () => {
    const city = parseCity(matpowerToCity(parseMatpower(readFileSync(case118, 'utf8'), 'case118')), 'case118');
    const server = await startServerWith({ city, seed: 1, port: 0, quiet: true, dataDir: false, uiDir: false }, { paused: true, rateLimitPerMinute: 1_000_000, env: {} });
    try {
      const sent = await run('field', '--case', case118, '--seconds', '1', '--rate', '1', '--send', server.url, '--token', server.adminToken, '--pace', '0', '--json');
      expect(sent.code).toBe(0);
      const summary = JSON.parse(sent.out) as { transport: string; sent: number; refused: number; readings: number };
      expect(summary).toMatchObject({ transport: 'http', refused: 0 });
      expect(summary.sent).toBe(summary.readings);
      const telemetry = server.engine.journal.entries.filter((e) => e.command.type === 'telemetry');
      expect(telemetry).toHaveLength(summary.readings);
      expect(new Set(telemetry.map((e) => e.command.target.split('-')[0]))).toEqual(new Set(['br', 'bus', 'gen']));
      const refused = await run('field', '--case', case118, '--seconds', '1', '--send', server.url, '--token', 'wrong-token', '--pace', '0', '--json');
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.out)).toMatchObject({ sent: 0, firstRefusal: expect.stringMatching(/HTTP 401/) });
      expect(refused.err).toMatch(/^stratum: no reading was accepted over http: .*HTTP 401/);
    } finally {
      await server.close();
    }
    for (const [args, flag] of [
      [['--send', 'http://127.0.0.1:1'], '--token'],
      [['--send', 'ftp://x', '--token', 't'], '--send'],
      [['--send', 'http://127.0.0.1:1', '--token', 't', '--kafka', '127.0.0.1:9092'], '--kafka'],
      [['--kafka', '127.0.0.1:9092', '--sensors', 'estimator'], '--sensors'],
      [['--sensors', 'pmu'], '--sensors'],
      [['--pace', '-1'], '--pace'],
    ] as const) {
      const bad = await run('field', '--case', case118, ...args);
      expect(bad.code, flag).toBe(2);
      expect(bad.err).toContain(flag);
      expect(bad.err.trim().split('\n')[0]).toContain(flag); // one line naming it (then the CLI's usage hint)
    }
  }, 60_000);
});
