import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, parseCity } from '../../engine/index.ts';
import { main } from './cli.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

const ADMIN = 'admin-token-history-cli';

async function stratum(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'stratum', ...args], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('stratum history (against a running server)', () => {
  let server: ServerInternals;
  beforeAll(async () => {
    server = await startServerWith({ city: parseCity(generateCity({ assets: 300, seed: 7 }), 'gen'), seed: 1, port: 0, quiet: true, adminToken: ADMIN }, { paused: true, env: {} });
    server.engine.submit({ type: 'fail', target: 'pw-tx-1', hazard: 'fire' }, { at: 600, source: 'test' });
    await server.engine.runUntil(7_200_000);
  }, 60_000);
  afterAll(async () => server?.close());

  it('prints an asset’s buckets and status changes as a table, and the same as CSV and JSON', async () => {
    const table = await stratum(['history', '--asset', 'pw-tx-1', '--from', '0', '--to', '2h', '--step', '30m', '--url', server.url, '--token', ADMIN]);
    expect(table.err).toBe('');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/asset pw-tx-1 \(transmission-substation, power, d0\)/);
    expect(table.out).toMatch(/00:10:00\s+ok\s+failed\s+damage\s+input/);
    const csv = await stratum(['history', '--asset', 'pw-tx-1', '--from', '0', '--to', '2h', '--step', '30m', '--csv', '--url', server.url, '--token', ADMIN]);
    expect(csv.out.split('\n').filter((l) => l.startsWith('bucket,'))).toHaveLength(4);
    const json = JSON.parse((await stratum(['history', '--layer', 'power', '--from', '0', '--to', '2h', '--step', '1h', '--json', '--url', server.url, '--token', ADMIN])).out);
    expect(json.buckets).toHaveLength(2);
    expect(json.buckets[0].failed).toBeGreaterThan(0);
  });

  it('takes the server and token from STRATUM_URL and STRATUM_TOKEN', async () => {
    process.env['STRATUM_URL'] = server.url;
    process.env['STRATUM_TOKEN'] = ADMIN;
    try {
      const res = await stratum(['history', '--district', 'd0', '--from', 'now-1h', '--to', 'now', '--step', '10m']);
      expect(res.code).toBe(0);
      expect(res.out).toMatch(/layer all, district d0; live, store embedded/);
    } finally {
      delete process.env['STRATUM_URL'];
      delete process.env['STRATUM_TOKEN'];
    }
  });

  it('fails with a one-line message naming the flag (or the server’s reason) and a non-zero exit', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['history', '--asset', 'x', '--step', 'fast'], 2, /--step must be a duration/],
      [['history', '--asset', 'x', '--from', 'monday'], 2, /--from must be a virtual time/],
      [['history', '--asset', 'x', '--url', 'ftp://x'], 2, /--url must be an http\(s\) URL/],
      [['history', '--from', '0'], 2, /give --asset ID, or --layer/],
      [['history', '--asset', 'x', '--layer', 'power'], 2, /give --asset ID, or --layer|cannot be combined/],
      [['history', '--asset', 'pw-tx-1', '--url', 'http://127.0.0.1:8080', '--token', ''], 2, /--token/],
      [['history', '--asset', 'nope', '--url', 'URL', '--token', ADMIN], 1, /404 .*no asset or cohort "nope"/],
      [['history', '--layer', 'gas', '--url', 'URL', '--token', ADMIN], 1, /400 .*querystring\.layer: unknown layer "gas"/],
      [['history', '--layer', 'power', '--url', 'URL', '--token', 'wrong'], 1, /401/],
    ];
    for (const [args, code, message] of cases) {
      const res = await stratum(args.map((a) => (a === 'URL' ? server.url : a)));
      expect(res.code, args.join(' ')).toBe(code);
      expect(res.err, args.join(' ')).toMatch(message);
      expect(res.err.trim().split('\n')[0], args.join(' ')).toMatch(message);
    }
  });
});
